"""Process-wide CPU settings that make torch's forward passes cheap; results are unchanged.

Two defaults of the C runtime cost a CPU run of modelrank half of its time or more
(``benchmarks/bench_cpu_path.py`` measures both):

- **glibc's allocator** serves each allocation above its mmap threshold (128 KiB, adapting up
  to 32 MiB) with a fresh ``mmap`` and gives it back with ``munmap`` on free, and trims freed
  heap memory above 128 KiB. A forward pass allocates and frees megabytes per layer, so each
  pass faults in gigabytes of zeroed pages: system time was larger than user time for a bare
  EfficientNet-Lite0 forward pass. :func:`configure` switches mmap off for allocations
  (``M_MMAP_MAX = 0``), never trims the heap (``M_TRIM_THRESHOLD = -1``), and grows the
  heap :data:`TOP_PAD` bytes at a time, so one pass reuses the memory of the last. The price: the
  process keeps the memory of its largest pass until it exits.
- **OpenMP's busy waiting**: torch's worker threads (GNU OpenMP) spin up to 300,000 times
  between parallel regions before they sleep, so while the probe counts Betti numbers in threads
  of its own (``probe.py``) the spinning threads take the cores away from it. Not spinning at all
  (``OMP_WAIT_POLICY=PASSIVE``) helped the probe but slowed fine-tuning, whose many small
  operations then pay a wake-up each; :data:`SPIN_COUNT` spins was measured best for both
  (``benchmarks/results/cpu_path.md``). ``GOMP_SPINCOUNT`` must be in the environment before
  torch is imported, so it is set only when torch is not imported yet.

:func:`configure` runs once per process, when modelrank's own work starts, never at ``import
modelrank`` (a notebook or a service that imports it is not changed): at the start of the command
line, on first use of a public function of the package root (``modelrank.rank``, before torch is
imported), at the start of the heavy library calls (:func:`~modelrank.ranking.rank_targets`,
:func:`~modelrank.finetuning.evaluate_targets`, :func:`~modelrank.finetuning.finetune`,
:func:`~modelrank.benchmark.run_benchmark`, :func:`~modelrank.probe.probe`,
:func:`~modelrank.trained_zoo.build_zoo`), before a Ray executor starts its workers, in each Ray
worker process as it starts (``worker_process_setup_hook``, before a task's function is unpickled,
which may import torch) and in each Ray task before its unit runs. A setting is left alone when
the user chose their own:

- malloc: any glibc malloc variable (``MALLOC_*_``, ``MALLOC_ARENA_MAX``), ``glibc.malloc``
  tunables in ``GLIBC_TUNABLES``, or another allocator in ``LD_PRELOAD`` (jemalloc, tcmalloc,
  mimalloc); and always when the C library is not glibc (macOS, Windows, musl);
- OpenMP: ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` set;
- both: ``MODELRANK_CPU_TUNING=off``.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4

TRIM_THRESHOLD = -1  # never give the free heap top back (man mallopt: -1 disables trimming)
TOP_PAD = 64 << 20  # bytes added to each heap extension (fewer brk calls)
SPIN_COUNT = 30_000  # GNU OpenMP's busy-wait iterations before a worker thread sleeps

_MALLOC_VARIABLES = (
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
    "MALLOC_ARENA_MAX",
    "MALLOC_ARENA_TEST",
)
_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")

_state: dict[str, str] | None = None


def _malloc_skip_reason(environ) -> str | None:
    for name in _MALLOC_VARIABLES:
        if name in environ:
            return f"{name} set by the user"
    if "glibc.malloc." in environ.get("GLIBC_TUNABLES", ""):
        return "glibc.malloc tunables set by the user"
    preload = environ.get("LD_PRELOAD", "")
    for lib in _ALLOCATORS:
        if lib in preload:
            return f"{lib} preloaded"
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return "not glibc"
    return None


def _configure_malloc(environ) -> str:
    reason = _malloc_skip_reason(environ)
    if reason is not None:
        return f"unchanged ({reason})"
    try:
        libc = ctypes.CDLL(None)
        ok = (
            libc.mallopt(_M_MMAP_MAX, 0) == 1
            and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
            and libc.mallopt(_M_TOP_PAD, TOP_PAD) == 1
        )
    except (OSError, AttributeError):
        ok = False
    return "mmap off, trim off" if ok else "unchanged (mallopt refused)"


def _configure_openmp(environ) -> str:
    if environ.get("GOMP_SPINCOUNT") == str(SPIN_COUNT) and "OMP_WAIT_POLICY" not in environ:
        return f"GOMP_SPINCOUNT={SPIN_COUNT}"  # inherited from a modelrank parent (a Ray worker)
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        if name in environ:
            return f"unchanged ({name}={environ[name]} set by the user)"
    if "torch" in sys.modules:
        return "unchanged (torch was imported before modelrank)"
    environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    return f"GOMP_SPINCOUNT={SPIN_COUNT}"


def configure(environ=None) -> dict[str, str]:
    """Apply the settings above, once per process.

    Args:
        environ: the environment to read and extend (default ``os.environ``).

    Returns:
        ``{"malloc": what was done, "openmp": what was done}``, e.g.
        ``{"malloc": "mmap off, trim off", "openmp": "GOMP_SPINCOUNT=30000"}``; the same
        dict on every later call (see :func:`status`).
    """
    global _state
    if _state is not None:
        return dict(_state)
    env = os.environ if environ is None else environ
    if env.get("MODELRANK_CPU_TUNING", "").strip().lower() in ("off", "0", "no", "false"):
        _state = {
            "malloc": "unchanged (MODELRANK_CPU_TUNING=off)",
            "openmp": "unchanged (MODELRANK_CPU_TUNING=off)",
        }
    else:
        _state = {"malloc": _configure_malloc(env), "openmp": _configure_openmp(env)}
    return dict(_state)


def status() -> dict[str, str]:
    """What :func:`configure` did in this process (configuring now if nothing has)."""
    return configure()
