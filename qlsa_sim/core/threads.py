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


_controller: dict[str, object] = {}


def _blas_controller():
    """A threadpoolctl controller of the thread pools loaded now, made once and again only after new modules were
    imported (a library's pools appear when its module loads): finding the pools costs ~7 ms a time, which
    ``threadpool_limits`` paid on every call (25 ms a snapshot in a replay of small blocks)."""
    import sys

    from threadpoolctl import ThreadpoolController

    if _controller.get("modules") != len(sys.modules):
        _controller.update(modules=len(sys.modules), controller=ThreadpoolController())
    return _controller["controller"]


@contextmanager
def pinned_threads(n: int | None, *, torch_too: bool = True) -> Iterator[None]:
    """BLAS (threadpoolctl) and, if ``torch_too`` and torch is loaded, torch limited to ``n`` threads
    inside the block (None: unchanged)."""
    if n is None:
        yield
        return

    torch = None
    if torch_too:
        import sys

        torch = sys.modules.get("torch")
    old = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with _blas_controller().limit(limits=n):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(old)
