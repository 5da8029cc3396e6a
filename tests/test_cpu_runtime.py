"""modelrank's process-wide CPU settings (modelrank/cpu_runtime.py): applied when modelrank's work
starts, never by ``import modelrank`` alone; visible in the kernel's page-fault count, and left
alone wherever the user chose their own."""

import json
import os
import platform
import subprocess
import sys

import pytest

import modelrank.cpu_runtime as cpu_runtime

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the allocator settings apply to glibc only",
)

# malloc, touch and free 64 MiB 12 times through the C library (what torch's CPU allocator does
# for every activation); report minor page faults and what modelrank did.
CHILD = r"""
import ctypes, json, os, resource
{imports}
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
SIZE = 64 << 20
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def once():
    p = libc.malloc(SIZE)
    ctypes.memset(p, 1, SIZE)
    libc.free(p)
once()  # warm-up: the first allocation has to fault in either way
f0 = faults()
for _ in range(12):
    once()
import modelrank.cpu_runtime as c
print(json.dumps({{"faults": faults() - f0, "status": c._state,
                  "spin": os.environ.get("GOMP_SPINCOUNT")}}))
"""


#: modelrank's work starting in the child: the first use of a public function of the package
WORK_STARTS = "import modelrank\nmodelrank.correlate"


def run_child(env_extra: dict, imports: str = WORK_STARTS) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MALLOC_", "OMP_WAIT", "GOMP_", "MODELRANK_CPU", "GLIBC_TUNABLES"))
    }
    env.update(env_extra)
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(imports=imports)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


PAGES = 12 * (64 << 20) // 4096  # pages the 12 allocations touch


def test_importing_modelrank_changes_nothing_in_the_process():
    got = run_child({}, imports="import modelrank\nimport modelrank.ranking")
    assert got["status"] is None and got["spin"] is None


def test_the_command_line_applies_the_settings_before_its_command():
    cli = (
        "import contextlib, io\nfrom modelrank.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['metrics'])"
    )
    got = run_child({}, imports=cli)
    assert got["status"] is not None and got["spin"] == str(cpu_runtime.SPIN_COUNT)


def test_a_heavy_library_call_applies_the_settings():
    got = run_child({}, imports="from modelrank.ranking import rank_targets\nrank_targets([])")
    assert got["status"] is not None and got["spin"] == str(cpu_runtime.SPIN_COUNT)


@glibc
def test_settings_applied_when_work_starts_stop_the_page_faults():
    tuned = run_child({})
    assert tuned["status"] == {
        "malloc": "mmap off, trim off",
        "openmp": f"GOMP_SPINCOUNT={cpu_runtime.SPIN_COUNT}",
    }
    assert tuned["spin"] == str(cpu_runtime.SPIN_COUNT)
    naive = run_child({"MODELRANK_CPU_TUNING": "off"})
    assert naive["status"]["malloc"] == "unchanged (MODELRANK_CPU_TUNING=off)"
    assert naive["spin"] is None
    # glibc's default maps each 64 MiB array afresh: every page faults on every round.
    assert naive["faults"] >= 0.9 * PAGES
    # With modelrank's settings the freed heap memory is reused: (almost) no new faults.
    assert tuned["faults"] < 0.05 * PAGES


@glibc
@pytest.mark.parametrize(
    "variable,value",
    [
        ("MALLOC_ARENA_MAX", "2"),
        ("MALLOC_MMAP_THRESHOLD_", "131072"),
        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072"),
    ],
)
def test_a_users_malloc_setting_wins(variable, value):
    got = run_child({variable: value})
    assert got["status"]["malloc"].startswith("unchanged (")
    assert (
        variable.split("_")[0] in got["status"]["malloc"] or "tunables" in got["status"]["malloc"]
    )
    assert got["faults"] >= 0.9 * PAGES  # glibc's behaviour, not ours


def test_a_users_openmp_setting_wins_and_torch_first_is_reported():
    got = run_child({"OMP_WAIT_POLICY": "ACTIVE"})
    assert got["status"]["openmp"] == "unchanged (OMP_WAIT_POLICY=ACTIVE set by the user)"
    assert got["spin"] is None
    got = run_child({}, imports="import torch\n" + WORK_STARTS)
    assert got["status"]["openmp"] == "unchanged (torch was imported before modelrank)"
    assert got["spin"] is None


def test_configure_reads_the_environment_it_is_given(monkeypatch):
    monkeypatch.setattr(cpu_runtime, "_state", None)
    env = {"MALLOC_TOP_PAD_": "0", "GOMP_SPINCOUNT": "5"}
    state = cpu_runtime.configure(env)
    assert state["malloc"] == "unchanged (MALLOC_TOP_PAD_ set by the user)"
    assert state["openmp"] == "unchanged (GOMP_SPINCOUNT=5 set by the user)"
    assert env == {"MALLOC_TOP_PAD_": "0", "GOMP_SPINCOUNT": "5"}
    assert cpu_runtime.configure({}) == state  # once per process
    monkeypatch.setattr(cpu_runtime, "_state", None)
    assert cpu_runtime.configure({"LD_PRELOAD": "/usr/lib/libjemalloc.so.2"})["malloc"] == (
        "unchanged (jemalloc preloaded)"
    )
