"""How stable is the cubical score? Ω over depth and θ under changes that should not matter much.

For one backbone and one target, the cubical Ω curve (docs/methods.md §1: per image and probed layer,
b0 + b1 + b2 of the (W, H, C) activation volume at threshold η; averaged over each class's
images, then over classes) and its decay score θ are computed at several *levels* of four
factors, the others held at the base setting:

``resolution``
    the input side in pixels: the zoo entry's preprocessing with ``size`` replaced (and
    ``resize`` scaled in the same ratio, so the crop fraction is kept), through
    ``dataclasses.replace`` on ``ZooEntry.preprocess``. Activation maps grow with the input, so
    raw Ω does too; the question is whether the *shape* (what θ sees) changes.
``sampling seed``
    which images: the same number per class drawn with different seeds.
``images per class``
    how many images per class (seed fixed).
``depth``
    networks of different depth: the same backbone truncated after different stages
    (``ZooEntry.truncate``; by default after the stages at 40 % and 70 % of its stage list, and
    not truncated), or other zoo models. Curves are drawn over depth rescaled to [0, 1]
    (t = (ℓ − 1) / (L − 1)). Note that θ is defined on the raw layer index x = 1..L (faithful to
    the paper), so θ of networks with different L differ by construction; the table also gives
    ``auc`` = :func:`~modelrank.topology.decay.auc_decay`, the area under Ω / max Ω over depth in
    [0, 1], which is depth-normalised.

Each level is one :func:`modelrank.ranking.rank` call with the metric ``betti-cubical`` on a
one-entry zoo, so it uses (and fills) the embedding cache like ``modelrank score``; identical
levels (the base setting appears in every factor) are computed once.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from modelrank.data import load_target
from modelrank.errors import ConfigError, ParameterError, WeightsUnavailableError
from modelrank.progress import OnProgress, tell
from modelrank.ranking import ScoreOptions, rank
from modelrank.studies import save_report
from modelrank.topology.decay import auc_decay
from modelrank.util import plot_style as style
from modelrank.util.markdown import table
from modelrank.zoo import Preprocess, ZooEntry, load_zoo, select

__all__ = [
    "DEPTH_FRACTIONS",
    "FACTORS",
    "InvarianceResult",
    "Level",
    "invariance_study",
    "plot_invariance",
    "stage_names",
]

FACTORS = ("resolution", "sampling seed", "images per class", "depth")
#: Default truncation points of the depth factor, as fractions of the backbone's stage list.
DEPTH_FRACTIONS = (0.4, 0.7)


@dataclass
class Level:
    """One setting of one factor and its Ω curve.

    Attributes:
        factor: one of :data:`FACTORS`.
        label: short description of the level ("64 px", "seed 1", "10 / class", …).
        model: zoo entry name (with the truncation, if any).
        settings: size, per_class, seed, truncate of this level.
        layers: (L,) probed layer names.
        omega: (L,) cubical Ω per layer (mean Betti total per image, class-balanced).
        theta: θ (docs/methods.md §1 step 7), or None when undefined (reason in ``note``).
        auc: area under Ω / max Ω over depth in [0, 1] (lower = faster decay), or None.
        n_images: images the curve averages over.
        note: why θ is missing, if it is.
    """

    factor: str
    label: str
    model: str
    settings: dict[str, Any]
    layers: list[str]
    omega: np.ndarray
    theta: float | None
    auc: float | None
    n_images: int
    note: str = ""

    @property
    def depth01(self) -> np.ndarray:
        """(L,) layer positions rescaled to [0, 1]."""
        n = len(self.omega)
        return np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(n)

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "label": self.label,
            "model": self.model,
            "settings": self.settings,
            "layers": self.layers,
            "omega": [float(v) for v in self.omega],
            "theta": self.theta,
            "auc": self.auc,
            "n_images": self.n_images,
            "note": self.note,
        }


@dataclass
class InvarianceResult:
    """Levels of every factor, in :data:`FACTORS` order, with the study's settings."""

    config: dict[str, Any]
    levels: list[Level] = field(default_factory=list)
    seconds: float = 0.0

    def factor(self, name: str) -> list[Level]:
        """The levels of one factor, in the order they were given."""
        return [lv for lv in self.levels if lv.factor == name]

    @property
    def factors(self) -> list[str]:
        return [f for f in FACTORS if self.factor(f)]

    def spread(self, name: str) -> dict[str, float | None]:
        """θ over a factor's levels: min, max, range and coefficient of variation (std / |mean|)."""
        th = np.array([lv.theta for lv in self.factor(name) if lv.theta is not None])
        if th.size == 0:
            return {"min": None, "max": None, "range": None, "cv": None}
        mean = float(th.mean())
        return {
            "min": float(th.min()),
            "max": float(th.max()),
            "range": float(th.max() - th.min()),
            "cv": float(th.std() / abs(mean)) if mean != 0 else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "levels": [lv.to_dict() for lv in self.levels],
            "theta_spread": {f: self.spread(f) for f in self.factors},
            "seconds": self.seconds,
        }

    def to_markdown(self) -> str:
        """One table per factor (level, layers, θ, auc, Ω curve) and θ's spread."""
        c = self.config
        lines = [
            f"Cubical Ω and θ of `{c['model']}` on `{c['dataset']}` ({c['split']} split; base: "
            f"{c['size']} px, {c['per_class']} images per class, seed {c['seed']}; η = {c['eta']})",
            "",
        ]
        for f in self.factors:
            s = self.spread(f)
            lines.append(f"### {f}")
            lines.append("")
            lines += table(
                [
                    "level",
                    "model",
                    "layers",
                    "images",
                    "θ",
                    "auc",
                    "Ω per layer (input side → output side)",
                ],
                [
                    [
                        lv.label,
                        lv.model,
                        len(lv.layers),
                        lv.n_images,
                        "n/a" if lv.theta is None else f"{lv.theta:.4f}",
                        "n/a" if lv.auc is None else f"{lv.auc:.3f}",
                        ", ".join(f"{v:.1f}" for v in lv.omega),
                    ]
                    for lv in self.factor(f)
                ],
            )
            if s["range"] is not None:
                cv = "n/a" if s["cv"] is None else f"{s['cv']:.3f}"
                lines.append("")
                lines.append(
                    f"θ range over the levels: {s['min']:.4f} … {s['max']:.4f} "
                    f"(spread {s['range']:.4f}, coefficient of variation {cv})"
                )
            notes = [f"{lv.label}: {lv.note}" for lv in self.factor(f) if lv.note]
            if notes:
                lines.append("")
                lines += [f"- {n}" for n in notes]
            lines.append("")
        return "\n".join(lines)

    def save(self, path: str | Path) -> None:
        """Write as .json or .md by suffix."""
        save_report(path, self.to_dict, self.to_markdown)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def stage_names(layer_names: Sequence[str]) -> list[str]:
    """Stages of a backbone from its probed layer names, in depth order.

    A probed block named ``<stage>.<index>`` (e.g. ``blocks.2.1``, ``layer3.0``) belongs to stage
    ``<stage>``; layers without a numeric last part (stems, final norms) belong to none.
    """
    out: list[str] = []
    for name in layer_names:
        head, _, tail = name.rpartition(".")
        if head and tail.isdigit() and head not in out:
            out.append(head)
    return out


def _check_levels(values: Sequence[int], what: str, lo: int) -> list[int]:
    out = []
    for v in values:
        if int(v) != v or v < lo:
            raise ConfigError(f"{what} must be integers >= {lo}, got {v!r}")
        out.append(int(v))
    return list(dict.fromkeys(out))


def _with_size(pp: Preprocess, size: int) -> Preprocess:
    """``pp`` at input side ``size``, the resize/crop ratio kept."""
    return replace(pp, size=int(size), resize=max(int(size), round(size * pp.resize / pp.size)))


def _score(
    rank_fn, data, entry: ZooEntry, opts: dict[str, Any]
) -> tuple[list[str], np.ndarray, float | None, str]:
    """Ω curve, θ (or None and why) of one entry via ``rank``."""
    ranking = rank_fn(
        data, zoo={entry.name: entry}, models=[entry.name], metrics=["betti-cubical"], **opts
    )
    if not ranking.rows:
        reason = ranking.skipped[0][1] if ranking.skipped else "the backbone could not be built"
        raise WeightsUnavailableError(f"{entry.name}: {reason}")
    row = ranking.rows[0]
    omega = np.asarray(row.topology.get("omega_cubical", []), dtype=np.float64)
    layers = list(row.topology.get("layers", row.info.get("probe_layers", [])))
    theta = row.raw.get("betti-cubical")
    note = "" if theta is not None else row.unavailable.get("betti-cubical", "θ unavailable")
    return layers, omega, theta, note


def _auc(omega: np.ndarray) -> float | None:

    try:
        return auc_decay(omega)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# the study
# --------------------------------------------------------------------------------------------


def invariance_study(
    model: str = "efficientnet_lite0",
    dataset: str = "digits",
    per_class: int = 10,
    seed: int = 0,
    size: int = 64,
    split: str = "train",
    sizes: Sequence[int] = (64, 96, 128),
    sampling_seeds: Sequence[int] = (0, 1, 2),
    per_class_levels: Sequence[int] = (5, 10, 20),
    depths: Sequence[str] | None = None,
    zoo: str | Path | dict[str, ZooEntry] | None = None,
    eta: float = 0.0,
    device: str | None = None,
    batch_size: int = 32,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    on_progress: OnProgress | None = None,
) -> InvarianceResult:
    """Ω curves and θ of ``model`` on ``dataset`` under the four factors (module docstring).

    Args:
        model: zoo entry name (a model, not a tag).
        dataset, split: the target (:func:`modelrank.data.load_target`).
        per_class, seed, size: the base setting (images per class, sampling seed, input side).
        sizes: input sides of the resolution factor (pixels, >= 16).
        sampling_seeds: sampling seeds of the sampling factor (``per_class`` images each).
        per_class_levels: images per class of the sample-size factor (seed ``seed``).
        depths: the depth factor's networks: ``None`` = this model truncated after the stages at
            :data:`DEPTH_FRACTIONS` of its stage list, plus the whole model; otherwise specs
            ``"@MODULE"`` (this model truncated after MODULE, e.g. ``"@blocks.2"``), ``"full"``
            (this model) or another zoo entry's name (at its own preprocessing with side ``size``).
            An empty sequence skips the factor; so does an empty list for any factor.
        zoo: zoo file or parsed zoo (default: the packaged one).
        eta: cubical threshold; device (default: CUDA when present), batch_size: the probe;
            cache_dir, use_cache: the embedding cache (:class:`~modelrank.ranking.ScoreOptions`).
        on_progress: told ("levels", levels done, levels) after each level
            (:mod:`modelrank.progress`).

    Raises:
        ConfigError: bad level values or depth specs; UnknownModelError, UnknownDatasetError,
        WeightsUnavailableError from the zoo, the data and the loader.
    """
    t0 = time.perf_counter()
    parsed = zoo if isinstance(zoo, dict) else load_zoo(zoo)
    if not isinstance(model, str) or model not in parsed:
        select(parsed, model)  # raises UnknownModelError for an unknown word
        raise ParameterError("model", f"must name one zoo entry, not a tag: {model!r}")
    base_entry = parsed[model]
    if int(per_class) != per_class or per_class < 1:
        raise ParameterError("per_class", f"must be a positive integer, got {per_class!r}")
    sizes = _check_levels(sizes, "sizes", 16)
    size = _check_levels([size], "size", 16)[0]
    sampling_seeds = _check_levels(sampling_seeds, "sampling seeds", 0)
    per_class_levels = _check_levels(per_class_levels, "images per class", 1)
    opts = dict(
        device=device,
        options=ScoreOptions(
            batch_size=batch_size, cache_dir=cache_dir, use_cache=use_cache, eta=eta
        ),
    )

    data_memo: dict[tuple[int, int], Any] = {}

    def data_for(n: int, s: int):
        if (n, s) not in data_memo:
            data_memo[(n, s)] = load_target(dataset, split=split, per_class=n, seed=s)
        return data_memo[(n, s)]

    data_for(int(per_class), int(seed))  # fail early on an unknown or unavailable data set

    built: dict[str, tuple[Preprocess, list[str]]] = {}

    def inspect(entry: ZooEntry) -> tuple[Preprocess, list[str]]:
        """Resolved preprocessing and probed layer names (one build per entry)."""
        if entry.name not in built:
            from modelrank.loaders import build_backbone

            bb = build_backbone(entry, device="cpu")
            built[entry.name] = (bb.preprocess, list(bb.layer_names))
            del bb
        return built[entry.name]

    def preprocess_of(entry: ZooEntry) -> Preprocess:
        return entry.preprocess if entry.preprocess is not None else inspect(entry)[0]

    def variant(entry: ZooEntry, side: int, truncate: str | None) -> ZooEntry:
        name = f"{entry.name}@{side}px" + (f"@{truncate}" if truncate else "")
        return replace(
            entry,
            name=name,
            preprocess=_with_size(preprocess_of(entry), side),
            truncate=truncate if truncate is not None else entry.truncate,
        )

    # --- depth specs -> (label, entry, truncate)
    depth_plan: list[tuple[str, ZooEntry, str | None]] = []
    if depths is None:
        stages = stage_names(inspect(base_entry)[1])
        cut = sorted({max(0, math.ceil(f * len(stages)) - 1) for f in DEPTH_FRACTIONS})
        for i in cut:
            if i < len(stages) - 1:
                depth_plan.append((f"up to {stages[i]}", base_entry, stages[i]))
        depth_plan.append(("full", base_entry, None))
    else:
        for spec in depths:
            spec = str(spec).strip()
            if not spec:
                continue
            if spec == "full":
                depth_plan.append(("full", base_entry, None))
            elif spec.startswith("@"):
                depth_plan.append((f"up to {spec[1:]}", base_entry, spec[1:]))
            elif spec in parsed:
                depth_plan.append((spec, parsed[spec], None))
            else:
                raise ConfigError(
                    f"depth level {spec!r} is neither 'full', '@MODULE' nor a zoo entry name"
                )

    # --- levels: (factor, label, entry, per_class, seed)
    plan: list[tuple[str, str, ZooEntry, int, int, int, str | None]] = []
    for s in sizes:
        plan.append(("resolution", f"{s} px", base_entry, s, per_class, seed, None))
    for s in sampling_seeds:
        plan.append(("sampling seed", f"seed {s}", base_entry, size, per_class, s, None))
    for n in per_class_levels:
        plan.append(("images per class", f"{n} / class", base_entry, size, n, seed, None))
    for label, entry, trunc in depth_plan:
        plan.append(("depth", label, entry, size, per_class, seed, trunc))

    memo: dict[tuple, tuple] = {}
    levels: list[Level] = []
    for i, (factor, label, entry, side, n, s, trunc) in enumerate(plan):
        ent = variant(entry, side, trunc)
        key = (ent.name, n, s)
        if key not in memo:
            data = data_for(n, s)
            memo[key] = (*_score(rank, data, ent, opts), len(data))
        layers, omega, theta, note, n_img = memo[key]
        levels.append(
            Level(
                factor=factor,
                label=label,
                model=ent.name,
                settings={"size": side, "per_class": n, "seed": s, "truncate": ent.truncate},
                layers=layers,
                omega=omega,
                theta=None if theta is None else float(theta),
                auc=_auc(omega),
                n_images=n_img,
                note=note,
            )
        )
        tell(on_progress, "levels", i + 1, len(plan))
    config = dict(
        model=model,
        dataset=dataset,
        split=split,
        per_class=int(per_class),
        seed=int(seed),
        size=size,
        sizes=sizes,
        sampling_seeds=sampling_seeds,
        per_class_levels=per_class_levels,
        depths=None if depths is None else list(depths),
        depth_fractions=DEPTH_FRACTIONS if depths is None else None,
        eta=eta,
        device=device,
        metric="betti-cubical (theta, docs/methods.md §1)",
    )
    return InvarianceResult(config=config, levels=levels, seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------
# plot
# --------------------------------------------------------------------------------------------


def plot_invariance(result: InvarianceResult, path: str | Path) -> None:
    """PNG with one column per factor: raw Ω (top) and Ω / ‖Ω‖₂ (bottom, the curve θ is fitted
    to) over depth rescaled to [0, 1]; one line per level, θ in the legend."""
    factors = result.factors
    if not factors:
        raise ValueError("nothing to plot")
    fig = style.figure(4.2 * len(factors), 7)
    axes = fig.subplots(2, len(factors), squeeze=False)
    for col, f in enumerate(factors):
        for j, lv in enumerate(result.factor(f)):
            th = "n/a" if lv.theta is None else f"{lv.theta:.3f}"
            kw = dict(color=style.colour(j), marker="o", ms=3, lw=1.5, label=f"{lv.label} (θ={th})")
            axes[0, col].plot(lv.depth01, lv.omega, **kw)
            norm = float(np.linalg.norm(lv.omega))
            if norm > 0:
                axes[1, col].plot(lv.depth01, lv.omega / norm, **kw)
        axes[0, col].set_title(f)
        axes[0, col].set_ylabel("Ω (mean b0+b1+b2)")
        axes[1, col].set_ylabel("Ω / ‖Ω‖₂")
        for r in range(2):
            axes[r, col].set_xlabel("depth (rescaled to [0, 1])")
            axes[r, col].grid(alpha=0.3)
            axes[r, col].legend(fontsize=style.LEGEND)
    c = result.config
    fig.suptitle(f"Cubical Ω of {c['model']} on {c['dataset']} under four factors")
    style.save(fig, path)
