"""``qlsa-sim estimate``: modeled QLSA gate counts and times of one block per preset and hardware profile,
from ``(n, kappa, density, eps)`` or from a matrix file (``experiments/estimate.py``)."""

from __future__ import annotations

import argparse

from qlsa_sim.commands.argtypes import N_MAX, density, eps, integer, kappa


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("estimate", help="modeled QLSA gate counts and times per preset and hardware profile",
                       description="Modeled QLSA resources: from --n/--kappa/--density/--eps or from --matrix FILE.npy.")
    p.add_argument("--n", type=integer(1, N_MAX, "a dimension"), help="matrix dimension, in [1, 2^40]")
    p.add_argument("--kappa", type=kappa, help="condition number, in [1, 1e16]")
    p.add_argument("--density", type=density, help="fraction of non-zero entries per row, in (0, 1]")
    p.add_argument("--eps", type=eps, default=1e-2,
                   help="target precision of the solution state, in [1e-15, 1) (default 1e-2)")
    p.add_argument("--matrix", help="symmetric matrix as .npy (loaded without pickle)")
    p.add_argument("--preset", action="append", help="query-cost preset (repeatable; default all)")
    p.add_argument("--profile", "--hardware", dest="hardware", action="append",
                   help="hardware profile (repeatable; default all)")
    p.add_argument("--basis", choices=("gates", "non-clifford", "depth", "count"), default="gates",
                   help="time = all gates in sequence x gate time (gates, default) or T-equivalent x gate time "
                        "(non-clifford: Cliffords free); depth and count are deprecated aliases of gates")
    p.add_argument("--encoding", default="cheapest",
                   help="block encoding: cheapest (default: the cheapest the matrix allows) | sparse | dense | "
                        "dense_qroam | factor | factor_qroam (dense and factor need --matrix)")
    p.add_argument("--state-prep", action="store_true", help="include preparing |b> in the time")
    p.add_argument("--readout", action="store_true", help="include tomography of x in the time")
    p.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    return p


def _features(args: argparse.Namespace):
    from qlsa_sim.data.matrices import load_matrix
    from qlsa_sim.errors import InputError
    from qlsa_sim.experiments.estimate import matrix_features, point_features

    if args.matrix:
        f = matrix_features(load_matrix(args.matrix), name=f"matrix {args.matrix}")
        if args.n is not None and args.n != f.n:
            raise InputError(f"--n {args.n} does not match the matrix in {args.matrix} (n = {f.n})")
        return f
    if args.encoding != "cheapest":
        raise InputError(f"--encoding {args.encoding} needs --matrix (the encoding's alpha comes from the matrix); "
                         "from --n/--kappa/--density the ideal encoding alpha = ||A|| is priced")
    missing = [f"--{k}" for k in ("n", "kappa", "density") if getattr(args, k) is None]
    if missing:
        raise InputError(f"estimate needs --matrix or all of --n --kappa --density (missing {' '.join(missing)})")
    return point_features(args.n, args.kappa, args.density, args.eps)


def run(args: argparse.Namespace) -> int:
    from qlsa_sim.experiments.estimate import estimate_table

    f = _features(args)
    df = estimate_table(f, args.eps, args.preset, args.hardware, basis=args.basis,
                        include_state_prep=args.state_prep, include_readout=args.readout, encoding=args.encoding)
    if args.json:
        from qlsa_sim.core.atomic import json_dumps  # full precision (repr), never fixed decimals

        print(json_dumps(df.to_dict(orient="records")))
        return 0
    cols = ["preset", "hardware", "encoding", "kappa_eff", "queries", "toffoli", "t_count", "rotations",
            "t_equivalent", "qubits", "seconds"]
    print(f"n={f.n} nnz/row={f.max_nnz_per_row} kappa={f.kappa:.6g} eps={args.eps:g}  (all figures MODELED; "
          f"time basis={df['basis'].iloc[0]}; components: qlsa{' + state_prep' if args.state_prep else ''}"
          f"{' + readout' if args.readout else ''}; t_count excludes Toffolis; t_equivalent = t_count + 4 toffoli "
          "+ T per rotation; qubits are logical)")
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0
