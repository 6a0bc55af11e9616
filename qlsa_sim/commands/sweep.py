"""``qlsa-sim sweep``: QLSA counts and times over presets x hardware x (n, kappa, density), on any executor
(``experiments/sweep.py``). Every figure is MODELED."""

from __future__ import annotations

import argparse
from pathlib import Path

from qlsa_sim.commands.argtypes import N_MAX, density, eps, integer, kappa, listed
from qlsa_sim.commands.options import add_parallel_options, add_quiet, names_list, parallel_options

#: Grid points one sweep may hold (a point is one resource estimate, about a millisecond or more).
MAX_POINTS = 1_000_000


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sweep", help="QLSA counts and times over presets x profiles x (n, kappa, density) [modeled]")
    p.add_argument("--presets", type=names_list, default=("jennings2023_v1", "dalzell2024", "costa2023_practical"))
    p.add_argument("--profiles", type=names_list, default=("attosecond", "nanosecond-physical", "logical-ec"))
    p.add_argument("--n", type=listed(integer(1, N_MAX, "a dimension")), default=[256, 1024, 4096, 12544],
                   help="dimensions, each in [1, 2^40]")
    p.add_argument("--kappa", type=listed(kappa), default=[10.0, 1e2, 1e3, 1e4, 1e5],
                   help="condition numbers, each in [1, 1e16]")
    p.add_argument("--density", type=listed(density), default=[0.01, 0.1, 0.5, 1.0], help="densities, each in (0, 1]")
    p.add_argument("--eps", type=eps, default=1e-2, help="QLSA solution precision, in [1e-15, 1)")
    p.add_argument("--calibration", help="also give each classical solver's modeled seconds and the ratio")
    p.add_argument("--physical", default="surface-p1e-4-1us",
                   help="surface-code profile every point is also priced on (Qualtran's model; 'none' to skip)")
    p.add_argument("--chunk", type=integer(1, MAX_POINTS, "a point count"), default=64, help="grid points per task")
    p.add_argument("--out", default=str(Path("analysis") / "sweep.csv"))
    add_quiet(p)
    add_parallel_options(p, strict=False)
    return p


def run(args: argparse.Namespace) -> int:
    from qlsa_sim.core.atomic import atomic_write
    from qlsa_sim.core.outputs import check_output_file
    from qlsa_sim.cost.profile import load_profile
    from qlsa_sim.errors import InputError
    from qlsa_sim.experiments.sweep import run_sweep, sweep_points

    size = len(args.presets) * len(args.profiles) * len(args.n) * len(args.kappa) * len(args.density)
    if size > MAX_POINTS:
        raise InputError(f"the grid has {size} points (presets x profiles x n x kappa x density), more than the "
                         f"{MAX_POINTS} one sweep may hold")
    points = sweep_points(list(args.presets), list(args.profiles), args.n, args.kappa, args.density, args.eps)
    cal = load_profile(args.calibration) if args.calibration else None
    out = check_output_file(args.out, "--out")
    physical = None if args.physical == "none" else args.physical
    df = run_sweep(points, calibration=cal, chunk=args.chunk, physical=physical, progress=not args.quiet,
                   **parallel_options(args))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda f: df.to_csv(f, index=False))
    print(f"wrote {len(df)} modeled grid points to {out}")
    return 0
