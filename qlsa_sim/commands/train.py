"""``qlsa-sim train``: live training with SGD / Adam / HybridNewton (``experiments/baselines.py``, the runs
``reproduce`` makes for Table 1): tables of MEASURED and MODELED seconds, per-block decisions, convergence plot.

Writes into ``--out`` (default ``analysis/train-<model>-<dataset>``): ``runs/`` (per run: checkpoint, result,
the live trace of Newton runs), ``table.csv/.md``, ``steps.csv``, ``blocks.csv``, ``convergence.png/.svg``.
``--resume`` continues interrupted runs; finished runs are read back, not re-run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qlsa_sim.commands.argtypes import choice, density, eps, integer, non_negative, positive, real
from qlsa_sim.commands.options import (
    add_quiet,
    add_resume_options,
    add_task_options,
    curvature_config,
    names_list,
    seeds,
    task_spec,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("train", help="train with SGD / Adam / HybridNewton (live classical-vs-QLSA scheduling); "
                                     "tables of measured and modeled seconds, per-block decisions, convergence plot")
    add_task_options(p)
    p.add_argument("--methods", type=names_list, default=("sgd", "hybrid"),
                   help="comma-separated among sgd, adam, newton-classical, newton-quantum, hybrid (default sgd,hybrid)")
    p.add_argument("--seeds", type=seeds, default=(0,), help="comma-separated seeds (default 0)")
    p.add_argument("--calibration", help="calibration profile JSON (needed by the Newton methods), e.g. "
                                         "calibration/example-2core.json")
    s = p.add_argument_group("stopping")
    s.add_argument("--max-steps", type=integer(1, 10**8, "a step count"), default=100)
    s.add_argument("--target-accuracy", type=real(0.0, 1.0, lo_open=True, what="an accuracy"),
                   help="stop when the held-out accuracy reaches this, in (0, 1]")
    s.add_argument("--target-loss", type=non_negative, help="stop when the held-out loss falls to this (>= 0)")
    s.add_argument("--eval-every", type=integer(1, 10**8, "a step count"), default=1)
    o = p.add_argument_group("optimizers")
    o.add_argument("--lr", type=positive, default=0.1, help="SGD / Adam learning rate")
    o.add_argument("--momentum", type=real(0.0, 1.0, hi_open=True, what="a momentum"), default=0.0,
                   help="SGD momentum, in [0, 1)")
    o.add_argument("--newton-lr", type=positive, default=1.0, help="Newton step size")
    o.add_argument("--no-line-search", dest="line_search", action="store_false",
                   help="take the full Newton step (default: Armijo backtracking from --newton-lr)")
    o.add_argument("--reg-eps", type=positive, default=0.1, help="damping eps of H + eps I, > 0 (default 0.1)")
    o.add_argument("--prune-density", type=density, help="prune H + eps I to this density, in (0, 1], before solving")
    o.add_argument("--prune-strategy", default="symmetric-magnitude",
                   help="symmetric-magnitude | random | global | rowwise-topk")
    o.add_argument("--uncovered-scale", type=non_negative,
                   help="step -s*g on parameters in no block (default 0.5 for bert/gpt, whose blocks cover a few "
                        "projections; 0 for the MLP, whose blocks cover every parameter)")
    o.add_argument("--classical-solvers", type=names_list, help="restrict the classical solvers, e.g. lu (the paper's "
                                                                "baseline)")
    o.add_argument("--quantum-model", type=choice("eq4", "resources"), default="eq4",
                   help="eq4 (paper Eq. 4, fitted) | resources (counted)")
    o.add_argument("--precision", type=eps, help="QLSA precision eps, in [1e-15, 1) (default: the profile's)")
    o.add_argument("--quantum-emulation", type=choice("perturb", "circuit"), default="perturb",
                   help="perturb (x* + eps|x*|u) | circuit (simulate the QSVT circuit on blocks with n <= 16)")
    p.add_argument("--out", help="output folder (default analysis/train-<model>-<dataset>)")
    add_resume_options(p, "continue interrupted runs", "redo every run")
    add_quiet(p)
    return p


def run(args: argparse.Namespace) -> int:
    from qlsa_sim.commands.checks import check_task_blocks
    from qlsa_sim.core.outputs import check_output_dir, output_set
    from qlsa_sim.cost.profile import load_profile
    from qlsa_sim.errors import InputError
    from qlsa_sim.experiments.baselines import MethodSpec, run_baselines, write_run_outputs
    from qlsa_sim.experiments.tasks import task_factory
    from qlsa_sim.linalg.features import FeatureConfig
    from qlsa_sim.train.hybrid_newton import HybridNewtonConfig
    from qlsa_sim.train.runner import StopRule

    spec = task_spec(args)
    features = FeatureConfig(reg_eps=args.reg_eps, prune_density=args.prune_density,
                             prune_strategy=args.prune_strategy, psd=args.model == "mlp")
    uncovered = args.uncovered_scale if args.uncovered_scale is not None else (0.0 if args.model == "mlp" else 0.5)
    newton = HybridNewtonConfig(features=features, curvature=curvature_config(args), quantum_model=args.quantum_model,
                                precision=args.precision, line_search=args.line_search,
                                classical_solvers=args.classical_solvers, trace_dtype=args.dtype,
                                quantum_emulation=args.quantum_emulation, uncovered_scale=uncovered)
    specs = [MethodSpec(m, args.lr if m in ("sgd", "adam") else args.newton_lr,
                        momentum=args.momentum if m == "sgd" else 0.0, newton=newton) for m in args.methods]
    profile = None
    if any(s.is_newton for s in specs):
        if not args.calibration:
            raise InputError("the Newton methods need a calibration profile: --calibration FILE "
                             "(e.g. calibration/example-2core.json, or make one with `qlsa-sim calibrate`)")
        profile = load_profile(args.calibration)
    stop = StopRule(target_loss=args.target_loss, target_accuracy=args.target_accuracy, max_steps=args.max_steps,
                    eval_every=args.eval_every)
    out = check_output_dir(args.out or Path("analysis") / f"train-{spec.name}", "--out")
    if args.resume and not (out / "runs").is_dir():
        raise InputError(f"--resume: {out} holds no runs to resume (no {out / 'runs'}); drop --resume to start them")
    factory = task_factory(spec)  # loads and checks the data before any run
    if profile is not None:
        check_task_blocks(factory(args.seeds[0]), newton.curvature)
    if not args.quiet:
        print(f"training {spec.name}: {', '.join(s.name for s in specs)}; seeds {args.seeds} -> {out}", file=sys.stderr)
    report = run_baselines(factory, specs, stop, profile, seeds=tuple(args.seeds), task_name=spec.name,
                           out_dir=out / "runs", resume=args.resume, overwrite=args.overwrite, progress=not args.quiet)
    target = (("test_accuracy", args.target_accuracy) if args.target_accuracy is not None
              else ("test_loss", args.target_loss))
    with output_set(out, "train") as staged:
        paths = staged.final(write_run_outputs(report, staged.path, spec.name, first_seed=args.seeds[0], target=target))
    target_cols = ("reached", "steps_to_target") if stop.has_target else ()
    cols = [c for c in ("label", "seed", *target_cols, "steps_run", "final_test_accuracy",
                        "final_test_loss", "measured_s_per_step", "modeled_s_per_step", "total_s",
                        "quantum_fraction") if c in report.table.columns]
    if not stop.has_target:
        print(f"no target given (--target-accuracy / --target-loss): every run trained --max-steps "
              f"{args.max_steps} steps")
    print(report.table[cols].to_string(index=False))
    print(f"wrote {', '.join(p.name for p in paths)} in {out}; measured_* seconds ran here, modeled_* seconds are "
          "QLSA cost-model time [modeled]")
    return 0
