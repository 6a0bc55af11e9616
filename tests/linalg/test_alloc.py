"""Allocation without numpy's huge-page advice: same array semantics, numpy's setting restored."""

import numpy as np
import pytest

from qlsa_sim.linalg.alloc import _madvise_setter, empty_array, no_hugepage_advice
from qlsa_sim.linalg.conditioning import regularize


def test_empty_array_and_setting_restored():
    setter = _madvise_setter()
    before = setter(True) if setter else None
    a = empty_array((3, 4), np.float32)
    assert a.shape == (3, 4) and a.dtype == np.float32 and a.flags["C_CONTIGUOUS"] and a.flags["WRITEABLE"]
    with pytest.raises(RuntimeError), no_hugepage_advice():
        raise RuntimeError("boom")
    if setter:
        assert setter(before) is True  # the advice was switched back on after both uses


def test_regularize_copies_and_keeps_dtype():
    H = np.arange(9, dtype=np.float32).reshape(3, 3)
    A, eps = regularize(H, 0.5)
    assert A.dtype == np.float32 and eps == 0.5 and A is not H
    np.testing.assert_array_equal(A, H + 0.5 * np.eye(3, dtype=np.float32))
    assert H[0, 0] == 0.0  # input untouched
    Ai, _ = regularize(np.eye(2, dtype=np.int64), 1.0)
    assert Ai.dtype == np.float64 and (Ai == 2 * np.eye(2)).all()
