"""``qlsa-sim validate``: build the QSVT linear solver as a circuit, simulate it on Aer (noiseless statevector)
and compare its solution with the classical one, on small random SPD systems or a given matrix
(``quantum/circuits/simulate.py``). ``--qasm`` writes the circuit as OpenQASM 3.

Exit status: 0 when every simulated solve is within eps of the classical solution, 1 when one is not (the
results are printed, then one line naming the case, its error and eps), 2 for a refused input."""

from __future__ import annotations

import argparse

from qlsa_sim.commands.argtypes import integer, kappa, real, seed


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("validate", help="build and simulate the QSVT solver on small SPD systems (qiskit-aer)",
                       description="Simulate the QSVT linear solver and compare with the classical solution.")
    p.add_argument("--n", type=integer(1, 64, "a dimension"), action="append",
                   help="dimension in [1, 64] (repeatable; default 4, 8, 16)")
    p.add_argument("--kappa", type=kappa, default=10.0, help="condition number of the random SPD matrices (default 10; "
                                                             "simulation supports about 200 at eps 0.01)")
    p.add_argument("--eps", type=real(1e-10, 1.0, hi_open=True, what="a precision (float64 simulation resolves ~1e-13)"),
                   default=1e-2, help="target precision, in [1e-10, 1) (default 1e-2)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--encoding", choices=("dilation", "pauli_lcu", "sparse"), default="dilation",
                   help="block encoding (default dilation)")
    p.add_argument("--matrix", help="SPD matrix as .npy instead of random ones (n <= 64)")
    p.add_argument("--rhs", metavar="FILE", help="right-hand side b as .npy, length n (default: a random vector; "
                                                 "needs --matrix)")
    p.add_argument("--qasm", help="write the (last) circuit as OpenQASM 3 to this file")
    p.add_argument("--json", action="store_true", help="print JSON records")
    return p


def _cases(args: argparse.Namespace, rng) -> list[tuple]:
    """``(matrix, rhs or None)`` per case, every input checked (sizes, simulation limits) before any work."""
    from qlsa_sim.core.outputs import check_output_file
    from qlsa_sim.data.matrices import load_matrix, load_vector
    from qlsa_sim.errors import InputError
    from qlsa_sim.quantum.circuits.block_encoding import check_symmetric_matrix
    from qlsa_sim.quantum.circuits.simulate import MAX_N, check_simulation_size, random_spd

    if args.qasm:
        check_output_file(args.qasm, "--qasm")
    if args.rhs and not args.matrix:
        raise InputError("--rhs needs --matrix (the random cases draw their own right-hand sides)")
    if args.matrix:
        a = load_matrix(args.matrix, max_n=MAX_N, limit_what="validate can simulate")
        if args.n and any(k != a.shape[0] for k in args.n):
            raise InputError(f"--n {args.n} does not match the matrix in {args.matrix} (shape {a.shape})")
        try:
            a = check_symmetric_matrix(a, require_pd=True)
        except InputError as e:
            raise InputError(f"--matrix {args.matrix}: {e}") from None
        b = load_vector(args.rhs, a.shape[0]) if args.rhs else None
        return [(a, b)]
    ns = args.n or [4, 8, 16]
    for n in ns:
        check_simulation_size(n, args.kappa, args.eps, f"--n {n} --kappa {args.kappa:g} --eps {args.eps:g}")
    return [(random_spd(n, args.kappa, rng), None) for n in ns]


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from qlsa_sim.core.atomic import json_dumps
    from qlsa_sim.errors import InputError
    from qlsa_sim.quantum.circuits.simulate import validate_solve

    rng = np.random.default_rng(args.seed)
    cases = _cases(args, rng)
    results = []
    for i, (a, b) in enumerate(cases):
        try:
            results.append(validate_solve(a, b, eps=args.eps, encoding=args.encoding, rng=rng,
                                          qasm_path=args.qasm if (args.qasm and i == len(cases) - 1) else None))
        except InputError as e:
            raise InputError(f"--matrix {args.matrix}: {e}" if args.matrix else f"n = {a.shape[0]}: {e}") from None
    if args.json:
        print(json_dumps([r.as_dict() for r in results]))
        return _check_errors(results, args.eps)
    df = pd.DataFrame([r.as_dict() for r in results])
    cols = ["n", "kappa", "kappa_eff", "encoding", "degree", "qubits", "relative_error", "fidelity",
            "success_probability", "predicted_success_probability", "aa_calls_worst_case", "simulate_seconds"]
    print(f"QSVT solve, eps={args.eps:g} (MEASURED in noiseless Aer simulation)")
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.qasm:
        print(f"OpenQASM 3 written to {args.qasm}")
    return _check_errors(results, args.eps)


def _check_errors(results: list, eps: float) -> int:
    """1 (and one line on stderr naming the case, its error and eps) if a simulated solve misses eps, else 0."""
    import sys

    bad = [(i, r) for i, r in enumerate(results) if not r.relative_error <= eps]
    if not bad:
        return 0
    i, r = bad[0]
    print(f"qlsa-sim validate: error: case {i + 1} (n = {r.n}, kappa_eff = {r.kappa_eff:.4g}): simulated relative "
          f"error {r.relative_error:.3g} exceeds eps {eps:g}" + (f" ({len(bad)} of {len(results)} cases miss)"
                                                                  if len(bad) > 1 else ""), file=sys.stderr)
    return 1
