"""Paper Eq. 3 (t = c1 n^3 + c2) fitted up to N, checked against solves MEASURED at 2N and 3N (1 thread).

Times dense Cholesky and LU solves (``calibrate.time_dense_solves``, float64) at 32, 64, ..., N
(default 2048), fits Eq. 3 with each method of ``calibrate.fit_eq3`` ("asymptotic", the default,
and "relative") and, for reference, the rejected rule "c1 by relative error on the 3 largest sizes
alone, c2 = overhead at the smallest n". Then MEASURES the same solves at 2N and 3N (the baseline,
measured in the same run) and prints, per solver and method, c1, c2, R^2 on the calibration
sizes and modeled / measured seconds at N, 2N and 3N. A ratio above 1 over-predicts the
classical time (biases comparisons toward the quantum side).

    python bench/bench_calibration_extrapolation.py [--n 2048] [--at 4096,6144] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.optimize import nnls  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from qlsa_sim.cost.calibrate import EQ3_FITS, Eq3Fit, _r2, fit_eq3, time_dense_solves  # noqa: E402


def _top3(n: list[int], t: list[float]) -> Eq3Fit:
    """The rejected rule: c1 n^3 alone, relative error, on the 3 largest sizes; c2 = overhead at the smallest n."""
    x, y = np.asarray(n, float), np.asarray(t, float)
    (c1,), _ = nnls((x[-3:] ** 3 / y[-3:])[:, None], np.ones(3))
    c2 = max(0.0, y[0] - c1 * x[0] ** 3)
    return Eq3Fit(float(c1), c2, *_r2(y, c1 * x ** 3 + c2), "top-3 sizes (rejected)", tuple(n[-3:]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048, help="largest calibration size N (sizes 32, 64, ..., N)")
    ap.add_argument("--at", default="", help="sizes to measure and predict (comma-separated; default 2N,3N)")
    ap.add_argument("--repeats", type=int, default=5, help="repeats per calibration size (large sizes: <= 3)")
    args = ap.parse_args(argv)
    sizes = [int(v) for v in 2 ** np.arange(5, int(np.log2(args.n)) + 1)]
    at = [int(v) for v in args.at.split(",")] if args.at else [2 * sizes[-1], 3 * sizes[-1]]
    torch.set_num_threads(1)
    print(f"calibration sizes {sizes}; measured at {at}; float64, 1 thread, medians of repeats")
    with threadpool_limits(1):
        for solver in ("cholesky", "lu"):
            cal = time_dense_solves(solver, sizes, repeats=args.repeats, progress=False)
            big = time_dense_solves(solver, at, repeats=3, progress=False, budget_seconds=2.0)
            n, t = [r["n"] for r in cal], [r["median"] for r in cal]
            ref = {r["n"]: r for r in [cal[-1], *big]}
            print(f"\n{solver}: MEASURED " + ", ".join(
                f"n={m}: {r['median']:.4g} s ({r['flops'] / r['median'] / 1e9:.1f} GFLOP/s)" for m, r in ref.items()))
            print(f"  {'fit':24s} {'c1':>10s} {'c2':>10s} {'R^2':>6s} {'logR^2':>6s}  modeled/measured at "
                  + ", ".join(f"n={m}" for m in ref))
            for f in [fit_eq3(n, t, m) for m in EQ3_FITS] + [_top3(n, t)]:
                ratios = "  ".join(f"{f.seconds(m) / r['median']:6.2f}" for m, r in ref.items())
                print(f"  {f.method:24s} {f.c1:10.4g} {f.c2:10.4g} {f.r2:6.3f} {f.r2_log:6.3f}  {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
