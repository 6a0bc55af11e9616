"""``qlsa-sim calibrate``: time classical solves here, fit paper Eq. 3 (c1, c2) and the flop models; fit paper
Eq. 4 (q1, q2) to the resource estimator; save the profile (``cost/calibrate.py``, ``cost/profile.py``)."""

from __future__ import annotations

import argparse
import sys

from qlsa_sim.commands.argtypes import eps, integer, listed, threads
from qlsa_sim.commands.options import DEFAULT_CALIBRATION, add_quiet

EQ3_FITS = ("asymptotic", "relative")
MIN_LARGEST_SIZE = 65  # cost/calibrate.py times Woodbury on (n, r) with r in (16, 64, 256), r < n: two shapes


def add_quantum_options(p: argparse.ArgumentParser) -> None:
    """The resource model a profile's quantum side is fitted to."""
    p.add_argument("--preset", default="jennings2023_v1", help="QLSA query-count preset")
    p.add_argument("--hardware", "--profile", dest="hardware", default="attosecond",
                   help="hardware profile of the QLSA (gate time; --profile is the older name)")
    p.add_argument("--precision", type=eps, default=1e-2, help="QLSA solution precision eps, in [1e-15, 1)")
    p.add_argument("--basis", default="depth", help="time basis of the resource model (see `qlsa-sim estimate --help`)")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("calibrate", help="time classical solves here; fit c1, c2 (Eq. 3) and q1, q2 (Eq. 4)")
    p.add_argument("--sizes", type=listed(integer(2, 1 << 16, "a matrix size"), min_distinct=2),
                   default=[32, 64, 128, 256, 512, 1024, 2048, 4096],
                   help="matrix sizes to time (comma-separated, two or more distinct, each in [2, 65536])")
    p.add_argument("--repeats", type=integer(1, 1000, "a repeat count"), default=5)
    p.add_argument("--threads", type=threads, default=1, help="BLAS threads, 1 to this machine's CPUs")
    p.add_argument("--eq3-fit", default="asymptotic", choices=EQ3_FITS,
                   help="how c1, c2 of Eq. 3 are fitted (Cholesky, LU): 'asymptotic' (default) takes c1 from the "
                        "largest sizes and extrapolates to larger n; 'relative' fits all sizes by relative error "
                        "(over-predicts at larger n when GFLOP/s still rise)")
    add_quantum_options(p)
    p.add_argument("--out", default=DEFAULT_CALIBRATION)
    add_quiet(p)
    return p


def run(args: argparse.Namespace) -> int:
    from qlsa_sim.core.outputs import check_output_file
    from qlsa_sim.core.resources import check_memory
    from qlsa_sim.cost.calibrate import calibrate
    from qlsa_sim.cost.models import ClassicalCubicModel, QuantumResourceModel
    from qlsa_sim.cost.profile import save_profile
    from qlsa_sim.quantum.estimation.hardware import get_profile
    from qlsa_sim.quantum.estimation.presets import get_preset

    get_preset(args.preset), get_profile(args.hardware)  # unknown names fail before any work
    rm = QuantumResourceModel(precision=args.precision, preset=args.preset, hardware=args.hardware, basis=args.basis)
    check_output_file(args.out, "--out")
    n = max(args.sizes)
    if n < MIN_LARGEST_SIZE:
        from qlsa_sim.errors import InputError

        raise InputError(f"--sizes: the largest size must be at least {MIN_LARGEST_SIZE} (the Woodbury fit needs factors "
                         f"of rank 16 and 64 at n = the largest size), got {','.join(map(str, args.sizes))}")
    # A, A A^T and two factorizations at the largest n (~1e10 flop/s), or the 512 MiB rung of the memory ladder
    check_memory(max(4 * 8.0 * n * n, 2.0 ** 29), f"calibrate --sizes {n}",
                 seconds=sum((args.repeats + 2) * 3.0 * k ** 3 for k in args.sizes) / 1e10)
    prof = calibrate(sizes=args.sizes, repeats=args.repeats, threads=args.threads, resource_model=rm,
                     progress=not args.quiet, eq3_fit=args.eq3_fit)
    path = save_profile(prof, args.out)
    for c in prof.classical:
        m = c.model
        form = (f"c1*n^3+c2 (Eq. 3, {c.rule} fit, c1 from n={c.fit_sizes[0]}..{c.fit_sizes[-1]}): "
                f"{m.c1:.4g}, {m.c2:.4g} s" if isinstance(m, ClassicalCubicModel) else f"a*flops+b: {m.a:.4g}, {m.b:.4g} s")
        print(f"classical {c.solver:9s} (measured, {args.threads} thread): {form}; "
              f"R^2={c.r2:.4f} (log R^2={c.r2_log:.4f}, all sizes)")
        if c.problem:
            print(f"warning: {c.solver} {c.problem} at sizes {','.join(map(str, args.sizes))}; its timings are "
                  "noisy or not yet cubic there: time larger sizes (--sizes) before trusting its extrapolation "
                  "(flagged in the profile as fit_quality)", file=sys.stderr)
    if prof.memory is not None:
        mem = prof.memory
        print(f"memory (measured, float64 GEMV ladder): {mem.bandwidth_Bps / 1e9:.3g} GB/s past the cache, working "
              f"sets up to {mem.cache_bytes / 2 ** 20:.0f} MiB served from cache (the CG and Woodbury models' "
              "roofline term)")
    q = prof.eq4
    print(f"quantum (modeled, {args.preset} on {args.hardware}): q1={q.model.q1:.4g} s, q2={q.model.q2:.4g} s, "
          f"R^2={q.r2:.4f} (log R^2={q.r2_log:.4f})")
    if q.problem:
        print(f"warning: paper Eq. 4 fitted to the resource model: {q.problem}; Eq. 4's form does not follow the "
              "counted circuit costs across sizes, so replays refit it at the sizes they replay and the verdicts "
              "use the resource model (flagged in the profile as fit_quality)", file=sys.stderr)
    print(f"profile written to {path}")
    return 0
