"""Pin what sets the order of floating-point sums while a unit of work trains or measures.

The same seed fine-tuned with 1 torch thread and with 2 gives accuracies up to 4 points apart
(docs/methods.md §7): the thread count decides how a convolution's or a matrix product's sums
are split, and so the rounding of every step, and the differences grow over the run. A Ray
worker runs with the CPUs its task declared, this process with whatever torch chose, so the
two executors measured different ground truths. A unit that fixes its own thread count (and
asks torch for deterministic kernels where they exist) computes the same numbers wherever it
runs, on the same hardware and torch build; what it fixed is recorded with its result.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def fixed_float_order(threads: int) -> Iterator[dict[str, Any]]:
    """Run the body with ``threads`` torch intra-op threads (and BLAS threads), deterministic
    torch algorithms (a warning, not an error, where an op has none) and cuDNN's autotuner off;
    the process's settings are restored afterwards.

    Yields what the result should record: ``{"threads", "deterministic", "torch"}``.
    """
    import torch
    from threadpoolctl import threadpool_limits

    # cuBLAS reads this once, when it starts in the process; harmless on the CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = False, True
    try:
        with threadpool_limits(threads):
            yield {"threads": threads, "deterministic": True, "torch": torch.__version__}
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1], warn_only=before[2])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = before[3], before[4]
