"""``qlsa-sim estimate``: what a QLSA solve of one block would cost, per preset: counts, time per logical gate-time
profile, and physical surface-code figures (Qualtran's models), from ``(n, kappa, density, eps)`` or a matrix
file (``experiments/estimate.py``). Every figure is MODELED."""

from __future__ import annotations

import argparse

BASES = ("gates", "non-clifford", "depth", "count")
from qlsa_sim.commands.argtypes import N_MAX, density, eps, integer, kappa


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("estimate", help="modeled QLSA counts, logical times and physical (surface-code) figures",
                       description="Modeled QLSA resources: from --n/--kappa/--density/--eps or from --matrix "
                                   "FILE.npy.")
    p.add_argument("--n", type=integer(1, N_MAX, "a dimension"), help="matrix dimension, in [1, 2^40]")
    p.add_argument("--kappa", type=kappa, help="condition number, in [1, 1e16]")
    p.add_argument("--density", type=density, help="fraction of non-zero entries per row, in (0, 1]")
    p.add_argument("--eps", type=eps, default=1e-2,
                   help="target precision of the solution state, in [1e-15, 1) (default 1e-2)")
    p.add_argument("--matrix", help="symmetric matrix as .npy (loaded without pickle)")
    p.add_argument("--preset", action="append", help="query-cost preset (repeatable; default all)")
    p.add_argument("--profile", "--hardware", dest="hardware", action="append",
                   help="logical gate-time profile (repeatable; default all)")
    p.add_argument("--gate-time", type=float, help="also a logical gate time of this many seconds (idealized)")
    p.add_argument("--physical", action="append",
                   help="surface-code profile (repeatable; default surface-p1e-3-1us, surface-p1e-4-1us)")
    p.add_argument("--cycle-time", type=float, help="also a custom surface code: cycle time in seconds (with "
                                                     "--phys-error, --error-budget)")
    p.add_argument("--phys-error", type=float, default=1e-3, help="custom surface code: physical error (default 1e-3)")
    p.add_argument("--error-budget", type=float, default=1e-2,
                   help="custom surface code: failure budget (default 0.01)")
    p.add_argument("--basis", choices=BASES, default="gates",
                   help="time = all gates in sequence x gate time (gates, default) or T-equivalent x gate time "
                        "(non-clifford: Cliffords free); depth and count are deprecated aliases of gates")
    p.add_argument("--encoding", default="cheapest",
                   help="block encoding: cheapest (default: the cheapest the matrix allows) | sparse | dense | "
                        "dense_qroam | factor | factor_qroam (dense and factor need --matrix)")
    p.add_argument("--state-prep", action="store_true", help="include preparing |b> in the time")
    p.add_argument("--readout", action="store_true", help="include tomography of x in the time")
    p.add_argument("--json", action="store_true", help="print the estimate document (schema qlsa-sim-estimate/1)")
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
    from qlsa_sim.experiments.estimate import DEFAULT_PHYSICAL, estimate_document, logical_rows, physical_rows
    from qlsa_sim.quantum.estimation.physical_profiles import custom_profile
    from qlsa_sim.report.console import console_table

    f = _features(args)
    physical = list(args.physical or DEFAULT_PHYSICAL)
    if args.cycle_time is not None:
        physical.append(custom_profile(args.cycle_time, args.phys_error, args.error_budget))
    doc = estimate_document(f, args.eps, presets=args.preset, hardware=args.hardware, physical=physical,
                            gate_time_s=args.gate_time, basis=args.basis, include_state_prep=args.state_prep,
                            include_readout=args.readout, encoding=args.encoding,
                            inputs={"matrix": args.matrix, "density": args.density})
    if args.json:
        print(doc.model_dump_json(indent=1))
        return 0
    print(f"n={f.n} nnz/row={f.max_nnz_per_row} kappa={f.kappa:.6g} eps={args.eps:g}  (all figures MODELED; t "
          "excludes Toffolis; t_equivalent = t + 4 toffoli + T per rotation; qubits are logical)")
    print(console_table(logical_rows(doc), drop=("id", "modeled")))
    print("\nphysical (surface code, Qualtran's models; infeasible points give the reason, not a number):")
    print(console_table(physical_rows(doc), drop=("id", "modeled")))
    return 0
