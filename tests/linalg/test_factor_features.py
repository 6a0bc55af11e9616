"""Features of a block taken from its factor (``linalg/factor.py``, ``prepare``'s factor path) against the dense
path, float64: kappa to 1e-8 relative, the norms and the largest entry exactly, the density within its stated
Hoeffding bound (exactly where every pair of rows overlaps), the bounds of the largest row count holding; the dense
matrix is never built unless asked for."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qlsa_sim.errors import InputError
from qlsa_sim.linalg import factor as factor_mod
from qlsa_sim.linalg.factor import (dense_from_factor, factor_matvec, factor_rmatvec, factor_sparsity,
                                   hoeffding_halfwidth, mirror_lower, summarize_factor)
from qlsa_sim.linalg.features import FeatureConfig, prepare, uses_factor_path
from qlsa_sim.linalg.solvers import factor_apply, woodbury_solve
from qlsa_sim.linalg.sparsity import nnz_per_row
from qlsa_sim.linalg.spectrum import gram_lambda_max, kappa_exact, kappa_from_factor

EPS = 1e-3
SMALL = dict(exact_max_n=32)  # the factor path applies from n = 33 on


def sparse_factor(rng, n=160, r=24, zero_rows=12, p=0.08):
    """A factor whose rows have small random supports (so M M^T has structural zeros) and some zero rows, like the
    dead pixels of an MLP's first layer."""
    M = rng.standard_normal((n, r)) * (rng.random((n, r)) < p)
    M[rng.choice(n, zero_rows, replace=False)] = 0.0
    return M


def dense_reference(M, scale, eps, tol_rel=0.0):
    """The slow, obvious features of A = scale M M^T + eps I."""
    A = scale * (M @ M.T) + eps * np.eye(M.shape[0])
    rows = nnz_per_row(A, tol_rel * np.abs(A).max())
    return A, rows


@pytest.mark.parametrize("scale", [1.0, 1 / 128])
def test_factor_path_equals_dense_path(rng, scale):
    M = sparse_factor(rng)
    cfg = FeatureConfig(reg_eps=EPS, **SMALL)
    p = prepare(None, cfg, factor=M, factor_scale=scale)
    f = p.features
    assert p.from_factor and not p.matrix_built and f.density_method == "sampled"
    A, rows = dense_reference(M, scale, EPS)
    dense = prepare(A - EPS * np.eye(len(A)), dataclasses.replace(cfg, kappa_method="exact")).features
    assert f.kappa == pytest.approx(dense.kappa, rel=1e-8)
    assert f.lambda_max == pytest.approx(dense.lambda_max, rel=1e-10)
    assert f.lambda_min == EPS and f.positive_definite and f.kappa_exact and f.symmetric
    assert f.max_abs_entry == pytest.approx(np.abs(A).max(), rel=1e-13)
    assert f.frobenius_norm == pytest.approx(np.linalg.norm(A), rel=1e-12)
    assert f.factor_frobenius_sq == pytest.approx(np.sum(M * M), rel=1e-13) and f.factor_rank == M.shape[1]
    assert abs(f.density - rows.sum() / A.size) <= f.density_error
    assert f.max_nnz_per_row_lower <= rows.max() <= f.max_nnz_per_row
    assert 0 < f.gram_seconds <= f.seconds
    # the matrix, when asked for, is the dense path's (up to rounding), exactly symmetric
    H = scale * (M @ M.T)
    np.testing.assert_allclose(p.matrix, prepare(H, cfg).matrix, rtol=1e-13, atol=1e-15 * np.abs(H).max())
    assert np.array_equal(p.matrix, p.matrix.T) and p.matrix_built


def test_density_is_exact_when_every_pair_of_rows_overlaps(rng):
    M = rng.standard_normal((120, 10))
    M[[3, 50, 77]] = 0.0       # zero rows: counted exactly (only their eps diagonal)
    f = prepare(None, FeatureConfig(reg_eps=EPS, **SMALL), factor=M).features
    A, rows = dense_reference(M, 1.0, EPS)
    assert f.nnz == rows.sum() and f.max_nnz_per_row == f.max_nnz_per_row_lower == rows.max() == 117


def test_density_tolerance_path_counts_values(rng):
    M = sparse_factor(rng, p=0.3)
    cfg = FeatureConfig(reg_eps=EPS, density_tol=0.05, **SMALL)
    f = prepare(None, cfg, factor=M).features
    A, rows = dense_reference(M, 1.0, EPS, 0.05)
    assert abs(f.density - rows.sum() / A.size) <= f.density_error
    assert f.max_nnz_per_row_lower <= rows.max() <= f.max_nnz_per_row


def test_sampled_density_stays_within_its_bound_over_seeds(rng):
    M = sparse_factor(rng, n=90, r=16, p=0.12)
    s = summarize_factor(M)
    _, rows = dense_reference(M, 1.0, EPS)
    for seed in range(20):
        sp = factor_sparsity(M, s, 1.0, EPS, 0.0, samples=512, seed=seed)
        assert abs(sp.nnz - rows.sum()) <= sp.nnz_error
    assert hoeffding_halfwidth(512) == pytest.approx(np.sqrt(np.log(2e6) / 1024))


def test_when_the_factor_path_applies(rng):
    M = rng.standard_normal((40, 8))
    assert uses_factor_path(40, FeatureConfig(**SMALL), M)
    assert not uses_factor_path(40, FeatureConfig(), M)                                   # small: dense, exact
    assert not uses_factor_path(40, FeatureConfig(kappa_method="exact", **SMALL), M)
    assert not uses_factor_path(40, FeatureConfig(prune_density=0.5, **SMALL), M)
    assert not uses_factor_path(40, FeatureConfig(factor_features="dense", **SMALL), M)
    assert not uses_factor_path(40, FeatureConfig(**SMALL), rng.standard_normal((40, 40)))  # r >= n
    with pytest.raises(InputError):
        prepare(None, FeatureConfig(**SMALL))
    bad = M.copy()
    bad[3, 2] = np.nan
    with pytest.raises(InputError, match="NaN"):
        prepare(None, FeatureConfig(**SMALL), factor=bad)


def test_relative_regularization_from_the_gram(rng):
    M = rng.standard_normal((60, 9))
    f = prepare(None, FeatureConfig(reg_eps=1e-4, reg_relative=True, **SMALL), factor=M).features
    assert f.reg_eps == pytest.approx(1e-4 * np.linalg.eigvalsh(M @ M.T)[-1], rel=1e-10)


def test_lanczos_on_the_gram_matches_eigvalsh(rng):
    M = rng.standard_normal((300, 80)) * np.linspace(0.1, 3.0, 80)
    G = M.T @ M
    top = gram_lambda_max(G)
    assert top.converged and top.theta_max == pytest.approx(np.linalg.eigvalsh(G)[-1], rel=1e-12)
    fast = kappa_from_factor(None, EPS, scale=0.5, gram=G, n=300, lanczos_min_rank=1)
    ref = kappa_exact(0.5 * M @ M.T, EPS)
    assert fast.method == "factor-gram-lanczos" and fast.kappa == pytest.approx(ref.kappa, rel=1e-8)


def test_chunked_products_and_woodbury_reuse(rng, monkeypatch):
    monkeypatch.setattr(factor_mod, "CHUNK_ELEMS", 64)  # many chunks
    M = rng.standard_normal((70, 12)).astype(np.float32)
    M64 = M.astype(np.float64)
    s = summarize_factor(M)
    np.testing.assert_allclose(s.gram, M64.T @ M64, rtol=1e-12)
    np.testing.assert_allclose(s.row_sq, np.sum(M64 * M64, axis=1), rtol=1e-12)
    assert (s.support_sizes() == np.count_nonzero(M, axis=1)).all()
    x, y = rng.standard_normal(12), rng.standard_normal(70)
    np.testing.assert_allclose(factor_matvec(M, x), M64 @ x, rtol=1e-12)
    np.testing.assert_allclose(factor_rmatvec(M, y), M64.T @ y, rtol=1e-12)
    g = rng.standard_normal(70)
    A = 0.25 * M64 @ M64.T + 0.1 * np.eye(70)
    ref = np.linalg.solve(A, g)
    np.testing.assert_allclose(woodbury_solve(M, g, 0.1, scale=0.25), ref, rtol=1e-9)
    np.testing.assert_allclose(woodbury_solve(M, g, 0.1, scale=0.25, gram=s.gram), ref, rtol=1e-9)
    np.testing.assert_allclose(factor_apply(M, ref, 0.1, scale=0.25), g, rtol=1e-9)
    np.testing.assert_allclose(dense_from_factor(M, 0.25, 0.1, rows=16), A, atol=1e-6 * np.abs(A).max())  # float32
    np.testing.assert_allclose(dense_from_factor(M64, 0.25, 0.1, rows=16), A, rtol=1e-13)
    L = dense_from_factor(M64, 0.25, 0.1, rows=16, mirror=False)                              # for Cholesky
    np.testing.assert_allclose(np.tril(L), np.tril(A), rtol=1e-13)
    assert np.triu(L, 16).any() == False  # noqa: E712 - above the diagonal blocks: left zero
    np.testing.assert_allclose(mirror_lower(L), A, rtol=1e-13)


def test_lower_matrix_then_full_matrix(rng):
    from qlsa_sim.linalg.solvers import cholesky_solve

    M = rng.standard_normal((60, 8))
    p = prepare(None, FeatureConfig(reg_eps=EPS, **SMALL), factor=M)
    L = p.lower_matrix()
    g = rng.standard_normal(60)
    A = M @ M.T + EPS * np.eye(60)
    np.testing.assert_allclose(cholesky_solve(L, g), np.linalg.solve(A, g), rtol=1e-7)
    assert not p.matrix_built and p.matrix is L and np.array_equal(L, L.T)   # completed in place when asked for
    np.testing.assert_allclose(L, A, rtol=1e-13)


def test_prune_strategy_names_agree():
    from qlsa_sim.linalg.conditioning import STRATEGIES
    from qlsa_sim.linalg.features import PRUNE_STRATEGIES

    assert PRUNE_STRATEGIES == STRATEGIES
