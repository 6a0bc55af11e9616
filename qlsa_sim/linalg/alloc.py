"""Large dense arrays: allocated without numpy's transparent-huge-page advice, and handed to torch uncopied.

numpy (>= 1.20) calls ``madvise(MADV_HUGEPAGE)`` on every allocation of 4 MiB or more. Where the kernel's
THP ``defrag`` setting is ``madvise`` (as on this project's CI machines) the first write to such an array
then waits for memory compaction: filling a fresh 602 MB array took 1.1 s with the advice and 0.24 s
without it, and copying a 1.26 GB block (``H + eps I`` at n = 12560) 3.3 s against about 1 s
(measured here, 1 thread). The advice pays off only when a process frees and re-allocates arrays of the same
size over and over: huge pages, once compacted, are reused. Replaying 5 snapshots of that block took 10.8 s of
feature extraction without the advice and 21.8 s with it, so ``regularize`` allocates here; repeated captures
of one block into the same-size array are faster with it (0.43 s vs 0.72 s each after the first), so the
closed-form capture keeps numpy's default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


def _madvise_setter():
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    return getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)


@contextmanager
def no_hugepage_advice() -> Iterator[None]:
    """numpy allocations inside the block are not advised to use huge pages (the setting is restored)."""
    setter = _madvise_setter()
    if setter is None:  # a numpy without the switch: nothing to change
        yield
        return
    old = setter(False)
    try:
        yield
    finally:
        setter(old)


def empty_array(shape: tuple[int, ...], dtype) -> np.ndarray:
    """``np.empty(shape, dtype)`` without the huge-page advice (see the module docstring)."""
    with no_hugepage_advice():
        return np.empty(shape, dtype=dtype)


def torch_input(a: np.ndarray):
    """``a`` as a torch tensor sharing its memory, for torch.linalg calls that only read their input. Arrays read
    from a verified snapshot are read-only views (``traces/npz_view.py``): torch would warn that writing to them
    is undefined, and nothing here writes to them, so that warning is silenced rather than the matrix copied."""
    import warnings

    import torch

    a = np.ascontiguousarray(a)
    if a.flags.writeable:
        return torch.from_numpy(a)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(a)
