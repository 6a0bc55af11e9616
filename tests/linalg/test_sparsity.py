"""Density and p%-sparsity against brute-force counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse
import torch

from qlsa_sim.errors import InputError
from qlsa_sim.linalg import sparsity
from qlsa_sim.linalg.sparsity import density, nnz_per_row, p_sparsity, p_sparsity_multi, p_sparsity_summary


def _brute_p_sparsity_row(row, p):
    """Smallest subset size whose |.| sum reaches p% of the row total (exhaustive search)."""
    a = np.abs(row)
    total = a.sum()
    if total == 0:
        return 0
    for k in range(1, len(a) + 1):
        best = max(sum(c) for c in itertools.combinations(a, k))
        if best >= p / 100.0 * total * (1 - 1e-12):
            return k
    return len(a)


def test_p_sparsity_against_brute_force(rng):
    H = rng.standard_normal((12, 9)) * (rng.random((12, 9)) < 0.7)
    H[3] = 0.0                                           # an all-zero row needs 0 entries
    H[5] = 0.0
    H[5, 4] = -2.0                                       # a single entry carries 100%
    for p in (50, 75, 90, 95, 100):
        got = p_sparsity(H, p)
        want = np.array([_brute_p_sparsity_row(r, p) for r in H])
        assert np.array_equal(got, want), p
    assert p_sparsity(H, 50)[3] == 0 and p_sparsity(H, 95)[5] == 1


def test_p_sparsity_hand_example():
    H = np.array([[1.0, 1.0, 1.0, 3.0], [2.0, -2.0, 2.0, 2.0]])  # the seed code's docstring example x10
    assert p_sparsity(H, 50).tolist() == [1, 2]                    # (seed: [1, 2])
    assert p_sparsity(H, 51).tolist() == [2, 3]
    assert p_sparsity(H, 25).tolist() == [1, 1]
    assert p_sparsity(H, 100).tolist() == [4, 4]


def test_p_sparsity_multi_and_chunking(rng, monkeypatch):
    H = rng.standard_normal((40, 30))
    ref = {p: p_sparsity(H, p) for p in (50, 90)}
    monkeypatch.setattr(sparsity, "_CHUNK_ELEMS", 64)   # force many row chunks
    multi = p_sparsity_multi(H, [50, 90])
    assert all(np.array_equal(multi[p], ref[p]) for p in ref)
    assert np.array_equal(nnz_per_row(H), np.count_nonzero(H, axis=1))
    s = p_sparsity_summary(H, (50, 95))
    assert s[50.0]["max"] <= 30 and 0 < s[95.0]["mean_fraction"] <= 1
    assert s[50.0]["median"] <= s[95.0]["median"]


def test_density_and_nnz(rng):
    H = rng.standard_normal((20, 20)) * (rng.random((20, 20)) < 0.3)
    assert density(H) == pytest.approx(np.count_nonzero(H) / 400)
    assert density(H, tol=0.5) == pytest.approx((np.abs(H) > 0.5).mean())
    assert np.array_equal(nnz_per_row(H, 0.5), (np.abs(H) > 0.5).sum(axis=1))
    S = scipy.sparse.csr_matrix(H)
    assert density(S, 0.5) == pytest.approx(density(H, 0.5))
    assert np.array_equal(nnz_per_row(S), nnz_per_row(H))
    assert density(torch.from_numpy(H)) == pytest.approx(density(H))


def test_bad_inputs():
    with pytest.raises(InputError):
        p_sparsity(np.eye(3), 0)
    with pytest.raises(InputError):
        p_sparsity(np.eye(3), 101)
    with pytest.raises(InputError):
        density(np.eye(3), tol=-1)
    with pytest.raises(InputError):
        density(np.ones(3))
    with pytest.raises(InputError, match="NaN"):
        p_sparsity(np.array([[1.0, np.nan]]), 50)
    with pytest.raises(InputError, match="NaN"):
        nnz_per_row(np.array([[1.0, np.nan]]))
