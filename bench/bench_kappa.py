"""kappa estimation at n = 12560 (layer-1 block of the 784-16-10 MLP, batch 128) vs one Cholesky solve.

For H + eps*I with eps = 1e-3 (float64, 1 thread) this prints, from one run:
  - one Cholesky solve of (H + eps I) x = g (factor + two triangular solves) with torch/MKL, the
    baseline (the faster of the two backends of qlsa_sim.linalg.solvers.cholesky_solve), and
    with scipy/OpenBLAS for reference;
  - kappa_lanczos on the dense H (Lanczos lambda_max + the PSD low end), default tol and tol 1e-3;
  - kappa_from_factor (exact, from the 1280 x 1280 Gram matrix; with the Gram from the Kronecker
    factors and from M^T M);
  - the Merikoski bound (paper Eq. 2, general and trace forms) from the same Cholesky's log-det;
  - the exact kappa by dense eigvalsh (torch/MKL, ~1 min) unless --no-exact.
Targets (issue 4): kappa time <= 5% of one Cholesky solve; estimate within 2x of the exact kappa.

    python bench/bench_kappa.py [--no-exact]
"""

from __future__ import annotations

import os
import sys
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from bench_capture import _inputs  # noqa: E402

from qlsa_sim.curvature.mlp_ggn import _assemble_dense, factor_from_kron, gram_from_kron, mlp_layer_kron  # noqa: E402
from qlsa_sim.linalg.merikoski import merikoski_log10_from_parts  # noqa: E402
from qlsa_sim.linalg.spectrum import kappa_exact, kappa_from_factor, kappa_lanczos  # noqa: E402
from qlsa_sim.models.mlp import MLPConfig, build_mlp  # noqa: E402

EPS = 1e-3


def main(exact: bool) -> None:
    torch.set_num_threads(1)
    with threadpool_limits(1):
        model = build_mlp(MLPConfig((784, 16, 10)), seed=0)
        X, y, src = _inputs()
        k = mlp_layer_kron(model, X, y, 0)
        H = _assemble_dense(k.A.numpy(), k.C.numpy(), k.has_bias)
        n = H.shape[0]
        B = k.batch
        g = np.random.default_rng(0).standard_normal(n)
        print(f"block: layer 1 of 784-16-10, batch {B}, {src}; n = {n}; eps = {EPS:g}; float64; 1 thread")
        print(f"  zero rows {int((np.abs(H).max(axis=1) == 0).sum())}, density {np.count_nonzero(H) / H.size:.3f}")

        est = kappa_lanczos(H, EPS)
        est_loose = kappa_lanczos(H, EPS, tol=1e-3)
        t = time.perf_counter()
        gram = gram_from_kron(k).numpy()
        t_gram = time.perf_counter() - t
        fac_k = kappa_from_factor(None, EPS, scale=1.0 / B, gram=gram, n=n)
        M = factor_from_kron(k).numpy()
        fac_m = kappa_from_factor(M, EPS, scale=1.0 / B)
        del M

        A = H                                   # H + eps I in place (H is not needed any more)
        A.flat[:: n + 1] += EPS
        # baseline: one Cholesky solve as qlsa_sim.linalg.solvers.cholesky_solve(backend="auto") does it
        t = time.perf_counter()
        L, info = torch.linalg.cholesky_ex(torch.from_numpy(A))
        t_fac = time.perf_counter() - t
        assert int(info) == 0
        yv = torch.linalg.solve_triangular(L, torch.from_numpy(g)[:, None], upper=False)
        x = torch.linalg.solve_triangular(L.mT, yv, upper=True)[:, 0].numpy()
        t_chol = time.perf_counter() - t
        logdet = 2.0 * float(torch.log(torch.diagonal(L)).sum())
        del L
        t = time.perf_counter()
        mer_g = merikoski_log10_from_parts(n, logdet, float(np.linalg.norm(A, "fro")), "general")
        mer_t = merikoski_log10_from_parts(n, logdet, float(np.trace(A)), "trace")
        t_mer = t_fac + time.perf_counter() - t
        resid = np.linalg.norm(A @ x - g) / np.linalg.norm(g)
        t = time.perf_counter()
        c = scipy.linalg.cho_factor(A, lower=True, check_finite=False)
        scipy.linalg.cho_solve(c, g, check_finite=False)
        t_chol_scipy = time.perf_counter() - t
        del c

        ref = kappa_exact(A, 0.0) if exact else None

    print(f"one Cholesky solve (torch/MKL, the solver's default): {t_chol:.2f} s (factor {t_fac:.2f} s), "
          f"relative residual {resid:.1e}; scipy/OpenBLAS: {t_chol_scipy:.2f} s")
    rows = [("lanczos (tol 1e-6)", est), ("lanczos (tol 1e-3)", est_loose),
            ("factor: Gram from Kron", fac_k), ("factor: Gram = M^T M", fac_m)]
    print(f"{'method':<24} {'kappa':>12} {'seconds':>8} {'% of solve':>10} {'matvecs':>7} "
          f"{'/ exact':>9}")
    for name, e in rows:
        secs = e.seconds + (t_gram if name == "factor: Gram from Kron" else 0.0)
        ratio = f"{e.kappa / ref.kappa:9.6f}" if ref else "      n/a"
        print(f"{name:<24} {e.kappa:12.6g} {secs:8.3f} {100 * secs / t_chol:9.2f}% {e.matvecs:7d} {ratio}")
    print(f"  lanczos note: {est.note}; bounds [{est.kappa_lower:.6g}, {est.kappa_upper:.6g}]")
    print(f"merikoski general (Eq. 2): kappa <= 10^{mer_g:.1f}; trace form: 10^{mer_t:.1f}; "
          f"{t_mer:.2f} s (one Cholesky)")
    if ref:
        print(f"exact ({ref.method}): kappa = {ref.kappa:.6g}, lambda_min = {ref.lambda_min:.6g}, "
              f"lambda_max = {ref.lambda_max:.6g}; {ref.seconds:.1f} s")
        r = est.kappa / ref.kappa
        print(f"targets: lanczos {100 * est.seconds / t_chol:.1f}% of one Cholesky solve (<= 5%: "
              f"{'met' if est.seconds <= 0.05 * t_chol else 'NOT met'}); ratio to exact {r:.6f} "
              f"(within 2x: {'met' if 0.5 <= r <= 2 else 'NOT met'})")
    else:
        print(f"targets: lanczos {100 * est.seconds / t_chol:.1f}% of one Cholesky solve; exact skipped (--no-exact)")


if __name__ == "__main__":
    main(exact="--no-exact" not in sys.argv[1:])
