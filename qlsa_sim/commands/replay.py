"""``qlsa-sim replay``: replay a trace through the scheduler (``schedule/replay.py``) and write its decisions,
speedup table and crossover map (``experiments/replay_outputs.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qlsa_sim.commands.argtypes import choice, non_negative
from qlsa_sim.commands.options import DEFAULT_CALIBRATION, add_parallel_options, add_quiet, parallel_options


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("replay", help="replay a trace through the scheduler and write reports")
    p.add_argument("trace", help="trace directory (hessian_traces/<run>)")
    p.add_argument("--calibration", default=DEFAULT_CALIBRATION)
    p.add_argument("--out", help="output directory (default analysis/<run>)")
    p.add_argument("--reg-eps", type=non_negative, default=1e-3, help="regularization H + eps I (>= 0)")
    p.add_argument("--reg-relative", action="store_true", help="eps relative to lambda_max")
    p.add_argument("--density-tol", type=non_negative, default=0.0)
    p.add_argument("--kappa-method", type=choice("auto", "exact", "lanczos"), default="auto",
                   help="auto | exact | lanczos")
    p.add_argument("--quantum-model", type=choice("eq4", "resources"), default="eq4",
                   help="eq4 (paper Eq. 4, fitted) | resources (estimator)")
    p.add_argument("--eq4-sizes", choices=("trace", "profile"), default="trace",
                   help="Eq. 4 fitted to the resource model at this trace's block sizes (trace, default: its "
                        "ln(n/eps) cannot follow the counted cost across sizes) or as fitted in the profile")
    p.add_argument("--no-measure", action="store_true", help="do not time a real dense solve per block")
    p.add_argument("--physical", default="surface-p1e-4-1us",
                   help="surface-code profile each block's QLSA is also priced on (default surface-p1e-4-1us)")
    p.add_argument("--save-features", action="store_true", help="write features back into the manifest")
    add_quiet(p)
    add_parallel_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    from qlsa_sim.commands.checks import check_traces
    from qlsa_sim.core.outputs import check_output_dir, inside, output_set
    from qlsa_sim.cost.profile import load_profile
    from qlsa_sim.errors import InputError, TraceError
    from qlsa_sim.experiments.replay_outputs import write_replay_report
    from qlsa_sim.linalg.features import FeatureConfig
    from qlsa_sim.schedule.pipeline import SchedulePolicy
    from qlsa_sim.schedule.replay import ReplayConfig, format_failures, replay_trace, write_features_to_manifest
    from qlsa_sim.traces.store import is_local_fs

    plan = check_traces([args.trace])[0]  # manifest, snapshot files' kinds and sizes, memory: before any work
    profile = load_profile(args.calibration)
    if args.quantum_model == "eq4" and args.eq4_sizes == "trace":
        from qlsa_sim.cost.calibrate import refit_eq4

        profile = refit_eq4(profile, plan.block_sizes, progress=not args.quiet)
    out = Path(args.out) if args.out else inside(Path("analysis"), plan.run, "the trace's run name")
    check_output_dir(out, "--out")
    if args.save_features and not is_local_fs(plan.fs):
        raise InputError(f"--save-features: {args.trace} is not on local disk (features are written into its manifest)")
    features = FeatureConfig(reg_eps=args.reg_eps, reg_relative=args.reg_relative, density_tol=args.density_tol,
                             kappa_method=args.kappa_method, psd=plan.meta.psd)
    cfg = ReplayConfig(SchedulePolicy(features, args.quantum_model), measure_classical=not args.no_measure)
    df, failures = replay_trace(args.trace, profile, cfg, strict=args.strict, progress=not args.quiet,
                                **parallel_options(args))
    if failures:
        print(format_failures(failures), file=sys.stderr)
    if df.empty:
        raise TraceError(f"{args.trace}: no block could be replayed")
    if args.save_features:
        write_features_to_manifest(args.trace, df)
    with output_set(out, "replay") as staged:
        outs = staged.final(write_replay_report(df, profile, staged.path, quantum_model=args.quantum_model,
                                                trace_label=f"{plan.run} ({plan.meta.dataset})",
                                                physical=args.physical, progress=not args.quiet))
    print(outs.speedup_md.read_text())
    print(f"wrote {outs.decisions_csv}, {outs.speedup_csv}, {outs.speedup_md}, "
          + ", ".join(str(p) for p in (*outs.crossover, *outs.encodings)))
    return 1 if failures else 0
