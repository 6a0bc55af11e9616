"""``qlsa-sim evolution``: kappa, density and p%-sparsity of every block over training, against the paper's claim
that they fall (``experiments/evolution.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from qlsa_sim.commands.argtypes import non_negative
from qlsa_sim.commands.options import add_parallel_options, add_quiet, parallel_options


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("evolution", help="kappa, density and p%%-sparsity per block over training, vs the paper's claim")
    p.add_argument("traces", nargs="+", help="trace directories (MLP, BERT, GPT ...)")
    p.add_argument("--out", default=str(Path("analysis") / "evolution"))
    p.add_argument("--reg-eps", type=non_negative, default=1e-3, help="regularization H + eps I (>= 0)")
    add_quiet(p)
    add_parallel_options(p, strict=False)
    return p


def run(args: argparse.Namespace) -> int:
    from qlsa_sim.commands.checks import check_traces
    from qlsa_sim.core.outputs import check_output_dir, output_set
    from qlsa_sim.experiments.evolution import write_evolution_report
    from qlsa_sim.linalg.features import FeatureConfig

    check_traces(args.traces)  # manifests, snapshot files' kinds and sizes, memory: before any work
    check_output_dir(args.out, "--out")
    with output_set(args.out, "evolution") as staged:
        md = staged.final(write_evolution_report(args.traces, staged.path,
                                                 config=FeatureConfig(reg_eps=args.reg_eps, psd=False),
                                                 progress=not args.quiet, **parallel_options(args)))
    print(md.read_text())
    print(f"wrote {md.parent}/evolution.csv, {md}, {md.parent}/verdicts.csv, {md.parent}/evolution.png/.svg")
    return 0
