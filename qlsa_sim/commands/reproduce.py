"""``qlsa-sim reproduce``: the Q-Newton paper's experiments, tables, figures and a verdict per claim
(``experiments/reproduce/``). Exit 0 done; 130 interrupted (everything finished is kept; --resume continues)."""

from __future__ import annotations

import argparse

from qlsa_sim.commands.options import add_quiet, add_resume_options, names_list, seeds

SCALE_HELP = ("smoke: digits + a one-layer GPT, a few steps (about a minute); default: Fashion-MNIST 14x14 "
              "MLP 196-16-10 + a 2-layer width-16 GPT (about 40-50 minutes on 2 cores); paper: 784-16-10 on 28x28 "
              "and a 4-layer width-64 GPT (the DNN alone takes several hours on 2 cores, --tasks dnn; the GPT "
              "far longer: bench/bench_transformer_blocks.py prices its exact blocks)")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("reproduce", help="run the Q-Newton paper's experiments; write Table 1, Figs. 2(b)-(g), 3 "
                                         "and a report with a verdict per claim")
    p.add_argument("--scale", default="default", choices=("smoke", "default", "paper"), help=SCALE_HELP)
    p.add_argument("--out", default="analysis/reproduce", help="output folder (default analysis/reproduce)")
    p.add_argument("--calibration", metavar="FILE",
                   help="calibration profile JSON (default: reuse <out>/calibration.json, else calibrate here quickly)")
    p.add_argument("--seeds", type=seeds, help="Table 1 seeds, comma-separated (default: 0,1 smoke; 0-4 default; "
                                                "0,1,2 paper)")
    p.add_argument("--data-dir", help="directory with the Fashion-MNIST IDX files (default: the Debian package's)")
    p.add_argument("--tasks", type=names_list, default=("dnn", "gpt"), help="workloads of Table 1: dnn,gpt (default)")
    p.add_argument("--no-sweeps", dest="sweeps", action="store_false",
                   help="skip the DNN sweeps (Figs. 2(b), 2(d), 2(g); claims C4, C5)")
    add_resume_options(p, "continue interrupted runs", "redo every run (and the calibration)")
    add_quiet(p)
    return p


def _check_inputs(args: argparse.Namespace, config) -> None:
    """Every input before the first run: output folder, --resume, data, calibration."""
    from pathlib import Path

    from qlsa_sim.core.outputs import check_input_dir, check_output_dir
    from qlsa_sim.cost.profile import load_profile
    from qlsa_sim.data.images import load_image_dataset
    from qlsa_sim.errors import DataError, InputError

    out = check_output_dir(args.out, "--out")
    if args.resume and not (out / "runs").is_dir():
        raise InputError(f"--resume: {out} holds no runs to resume (no {out / 'runs'}); drop --resume to start them")
    if args.data_dir:
        if args.scale == "smoke":
            raise InputError("--data-dir does not apply to --scale smoke (it trains on scikit-learn's bundled digits)")
        check_input_dir(args.data_dir, "--data-dir", DataError)
    d = config.dnn
    load_image_dataset(d.dataset, data_dir=d.data_dir, image_size=d.image_size)
    cal = config.calibration or (None if args.overwrite else Path(args.out) / "calibration.json")
    if cal is not None and (config.calibration or Path(cal).exists()):
        load_profile(cal)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from qlsa_sim.core.outputs import output_set
    from qlsa_sim.experiments.reproduce import ReproduceConfig, reproduce

    config = ReproduceConfig(scale=args.scale, out_dir=args.out, calibration=args.calibration, resume=args.resume,
                             overwrite=args.overwrite, seeds=tuple(args.seeds) if args.seeds else None,
                             tasks=tuple(args.tasks), sweeps=args.sweeps)
    if args.data_dir:
        config = replace(config, dnn=replace(config.dnn, data_dir=args.data_dir))
    _check_inputs(args, config)
    # tables, figures and the report are one set (marked INCOMPLETE while written); runs/ resume on their own
    with output_set(args.out, "reproduce", staged=False, keep=("runs", "calibration.json", "reproduce_calls.json")):
        outs = reproduce(config, progress=not args.quiet)
    print(outs.table1_md.read_text())
    print(f"wrote {outs.report_md} (claims and verdicts), {outs.table1_csv}, {outs.solve_table_csv}, "
          f"{outs.claims_csv} and {len(outs.figures)} figures (PNG + SVG) in {outs.out_dir} "
          f"in {outs.wall_seconds:.0f} s")
    return 0
