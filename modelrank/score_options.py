"""How backbones are probed and scored: :class:`ScoreOptions`, checked when built."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from modelrank.errors import ParameterError
from modelrank.util.checks import check_whole_number
from modelrank.util.paths import cache_root
from modelrank.util.writable import check_writable_dir


@dataclass(frozen=True)
class ScoreOptions:
    """How backbones are probed and scored: the options shared by :func:`rank`,
    :func:`rank_targets`, :func:`pick_backbone`, the scoring units and
    :func:`~modelrank.benchmark.run_benchmark`. Checked when built, so a bad value is refused
    before any work starts (:class:`~modelrank.errors.ParameterError` naming the field).

    Attributes:
        batch_size: images per forward pass (≥ 1).
        amp: mixed-precision forward passes (bfloat16 on the CPU, float16 on CUDA); part of the
            embedding cache key.
        eta: cubical Betti threshold, in the activations' units (finite).
        layout: cubical volume of a layer: ``whc``, ``channel-mean`` or ``per-channel``
            (:data:`modelrank.topology.cubical.LAYOUTS`).
        betti_engine: where cubical Betti numbers are counted: ``auto`` (on the GPU when the
            backbone runs there, else numpy on the host), ``numpy`` or ``torch``. The engines give
            the same numbers, so this changes speed only and is not part of any cache key.
        cache_dir: root of the embedding cache, the journal of finished units and the run logs
            (None: ``$MODELRANK_CACHE``, else the user cache, of the machine a unit runs on).
        use_cache: read and write the embedding cache and the journal.
    """

    batch_size: int = 32
    amp: bool = False
    eta: float = 0.0
    layout: str = "whc"
    betti_engine: str = "auto"
    cache_dir: str | None = None
    use_cache: bool = True

    def __post_init__(self) -> None:
        from modelrank.probe import check_betti_engine, check_layout

        check_whole_number("batch_size", self.batch_size, least=1)
        try:
            finite_eta = not isinstance(self.eta, bool) and math.isfinite(float(self.eta))
        except (TypeError, ValueError):
            finite_eta = False
        if not finite_eta:
            raise ParameterError(
                "eta", f"(the cubical threshold) must be a finite number, got {self.eta!r}"
            )
        check_layout(self.layout)
        check_betti_engine(self.betti_engine)
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", str(self.cache_dir))
            check_writable_dir(Path(self.cache_dir), "cache directory")

    def cache_root(self) -> Path:
        """The cache directory this process uses."""
        return Path(self.cache_dir) if self.cache_dir is not None else cache_root()
