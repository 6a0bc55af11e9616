"""Classical solvers against a dense direct solve, and the modeled flop counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse.linalg
import torch

from qlsa_sim.cost.classical_solvers import (
    cg_flops,
    cg_iterations,
    cg_phases,
    cholesky_flops,
    factored_matvec_flops,
    lu_flops,
    woodbury_flops,
    woodbury_phases,
)
from qlsa_sim.errors import InputError
from qlsa_sim.linalg.solvers import cg_solve, cholesky_solve, factor_operator, lu_solve, solve_with, woodbury_solve


def _spd(rng, n, cond=100.0):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.geomspace(1.0, cond, n)) @ Q.T


def test_direct_solvers(rng):
    A = _spd(rng, 40)
    g = rng.standard_normal(40)
    x = np.linalg.solve(A, g)
    assert np.allclose(cholesky_solve(A, g), x, rtol=1e-10, atol=1e-12)
    assert np.allclose(lu_solve(A, g), x, rtol=1e-10, atol=1e-12)
    G = rng.standard_normal((40, 3))
    assert np.allclose(cholesky_solve(torch.from_numpy(A), G), np.linalg.solve(A, G))
    N = rng.standard_normal((40, 40))
    assert np.allclose(lu_solve(N, g), np.linalg.solve(N, g))


@pytest.mark.parametrize("backend", ["scipy", "torch"])
def test_direct_solvers_both_backends(rng, backend):
    A = _spd(rng, 300)
    g = rng.standard_normal(300)
    x = np.linalg.solve(A, g)
    assert np.allclose(cholesky_solve(A, g, backend=backend), x, rtol=1e-9, atol=1e-11)
    assert np.allclose(lu_solve(A, g, backend=backend), x, rtol=1e-9, atol=1e-11)
    G = rng.standard_normal((300, 2))
    assert cholesky_solve(A, G, backend=backend).shape == (300, 2)
    with pytest.raises(InputError, match="not positive definite"):
        cholesky_solve(-A, g, backend=backend)
    S = A.copy()
    S[:, 7] = 0.0
    S[7, :] = 0.0
    with pytest.raises(InputError, match="singular"):
        lu_solve(S, g, backend=backend)


def test_direct_solver_errors(rng):
    A = _spd(rng, 10)
    with pytest.raises(InputError, match="not positive definite"):
        cholesky_solve(-A, np.ones(10))
    with pytest.raises(InputError, match="singular"):
        lu_solve(np.zeros((4, 4)), np.ones(4))
    with pytest.raises(InputError, match="backend"):
        lu_solve(A, np.ones(10), backend="magma")
    with pytest.raises(InputError, match="does not match"):
        cholesky_solve(A, np.ones(9))
    with pytest.raises(InputError, match="square"):
        lu_solve(np.ones((3, 4)), np.ones(3))
    B = A.copy()
    B[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        cholesky_solve(B, np.ones(10))


def test_cg_against_direct(rng):
    A = _spd(rng, 80, cond=50.0)
    g = rng.standard_normal(80)
    x, its = cg_solve(A, g, rtol=1e-10)
    assert np.linalg.norm(A @ x - g) <= 1e-10 * np.linalg.norm(g) * 1.01
    assert np.allclose(x, np.linalg.solve(A, g), rtol=1e-7, atol=1e-9)
    assert 1 <= its <= 80
    assert its <= cg_iterations(50.0, 1e-10) + 80       # model is an upper-bound style estimate
    op = scipy.sparse.linalg.aslinearoperator(A)
    x2, _ = cg_solve(op, g, rtol=1e-10)
    assert np.allclose(x2, x, rtol=1e-6, atol=1e-9)
    with pytest.warns(RuntimeWarning, match="did not reach"):
        cg_solve(A, g, rtol=1e-12, maxiter=2)
    with pytest.raises(InputError):
        cg_solve(A, g, rtol=0.0)


def test_woodbury_against_direct(rng):
    n, r, B, eps = 70, 9, 16.0, 1e-3
    M = rng.standard_normal((n, r))
    H = M @ M.T / B + eps * np.eye(n)
    g = rng.standard_normal(n)
    x = np.linalg.solve(H, g)
    xw = woodbury_solve(M, g, eps, scale=1 / B)
    assert np.linalg.norm(xw - x) <= 1e-8 * np.linalg.norm(x)
    xg = woodbury_solve(M, g, eps, scale=1 / B, gram=M.T @ M)
    assert np.allclose(xg, xw, rtol=1e-10)
    Mw = rng.standard_normal((8, 20))                     # r > n works too
    assert np.allclose(woodbury_solve(Mw, g[:8], 0.5), np.linalg.solve(Mw @ Mw.T + 0.5 * np.eye(8), g[:8]))
    with pytest.raises(InputError, match="eps > 0"):
        woodbury_solve(M, g, 0.0)
    with pytest.raises(InputError, match="does not match"):
        woodbury_solve(M, g[:5], eps)


def test_flop_models():
    assert cholesky_flops(3000) == pytest.approx(3000 ** 3 / 3 + 2 * 3000 ** 2)
    assert lu_flops(3000) == pytest.approx(2 * cholesky_flops(3000) - 2 * 3000 ** 2)
    k = cg_iterations(1e4, 1e-8)
    assert k == math.ceil(0.5 * 100 * math.log(2e8))
    assert cg_flops(1000, 5000, 1e4, 1e-8) == pytest.approx(k * (2 * 5000 + 10 * 1000))
    assert cg_iterations(1e4, 1e-8, max_iterations=50) == 50
    assert math.isinf(cg_iterations(math.inf, 1e-8))
    assert woodbury_flops(12560, 1280) < cholesky_flops(12560) / 10
    assert woodbury_flops(100, 10, gram_given=True) < woodbury_flops(100, 10)
    assert factored_matvec_flops(100, 10) == 4000
    with pytest.raises(InputError):
        cholesky_flops(0)
    with pytest.raises(InputError):
        cg_flops(10, 200, 10.0, 1e-6)
    with pytest.raises(InputError):
        cg_iterations(0.5, 1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_factor_operator_and_matrix_free_cg_against_dense(rng, dtype):
    n, r, eps, scale = 60, 7, 0.3, 0.25
    M = rng.standard_normal((n, r)).astype(dtype)
    A = scale * (M.astype(np.float64) @ M.astype(np.float64).T) + eps * np.eye(n)
    op = factor_operator(M, eps, scale=scale)
    v = rng.standard_normal(n)
    np.testing.assert_allclose(op.matvec(v), A @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(v), A @ v, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(n)
    x = solve_with("cg", None, g, factor=M, scale=scale, eps=eps, rtol=1e-10)  # no dense matrix needed
    np.testing.assert_allclose(x, np.linalg.solve(A, g), rtol=1e-8, atol=1e-10)
    bad = M.copy()
    bad[3, 2] = np.nan
    with pytest.raises(InputError, match="NaN or Inf"):
        solve_with("cg", None, g, factor=bad, scale=scale, eps=eps, rtol=1e-6)
    with pytest.raises(InputError, match="needs the dense matrix"):
        solve_with("cg", None, g, rtol=1e-6)


def test_matrix_free_cg_and_memory_models():
    k = cg_iterations(100.0, 1e-3)
    # matrix-free on the factor: 4 n r + 3 n per product, + 10 n vector work, per iteration
    assert cg_flops(1000, 1000 ** 2, 100.0, 1e-3, factor_rank=20) == pytest.approx(k * (4 * 1000 * 20 + 13 * 1000))
    (it,) = cg_phases(1000, 1000 ** 2, 100.0, 1e-3)
    assert (it.working_set, it.traffic) == (8e6, k * 8e6)                        # the dense matrix, each iteration
    (it,) = cg_phases(1000, 1000 ** 2, 100.0, 1e-3, factor_rank=20)
    assert (it.working_set, it.traffic) == (8 * 1000 * 20, k * 16 * 1000 * 20)  # the factor, twice an iteration
    assert it.flops == cg_flops(1000, 1000 ** 2, 100.0, 1e-3, factor_rank=20)
    ph = woodbury_phases(1000, 20)
    assert [p.name for p in ph] == ["gram", "cholesky", "apply"]
    assert sum(p.flops for p in ph) == woodbury_flops(1000, 20)
    assert ph[0].traffic == 160000 and ph[2].traffic == 2 * 160000 and ph[1].working_set == 8 * 20 * 20
    assert [p.name for p in woodbury_phases(1000, 20, gram_given=True)] == ["cholesky", "apply"]
