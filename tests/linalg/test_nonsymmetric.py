"""Non-symmetric blocks (rowwise top-k pruning): kappa from singular values against numpy's 2-norm
condition number, features, which solvers apply, and the QLSA priced on the Hermitian dilation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from references import qlsa_seconds

from qlsa_sim.cost.models import QuantumResourceModel
from qlsa_sim.cost.profile import profile_from_constants
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg.conditioning import prune
from qlsa_sim.linalg.features import FeatureConfig, prepare_block
from qlsa_sim.linalg.spectrum import kappa_singular
from qlsa_sim.schedule.pipeline import block_estimates


def _psd(rng, n, rank=None):
    M = rng.standard_normal((n, rank or n))
    return M @ M.T / (rank or n)


@pytest.mark.parametrize("exact_max_n", [1000, 8])  # svdvals, and Lanczos with one LU
def test_kappa_singular_matches_numpy_cond(exact_max_n):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 60)) + 4.0 * np.eye(60)
    s = kappa_singular(A, exact_max_n=exact_max_n)
    assert s.kappa == pytest.approx(np.linalg.cond(A, 2), rel=1e-6)
    sv = np.linalg.svd(A, compute_uv=False)
    assert (s.lambda_min, s.lambda_max) == pytest.approx((sv[-1], sv[0]), rel=1e-6)
    assert s.exact == (exact_max_n >= 60)
    # symmetric input: singular values are |eigenvalues|
    H = _psd(rng, 30) + 0.1 * np.eye(30)
    assert kappa_singular(H, exact_max_n=exact_max_n).kappa == pytest.approx(np.linalg.cond(H), rel=1e-6)


@pytest.mark.parametrize("exact_max_n", [1000, 8])
def test_kappa_singular_singular_and_bad_input(exact_max_n):
    A = np.random.default_rng(1).standard_normal((20, 20))
    A[3] = 0.0
    assert math.isinf(kappa_singular(A, exact_max_n=exact_max_n).kappa)
    with pytest.raises(InputError, match="square"):
        kappa_singular(np.ones((3, 4)))
    with pytest.raises(InputError, match="NaN"):
        kappa_singular(np.full((3, 3), np.nan))


@pytest.mark.parametrize("kappa_method,exact_max_n", [("exact", 1024), ("auto", 1024), ("lanczos", 1024),
                                                      ("auto", 16)])
def test_rowwise_pruned_block_features(kappa_method, exact_max_n):
    rng = np.random.default_rng(2)
    H = _psd(rng, 40, rank=12)
    cfg = FeatureConfig(reg_eps=0.05, prune_density=0.2, prune_strategy="rowwise-topk", kappa_method=kappa_method,
                        exact_max_n=exact_max_n)
    A, f = prepare_block(H, cfg)
    ref = prune(H + 0.05 * np.eye(40), 0.2, "rowwise-topk").matrix
    np.testing.assert_array_equal(A, ref)
    assert not np.array_equal(A, A.T) and not f.symmetric and not f.positive_definite
    assert f.kappa == pytest.approx(np.linalg.cond(A, 2), rel=1e-6)
    rows, cols = np.count_nonzero(A, axis=1), np.count_nonzero(A, axis=0)
    assert rows.max() == 8 and f.max_nnz_per_row == max(rows.max(), cols.max())  # dilation sparsity
    # symmetric strategies keep symmetric=True and positive definiteness
    _, g = prepare_block(H, FeatureConfig(reg_eps=0.05, prune_density=0.2))
    assert g.symmetric and g.positive_definite


def test_only_lu_and_the_qlsa_apply_and_the_qlsa_is_priced_on_the_dilation():
    rng = np.random.default_rng(3)
    H = _psd(rng, 32)
    _, f = prepare_block(H, FeatureConfig(reg_eps=0.1, prune_density=0.25, prune_strategy="rowwise-topk"))
    rm = QuantumResourceModel(encoding="sparse")
    prof = profile_from_constants(cholesky=(1e-10, 1e-5), lu=(2e-10, 1e-5), cg=(1e-9, 1e-5), q1=1e-9, q2=0.0,
                                  resource_model=rm)
    solvers = {e.solver for e in block_estimates(f, prof, "resources")}
    assert solvers == {"lu", "qlsa:jennings2023_v1"}
    sigma = f.lambda_max
    ref = qlsa_seconds(rm, 64, f.max_nnz_per_row, f.kappa, max_abs_entry=f.max_abs_entry,
                       lambda_min=sigma / f.kappa, lambda_max=sigma)
    assert rm.estimate(f).seconds == pytest.approx(ref, rel=1e-12)
    assert rm.estimate(f).seconds > qlsa_seconds(rm, 32, f.max_nnz_per_row, f.kappa, max_abs_entry=f.max_abs_entry,
                                                 lambda_min=sigma / f.kappa, lambda_max=sigma)
    # dense data on the dilation: alpha = ||[[0, A], [A^T, 0]]||_F = sqrt(2) ||A||_F
    dense = QuantumResourceModel(encoding="dense").estimate(f).resources
    assert dense.n == 64 and dense.alpha == pytest.approx(math.sqrt(2) * f.frobenius_norm, rel=1e-12)


def test_singular_block_gets_no_qlsa_and_unknown_strategy_is_named():
    from dataclasses import replace

    rng = np.random.default_rng(4)
    _, f = prepare_block(_psd(rng, 10), FeatureConfig(reg_eps=0.1))
    est = QuantumResourceModel().estimate(replace(f, kappa=math.inf))
    assert math.isinf(est.seconds) and "singular" in est.model
    with pytest.raises(UnknownNameError, match="pruning strategy"):
        FeatureConfig(prune_density=0.5, prune_strategy="topk")
