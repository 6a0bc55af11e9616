"""``qlsa-sim record``: train a model with SGD and record a Hessian trace (``train/record.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qlsa_sim.commands.argtypes import integer, positive
from qlsa_sim.commands.options import add_quiet, add_resume_options, add_task_options, curvature_config, task_spec


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("record", help="train a model and record a Hessian trace")
    add_task_options(p)
    p.add_argument("--steps", type=integer(1, 10**8, "a step count"), default=200)
    p.add_argument("--every", type=integer(1, 10**8, "a step count"), default=50, help="snapshot every k steps")
    p.add_argument("--lr", type=positive, default=0.1)
    p.add_argument("--out", help="trace directory (default hessian_traces/<model>-<dataset>)")
    add_resume_options(p, "continue an interrupted trace", "replace an existing trace")
    add_quiet(p)
    return p


def run(args: argparse.Namespace) -> int:
    from qlsa_sim.commands.checks import check_task_blocks
    from qlsa_sim.core.outputs import check_output_dir
    from qlsa_sim.experiments.tasks import make_task
    from qlsa_sim.train.record import RecordConfig, record_trace

    spec = task_spec(args)
    cfg = RecordConfig(steps=args.steps, every=args.every, lr=args.lr, curvature=curvature_config(args),
                       dtype=args.dtype)
    task = make_task(spec, args.seed)
    out = check_output_dir(args.out or Path("hessian_traces") / spec.name, "--out")
    check_task_blocks(task, cfg.curvature)
    if spec.model != "mlp" and args.dataset != "fashion-mnist":
        print("note: --dataset applies to the MLP; text models use --data-dir (WikiText) or the default corpus",
              file=sys.stderr)
    if not args.quiet:
        print(f"recording {task.info.model} on {task.info.dataset} -> {out}", file=sys.stderr)
    s = record_trace(task, out, cfg, resume=args.resume, overwrite=args.overwrite, progress=not args.quiet)
    print(f"wrote {s.snapshots_written} snapshot(s) to {out} in {s.seconds:.1f} s "
          f"(curvature {s.curvature_seconds:.1f} s); final training loss {s.final_loss:.4f}")
    return 0
