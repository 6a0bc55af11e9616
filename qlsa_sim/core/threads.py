"""Thread counts set on purpose: on this kind of 2-core machine 2 BLAS threads make small calls far slower
(np.linalg.solve at n = 256: 0.5 ms on 1 thread, 134 ms on 2; ../shared/design.md), so timings use 1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_single_thread_env() -> None:
    """One BLAS thread unless the user set the usual environment variables (call before numpy loads BLAS)."""
    for var in THREAD_ENV_VARS:
        os.environ.setdefault(var, "1")


@contextmanager
def pinned_threads(n: int | None, *, torch_too: bool = True) -> Iterator[None]:
    """BLAS (threadpoolctl) and, if ``torch_too`` and torch is loaded, torch limited to ``n`` threads
    inside the block (None: unchanged)."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    torch = None
    if torch_too:
        import sys

        torch = sys.modules.get("torch")
    old = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(old)
