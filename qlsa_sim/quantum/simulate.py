"""Simulation check of the QSVT linear solver with qiskit-aer (small n), and OpenQASM 3 export.

``validate_solve`` builds block encoding -> inversion polynomial -> angles -> QSVT circuit -> ``|b>``
preparation, simulates the statevector with Aer, post-selects ancillas and phase qubit on ``|0>`` and
compares the normalised result with the classical solution ``x = A^{-1} b / |A^{-1} b|``:

* ``relative_error`` = ``| x_q - x |`` (both unit vectors, global sign fixed), the 2-norm error the
  polynomial was built for (at most ``eps`` by construction, see :mod:`qlsa_sim.quantum.qsvt`);
* ``fidelity`` = ``|<x_q|x>|^2``;
* ``success_probability`` = probability of the post-selected outcome (simulated), beside the value
  ``|P(A/alpha) b|^2`` predicted classically, and the fixed-point AA calls that would lift the worst case.
These are MEASURED in simulation (of an ideal, noiseless circuit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qlsa_sim.errors import InputError
from qlsa_sim.quantum.block_encoding import check_symmetric_matrix, make_encoding
from qlsa_sim.quantum.circuits import qsvt_circuit, solve_circuit
from qlsa_sim.quantum.qsvt import find_angles, inversion_polynomial, qsvt_block_sign, qsvt_query_plan


def random_spd(n: int, kappa: float, rng: np.random.Generator) -> np.ndarray:
    """Random symmetric positive definite ``n x n`` matrix with eigenvalues from ``1/kappa`` to ``1``
    (both ends included, the rest log-uniform) and Haar-random eigenvectors; exact condition number."""
    if n < 1:
        raise InputError(f"n must be >= 1, got {n}")
    if not kappa >= 1.0:
        raise InputError(f"kappa must be >= 1, got {kappa}")
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    if n == 1:
        lam = np.array([1.0])
    else:
        inner = np.exp(rng.uniform(-np.log(kappa), 0.0, size=max(n - 2, 0)))
        lam = np.concatenate([[1.0 / kappa, 1.0], inner])
    a = (q * lam) @ q.T
    return 0.5 * (a + a.T)


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of one simulated QSVT solve (MEASURED in noiseless simulation)."""

    n: int
    kappa: float
    kappa_eff: float
    alpha: float
    eps: float
    encoding: str
    degree: int
    queries: int
    qubits: int
    relative_error: float
    fidelity: float
    success_probability: float
    predicted_success_probability: float
    aa_calls_worst_case: int
    angle_seconds: float
    angles_from_cache: bool
    simulate_seconds: float
    qasm_path: str | None = None

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def validate_solve(
    a: np.ndarray,
    b: np.ndarray | None = None,
    eps: float = 1e-2,
    *,
    encoding: str = "dilation",
    qasm_path: str | Path | None = None,
    rng: np.random.Generator | None = None,
) -> ValidationResult:
    """Build, simulate and check the QSVT solve of ``a x = b`` (see module docstring).

    ``a`` must be symmetric positive definite (InputError otherwise); ``b`` defaults to a random unit
    vector drawn from ``rng``.
    """
    a = check_symmetric_matrix(a, require_pd=True)
    n = a.shape[0]
    if not 0.0 < float(eps) < 1.0:
        raise InputError(f"precision eps must lie in (0, 1), got {eps!r}")
    if b is None:
        rng = rng if rng is not None else np.random.default_rng(0)
        b = rng.standard_normal(n)
    b = np.asarray(b, dtype=float)
    if b.shape != (n,):
        raise InputError(f"right-hand side has shape {b.shape}, matrix needs ({n},)")
    lam = np.linalg.eigvalsh(a)
    kappa = float(lam[-1] / lam[0])
    be = make_encoding(a, encoding)
    kappa_eff = max(be.alpha / float(lam[0]), 1.0)
    angles = find_angles(kappa_eff, eps)
    qs = qsvt_circuit(be, angles.phases, sign=qsvt_block_sign(angles.degree))
    circ = solve_circuit(qs, b)

    from qiskit import transpile
    from qiskit_aer import AerSimulator

    t0 = time.perf_counter()
    sim = AerSimulator(method="statevector")
    tc = transpile(circ, sim, optimization_level=0)
    tc.save_statevector()
    sv = np.asarray(sim.run(tc).result().get_statevector())
    sim_seconds = time.perf_counter() - t0

    dim = 2**be.num_system
    v = qs.sign * sv[:dim][:n]
    p_succ = float(np.vdot(v, v).real)
    x = np.linalg.solve(a, b)
    x /= np.linalg.norm(x)
    if p_succ <= 0.0:
        raise InputError("post-selection probability is zero: the circuit produced no solution component")
    xq = v / np.sqrt(p_succ)
    overlap = np.vdot(x, xq)
    fidelity = float(abs(overlap) ** 2)
    phase = overlap / abs(overlap) if abs(overlap) > 0 else 1.0
    rel_err = float(np.linalg.norm(xq / phase - x))
    poly = inversion_polynomial(kappa_eff, eps)
    w, vecs = np.linalg.eigh(a / be.alpha)
    bn = b / np.linalg.norm(b)
    pb = vecs @ (poly(w) * (vecs.T @ bn))
    predicted = float(pb @ pb)
    plan = qsvt_query_plan(kappa_eff, eps)

    out_path = None
    if qasm_path is not None:
        out_path = str(export_qasm3(circ, qasm_path))
    return ValidationResult(
        n=n,
        kappa=kappa,
        kappa_eff=kappa_eff,
        alpha=be.alpha,
        eps=float(eps),
        encoding=encoding,
        degree=qs.degree,
        queries=qs.queries,
        qubits=circ.num_qubits,
        relative_error=rel_err,
        fidelity=fidelity,
        success_probability=p_succ,
        predicted_success_probability=predicted,
        aa_calls_worst_case=plan.aa_calls,
        angle_seconds=angles.seconds,
        angles_from_cache=angles.from_cache,
        simulate_seconds=sim_seconds,
        qasm_path=out_path,
    )


def export_qasm3(circuit, path: str | Path) -> Path:
    """Write ``circuit`` as OpenQASM 3 (after decomposing to ``u``/``cx``, which qasm3 can express)."""
    from qiskit import qasm3, transpile

    p = Path(path)
    tc = transpile(circuit, basis_gates=["u", "cx"], optimization_level=1)
    try:
        text = qasm3.dumps(tc)
    except Exception as exc:  # qiskit raises QASM3ExporterError; keep the message one line
        raise InputError(f"cannot export circuit to OpenQASM 3: {exc}") from exc
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    except OSError as exc:
        raise InputError(f"cannot write {p}: {exc.strerror}") from exc
    return p
