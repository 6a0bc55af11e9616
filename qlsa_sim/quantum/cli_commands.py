"""``qlsa-sim estimate`` and ``qlsa-sim validate``: parsers and runners (registered by qlsa_sim.cli).

``estimate`` prints modeled QLSA counts and times per preset and hardware profile, from
``(n, kappa, density, eps)`` or from a matrix file (``.npy``, loaded without pickle).
``validate`` builds and simulates the QSVT solver on small random SPD systems (or a given matrix) and
prints the measured errors; ``--qasm`` writes the circuit as OpenQASM 3.

Both raise :mod:`qlsa_sim.errors` types on bad input; the CLI wrapper prints them as one line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from qlsa_sim.errors import InputError
from qlsa_sim.quantum.estimation.encodings import ENCODINGS
from qlsa_sim.quantum.estimation.hardware import get_profile, profile_names
from qlsa_sim.quantum.estimation.presets import get_preset, preset_names
from qlsa_sim.quantum.estimation.validation import validate_kappa_eps

TABLE_COLUMNS = [
    "id", "preset", "kind", "profile", "encoding", "n", "nnz_per_row", "kappa", "kappa_eff", "alpha", "eps",
    "queries", "t_count", "toffoli", "rotations", "clifford", "measurements", "t_equivalent", "qubits", "depth",
    "depth_is_upper_bound",
    "success_probability", "repetitions", "gate_time_s", "basis", "seconds", "components", "method", "modeled",
]


def estimate_table(
    n: int,
    nnz_per_row: int,
    kappa: float,
    eps: float,
    presets: list[str] | tuple[str, ...] | None = None,
    profiles: list[str] | tuple[str, ...] | None = None,
    *,
    basis: str = "gates",
    include_state_prep: bool = False,
    include_readout: bool = False,
    readout_precision: float = 1e-2,
    **matrix_info: float | None,
) -> pd.DataFrame:
    """One row per (preset, profile): modeled counts (``estimate_qlsa_resources``) and time
    (``qlsa_time``).  ``matrix_info`` may hold ``max_abs_entry``, ``lambda_min``, ``lambda_max``,
    ``frobenius_norm`` and ``encoding`` (a name of ``encodings.ENCODINGS``; None: the historical default).
    ``components`` lists the seconds of each included time component (JSON)."""
    from qlsa_sim.quantum.estimation.resources import estimate_qlsa_resources
    from qlsa_sim.quantum.estimation.timing import qlsa_time

    known = {"max_abs_entry", "lambda_min", "lambda_max", "encoding", "frobenius_norm"}
    unknown = set(matrix_info) - known
    if unknown:
        raise InputError(f"unknown matrix information {sorted(unknown)}; known: {', '.join(sorted(known))}")
    presets = list(presets) if presets else list(preset_names())
    profiles = list(profiles) if profiles else list(profile_names())
    for p in presets:
        get_preset(p)
    profs = [get_profile(p) for p in profiles]
    rows = []
    for p in presets:
        res = estimate_qlsa_resources(n, nnz_per_row, kappa, eps, p, **matrix_info)
        kind = get_preset(p).kind
        for prof in profs:
            qt = qlsa_time(
                res, prof, basis=basis, include_state_prep=include_state_prep,
                include_readout=include_readout, readout_precision=readout_precision,
            )
            rows.append(
                {
                    "id": f"{p}@{prof.name}",
                    "preset": p,
                    "kind": kind,
                    "profile": prof.name,
                    "encoding": res.encoding,
                    "n": res.n,
                    "nnz_per_row": res.nnz_per_row,
                    "kappa": res.kappa,
                    "kappa_eff": res.kappa_eff,
                    "alpha": res.alpha,
                    "eps": res.eps,
                    "queries": res.queries,
                    "t_count": res.t_count,
                    "toffoli": res.toffoli,
                    "rotations": res.rotations,
                    "clifford": res.clifford,
                    "measurements": res.measurements,
                    "t_equivalent": res.t_equivalent,
                    "qubits": res.qubits,
                    "depth": res.depth,
                    "depth_is_upper_bound": res.depth_is_upper_bound,
                    "success_probability": res.success_probability,
                    "repetitions": res.repetitions,
                    "gate_time_s": prof.gate_time_s,
                    "basis": qt.basis,
                    "seconds": qt.seconds,
                    "components": json.dumps(dict(qt.components)),
                    "method": res.method,
                    "modeled": True,
                }
            )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def load_matrix(path: str | Path) -> np.ndarray:
    """Load a square matrix from ``.npy`` without pickle (InputError naming the file otherwise)."""
    p = Path(path)
    try:
        arr = np.load(p, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"matrix file not found: {p}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read matrix file {p}: {exc}") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"matrix file {p} does not hold a single array (.npz is not supported)")
    return arr


def matrix_features(a: np.ndarray, *, name: str = "matrix") -> dict:
    """``n``, ``nnz_per_row`` (densest row), ``kappa``, ``max_abs_entry``, ``frobenius_norm``, ``lambda_min``,
    ``lambda_max`` of
    a symmetric positive definite matrix (exact eigenvalues; InputError if not SPD)."""
    from qlsa_sim.quantum.circuits.block_encoding import check_symmetric_matrix

    a = check_symmetric_matrix(a, require_pd=True, name=name)
    lam = np.linalg.eigvalsh(a)
    return {
        "n": int(a.shape[0]),
        "nnz_per_row": int(max(1, np.max(np.count_nonzero(a, axis=1)))),
        "kappa": float(lam[-1] / lam[0]),
        "max_abs_entry": float(np.max(np.abs(a))),
        "frobenius_norm": float(np.linalg.norm(a)),
        "lambda_min": float(lam[0]),
        "lambda_max": float(lam[-1]),
    }


# --------------------------------------------------------------------------- estimate


def add_estimate_parser(subparsers) -> None:
    """Register ``estimate``."""
    p = subparsers.add_parser(
        "estimate",
        help="modeled QLSA gate counts and times per preset and hardware profile",
        description="Modeled QLSA resources: from --n/--kappa/--density/--eps or from --matrix FILE.npy.",
    )
    p.add_argument("--n", type=int, help="matrix dimension")
    p.add_argument("--kappa", type=float, help="condition number (>= 1)")
    p.add_argument("--density", type=float, help="fraction of non-zero entries per row, in (0, 1]")
    p.add_argument("--eps", type=float, default=1e-2, help="target precision of the solution state (default 1e-2)")
    p.add_argument("--matrix", help="symmetric positive definite matrix as .npy (loaded without pickle)")
    p.add_argument("--preset", action="append",
                   help=f"query-cost preset (repeatable; default all: {', '.join(preset_names())})")
    p.add_argument("--profile", action="append",
                   help=f"hardware profile (repeatable; default all: {', '.join(profile_names())})")
    p.add_argument("--basis", choices=("gates", "non-clifford", "depth", "count"), default="gates",
                   help="time = all gates in sequence x gate time (gates, default) or T-equivalent x gate time "
                        "(non-clifford: Cliffords free); depth and count are deprecated aliases of gates")
    p.add_argument("--encoding", choices=ENCODINGS,
                   help="block encoding to price (needs --matrix); default: sparse access, as before")
    p.add_argument("--state-prep", action="store_true", help="include preparing |b> in the time")
    p.add_argument("--readout", action="store_true", help="include tomography of x in the time")
    p.add_argument("--readout-precision", type=float, default=1e-2,
                   help="l2 precision of the read-out x (default 1e-2)")
    p.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    p.set_defaults(func=run_estimate)


def _estimate_inputs(args) -> tuple[int, int, float, float, dict]:
    eps = args.eps
    if args.matrix:
        feats = matrix_features(load_matrix(args.matrix), name=f"matrix {args.matrix}")
        if args.n is not None and args.n != feats["n"]:
            raise InputError(f"--n {args.n} does not match the matrix in {args.matrix} (n = {feats['n']})")
        info = {k: feats[k] for k in ("max_abs_entry", "lambda_min", "lambda_max")}
        if getattr(args, "encoding", None):
            info.update(encoding=args.encoding, frobenius_norm=feats["frobenius_norm"])
        return feats["n"], feats["nnz_per_row"], feats["kappa"], eps, info
    if getattr(args, "encoding", None):
        raise InputError("--encoding needs --matrix (the encodings' alpha comes from the matrix)")
    missing = [f"--{k}" for k in ("n", "kappa", "density") if getattr(args, k) is None]
    if missing:
        raise InputError(f"estimate needs --matrix or all of --n --kappa --density (missing {' '.join(missing)})")
    if args.n < 1:
        raise InputError(f"--n must be >= 1, got {args.n}")
    if not (0.0 < args.density <= 1.0):
        raise InputError(f"--density must lie in (0, 1], got {args.density}")
    validate_kappa_eps(args.kappa, eps)
    nnz = int(min(args.n, max(1, math.ceil(args.density * args.n))))
    return args.n, nnz, args.kappa, eps, {}


def run_estimate(args) -> int:
    """Print the estimate table (or JSON); 0 on success."""
    n, nnz, kappa, eps, info = _estimate_inputs(args)
    validate_kappa_eps(kappa, eps)
    df = estimate_table(
        n, nnz, kappa, eps, args.preset, args.profile, basis=args.basis,
        include_state_prep=args.state_prep, include_readout=args.readout,
        readout_precision=args.readout_precision, **info,
    )
    if args.json:
        print(df.to_json(orient="records", indent=1))
    else:
        cols = ["preset", "profile", "kappa_eff", "queries", "toffoli", "t_count", "rotations", "t_equivalent",
                "qubits", "depth", "repetitions", "seconds"]
        print(f"n={n} nnz/row={nnz} kappa={kappa:.6g} eps={eps:g}  (all figures MODELED; depth is an upper bound;"
              f" time basis={args.basis}; components: qlsa"
              f"{' + state_prep' if args.state_prep else ''}{' + readout' if args.readout else ''})")
        print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


# --------------------------------------------------------------------------- validate


def add_validate_parser(subparsers) -> None:
    """Register ``validate``."""
    p = subparsers.add_parser(
        "validate",
        help="build and simulate the QSVT solver on small SPD systems (qiskit-aer)",
        description="Simulate the QSVT linear solver and compare with the classical solution.",
    )
    p.add_argument("--n", type=int, action="append", help="dimension (repeatable; default 4, 8, 16)")
    p.add_argument("--kappa", type=float, default=10.0, help="condition number of the random SPD matrices (default 10)")
    p.add_argument("--eps", type=float, default=1e-2, help="target precision (default 1e-2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--encoding", choices=("dilation", "pauli_lcu", "sparse"), default="dilation",
                   help="block encoding (default dilation)")
    p.add_argument("--matrix", help="SPD matrix as .npy instead of random ones")
    p.add_argument("--qasm", help="write the (last) circuit as OpenQASM 3 to this file")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.set_defaults(func=run_validate)


def run_validate(args) -> int:
    """Simulate and print errors; 0 on success."""
    from qlsa_sim.quantum.circuits.simulate import random_spd, validate_solve

    if not 0.0 < args.eps < 1.0:
        raise InputError(f"--eps must lie in (0, 1), got {args.eps}")
    rng = np.random.default_rng(args.seed)
    cases: list[np.ndarray] = []
    if args.matrix:
        a = load_matrix(args.matrix)
        if args.n and any(k != np.asarray(a).shape[0] for k in args.n):
            raise InputError(f"--n {args.n} does not match the matrix in {args.matrix} (shape {np.asarray(a).shape})")
        cases.append(a)
    else:
        if not args.kappa >= 1.0:
            raise InputError(f"--kappa must be >= 1, got {args.kappa}")
        for n in args.n or [4, 8, 16]:
            if n < 1 or n > 64:
                raise InputError(f"--n must lie in [1, 64] for simulation, got {n}")
            cases.append(random_spd(n, args.kappa, rng))
    results = []
    for i, a in enumerate(cases):
        qasm = args.qasm if (args.qasm and i == len(cases) - 1) else None
        results.append(validate_solve(a, eps=args.eps, encoding=args.encoding, qasm_path=qasm, rng=rng))
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=1))
    else:
        df = pd.DataFrame([r.as_dict() for r in results])
        cols = ["n", "kappa", "kappa_eff", "encoding", "degree", "qubits", "relative_error", "fidelity",
                "success_probability", "predicted_success_probability", "aa_calls_worst_case", "simulate_seconds"]
        print(f"QSVT solve, eps={args.eps:g} (MEASURED in noiseless Aer simulation)")
        print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        if args.qasm:
            print(f"OpenQASM 3 written to {args.qasm}")
    return 0
