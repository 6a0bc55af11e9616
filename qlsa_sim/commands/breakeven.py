"""``qlsa-sim breakeven``: what hardware would make the hybrid win on a trace? Per block and per workload, the
largest logical gate time (and surface-code cycle time at given error rates) at which the QLSA beats the best
classical solver calibrated here, with and without readout; maps over (n, kappa) and (n, density)
(``experiments/breakeven.py``). Every figure is MODELED."""

from __future__ import annotations

import argparse
from pathlib import Path

from qlsa_sim.commands.options import DEFAULT_CALIBRATION, add_quiet, float_list


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("breakeven", help="the hardware a QLSA would need to win on a trace: max gate time, cycle "
                                         "time, physical qubits [modeled]")
    p.add_argument("trace", help="trace directory (hessian_traces/<run>)")
    p.add_argument("--calibration", default=DEFAULT_CALIBRATION)
    p.add_argument("--out", help="output directory (default analysis/<run>-breakeven)")
    p.add_argument("--reg-eps", type=float, default=1e-3, help="regularization H + eps I")
    p.add_argument("--speedup", type=float, default=10.0, help="target speedup of the hybrid (default 10, the paper's)")
    p.add_argument("--phys-error", type=float_list, default=[1e-3, 1e-4], help="surface-code error rates (default "
                                                                               "1e-3,1e-4)")
    p.add_argument("--error-budget", type=float, default=1e-2, help="failure budget of the surface code (default 0.01)")
    add_quiet(p)
    return p


def run(args: argparse.Namespace) -> int:
    from qlsa_sim.cost.profile import load_profile
    from qlsa_sim.experiments.breakeven_outputs import write_break_even_report
    from qlsa_sim.linalg.features import FeatureConfig
    from qlsa_sim.schedule.pipeline import SchedulePolicy
    from qlsa_sim.schedule.replay import ReplayConfig, plan_replay, replay

    plan = plan_replay(args.trace)
    profile = load_profile(args.calibration)
    cfg = ReplayConfig(SchedulePolicy(FeatureConfig(reg_eps=args.reg_eps, psd=plan.meta.psd), "resources"),
                       measure_classical=False)
    decisions = replay(args.trace, profile, cfg, progress=not args.quiet)
    out = Path(args.out or Path("analysis") / f"{plan.run}-breakeven")
    md = write_break_even_report(decisions, profile, out, workload=f"{plan.run} ({plan.meta.dataset})",
                                 speedup=args.speedup, phys_errors=tuple(args.phys_error), budget=args.error_budget)
    print(md.read_text())
    print(f"wrote {out}/blocks.csv, breakeven.md, maps.csv, maps.png/.svg")
    return 0
