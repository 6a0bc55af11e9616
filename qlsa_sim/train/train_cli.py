"""``qlsa-sim train``: live training with SGD / Adam / HybridNewton, the command-line shell over
``train/baselines.py`` (the same runs ``qlsa-sim reproduce`` makes for Table 1).

Writes into ``--out`` (default ``analysis/train-<model>-<dataset>``): ``runs/`` (per run: checkpoint,
``result.json``, the live Hessian trace of Newton runs), ``table.csv`` / ``table.md`` (one row per
run, MEASURED and MODELED seconds apart), ``steps.csv`` (per step), ``blocks.csv`` (per Newton step
and block: features, decision, modeled estimates, measured solve, how a quantum solution was
produced) and ``convergence.png`` / ``.svg`` (held-out metric vs step and vs seconds).
``--resume`` continues interrupted runs; finished runs are read back, not re-run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

METHOD_HELP = "comma-separated among sgd, adam, newton-classical, newton-quantum, hybrid (default sgd,hybrid)"


def _methods(text: str) -> tuple[str, ...]:
    methods = tuple(t.strip() for t in text.split(",") if t.strip())
    if not methods:
        raise argparse.ArgumentTypeError("need at least one method")
    return methods


def add_train_parser(sub) -> argparse.ArgumentParser:
    from qlsa_sim.cli import add_task_options
    from qlsa_sim.report.reproduce_cli import _seeds

    p = sub.add_parser("train", help="train with SGD / Adam / HybridNewton (live classical-vs-QLSA scheduling); "
                                     "tables of measured and modeled seconds, per-block decisions, convergence plot")
    add_task_options(p)
    p.add_argument("--methods", type=_methods, default=("sgd", "hybrid"), help=METHOD_HELP)
    p.add_argument("--seeds", type=_seeds, default=(0,), help="comma-separated seeds (default 0)")
    p.add_argument("--calibration", help="calibration profile JSON (needed by the Newton methods), e.g. "
                                         "calibration/example-2core.json")
    s = p.add_argument_group("stopping")
    s.add_argument("--max-steps", type=int, default=100)
    s.add_argument("--target-accuracy", type=float, help="stop when the held-out accuracy reaches this")
    s.add_argument("--target-loss", type=float, help="stop when the held-out loss falls to this")
    s.add_argument("--eval-every", type=int, default=1)
    o = p.add_argument_group("optimizers")
    o.add_argument("--lr", type=float, default=0.1, help="SGD / Adam learning rate")
    o.add_argument("--momentum", type=float, default=0.0, help="SGD momentum")
    o.add_argument("--newton-lr", type=float, default=1.0, help="Newton step size")
    o.add_argument("--no-line-search", dest="line_search", action="store_false",
                   help="take the full Newton step (default: Armijo backtracking from --newton-lr)")
    o.add_argument("--reg-eps", type=float, default=0.1, help="damping eps of H + eps I (default 0.1)")
    o.add_argument("--prune-density", type=float, help="prune H + eps I to this density before solving")
    o.add_argument("--prune-strategy", default="symmetric-magnitude",
                   help="symmetric-magnitude | random | global | rowwise-topk")
    o.add_argument("--uncovered-scale", type=float,
                   help="step -s*g on parameters in no block (default 0.5 for bert/gpt, whose blocks cover a few "
                        "projections; 0 for the MLP, whose blocks cover every parameter)")
    o.add_argument("--classical-solvers", help="restrict the classical solvers, e.g. lu (the paper's baseline)")
    o.add_argument("--quantum-model", default="eq4", help="eq4 (paper Eq. 4, fitted) | resources (counted)")
    o.add_argument("--precision", type=float, help="QLSA precision eps (default: the profile's)")
    o.add_argument("--quantum-emulation", default="perturb",
                   help="perturb (x* + eps|x*|u) | circuit (simulate the QSVT circuit on blocks with n <= 16)")
    p.add_argument("--out", help="output folder (default analysis/train-<model>-<dataset>)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue interrupted runs")
    g.add_argument("--overwrite", action="store_true", help="redo every run")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run_train(args) -> int:
    from qlsa_sim.cli import make_task
    from qlsa_sim.cost.calibrate import load_profile
    from qlsa_sim.errors import InputError
    from qlsa_sim.linalg.features import FeatureConfig
    from qlsa_sim.report.paper_figures import plot_convergence
    from qlsa_sim.report.tables import write_table
    from qlsa_sim.train.baselines import MethodSpec, StopRule, run_baselines
    from qlsa_sim.train.hybrid_newton import HybridNewtonConfig

    features = FeatureConfig(reg_eps=args.reg_eps, prune_density=args.prune_density,
                             prune_strategy=args.prune_strategy, psd=args.model == "mlp")
    solvers = tuple(t.strip() for t in args.classical_solvers.split(",")) if args.classical_solvers else None
    newton = HybridNewtonConfig(features=features, curvature=args.curvature, storage=args.storage,
                                hessian_method=args.hessian_method, hvp_chunk=args.hvp_chunk,
                                memory_budget_gb=args.memory_budget_gb, curvature_batch=args.curvature_batch,
                                quantum_model=args.quantum_model, precision=args.precision,
                                line_search=args.line_search, classical_solvers=solvers, trace_dtype=args.dtype,
                                quantum_emulation=args.quantum_emulation,
                                uncovered_scale=(args.uncovered_scale if args.uncovered_scale is not None
                                                 else 0.0 if args.model == "mlp" else 0.5))
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
    name = f"{args.model}-{args.dataset if args.model == 'mlp' else 'text'}"
    out = Path(args.out or Path("analysis") / f"train-{name}")

    def make(seed: int):
        return make_task(argparse.Namespace(**{**vars(args), "seed": int(seed)}))

    if not args.quiet:
        print(f"training {name}: {', '.join(s.name for s in specs)}; seeds {args.seeds} -> {out}", file=sys.stderr)
    report = run_baselines(make, specs, stop, profile, seeds=tuple(args.seeds), task_name=name,
                           out_dir=out / "runs", resume=args.resume, overwrite=args.overwrite,
                           progress=not args.quiet)
    out.mkdir(parents=True, exist_ok=True)
    table, steps, blocks = report.table, report.steps, report.blocks
    write_table(table, out, "table", title=f"{name}: one row per run",
                note="measured_* seconds: wall time of work run here; modeled_* seconds: QLSA cost-model time "
                     "(never measured); total_s = measured + modeled")
    steps.to_csv(out / "steps.csv", index=False)
    blocks.to_csv(out / "blocks.csv", index=False)
    conv = steps.dropna(subset=["test_loss"]).assign(task=name, step=lambda d: d["step"] + 1,
                                                     seconds=lambda d: d["cum_measured_s"] + d["cum_modeled_s"])
    conv = conv[conv["seed"] == args.seeds[0]]
    metric = ("test_accuracy", args.target_accuracy) if args.target_accuracy is not None else (
        "test_loss", args.target_loss)
    if len(conv):
        plot_convergence(conv, out / "convergence", targets={name: metric},
                         note="first seed; seconds = cumulative measured + modeled (QLSA cost model) seconds")
    cols = [c for c in ("label", "seed", "reached", "steps_to_target", "steps_run", "final_test_accuracy",
                        "final_test_loss", "measured_s_per_step", "modeled_s_per_step", "total_s",
                        "quantum_fraction") if c in table.columns]
    print(table[cols].to_string(index=False))
    print(f"wrote {out / 'table.csv'}, steps.csv, blocks.csv{', convergence.png' if len(conv) else ''} in {out}; "
          "measured_* seconds ran here, modeled_* seconds are QLSA cost-model time [modeled]")
    return 0
