"""``qlsa-sim sweep``: QLSA counts and times over presets x hardware x (n, kappa, density), on any executor
(``experiments/sweep.py``). Every figure is MODELED."""

from __future__ import annotations

import argparse
from pathlib import Path

from qlsa_sim.commands.options import (
    add_parallel_options,
    add_quiet,
    float_list,
    int_list,
    parallel_options,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sweep", help="QLSA counts and times over presets x profiles x (n, kappa, density) [modeled]")
    p.add_argument("--presets", default="jennings2023_v1,dalzell2024,costa2023_practical")
    p.add_argument("--profiles", default="attosecond,nanosecond-physical,logical-ec")
    p.add_argument("--n", type=int_list, default=[256, 1024, 4096, 12544])
    p.add_argument("--kappa", type=float_list, default=[10.0, 1e2, 1e3, 1e4, 1e5])
    p.add_argument("--density", type=float_list, default=[0.01, 0.1, 0.5, 1.0])
    p.add_argument("--eps", type=float, default=1e-2, help="QLSA solution precision")
    p.add_argument("--calibration", help="also give each classical solver's modeled seconds and the ratio")
    p.add_argument("--chunk", type=int, default=64, help="grid points per task")
    p.add_argument("--out", default=str(Path("analysis") / "sweep.csv"))
    add_quiet(p)
    add_parallel_options(p, strict=False)
    return p


def run(args: argparse.Namespace) -> int:
    from qlsa_sim.cost.profile import load_profile
    from qlsa_sim.experiments.sweep import run_sweep, sweep_points

    points = sweep_points(args.presets.split(","), args.profiles.split(","), args.n, args.kappa, args.density,
                          args.eps)
    cal = load_profile(args.calibration) if args.calibration else None
    df = run_sweep(points, calibration=cal, chunk=args.chunk, progress=not args.quiet, **parallel_options(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    print(f"wrote {len(df)} modeled grid points to {out}")
    return 0
