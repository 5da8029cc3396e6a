"""The Ray executor: every task a Ray remote call declaring its CPUs and GPUs.

Ray packs the tasks onto the cluster's devices, re-runs a task whose worker died or that raised
(``max_retries``), and ships large shared arguments once through its object store. A small
actor (:class:`_Board`) hears from every task when it starts, so the driver can show how many
are running rather than merely submitted; tests use it to find a task's worker process.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from modelrank import cpu_runtime
from modelrank.errors import ConfigError, ModelrankError, ParameterError
from modelrank.execution.base import Executor, Outcome, Shared, Task, one_line, times

#: Driver environment variables forwarded to the workers of a remote cluster.
FORWARDED_ENV = (
    "MODELRANK_OFFLINE",
    "MODELRANK_CPU_TUNING",
    "GOMP_SPINCOUNT",
)  # the last set by cpu_runtime.configure (or the user)


def worker_runtime_env(env_vars: dict[str, str] | None = None) -> dict[str, Any]:
    """The Ray runtime environment of modelrank's workers: ``env_vars`` and the CPU settings
    (:func:`modelrank.cpu_runtime.configure`) applied when each worker process starts, before a
    task's function is unpickled (which may import torch)."""
    out: dict[str, Any] = {"worker_process_setup_hook": "modelrank.cpu_runtime.configure"}
    if env_vars:
        out["env_vars"] = dict(env_vars)
    return out


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A one-line error at once when nothing listens at ``address`` ("host:port" or
    "ray://host:port"); Ray itself retries for minutes before giving up."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ParameterError(
            "ray_address", f"must be 'auto', 'host:port' or 'ray://host:port', got {address!r}"
        )
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach Ray at {address}: {exc.strerror or exc}") from None


@dataclass
class _Refused:
    """A task's ModelrankError, returned (not raised) so that Ray does not retry it."""

    message: str


def _run_task(fn, key: str, threads: int, board, device: str | None, *args) -> Any:
    """Body of every Ray task: pin the thread pools, report the start, run ``fn(*args)``.

    ``args`` are top-level arguments of the remote call so that Ray resolves the object
    references of shared ones before the call."""
    cpu_runtime.configure()  # this worker's allocator, before the unit allocates
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    board.started.remote(key, os.getpid(), socket.gethostname())
    with threadpool_limits(threads):
        try:
            return fn(*args) if device is None else fn(*args, device=device)
        except ModelrankError as exc:
            return _Refused(str(exc))
        finally:
            board.ended.remote(key)


class _Board:
    """Actor: which tasks have started, how often, and in which process."""

    def __init__(self) -> None:
        self.starts: dict[str, list[tuple[int, str]]] = {}
        self.running: set[str] = set()

    def started(self, key: str, pid: int, host: str) -> None:
        self.starts.setdefault(key, []).append((pid, host))
        self.running.add(key)

    def ended(self, key: str) -> None:
        self.running.discard(key)

    def running_keys(self) -> set[str]:
        """Tasks whose latest attempt has started and not ended. A killed worker never reports
        its end; its task counts until the retry ends (the driver also drops finished tasks)."""
        return set(self.running)

    def snapshot(self) -> dict[str, list[tuple[int, str]]]:
        return self.starts

    def attempts(self, key: str) -> int:
        return len(self.starts.get(key, ()))


@dataclass
class RayExecutor(Executor):
    """Runs tasks as Ray remote calls on ``address`` (None: a local Ray instance).

    Attributes:
        address: "auto", "host:6379" or "ray://host:10001"; None starts Ray on this machine.
        workers: CPUs of a local instance (None: all); not allowed with ``address``.
        poll_s: how often the driver refreshes the running count while waiting.
    """

    address: str | None = None
    workers: int | None = None
    poll_s: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        self.name = "ray"
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs Ray: pip install 'modelrank[ray]'") from None
        self._ray = ray
        if self.workers is not None and self.workers < 1:
            raise ParameterError("workers", f"must be at least 1, got {self.workers}")
        if self.workers is not None and self.address is not None:
            raise ParameterError(
                "workers",
                "sizes a local Ray instance; a cluster at a Ray address has the workers it has",
            )
        self._owns = False
        self._board = None
        self._inflight: dict[Any, Task] = {}
        self._shared: dict[int, tuple[Shared, Any]] = {}

    def _connect(self) -> None:
        """Join the cluster (or start a local instance) on first use, not before: a job whose
        units are all done already never starts Ray."""
        if self._board is not None:
            return
        ray = self._ray
        if self.address not in (None, "auto"):
            _check_reachable(self.address)
        cpu_runtime.configure()  # local workers inherit the driver's GOMP_SPINCOUNT
        self._owns = not ray.is_initialized()
        if self._owns:
            kw: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.ERROR,
                "configure_logging": True,
            }
            if self.address is None:
                kw["num_cpus"] = self.workers
                kw["runtime_env"] = worker_runtime_env()
            else:
                env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
                kw["runtime_env"] = worker_runtime_env(env)
            try:
                ray.init(address=self.address, **kw)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a local instance"
                raise ConfigError(
                    f"cannot start or reach Ray at {where}: {one_line(exc)}"
                ) from None
        self._remote = ray.remote(_run_task)
        self._board = ray.remote(num_cpus=0)(_Board).remote()

    def resources(self) -> dict[str, float]:
        """The cluster's total resources ({"CPU": 2.0, "GPU": 0.0, ...})."""
        self._connect()
        return dict(self._ray.cluster_resources())

    def describe(self) -> dict[str, Any]:
        if self._board is None:
            return {**super().describe(), "address": self.address or "local", "connected": False}
        res = self.resources()
        return {
            **super().describe(),
            "address": self.address or "local",
            "cluster_cpus": res.get("CPU", 0.0),
            "cluster_gpus": res.get("GPU", 0.0),
            "nodes": len([n for n in self._ray.nodes() if n.get("Alive")]),
        }

    def gpus_available(self) -> bool:
        return self.resources().get("GPU", 0.0) > 0

    def starts(self) -> dict[str, list[tuple[int, str]]]:
        """{task key: [(pid, host) of every attempt so far]} as reported by the tasks; empty
        before the first task (asking does not start Ray)."""
        if self._board is None:
            return {}
        return self._ray.get(self._board.snapshot.remote())

    def close(self) -> None:
        for ref in list(self._inflight):
            self._ray.cancel(ref, force=True)
        self._inflight.clear()
        if self._owns and self._ray.is_initialized():
            self._board = None
            self._ray.shutdown()

    # -- Executor

    def _arg(self, a: Any) -> Any:
        if not isinstance(a, Shared):
            return a
        hit = self._shared.get(id(a))
        if hit is None:
            hit = self._shared[id(a)] = (a, self._ray.put(a.value))
        return hit[1]

    def _start(self, tasks: list[Task]) -> None:
        if tasks:
            self._connect()
        for t in tasks:
            args = tuple(self._arg(a) for a in t.args)
            device, gpus = t.device, t.num_gpus
            if device == "auto":
                device = "cuda" if self.gpus_available() else "cpu"
            if device == "cuda":
                gpus = max(gpus, self.gpus_per_task)
            ref = self._remote.options(
                num_cpus=t.num_cpus,
                num_gpus=gpus,
                max_retries=self.max_retries,
                retry_exceptions=True,
                name=t.label[:100],
            ).remote(t.fn, t.key, max(1, int(t.num_cpus)), self._board, device, *args)
            self._inflight[ref] = t

    def _busy(self) -> bool:
        return bool(self._inflight)

    def _refresh_running(self, *, emit: bool = True) -> None:
        # "Running" is an attempt that has started and not ended, as the tasks report it. A
        # task that raised and waits for its retry, or that returned but is not collected yet
        # (ray.wait hands back one at a time), does not count: otherwise the count can exceed
        # the CPUs the tasks hold. The board is read before ray.wait so that a task ending in
        # between is seen as finished.
        active = self._ray.get(self._board.running_keys.remote())
        refs = list(self._inflight)
        finished = set(self._ray.wait(refs, num_returns=len(refs), timeout=0)[0]) if refs else set()
        running = sum(
            1 for ref, t in self._inflight.items() if t.key in active and ref not in finished
        )
        if running != self.counts.running:
            self.counts.running = running
            if emit:
                self._emit()

    def _next(self) -> Outcome:
        ray = self._ray
        while True:
            ready, _ = ray.wait(list(self._inflight), num_returns=1, timeout=self.poll_s)
            if ready:
                break
            self._refresh_running()
        ref = ready[0]
        task = self._inflight.pop(ref)
        attempts = self._ray.get(self._board.attempts.remote(task.key)) or 1
        self._refresh_running(emit=False)  # run() emits once with this outcome counted
        try:
            value = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            return Outcome(
                task, error=f"failed {times(attempts)}; last: {one_line(cause)}", attempts=attempts
            )
        except ray.exceptions.RayError as exc:
            return Outcome(
                task,
                error=(
                    f"its worker died {times(attempts)} (killed, or out of "
                    f"memory); last: {one_line(exc)}"
                ),
                attempts=attempts,
            )
        if isinstance(value, _Refused):
            return Outcome(task, error=value.message, attempts=attempts)
        return Outcome(task, value, attempts=attempts)
