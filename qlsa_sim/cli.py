"""``qlsa-sim`` command line: a thin shell over the API. ``main(argv)`` is callable from tests.

Errors a user can cause (``QlsaSimError``) print one line and exit with status 2; Ctrl-C keeps
every snapshot already recorded and exits with 130.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from qlsa_sim.core.threads import default_single_thread_env
from qlsa_sim.errors import QlsaSimError, TraceError

DEFAULT_CALIBRATION = Path("calibration") / "local.json"


def _number_list(cast):
    """argparse type: comma-separated numbers, e.g. '32,64,128' or '10,1e4'."""
    def parse(text: str) -> list:
        try:
            return [cast(t) for t in text.split(",") if t.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {cast.__name__}s, got {text!r}") from None
    return parse


_int_list, _float_list = _number_list(int), _number_list(float)


# ---------------------------------------------------------------- record
def add_task_options(p) -> None:
    """The model, data and block options that ``record`` and ``train`` share (see :func:`make_task`)."""
    p.add_argument("--model", default="mlp", help="mlp | bert | gpt (default mlp)")
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist | mnist | digits (MLP)")
    p.add_argument("--data-dir", help="directory holding the data set's files (IDX for MNIST formats, "
                                      "wiki.*.raw for text)")
    p.add_argument("--sizes", default="784-16-10", help="MLP layer widths (input adapts to the data)")
    p.add_argument("--image-size", type=int, help="average-pool images to this side (e.g. 14)")
    p.add_argument("--mlp-partition", default="per-layer", help="MLP blocks: per-layer | per-tensor")
    p.add_argument("--batch-size", type=int, help="default 128 (MLP), 16 sequences (text)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float64", help="storage dtype of blocks: float64 | float32")
    p.add_argument("--curvature", default="exact", help="exact | ggn | fisher (empirical Fisher)")
    p.add_argument("--storage", default="dense", help="dense | factor (GGN/Fisher blocks as M, H = M M^T / B)")
    p.add_argument("--hessian-method", default="auto",
                   help="auto (closed form where it is exact, else jacfwd(grad)) | hessian | hvp")
    p.add_argument("--memory-budget-gb", type=float, default=8.0)
    p.add_argument("--hvp-chunk", type=int, default=128, help="unit vectors per batched HVP (method hvp)")
    p.add_argument("--curvature-batch", type=int, help="compute blocks on the first k samples of the batch")
    t = p.add_argument_group("transformers (--model bert|gpt)")
    t.add_argument("--layers-count", type=int, default=4, help="transformer layers")
    t.add_argument("--heads", type=int, default=4)
    t.add_argument("--width", type=int, default=64)
    t.add_argument("--context", type=int, default=64)
    t.add_argument("--partition", default="per-projection", help="per-projection | per-head | rows")
    t.add_argument("--block-layers", type=_int_list, help="record blocks of these layers only, e.g. 0,3")
    t.add_argument("--block-kinds", help="record these block kinds only, e.g. q,k,v,o,fc1,fc2,aux")
    t.add_argument("--include-embeddings", action="store_true")


def add_record_parser(sub) -> None:
    p = sub.add_parser("record", help="train a model and record a Hessian trace")
    add_task_options(p)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--every", type=int, default=50, help="snapshot every k steps")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--out", help="trace directory (default hessian_traces/<model>-<dataset>)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue an interrupted trace")
    g.add_argument("--overwrite", action="store_true", help="replace an existing trace")
    p.add_argument("--quiet", action="store_true")


def make_task(args):
    if args.model == "mlp":
        from qlsa_sim.data.images import load_image_dataset
        from qlsa_sim.models.mlp import parse_sizes
        from qlsa_sim.train.mlp_task import MLPTask

        data = load_image_dataset(args.dataset, data_dir=args.data_dir, image_size=args.image_size)
        return MLPTask(data, parse_sizes(args.sizes), batch_size=args.batch_size or 128, seed=args.seed,
                       partition=args.mlp_partition)
    if args.model in ("bert", "gpt"):
        from qlsa_sim.train.text_tasks import make_text_task

        from qlsa_sim.models.transformer import TransformerConfig

        cfg = TransformerConfig(n_layers=args.layers_count, n_heads=args.heads, width=args.width,
                                mlp_width=4 * args.width, context=args.context)
        kinds = tuple(k.strip() for k in args.block_kinds.split(",")) if args.block_kinds else None
        return make_text_task(args.model, corpus_dir=args.data_dir, config=cfg, batch_size=args.batch_size or 16,
                              seed=args.seed, partition=args.partition, include_embeddings=args.include_embeddings,
                              layers=args.block_layers, kinds=kinds, memory_budget_gb=args.memory_budget_gb)
    from qlsa_sim.errors import UnknownNameError

    raise UnknownNameError("model", args.model, ("mlp", "bert", "gpt"))


def run_record(args) -> int:
    from qlsa_sim.train.record import RecordConfig, record_trace

    cfg = RecordConfig(steps=args.steps, every=args.every, lr=args.lr, hessian_method=args.hessian_method,
                       curvature=args.curvature, storage=args.storage,
                       dtype=args.dtype, memory_budget_gb=args.memory_budget_gb, hvp_chunk=args.hvp_chunk,
                       curvature_batch=args.curvature_batch)
    task = make_task(args)
    out = Path(args.out or Path("hessian_traces") / f"{args.model}-{args.dataset if args.model == 'mlp' else 'text'}")
    if args.model in ("bert", "gpt") and args.dataset != "fashion-mnist":
        print("note: --dataset applies to the MLP; text models use --data-dir (WikiText) or the default corpus",
              file=sys.stderr)
    if not args.quiet:
        print(f"recording {task.info.model} on {task.info.dataset} -> {out}", file=sys.stderr)
    s = record_trace(task, out, cfg, resume=args.resume, overwrite=args.overwrite, progress=not args.quiet)
    print(f"wrote {s.snapshots_written} snapshot(s) to {out} in {s.seconds:.1f} s "
          f"(curvature {s.curvature_seconds:.1f} s); final training loss {s.final_loss:.4f}")
    return 0


# ---------------------------------------------------------------- calibrate
def add_quantum_options(p) -> None:
    p.add_argument("--preset", default="jennings2023_v1", help="QLSA query-count preset")
    p.add_argument("--profile", default="attosecond", help="hardware profile (gate time)")
    p.add_argument("--precision", type=float, default=1e-2, help="QLSA solution precision eps")
    p.add_argument("--basis", default="depth", help="time = depth x gate time (depth) or count x gate time (count)")


def add_calibrate_parser(sub) -> None:
    p = sub.add_parser("calibrate", help="time classical solves here; fit c1, c2 (Eq. 3) and q1, q2 (Eq. 4)")
    p.add_argument("--sizes", type=_int_list, default=[32, 64, 128, 256, 512, 1024, 2048, 4096],
                   help="matrix sizes to time (comma-separated)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--eq3-fit", default="asymptotic", choices=("asymptotic", "relative"),
                   help="how c1, c2 of Eq. 3 are fitted (Cholesky, LU): 'asymptotic' (default) takes c1 from the "
                        "largest sizes and extrapolates to larger n; 'relative' fits all sizes by relative error "
                        "(over-predicts at larger n when GFLOP/s still rise)")
    add_quantum_options(p)
    p.add_argument("--out", default=str(DEFAULT_CALIBRATION))
    p.add_argument("--quiet", action="store_true")


def run_calibrate(args) -> int:
    from qlsa_sim.cost.calibrate import calibrate, save_profile
    from qlsa_sim.cost.models import QuantumResourceModel
    from qlsa_sim.quantum.estimation.hardware import get_profile
    from qlsa_sim.quantum.estimation.presets import get_preset

    get_preset(args.preset), get_profile(args.profile)  # unknown names fail before any work
    rm = QuantumResourceModel(precision=args.precision, preset=args.preset, profile=args.profile, basis=args.basis)
    prof = calibrate(sizes=args.sizes, repeats=args.repeats, threads=args.threads, resource_model=rm,
                     progress=not args.quiet, eq3_fit=args.eq3_fit)
    path = save_profile(prof, args.out)
    for solver, c in prof.classical_fits.items():
        sec = prof.raw["classical"]["solvers"][solver]
        form = (f"c1*n^3+c2 (Eq. 3, {sec['fit']} fit, c1 from n={sec['c1_sizes'][0]}..{sec['c1_sizes'][-1]})"
                if solver in ("cholesky", "lu") else "a*flops+b")
        print(f"classical {solver:9s} (measured, {args.threads} thread): {form}: {c.a:.4g}, {c.b:.4g} s; "
              f"R^2={c.r2:.4f} (log R^2={c.r2_log:.4f}, all sizes)")
    q = prof.quantum_fit
    print(f"quantum (modeled, {args.preset} on {args.profile}): q1={q.a:.4g} s, q2={q.b:.4g} s, "
          f"R^2={q.r2:.4f} (log R^2={q.r2_log:.4f})")
    print(f"profile written to {path}")
    return 0


# ---------------------------------------------------------------- replay
def add_replay_parser(sub) -> None:
    p = sub.add_parser("replay", help="replay a trace through the scheduler and write reports")
    p.add_argument("trace", help="trace directory (hessian_traces/<run>)")
    p.add_argument("--calibration", default=str(DEFAULT_CALIBRATION))
    p.add_argument("--out", help="output directory (default analysis/<run>)")
    p.add_argument("--reg-eps", type=float, default=1e-3, help="regularization H + eps I")
    p.add_argument("--reg-relative", action="store_true", help="eps relative to lambda_max")
    p.add_argument("--density-tol", type=float, default=0.0)
    p.add_argument("--kappa-method", default="auto", help="auto | exact | lanczos")
    p.add_argument("--quantum-model", default="eq4", help="eq4 (paper Eq. 4, fitted) | resources (estimator)")
    p.add_argument("--no-measure", action="store_true", help="do not time a real Cholesky solve per block")
    p.add_argument("--save-features", action="store_true", help="write features back into the manifest")
    p.add_argument("--quiet", action="store_true")
    from qlsa_sim.schedule.parallel_replay import add_parallel_options

    add_parallel_options(p)


def run_replay(args) -> int:
    from qlsa_sim.cost.calibrate import load_profile
    from qlsa_sim.linalg.features import FeatureConfig
    from qlsa_sim.report.replay_report import write_replay_report
    from qlsa_sim.schedule.parallel_replay import format_failures, parallel_options, replay_parallel
    from qlsa_sim.schedule.replay import ReplayConfig, curvature_is_psd
    from qlsa_sim.traces.store import TraceReader

    reader = TraceReader(args.trace)  # validates the manifest before any work
    profile = load_profile(args.calibration)
    cfg = ReplayConfig(FeatureConfig(reg_eps=args.reg_eps, reg_relative=args.reg_relative,
                                     density_tol=args.density_tol, kappa_method=args.kappa_method,
                                     psd=curvature_is_psd(reader.meta)),
                       quantum_model=args.quantum_model, measure_classical=not args.no_measure)
    df, failures = replay_parallel(args.trace, profile, cfg, progress=not args.quiet,
                                   save_features=args.save_features, **parallel_options(args))
    if failures:
        print(format_failures(failures), file=sys.stderr)
    if df.empty:
        raise TraceError(f"{args.trace}: no block could be replayed")
    out = Path(args.out or Path("analysis") / reader.run)
    label = f"{reader.run} ({reader.meta.get('identity', {}).get('task', {}).get('dataset', '?')})"
    outs = write_replay_report(df, profile, out, quantum_model=args.quantum_model, trace_label=label)
    print(open(outs.speedup_md).read())
    print(f"wrote {outs.decisions_csv}, {outs.speedup_csv}, {outs.speedup_md}, "
          + ", ".join(str(p) for p in outs.crossover))
    return 1 if failures else 0


# ---------------------------------------------------------------- sweep
def add_sweep_parser(sub) -> None:
    from qlsa_sim.schedule.parallel_replay import add_parallel_options

    p = sub.add_parser("sweep", help="QLSA counts and times over presets x profiles x (n, kappa, density) [modeled]")
    p.add_argument("--presets", default="jennings2023_v1,dalzell2024,costa2023_practical")
    p.add_argument("--profiles", default="attosecond,nanosecond-physical,logical-ec")
    p.add_argument("--n", type=_int_list, default=[256, 1024, 4096, 12544])
    p.add_argument("--kappa", type=_float_list, default=[10.0, 1e2, 1e3, 1e4, 1e5])
    p.add_argument("--density", type=_float_list, default=[0.01, 0.1, 0.5, 1.0])
    p.add_argument("--eps", type=float, default=1e-2, help="QLSA solution precision")
    p.add_argument("--calibration", help="also give each classical solver's modeled seconds and the ratio")
    p.add_argument("--chunk", type=int, default=64, help="grid points per task")
    p.add_argument("--out", default=str(Path("analysis") / "sweep.csv"))
    p.add_argument("--quiet", action="store_true")
    add_parallel_options(p)


def run_sweep_cmd(args) -> int:
    from qlsa_sim.cost.calibrate import load_profile
    from qlsa_sim.schedule.sweep import run_sweep, sweep_points

    points = sweep_points(args.presets.split(","), args.profiles.split(","), args.n, args.kappa, args.density,
                          args.eps)
    cal = load_profile(args.calibration) if args.calibration else None
    from qlsa_sim.schedule.parallel_replay import parallel_options

    opts = {k: v for k, v in parallel_options(args).items() if k != "strict"}
    df = run_sweep(points, calibration=cal, chunk=args.chunk, progress=not args.quiet, **opts)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    print(f"wrote {len(df)} modeled grid points to {out}")
    return 0


# ---------------------------------------------------------------- evolution
def add_evolution_parser(sub) -> None:
    p = sub.add_parser("evolution", help="kappa, density and p%%-sparsity per block over training, vs the paper's claim")
    p.add_argument("traces", nargs="+", help="trace directories (MLP, BERT, GPT ...)")
    p.add_argument("--out", default=str(Path("analysis") / "evolution"))
    p.add_argument("--reg-eps", type=float, default=1e-3)
    p.add_argument("--quiet", action="store_true")
    from qlsa_sim.schedule.parallel_replay import add_parallel_options

    add_parallel_options(p)


def run_evolution(args) -> int:
    from qlsa_sim.linalg.features import FeatureConfig
    from qlsa_sim.report.evolution import write_evolution_report

    from qlsa_sim.schedule.parallel_replay import parallel_options

    opts = {k: v for k, v in parallel_options(args).items() if k != "strict"}
    md = write_evolution_report(args.traces, args.out, config=FeatureConfig(reg_eps=args.reg_eps, psd=False),
                                progress=not args.quiet, **opts)
    print(md.read_text())
    print(f"wrote {md.parent}/evolution.csv, {md}, {md.parent}/verdicts.csv, {md.parent}/evolution.png/.svg")
    return 0


# ---------------------------------------------------------------- demo
def add_demo_parser(sub) -> None:
    p = sub.add_parser("demo", help="record -> calibrate -> replay on the default data (a few minutes)")
    p.add_argument("--root", default=".", help="where hessian_traces/, calibration/, analysis/ are")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-dir")
    p.add_argument("--image-size", type=int, default=14,
                   help="pool images to this side; 14 gives a 3152 x 3152 layer-1 block (28: 12560, slow)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--every", type=int, default=50)
    p.add_argument("--quiet", action="store_true")


def run_demo(args) -> int:
    root = Path(args.root)
    t0 = time.perf_counter()
    run = f"demo-{args.dataset}-{args.image_size}x{args.image_size}"
    trace, calib, out = root / "hessian_traces" / run, root / "calibration" / "demo.json", root / "analysis" / run
    q = ["--quiet"] if args.quiet else []
    steps = [
        ["record", "--dataset", args.dataset, "--image-size", str(args.image_size), "--sizes", "784-16-10",
         "--steps", str(args.steps), "--every", str(args.every), "--dtype", "float32", "--out", str(trace),
         "--overwrite", *(["--data-dir", args.data_dir] if args.data_dir else []), *q],
        ["calibrate", "--out", str(calib), *q],
        ["replay", str(trace), "--calibration", str(calib), "--out", str(out), "--save-features", *q],
        ["replay", str(trace), "--calibration", str(calib), "--out", f"{out}-resources",
         "--quantum-model", "resources", "--no-measure", *q],
    ]
    for argv in steps:
        print(f"\n$ qlsa-sim {' '.join(argv)}", flush=True)
        rc = main(argv)
        if rc:
            return rc
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f} s. Outputs:\n  trace:       {trace}/\n"
          f"  calibration: {calib}\n  analysis:    {out}/ (decisions.csv, speedup.csv/.md, crossover.png/.svg;\n"
          f"               quantum by paper Eq. 4 fitted to the resource model)\n"
          f"               {out}-resources/ (the same with the QLSA resource estimator directly)")
    return 0


# ---------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    from qlsa_sim import __version__

    parser = argparse.ArgumentParser(prog="qlsa-sim", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"qlsa-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_demo_parser(sub)
    add_record_parser(sub)
    add_calibrate_parser(sub)
    add_replay_parser(sub)
    add_evolution_parser(sub)
    add_sweep_parser(sub)
    try:
        from qlsa_sim.quantum import cli_commands as qc
    except ImportError:  # pragma: no cover - the quantum CLI is part of the package
        qc = None
    if qc is not None:
        qc.add_estimate_parser(sub)
        qc.add_validate_parser(sub)
    from qlsa_sim.report.reproduce_cli import add_reproduce_parser

    add_reproduce_parser(sub)
    from qlsa_sim.train.train_cli import add_train_parser

    add_train_parser(sub)
    return parser


RUNNERS = {"demo": run_demo, "record": run_record, "calibrate": run_calibrate, "replay": run_replay,
           "evolution": run_evolution, "sweep": run_sweep_cmd}


def main(argv: Sequence[str] | None = None) -> int:
    default_single_thread_env()
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    runner = RUNNERS.get(args.command)
    if runner is None:
        from qlsa_sim.quantum import cli_commands as qc
        from qlsa_sim.report.reproduce_cli import run_reproduce
        from qlsa_sim.train.train_cli import run_train

        runner = {"estimate": qc.run_estimate, "validate": qc.run_validate, "reproduce": run_reproduce,
                  "train": run_train}[args.command]
    try:
        return int(runner(args) or 0)
    except QlsaSimError as e:
        print(f"qlsa-sim {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qlsa-sim {args.command}: interrupted; everything already recorded is kept "
              f"(continue a recording with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
