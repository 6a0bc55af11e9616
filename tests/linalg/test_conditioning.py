"""Regularization, pruning strategies and the pruned Newton direction."""

from __future__ import annotations

import numpy as np
import pytest

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg.conditioning import newton_direction_error, prune, regularize
from qlsa_sim.linalg.spectrum import kappa_exact


def _ggn_like(rng, n=60, r=12, zero_rows=4):
    """PSD, singular, dense-ish, with a few zero rows (like the MLP layer-1 block)."""
    M = rng.standard_normal((n, r)) * rng.random((n, 1))
    M[:zero_rows] = 0
    return M @ M.T


def test_regularize_absolute_and_relative(rng):
    H = _ggn_like(rng)
    A, e = regularize(H, 1e-3)
    assert e == 1e-3 and np.allclose(A - H, 1e-3 * np.eye(60)) and not np.shares_memory(A, H)
    lmax = np.linalg.eigvalsh(H).max()
    A2, e2 = regularize(H, 1e-2, relative=True)
    assert e2 == pytest.approx(1e-2 * lmax, rel=1e-6)
    assert np.allclose(np.diagonal(A2 - H), e2)
    _, e3 = regularize(H, 0.5, relative=True, lambda_max=4.0)
    assert e3 == 2.0
    with pytest.raises(InputError):
        regularize(H, -1.0)
    with pytest.raises(InputError):
        regularize(np.ones((2, 3)), 1.0)


@pytest.mark.parametrize("target", [0.2, 0.4, 0.6])
def test_symmetric_magnitude_keeps_symmetry_and_pd(rng, target):
    H = _ggn_like(rng) + 1e-3 * np.eye(60)
    res = prune(H, target, "symmetric-magnitude")
    P = res.matrix
    assert res.is_symmetric and np.array_equal(P, P.T)
    assert res.is_positive_definite and np.linalg.eigvalsh(P).min() > 0
    assert res.density <= target + 1e-12
    assert np.allclose(np.diagonal(P) - res.eps_added, np.diagonal(H), rtol=1e-12, atol=1e-12)  # diagonal kept
    # the kept off-diagonal entries are the largest ones
    off = ~np.eye(60, dtype=bool)
    kept = np.abs(H[off & (P != 0)])
    dropped = np.abs(H[off & (P == 0) & (H != 0)])
    if kept.size and dropped.size:
        assert kept.min() >= dropped.max()


def test_shift_repair_reported(rng):
    H = _ggn_like(rng, n=80, r=30, zero_rows=0) + 1e-4 * np.eye(80)
    res = prune(H, 0.15, "symmetric-magnitude")
    if res.repaired:                        # pruning broke PD: the shift is reported
        assert res.eps_added > 0 and res.repair == "shift"
    assert res.is_positive_definite and np.linalg.eigvalsh(res.matrix).min() > 0
    raw = prune(H, 0.15, "symmetric-magnitude", keep_pd=False)
    assert not raw.repaired and raw.eps_added == 0.0
    assert raw.is_positive_definite == (np.linalg.eigvalsh(raw.matrix).min() > 0)


def test_diagonal_compensation_repair(rng):
    H = _ggn_like(rng, n=50, r=20, zero_rows=0) + 1e-2 * np.eye(50)
    res = prune(H, 0.1, "symmetric-magnitude", repair="diagonal")
    assert res.is_symmetric and res.is_positive_definite and res.eps_added == 0.0
    # H_pruned + D >= H: every eigenvalue of the difference is >= 0
    assert np.linalg.eigvalsh(res.matrix - H).min() > -1e-10


def test_rowwise_topk_is_neither_symmetric_nor_pd(rng):
    H = _ggn_like(rng) + 1e-3 * np.eye(60)
    res = prune(H, 0.3, "rowwise-topk")
    k = round(0.3 * 60)
    assert (np.count_nonzero(res.matrix, axis=1) <= k).all()
    assert not res.is_symmetric and not res.is_positive_definite and not res.repaired
    # each kept entry is one of the row's k largest
    for i in range(60):
        row = np.abs(H[i])
        kth = np.sort(row)[-k]
        assert (np.abs(res.matrix[i][res.matrix[i] != 0]) >= kth).all()


def test_global_and_random(rng):
    H = _ggn_like(rng) + 1e-3 * np.eye(60)
    g = prune(H, 0.3, "global")
    assert np.count_nonzero(g.matrix) == round(0.3 * H.size) and not g.repaired   # exactly k kept
    thr = np.sort(np.abs(H).ravel())[-round(0.3 * H.size)]
    assert (np.abs(g.matrix[g.matrix != 0]) >= thr).all()
    r1 = prune(H, 0.3, "random", seed=1)
    r2 = prune(H, 0.3, "random", seed=1)
    assert np.array_equal(r1.matrix, r2.matrix)                  # seeded
    assert r1.is_symmetric and r1.is_positive_definite
    assert abs(prune(H, 0.3, "random", seed=2, keep_pd=False).density - 0.3) < 0.06


def test_target_at_or_above_own_density(rng):
    H = _ggn_like(rng) + 1e-3 * np.eye(60)              # 4 zero rows/cols: density < 1
    d0 = np.count_nonzero(H) / H.size
    res = prune(H, 1.0, "symmetric-magnitude")
    assert res.density == pytest.approx(d0) and "nothing pruned" in res.note
    assert np.array_equal(res.matrix, H)


def test_newton_direction_error(rng):
    H = _ggn_like(rng)
    g = rng.standard_normal(60)
    assert newton_direction_error(H, g, H, 1e-2) == 0.0
    res = prune(H + 1e-2 * np.eye(60), 0.3, "symmetric-magnitude")
    err = newton_direction_error(H, g, res.matrix - 1e-2 * np.eye(60), 1e-2)
    x = np.linalg.solve(H + 1e-2 * np.eye(60), g)
    xp = np.linalg.solve(res.matrix, g)
    assert err == pytest.approx(np.linalg.norm(xp - x) / np.linalg.norm(x), rel=1e-9)
    with pytest.raises(InputError, match="shapes"):
        newton_direction_error(H, g[:5], H, 1e-2)
    with pytest.raises(InputError, match="zero"):
        newton_direction_error(H, np.zeros(60), H, 1e-2)


def test_prune_bad_inputs(rng):
    H = _ggn_like(rng)
    with pytest.raises(InputError, match="target density"):
        prune(H, 0.0)
    with pytest.raises(InputError, match="target density"):
        prune(H, 1.5)
    with pytest.raises(UnknownNameError, match="pruning strategy"):
        prune(H, 0.5, "magic")
    with pytest.raises(UnknownNameError, match="repair"):
        prune(H, 0.5, repair="pray")
    B = H.copy()
    B[0, 5] += 1.0
    with pytest.raises(InputError, match="not symmetric"):
        prune(B, 0.5)
    C = H.copy()
    C[1, 1] = np.inf
    with pytest.raises(InputError, match="NaN or Inf"):
        prune(C, 0.5)
    with pytest.raises(InputError, match="square"):
        prune(np.ones((3, 4)), 0.5)


def test_kappa_after_pruning_is_finite(rng):
    H = _ggn_like(rng) + 1e-3 * np.eye(60)
    res = prune(H, 0.3, "symmetric-magnitude")
    assert np.isfinite(kappa_exact(res.matrix).kappa)
