"""``qlsa-sim validate``: build the QSVT linear solver as a circuit, simulate it on Aer (noiseless statevector)
and compare its solution with the classical one, on small random SPD systems or a given matrix
(``quantum/circuits/simulate.py``). ``--qasm`` writes the circuit as OpenQASM 3."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("validate", help="build and simulate the QSVT solver on small SPD systems (qiskit-aer)",
                       description="Simulate the QSVT linear solver and compare with the classical solution.")
    p.add_argument("--n", type=int, action="append", help="dimension (repeatable; default 4, 8, 16)")
    p.add_argument("--kappa", type=float, default=10.0, help="condition number of the random SPD matrices (default 10)")
    p.add_argument("--eps", type=float, default=1e-2, help="target precision (default 1e-2)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--encoding", choices=("dilation", "pauli_lcu", "sparse"), default="dilation",
                   help="block encoding (default dilation)")
    p.add_argument("--matrix", help="SPD matrix as .npy instead of random ones")
    p.add_argument("--qasm", help="write the (last) circuit as OpenQASM 3 to this file")
    p.add_argument("--json", action="store_true", help="print JSON records")
    return p


def _cases(args: argparse.Namespace, rng) -> list:
    from qlsa_sim.data.matrices import load_matrix
    from qlsa_sim.errors import InputError
    from qlsa_sim.quantum.circuits.simulate import random_spd

    if args.matrix:
        a = load_matrix(args.matrix)
        if args.n and any(k != a.shape[0] for k in args.n):
            raise InputError(f"--n {args.n} does not match the matrix in {args.matrix} (shape {a.shape})")
        return [a]
    if not args.kappa >= 1.0:
        raise InputError(f"--kappa must be >= 1, got {args.kappa}")
    cases = []
    for n in args.n or [4, 8, 16]:
        if n < 1 or n > 64:
            raise InputError(f"--n must lie in [1, 64] for simulation, got {n}")
        cases.append(random_spd(n, args.kappa, rng))
    return cases


def run(args: argparse.Namespace) -> int:
    import json

    import numpy as np
    import pandas as pd

    from qlsa_sim.errors import InputError
    from qlsa_sim.quantum.circuits.simulate import validate_solve

    if not 0.0 < args.eps < 1.0:
        raise InputError(f"--eps must lie in (0, 1), got {args.eps}")
    rng = np.random.default_rng(args.seed)
    cases = _cases(args, rng)
    results = [validate_solve(a, eps=args.eps, encoding=args.encoding, rng=rng,
                              qasm_path=args.qasm if (args.qasm and i == len(cases) - 1) else None)
               for i, a in enumerate(cases)]
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=1))
        return 0
    df = pd.DataFrame([r.as_dict() for r in results])
    cols = ["n", "kappa", "kappa_eff", "encoding", "degree", "qubits", "relative_error", "fidelity",
            "success_probability", "predicted_success_probability", "aa_calls_worst_case", "simulate_seconds"]
    print(f"QSVT solve, eps={args.eps:g} (MEASURED in noiseless Aer simulation)")
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.qasm:
        print(f"OpenQASM 3 written to {args.qasm}")
    return 0
