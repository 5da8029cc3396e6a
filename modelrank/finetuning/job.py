"""The fine-tuning job: every (backbone, target) pair's grid of runs and its retrain, submitted to
an executor, finished runs read back from and appended to the run logs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from modelrank import cpu_runtime
from modelrank.accuracy import accuracy_kind
from modelrank.errors import ModelrankError, WeightsUnavailableError
from modelrank.execution import LocalExecutor, Shared, Task
from modelrank.finetuning.config import CPU_BUDGET, PROTOCOL_VERSION, FinetuneConfig
from modelrank.finetuning.results import EvalResult, runs_label
from modelrank.finetuning.runlog import RUN_KEY_LENGTH, RunLog, runs_root
from modelrank.finetuning.splits import load_splits
from modelrank.finetuning.training import finetune_run, training_path_digest
from modelrank.progress import OnProgress, tell
from modelrank.util.digest import digest
from modelrank.zoo_entry import Preprocess, ZooEntry

if TYPE_CHECKING:
    from modelrank.execution import Executor


@dataclass
class _Plan:
    """Driver-side state of one backbone x target under the full protocol."""

    entry: ZooEntry
    dataset: str
    pre: Preprocess
    splits: Any  # Shared((train, val, test, carve))
    log: RunLog
    common: dict[str, Any]
    grid: dict[tuple[float, float], dict[str, Any]] = field(default_factory=dict)
    final: dict[str, Any] | None = None
    computed: int = 0
    error: str | None = None
    skipped: str | None = None
    recipe: dict[str, Any] = field(default_factory=dict)  # device: the one asked for
    points: list[tuple[float, float]] = field(default_factory=list)  # the (lr, w) it runs

    def key(self, phase: str, lr: float, w: float) -> str:
        return digest({**self.common, "phase": phase, "lr": lr, "w": w}, RUN_KEY_LENGTH)


class FinetuneJob:
    """Fine-tuning of many backbone x target pairs as one job of run-sized units.

    The driver reads each pair's run log, submits only the runs not in it, appends every
    finished run to the log, and submits a pair's retrain as soon as its grid is complete.
    """

    def __init__(
        self,
        cfg: FinetuneConfig,
        device: str | None,
        executor: "Executor | None",
        on_progress: OnProgress | None = None,
        cache_dir: str | Path | None = None,
        measured: str | Path | None = None,
    ):

        self.cfg, self.on_progress = cfg, on_progress
        self.ex = executor if executor is not None else LocalExecutor()
        self.device = self.ex.check_device(device)
        self.plans: list[_Plan] = []
        self.runs_dir = Path(cache_dir) / "runs" if cache_dir is not None else runs_root()
        self.measured = None if measured is None else Path(measured)
        self.skipped: list[tuple[str, str, str]] = []
        self._pre: dict[str, Preprocess] = {}
        self._splits: dict[tuple, tuple] = {}

    def _preprocess(self, entry: ZooEntry) -> Preprocess:
        from modelrank.loaders import build_backbone

        if entry.name not in self._pre:
            # The loaders use an entry's own preprocessing when it has one; only otherwise is it
            # resolved by building the backbone here (which also needs its weights here).
            pre = entry.preprocess or build_backbone(entry, device="cpu").preprocess
            cfg = self.cfg
            self._pre[entry.name] = (
                pre
                if cfg.image_size is None
                else replace(pre, size=cfg.image_size, resize=cfg.image_size)
            )
        return self._pre[entry.name]

    def add(
        self,
        entry: ZooEntry,
        dataset: str,
        per_class: int | None,
        log: RunLog | None = None,
        points: Sequence[tuple[float, float]] | None = None,
    ) -> None:
        """Plan ``entry`` on ``dataset``; ``points``: the (lr, w) pairs it runs (default: the
        whole grid of the config). A run's key does not depend on ``points``, so a run made as
        part of the whole grid is reused when only its point is asked for, and vice versa."""
        try:
            pre = self._preprocess(entry)
        except WeightsUnavailableError as exc:
            self.skipped.append((entry.name, dataset, str(exc)))
            return
        sk = (dataset, per_class)
        if sk not in self._splits:
            data_seed = self.cfg.seed if self.cfg.sample_seed is None else self.cfg.sample_seed
            sp = load_splits(
                dataset, per_class, data_seed, self.cfg.val_fraction, self.cfg.test_per_class
            )
            self._splits[sk] = (Shared(sp), sp)
        shared, (train, _, test, _) = self._splits[sk]
        common = {
            "entry": entry.recipe(),
            "train": train.fingerprint(),
            "test": test.fingerprint(),
            "cfg": self.cfg.key_fields(),
            "pre": pre.as_dict(),
            "protocol": "full",
            "protocol_version": PROTOCOL_VERSION,
        }
        self.plans.append(
            _Plan(
                entry,
                dataset,
                pre,
                shared,
                log
                or RunLog(
                    self.runs_dir / f"{entry.name}__{dataset}.jsonl",
                    None
                    if self.measured is None
                    else self.measured / f"{entry.name}__{dataset}.jsonl",
                ),
                common,
                recipe={
                    "train": train.recipe(),
                    "test": test.recipe(),
                    "config": self.cfg.key_fields(),
                    "preprocess": pre.as_dict(),
                    "device": self.device,
                    "protocol_version": PROTOCOL_VERSION,
                    "training_path": training_path_digest(),
                },
                points=list(points) if points is not None else self.cfg.grid(),
            )
        )

    def _total(self, plan: _Plan) -> int:
        return len(plan.points) + (1 if self.cfg.retrain else 0)

    def _task(self, plan: _Plan, phase: str, lr: float, w: float):

        args: tuple = (plan.entry, plan.pre, plan.splits, self.cfg, phase, lr, w)
        if self.ex.in_process and self.on_progress is not None:
            args += (self.on_progress,)
        label = f"fine-tune {plan.entry.name} x {plan.dataset} {phase} lr={lr:g} w={w:g}"
        return Task(
            plan.key(phase, lr, w),
            label,
            finetune_run,
            args,
            num_cpus=self.ex.cpus_per_task,
            device=self.device,
            context=(plan, phase, lr, w),
        )

    def _progress(self, plan: _Plan, done: int | None = None) -> None:
        if done is None:
            done = len(plan.grid) + (plan.final is not None)
        tell(self.on_progress, runs_label(plan.entry.name), done, self._total(plan))

    def _after_grid(self, plan: _Plan) -> list:
        """The retrain task once the grid is complete (or nothing when it is logged / off)."""
        if not self.cfg.retrain or len(plan.grid) < len(plan.points) or plan.error or plan.skipped:
            return []
        best = self._best(plan)
        key = plan.key("final", best["lr"], best["w"])
        rec = plan.log.get(key)
        if rec is None:
            return [self._task(plan, "final", best["lr"], best["w"])]
        plan.final = rec
        self._progress(plan)
        return []

    def _best(self, plan: _Plan) -> dict[str, Any]:
        grid = [plan.grid[g] for g in plan.points]
        return max(grid, key=lambda g: g["val_accuracy"])  # first of equals: grid order

    def run(
        self,
    ) -> tuple[list[EvalResult], list[tuple[str, str, str]], list[tuple[str, str, str]]]:
        """Run every missing unit. Returns (results, failures, skipped); the last two as
        (model, dataset, reason)."""
        tasks = []
        for plan in self.plans:
            for lr, w in plan.points:
                rec = plan.log.get(plan.key("grid", lr, w))
                if rec is None:
                    tasks.append(self._task(plan, "grid", lr, w))
                else:
                    plan.grid[(lr, w)] = rec
            tasks += self._after_grid(plan)

        def collect(oc):
            plan, phase, lr, w = oc.task.context
            if not oc.ok:
                plan.error = plan.error or f"{phase} run lr={lr:g} w={w:g}: {oc.error}"
                return []
            if "skipped" in oc.value:
                plan.skipped = oc.value["skipped"]
                return []
            plan.log.add(oc.task.key, oc.value)
            plan.computed += 1
            if phase == "final":
                plan.final = oc.value
                self._progress(plan)
                return []
            plan.grid[(lr, w)] = oc.value
            self._progress(plan)
            return self._after_grid(plan)

        self.ex.run(tasks, collect)
        execution = self.ex.describe()
        results, failures = [], []
        for plan in self.plans:
            if plan.skipped:
                self.skipped.append((plan.entry.name, plan.dataset, plan.skipped))
                continue
            if plan.error:
                failures.append((plan.entry.name, plan.dataset, plan.error))
                continue
            best = self._best(plan)
            rec = plan.final if self.cfg.retrain else best
            grid = [
                {
                    "lr": lr,
                    "w": w,
                    "val_accuracy": plan.grid[(lr, w)]["val_accuracy"],
                    "test_accuracy": plan.grid[(lr, w)].get("test_accuracy"),
                }
                for lr, w in plan.points
            ]
            self._progress(plan, self._total(plan))
            results.append(
                EvalResult(
                    plan.entry.name,
                    plan.dataset,
                    "full",
                    rec["test_accuracy"],
                    accuracy_kind(plan.dataset),
                    {"lr": best["lr"], "w": best["w"]},
                    grid,
                    plan.computed,
                    {
                        **plan.recipe,
                        "device": rec.get("device", self.device),
                        "float_order": rec.get("float_order"),
                        "execution": execution,
                    },
                    rec.get("test_correct"),
                )
            )
        return results, failures, self.skipped


def finetune(
    entry: ZooEntry,
    dataset: str,
    *,
    cfg: FinetuneConfig = CPU_BUDGET,
    per_class: int | None = None,
    device: str | None = None,
    log: RunLog | None = None,
    executor: "Executor | None" = None,
    on_progress: OnProgress | None = None,
) -> EvalResult:
    """Full fine-tuning protocol for one backbone on one target (see module docstring).
    ``on_progress``: as for :func:`evaluate`.

    Raises WeightsUnavailableError when the backbone cannot be built here and
    :class:`~modelrank.errors.ModelrankError` when one of its runs failed after its retries.
    """
    cpu_runtime.configure()  # modelrank's work starts (modelrank/cpu_runtime.py)
    job = FinetuneJob(cfg, device, executor, on_progress)
    job.add(entry, dataset, per_class, log=log)
    results, failures, skipped = job.run()
    if skipped:
        raise WeightsUnavailableError(skipped[0][2])
    if failures:
        raise ModelrankError(f"fine-tuning {entry.name} on {dataset} failed: {failures[0][2]}")
    return results[0]
