"""CG and Woodbury cost models, with and without their roofline memory term, against solves MEASURED past the cache.

The flop models' ``a`` is fitted where the operand fits in cache (``cost/calibrate.py``: CG at n <= 1024); the
memory term (``cost/models.py::ClassicalFlopModel``, Williams, Waterman & Patterson, CACM 2009) prices the bytes a
solve streams once its working set exceeds the profile's cache. This bench MEASURES (1 thread, float64 solvers):

- dense CG on SPD matrices of kappa ``--kappa`` at n = ``--sizes`` (in and out of cache);
- on a factor-stored block (H = M M^T / r + eps I, M n x r float32, the paper-scale shape 12560 x 1280 by default):
  matrix-free CG, and Woodbury with and without the Gram given (the scheduler's features compute it);

and prints MODELED / MEASURED seconds for the profile's models with the memory term and without it (the same a, b),
each priced at the MEASURED iteration count (so the per-iteration model is what is compared; the Shewchuk bound on
the iterations is a separate, stated approximation). A ratio far below 1 is a model optimistic for the classical
side (it would pick that solver where it is slow).

    python bench/bench_flop_models.py [--calibration calibration/example-2core.json] [--sizes 1024,2048,4096,8192]
        [--factor 12560x1280] [--kappa 100] [--rtol 1e-2]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from qlsa_sim.cost.calibrate import random_spd  # noqa: E402
from qlsa_sim.cost.profile import load_profile  # noqa: E402
from qlsa_sim.linalg.factor import summarize_factor  # noqa: E402
from qlsa_sim.linalg.features import FeatureConfig, prepare  # noqa: E402
from qlsa_sim.linalg.solvers import cg_solve, factor_operator, woodbury_solve  # noqa: E402


def _best(fn, repeats: int) -> tuple[float, object]:
    out, ts = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def _row(label: str, measured: float, with_mem: float, without: float) -> None:
    print(f"  {label:44s} MEASURED {measured:9.4g} s | modeled: roofline {with_mem:9.4g} s "
          f"({with_mem / measured:5.2f}x)"
          f"  flops only {without:9.4g} s ({without / measured:5.2f}x)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibration", default="calibration/example-2core.json")
    ap.add_argument("--sizes", default="1024,2048,4096,8192", help="dense CG sizes (comma-separated)")
    ap.add_argument("--factor", default="12560x1280", help="factor shape n x r ('' to skip)")
    ap.add_argument("--kappa", type=float, default=100.0)
    ap.add_argument("--rtol", type=float, default=1e-2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    prof = load_profile(args.calibration)
    if prof.memory is None:
        print(f"{args.calibration} has no memory term: both columns below are the flop-only model")
    else:
        print(f"{args.calibration}: memory term {prof.memory.bandwidth_Bps / 1e9:.3g} GB/s past "
              f"{prof.memory.cache_bytes / 2 ** 20:.0f} MiB (MEASURED at calibration)")
    cg = replace(prof.classical_model("cg"), rtol=args.rtol)
    cg0 = cg.with_memory(None, None)
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        print(f"\ndense CG, kappa {args.kappa:g}, rtol {args.rtol:g} (modeled at the MEASURED iterations):")
        for n in [int(v) for v in args.sizes.split(",") if v]:
            A, b = random_spd(n, rng, args.kappa), rng.standard_normal(n)
            f = prepare(A, FeatureConfig(reg_eps=0.0, kappa_method="lanczos")).features
            t, (_, iters) = _best(lambda: cg_solve(A, b, rtol=args.rtol), args.repeats)
            k_model = max(1, int(iters))
            at = replace(cg, rtol=args.rtol)
            scale = k_model / _iterations(at, f)
            _row(f"n = {n} ({8 * n * n / 2 ** 20:.0f} MiB), {iters} iterations", t,
                 at.estimate(f).seconds * scale, cg0.estimate(f).seconds * scale)
        if args.factor:
            n, r = (int(v) for v in args.factor.lower().split("x"))
            eps = 0.1
            M = rng.standard_normal((n, r)).astype(np.float32)
            g = rng.standard_normal(n)
            cfg = FeatureConfig(reg_eps=eps, exact_max_n=min(n - 1, 2048))
            p = prepare(None, cfg, factor=M, factor_scale=1.0 / r)
            f = p.features
            print(f"\nfactor-stored block n = {n}, r = {r} (float32 factor, {4 * n * r / 2 ** 20:.0f} MiB; "
                  f"kappa {f.kappa:.4g}; the features' Gram took {f.gram_seconds:.3g} s MEASURED):")
            t, (_, iters) = _best(lambda: cg_solve(factor_operator(M, f.reg_eps, scale=1.0 / r), g,
                                                   rtol=args.rtol), args.repeats)
            scale = max(1, int(iters)) / _iterations(cg, f)
            _row(f"CG matrix-free, {iters} iterations", t, cg.estimate(f).seconds * scale,
                 cg0.estimate(f).seconds * scale)
            wb = prof.classical_model("woodbury")
            wb0 = wb.with_memory(None, None)
            t, _ = _best(lambda: woodbury_solve(M, g, f.reg_eps, scale=1.0 / r, gram=p.gram), args.repeats)
            _row("Woodbury, the features' Gram reused", t, wb.estimate(f).seconds, wb0.estimate(f).seconds)
            no_gram = replace(f, gram_seconds=0.0)
            t, _ = _best(lambda: woodbury_solve(M, g, f.reg_eps, scale=1.0 / r), 1)
            _row("Woodbury, computing its Gram", t, wb.estimate(no_gram).seconds, wb0.estimate(no_gram).seconds)
            t, _ = _best(lambda: summarize_factor(M, support=False, name="M").gram, 1)
            print(f"  (the Gram alone: {t:.4g} s MEASURED)")
    return 0


def _iterations(model, f) -> float:
    from qlsa_sim.cost.classical_solvers import cg_iterations

    return cg_iterations(f.kappa, model.rtol)


if __name__ == "__main__":
    raise SystemExit(main())
