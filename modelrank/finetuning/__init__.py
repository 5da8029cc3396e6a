"""Ground truth: fine-tune (or linear-probe) backbones on a target and measure test accuracy.

Full fine-tuning follows the transferability benchmark protocol (docs/methods.md §5): SGD with
Nesterov momentum 0.9, cosine learning-rate schedule, a grid of learning rates x weight decays
(weight decay = w / lr), the best pair chosen on validation, retrained on train + validation,
reported on test. The grid and the step budget are parameters; :data:`CPU_BUDGET` is a small
default that runs on a laptop CPU. Linear probing trains only a logistic-regression head on the
probe's cached features.

Every (backbone, hyper-parameters, phase) run is a unit of work (:func:`finetune_run`) that an
executor runs in this process or as a Ray task; the driver appends each finished run to a
JSON-lines run log, so a killed evaluation started again skips the finished runs and, since every
run is seeded, ends with the same numbers as an uninterrupted one. A pair's retrain is submitted
as soon as its grid is complete.

The package's modules, each with one job, import one way (config, results, run log and splits
below training, training below the job, the job and the linear probe below evaluation):
:mod:`~modelrank.finetuning.config` (grid, budgets, protocol version),
:mod:`~modelrank.finetuning.results`, :mod:`~modelrank.finetuning.runlog`,
:mod:`~modelrank.finetuning.splits`, :mod:`~modelrank.finetuning.training` (one run),
:mod:`~modelrank.finetuning.job` (the runs of many pairs), :mod:`~modelrank.finetuning.linear`
and :mod:`~modelrank.finetuning.evaluation` (:func:`evaluate`, :func:`evaluate_targets`).
"""

from modelrank.accuracy import MEAN_PER_CLASS, accuracy, accuracy_kind
from modelrank.finetuning.config import (
    BUDGETS,
    CPU_BUDGET,
    PROTOCOL_VERSION,
    PUBLISHED,
    FinetuneConfig,
    budget_config,
)
from modelrank.finetuning.evaluation import evaluate, evaluate_targets
from modelrank.finetuning.job import FinetuneJob, finetune
from modelrank.finetuning.linear import linear_key, linear_probe, linear_unit
from modelrank.finetuning.results import STEPS, EvalResult, Evaluation, runs_label
from modelrank.finetuning.runlog import RUN_KEY_LENGTH, RunLog, runs_root
from modelrank.finetuning.splits import load_splits
from modelrank.finetuning.training import FinetuneNet, finetune_run, training_path_digest

__all__ = [
    "BUDGETS",
    "CPU_BUDGET",
    "MEAN_PER_CLASS",
    "PROTOCOL_VERSION",
    "PUBLISHED",
    "RUN_KEY_LENGTH",
    "STEPS",
    "EvalResult",
    "Evaluation",
    "FinetuneConfig",
    "FinetuneJob",
    "FinetuneNet",
    "RunLog",
    "accuracy",
    "accuracy_kind",
    "budget_config",
    "evaluate",
    "evaluate_targets",
    "finetune",
    "finetune_run",
    "linear_key",
    "linear_probe",
    "linear_unit",
    "load_splits",
    "runs_label",
    "runs_root",
    "training_path_digest",
]
