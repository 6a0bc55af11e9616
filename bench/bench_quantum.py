"""Benchmark of the quantum subpackage: full-scale counting time and QSVT angle finding, cold vs cached.

Run: ``python bench/bench_quantum.py``.  Prints
* counting time per matrix at n = 12544 (all presets, one call each), cold (Qualtran counts the
  structure) and warm (lru-cached structure), target < 1 s per matrix;
* angle-finding time (pyqsp sym_qsp) with an empty cache and from the JSON cache, and the ratio.
BLAS is pinned to one thread.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

from threadpoolctl import threadpool_limits


def _time(fn, repeat: int = 1) -> float:
    best = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best.append(time.perf_counter() - t0)
    return min(best)


def bench_counting() -> None:
    from qlsa_sim.quantum.estimation import counting
    from qlsa_sim.quantum.estimation.presets import preset_names
    from qlsa_sim.quantum.estimation.resources import estimate_qlsa_resources

    # layer-1 Hessian block of the 784-16-10 MLP (design.md): n = 12544, 62 % dense, kappa ~ 6e3 at eps=1e-3
    matrices = [
        dict(n=12544, nnz_per_row=7778, kappa=5971.0, eps=1e-3),
        dict(n=12544, nnz_per_row=6272, kappa=5971.0, eps=1e-3, max_abs_entry=0.05, lambda_max=4.0),
        dict(n=12544, nnz_per_row=1254, kappa=1.0e4, eps=1e-2),
    ]
    print("counting at n = 12544 (all presets per matrix)")
    print(f"{'matrix':>6} {'cold s':>9} {'warm ms':>9} {'cold/warm':>10}  (target: cold < 1 s)")
    for i, m in enumerate(matrices):
        kw = dict(m)
        args = (kw.pop("n"), kw.pop("nnz_per_row"), kw.pop("kappa"), kw.pop("eps"))
        for f in (counting.step_counts, counting.state_prep_counts, counting.block_encoding_counts):
            f.cache_clear()

        def run():
            for p in preset_names():
                estimate_qlsa_resources(*args, p, **kw)

        cold = _time(run)
        warm = _time(run, repeat=5)
        print(f"{i:>6} {cold:>9.3f} {warm * 1e3:>9.3f} {cold / warm:>10.0f}")
    r = estimate_qlsa_resources(12544, 7778, 5971.0, 1e-3)
    print(f"  e.g. jennings2023_v1: queries {r.queries:.3e}, Toffoli {r.toffoli:.3e}, "
          f"T-equivalent {r.t_equivalent:.3e}, qubits {r.qubits}, depth<= {r.depth:.3e}")


def bench_encodings() -> None:
    """Every encoding at a paper-scale-like point (n = 12560, ||A||_F = 1.5 ||A||, s max|A_ij| = 50 ||A||,
    kappa = 1e4, eps = 1e-2; factor form with r = 256), both Jennings v1 readings; cold and warm time."""
    from qlsa_sim.quantum.estimation import counting
    from qlsa_sim.quantum.estimation.encodings import MatrixInfo
    from qlsa_sim.quantum.estimation.resources import qlsa_resources_all_encodings, rank_by_total_gates

    info = MatrixInfo(n=12560, sigma_min=1.0, sigma_max=1e4, nnz_per_row=9800, max_abs_entry=50e4 / 9800,
                      frobenius_norm=1.5e4, factor_rank=256, factor_frobenius_sq=1.5e4 - 1.0, factor_scale=1.0,
                      shift=1.0)
    print("encodings at n = 12560, kappa = 1e4, eps = 1e-2 (MODELED)")
    for f in (counting.step_counts, counting.dense_step_counts, counting.factor_step_counts):
        f.cache_clear()
    for preset in ("jennings2023_v1", "jennings2023_v1_alpha_split"):
        t0 = time.perf_counter()
        rs = qlsa_resources_all_encodings(info, 1e-2, preset)
        dt = time.perf_counter() - t0
        print(f"  {preset}  ({dt:.2f} s)")
        print(f"  {'encoding':>13} {'alpha':>9} {'kappa_eff':>10} {'queries':>10} {'Toffoli':>10} {'T-equiv':>10} "
              f"{'gates':>10} {'qubits':>7}")
        for r in rank_by_total_gates(rs, "t_equivalent"):
            print(f"  {r.encoding:>13} {r.alpha:>9.4g} {r.kappa_eff:>10.4g} {r.queries:>10.4g} {r.toffoli:>10.4g} "
                  f"{r.t_equivalent:>10.4g} {r.total_gates:>10.4g} {r.qubits:>7d}")


def bench_angles() -> None:
    from qlsa_sim.quantum.circuits import angles as qsvt

    print("QSVT angle finding (pyqsp sym_qsp), empty cache vs JSON cache")
    print(f"{'kappa':>7} {'eps':>7} {'degree':>7} {'cold s':>9} {'cached ms':>10} {'ratio':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["QLSA_SIM_CACHE_DIR"] = tmp
        for kappa, eps in [(10.0, 1e-2), (50.0, 1e-2), (50.0, 1e-3), (200.0, 1e-2)]:
            t0 = time.perf_counter()
            a = qsvt.find_angles(kappa, eps)
            cold = time.perf_counter() - t0
            cached = statistics.median(_time(lambda: qsvt.find_angles(kappa, eps)) for _ in range(5))
            assert not a.from_cache
            print(f"{kappa:>7g} {eps:>7g} {a.degree:>7d} {cold:>9.3f} {cached * 1e3:>10.3f} {cold / cached:>9.0f}")
        os.environ.pop("QLSA_SIM_CACHE_DIR", None)


def main() -> int:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    with threadpool_limits(1):
        t0 = time.perf_counter()
        import qlsa_sim.quantum.estimation.bloqs  # noqa: F401  (Qualtran import, reported separately)

        print(f"import qualtran + bloqs: {time.perf_counter() - t0:.2f} s")
        bench_counting()
        bench_encodings()
        bench_angles()
    return 0


if __name__ == "__main__":
    sys.exit(main())
