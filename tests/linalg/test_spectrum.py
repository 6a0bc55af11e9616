"""Spectrum estimates against dense eigvalsh (float64, small cases)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
import torch

from qlsa_sim.errors import InputError
from qlsa_sim.linalg.merikoski import merikoski_log10_bound, merikoski_log10_from_parts
from qlsa_sim.linalg.spectrum import (
    check_symmetric,
    factor_eigenvalues,
    kappa_exact,
    kappa_from_factor,
    kappa_lanczos,
    lanczos_extremes,
    numerical_rank,
    numerical_rank_from_factor,
)


def _spd(rng, n, cond=100.0):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.geomspace(1.0, cond, n)
    return (Q * w) @ Q.T, w


def _lowrank_psd(rng, n, r, zero_rows=0):
    M = rng.standard_normal((n, r))
    M[:zero_rows] = 0.0
    return M @ M.T, M


def test_check_symmetric_rejects_bad_input(rng):
    A, _ = _spd(rng, 6)
    check_symmetric(A)
    B = A.copy()
    B[0, 1] += 1e-3
    with pytest.raises(InputError, match="not symmetric"):
        check_symmetric(B)
    B = A.copy()
    B[2, 2] = np.nan
    with pytest.raises(InputError, match="NaN"):
        check_symmetric(B)
    with pytest.raises(InputError, match="square"):
        check_symmetric(np.ones((3, 4)))
    with pytest.raises(InputError, match="square"):
        check_symmetric(np.ones(3))
    check_symmetric(torch.from_numpy(A))  # torch tensors accepted


def test_check_symmetric_tiles_large():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2100, 2100))
    A = A + A.T
    check_symmetric(A)
    A[1500, 20] += 1.0
    with pytest.raises(InputError, match="not symmetric"):
        check_symmetric(A)


def test_kappa_exact_matches_definition(rng):
    A, w = _spd(rng, 30, cond=1e3)
    est = kappa_exact(A, eps=0.5)
    assert est.exact and est.method.startswith("eigvalsh")
    assert est.kappa == pytest.approx((w.max() + 0.5) / (w.min() + 0.5), rel=1e-10)
    assert est.lambda_min == pytest.approx(w.min() + 0.5, rel=1e-10)
    assert est.seconds >= 0
    # indefinite: max|lambda| / min|lambda|
    D = np.diag([-4.0, 1.0, 2.0, 0.5])
    assert kappa_exact(D).kappa == pytest.approx(8.0)
    # singular -> inf; torch backend agrees with numpy
    H, _ = _lowrank_psd(rng, 20, 5)
    assert math.isinf(kappa_exact(H).kappa)
    assert kappa_exact(A, backend="torch").kappa == pytest.approx(kappa_exact(A, backend="numpy").kappa, rel=1e-9)


@pytest.mark.parametrize("eps", [1e-3, 1e-1])
def test_lanczos_singular_psd_vs_eigvalsh(rng, eps):
    H, _ = _lowrank_psd(rng, 300, 40, zero_rows=3)   # zero rows pin lambda_min = 0
    ref = kappa_exact(H, eps)
    est = kappa_lanczos(H, eps)
    assert not est.exact and est.matvecs >= 2
    assert est.kappa == pytest.approx(ref.kappa, rel=1e-6)
    assert est.lambda_min == eps
    assert "singular" in est.note
    assert est.kappa_lower <= ref.kappa * (1 + 1e-9) and ref.kappa <= est.kappa_upper * (1 + 1e-9)


def test_lanczos_rank_given_from_factor(rng):
    H, M = _lowrank_psd(rng, 200, 20)                   # no zero diagonal, but rank 20 < 200
    ref = kappa_exact(H, 1e-2)
    est = kappa_lanczos(H, 1e-2, rank=20)
    assert est.kappa == pytest.approx(ref.kappa, rel=1e-6)
    assert "rank 20" in est.note


def test_lanczos_nonsingular_low_end(rng):
    A, w = _spd(rng, 120, cond=50.0)
    ref = kappa_exact(A, 0.0)
    est = kappa_lanczos(A, 0.0, low_end_budget=120)
    assert "converged" in est.note and "NOT" not in est.note
    assert est.kappa == pytest.approx(ref.kappa, rel=1e-4)


def test_lanczos_operator_sparse_torch_float32(rng):
    H, M = _lowrank_psd(rng, 150, 10, zero_rows=1)
    ref = kappa_exact(H, 1e-2).kappa
    op = scipy.sparse.linalg.LinearOperator(H.shape, matvec=lambda v: M @ (M.T @ v), dtype=np.float64)
    assert kappa_lanczos(op, 1e-2, rank=10).kappa == pytest.approx(ref, rel=1e-6)
    assert kappa_lanczos(scipy.sparse.csr_matrix(H), 1e-2, rank=10).kappa == pytest.approx(ref, rel=1e-6)
    assert kappa_lanczos(torch.from_numpy(H), 1e-2).kappa == pytest.approx(ref, rel=1e-6)
    assert kappa_lanczos(H.astype(np.float32), 1e-2).kappa == pytest.approx(ref, rel=1e-4)


def test_lanczos_indefinite_uses_shift_invert(rng):
    Q, _ = np.linalg.qr(rng.standard_normal((60, 60)))
    w = np.concatenate([-np.geomspace(0.1, 5, 30), np.geomspace(0.2, 10, 30)])
    A = (Q * w) @ Q.T
    est = kappa_lanczos(A, 0.0, psd=False)
    assert est.kappa == pytest.approx(10 / 0.1, rel=1e-4)
    assert "shift-invert" in est.method
    op = scipy.sparse.linalg.aslinearoperator(A)
    with pytest.raises(InputError, match="indefinite"):
        kappa_lanczos(op, 0.0, psd=False)


def test_lanczos_extremes_both_ends(rng):
    A, w = _spd(rng, 80, cond=20.0)
    lz = lanczos_extremes(lambda v: A @ v, 80, want="both", max_matvecs=80, tol=1e-8)
    assert lz.theta_max == pytest.approx(w.max(), rel=1e-7)
    assert lz.theta_min == pytest.approx(w.min(), rel=1e-6)


def test_lanczos_bad_input(rng):
    A, _ = _spd(rng, 50)
    B = A.copy()
    B[3, 7] += 5.0
    with pytest.raises(InputError, match="not symmetric"):
        kappa_lanczos(B, 1e-3, psd=False)
    C = A.copy()
    C[4, 9] = np.nan
    with pytest.raises(InputError, match="NaN"):
        kappa_lanczos(C, 1e-3, psd=False)
    with pytest.raises(InputError, match="square"):
        kappa_lanczos(np.ones((3, 4)))
    with pytest.raises(InputError, match="eps"):
        kappa_lanczos(A, -1.0)
    with pytest.raises(InputError, match="semi-definite"):
        kappa_lanczos(-A, 0.0)


def test_factor_route_exact(rng):
    n, r, B = 90, 12, 4.0
    M = rng.standard_normal((n, r))
    H = M @ M.T / B
    ref = kappa_exact(H, 1e-3)
    est = kappa_from_factor(M, 1e-3, scale=1 / B)
    assert est.exact and est.kappa == pytest.approx(ref.kappa, rel=1e-9)
    est2 = kappa_from_factor(M, 1e-3, scale=1 / B, gram=M.T @ M)
    assert est2.kappa == pytest.approx(est.kappa, rel=1e-12)
    w, nn = factor_eigenvalues(M, scale=1 / B)
    assert nn == n and np.allclose(w, np.linalg.eigvalsh(H)[-r:], atol=1e-12)
    assert numerical_rank_from_factor(M, scale=1 / B) == r == numerical_rank(H)
    # tall factor with r >= n (full rank): lambda_min from the Gram's top n eigenvalues
    M2 = rng.standard_normal((10, 30))
    assert kappa_from_factor(M2, 0.0).kappa == pytest.approx(kappa_exact(M2 @ M2.T).kappa, rel=1e-8)


def test_numerical_rank(rng):
    H, _ = _lowrank_psd(rng, 40, 7)
    assert numerical_rank(H) == 7
    assert numerical_rank(H, tol=1e300) == 0
    with pytest.raises(InputError):
        numerical_rank(H, tol=-1.0)


def _plain_merikoski(A, form):
    n = A.shape[0]
    if form == "general":
        x = math.sqrt(1 - (n / np.linalg.norm(A, "fro") ** 2) ** n * np.linalg.det(A) ** 2)
        return math.sqrt((1 + x) / (1 - x))
    y = math.sqrt(1 - (n / np.trace(A)) ** n * np.linalg.det(A))
    return (1 + y) / (1 - y)


@pytest.mark.parametrize("form", ["general", "trace"])
def test_merikoski_log_vs_plain_formula(rng, form):
    for n, cond in [(3, 5.0), (5, 30.0), (8, 200.0)]:
        A, w = _spd(rng, n, cond)
        lb = merikoski_log10_bound(A, form=form)
        plain = _plain_merikoski(A, form)
        assert lb == pytest.approx(math.log10(plain), rel=1e-6, abs=1e-9)
        assert 10 ** lb >= cond * (1 - 1e-9)          # an upper bound of the true kappa


def test_merikoski_tight_for_n2_and_large_n_finite(rng):
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    k = kappa_exact(A).kappa
    assert 10 ** merikoski_log10_bound(A, form="general") == pytest.approx(k, rel=1e-9)
    assert 10 ** merikoski_log10_bound(A, form="trace") == pytest.approx(k, rel=1e-9)
    big, _ = _spd(rng, 300, cond=1e3)
    lb = merikoski_log10_bound(big)
    assert math.isfinite(lb) and lb >= 3.0               # the plain formula would overflow here
    H, _ = _lowrank_psd(rng, 30, 5)
    assert merikoski_log10_bound(H) > 100                 # numerically singular: rounding-level det
    H0, _ = _lowrank_psd(rng, 30, 5, zero_rows=1)
    assert math.isinf(merikoski_log10_bound(H0))          # exactly singular (zero row): no finite bound
    assert math.isinf(merikoski_log10_from_parts(4, -math.inf, 1.0))


def test_merikoski_bad_input(rng):
    D = np.diag([2.0, -1.0, 3.0])
    with pytest.raises(InputError, match="positive definite"):
        merikoski_log10_bound(D, form="trace")
    assert merikoski_log10_bound(D, form="general") >= math.log10(3.0)
    with pytest.raises(InputError, match="unknown Merikoski form"):
        merikoski_log10_bound(np.eye(3), form="frobenius")
