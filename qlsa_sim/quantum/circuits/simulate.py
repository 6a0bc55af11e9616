"""Simulation check of the QSVT linear solver with qiskit-aer (small n), and OpenQASM 3 export.

``validate_solve`` builds block encoding -> inversion polynomial -> angles -> QSVT circuit -> ``|b>``
preparation, simulates the statevector with Aer, post-selects ancillas and phase qubit on ``|0>`` and
compares the normalised result with the classical solution ``x = A^{-1} b / |A^{-1} b|``:

* ``relative_error`` = ``| x_q - x |`` (both unit vectors, global sign fixed), the 2-norm error the
  polynomial was built for (at most ``eps`` by construction, see :mod:`qlsa_sim.quantum.estimation.inversion`);
* ``fidelity`` = ``|<x_q|x>|^2``;
* ``success_probability`` = probability of the post-selected outcome (simulated), beside the value
  ``|P(A/alpha) b|^2`` predicted classically, and the fixed-point AA calls that would lift the worst case.
These are MEASURED in simulation (of an ideal, noiseless circuit).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qlsa_sim.core.outputs import write_text
from qlsa_sim.core.resources import format_seconds
from qlsa_sim.errors import InputError
from qlsa_sim.quantum.circuits.angles import find_angles, qsvt_block_sign
from qlsa_sim.quantum.circuits.block_encoding import check_symmetric_matrix, make_encoding
from qlsa_sim.quantum.circuits.build import qsvt_circuit, solve_circuit
from qlsa_sim.quantum.estimation.inversion import inversion_degree, inversion_polynomial, qsvt_query_plan

#: What simulation supports: the statevector of n <= MAX_N (plus ancillas), and inversion polynomials of degree
#: <= MAX_DEGREE (kappa_eff <= 200 at eps = 0.01), whose angle finding takes about ANGLE_SECONDS_AT_600 *
#: (degree / 600)^2 seconds on one core (measured: 1.2 s at degree 119, 3.2 s at 299, 10.5 s at 599).
MAX_N = 64
MAX_DEGREE = 1200
ANGLE_SECONDS_AT_600 = 10.0


def check_simulation_size(n: int, kappa: float, eps: float, what: str = "") -> int:
    """The inversion degree for ``kappa`` and ``eps`` if ``n`` and that degree are within what simulation
    supports (:data:`MAX_N`, :data:`MAX_DEGREE`); InputError with the estimated angle-finding time otherwise."""
    where = f"{what}: " if what else ""
    if not 1 <= n <= MAX_N:
        raise InputError(f"{where}n = {n}: simulation supports n in [1, {MAX_N}] (a statevector of 2^(log2 n + "
                         "ancillas) amplitudes)")
    d = inversion_degree(kappa, eps)
    if d > MAX_DEGREE:
        secs = ANGLE_SECONDS_AT_600 * (d / 600.0) ** 2
        raise InputError(f"{where}kappa_eff = {kappa:.4g} at eps = {eps:g} needs an inversion polynomial of degree {d}; "
                         f"simulation supports degree <= {MAX_DEGREE} (e.g. kappa_eff <= 200 at eps = 0.01); angle "
                         f"finding alone would take about {format_seconds(secs)}")
    return d


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
class SimulatedSolve:
    """One QSVT solve of ``a x = b`` simulated (noiseless statevector) with Aer: what the circuit outputs.

    ``x`` is read from the post-selected amplitudes alone: the block applies ``P(A/alpha)`` with
    ``P(y) ~= scale / y`` on ``[1/kappa_target, 1]`` (:mod:`qlsa_sim.quantum.estimation.inversion`), so
    ``A^{-1} b ~= |b| P(A/alpha) |b> / (scale alpha)``.  On hardware these amplitudes would have to be
    estimated (tomography for the direction, amplitude estimation for the norm): that cost is the
    readout component of :mod:`qlsa_sim.quantum.estimation.timing`, not simulated here.
    """

    x: np.ndarray = field(repr=False)
    amplitudes: np.ndarray = field(repr=False)  # post-selected system amplitudes (sign-corrected), length n
    n: int
    kappa_eff: float  # alpha / lambda_min of the matrix
    kappa_target: float  # the polynomial's kappa (>= kappa_eff; bucketed so cached angles are reused)
    alpha: float
    eps: float
    encoding: str
    degree: int
    queries: int
    qubits: int
    success_probability: float
    imag_norm: float  # |Im amplitudes|: 0 up to rounding for a correct real circuit
    angle_seconds: float
    angles_from_cache: bool
    simulate_seconds: float
    circuit: object = field(repr=False, compare=False, default=None)


def bucket_kappa(kappa: float, ratio: float | None) -> float:
    """``kappa`` rounded *up* to the grid ``ratio**k`` (None: unchanged).  A polynomial built for a larger
    kappa is valid on the smaller one's interval, so bucketing trades a slightly higher degree for reuse
    of cached angles."""
    if ratio is None:
        return float(kappa)
    if not ratio > 1.0:
        raise InputError(f"kappa bucket ratio must be > 1, got {ratio}")
    k = math.ceil(math.log(kappa) / math.log(ratio) - 1e-12)
    return float(max(ratio**k, kappa))


def simulate_qsvt_solve(
    a: np.ndarray,
    b: np.ndarray,
    eps: float = 1e-2,
    *,
    encoding: str = "dilation",
    kappa_bucket: float | None = None,
    max_kappa_eff: float | None = None,
) -> SimulatedSolve:
    """Build block encoding -> inversion polynomial -> angles -> QSVT circuit -> ``|b>`` preparation for
    symmetric positive definite ``a``, simulate it with Aer and read the solution from the amplitudes.

    ``max_kappa_eff``: refuse (InputError) before finding angles when ``alpha / lambda_min`` exceeds it
    (angle finding grows ~kappa^2: 0.1 s at 10, 2.5 s at 50, 37 s at 200 on one core).
    """
    a = check_symmetric_matrix(a, require_pd=True)
    n = a.shape[0]
    if not 0.0 < float(eps) < 1.0:
        raise InputError(f"precision eps must lie in (0, 1), got {eps!r}")
    b = np.asarray(b, dtype=float)
    if b.shape != (n,):
        raise InputError(f"right-hand side has shape {b.shape}, matrix needs ({n},)")
    nb = float(np.linalg.norm(b))
    if not (math.isfinite(nb) and nb > 0):
        raise InputError("right-hand side b must be finite and non-zero")
    lam_min = float(np.linalg.eigvalsh(a)[0])
    be = make_encoding(a, encoding)
    kappa_eff = max(be.alpha / lam_min, 1.0)
    if max_kappa_eff is not None and kappa_eff > max_kappa_eff:
        raise InputError(f"effective condition number {kappa_eff:.4g} exceeds the simulation limit {max_kappa_eff:g}")
    check_simulation_size(n, bucket_kappa(kappa_eff, kappa_bucket), float(eps))
    kappa_t = bucket_kappa(kappa_eff, kappa_bucket)
    angles = find_angles(kappa_t, eps)
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

    v = qs.sign * sv[: 2**be.num_system][:n]
    p_succ = float(np.vdot(v, v).real)
    if p_succ <= 0.0:
        raise InputError("post-selection probability is zero: the circuit produced no solution component")
    x = nb * v.real / (angles.scale * be.alpha)
    return SimulatedSolve(
        x=x, amplitudes=v, n=n, kappa_eff=kappa_eff, kappa_target=kappa_t, alpha=be.alpha, eps=float(eps),
        encoding=encoding, degree=qs.degree, queries=qs.queries, qubits=circ.num_qubits,
        success_probability=p_succ, imag_norm=float(np.linalg.norm(v.imag)), angle_seconds=angles.seconds,
        angles_from_cache=angles.from_cache, simulate_seconds=sim_seconds, circuit=circ,
    )


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
    if b is None:
        rng = rng if rng is not None else np.random.default_rng(0)
        b = rng.standard_normal(n)
    sim = simulate_qsvt_solve(a, b, eps, encoding=encoding)
    b = np.asarray(b, dtype=float)
    lam, vecs = np.linalg.eigh(a)  # one decomposition: kappa and the predicted success probability
    x = np.linalg.solve(a, b)
    x /= np.linalg.norm(x)
    xq = sim.amplitudes / np.sqrt(sim.success_probability)
    overlap = np.vdot(x, xq)
    fidelity = float(abs(overlap) ** 2)
    phase = overlap / abs(overlap) if abs(overlap) > 0 else 1.0
    rel_err = float(np.linalg.norm(xq / phase - x))
    poly = inversion_polynomial(sim.kappa_eff, eps)
    bn = b / np.linalg.norm(b)
    pb = vecs @ (poly(lam / sim.alpha) * (vecs.T @ bn))
    predicted = float(pb @ pb)
    plan = qsvt_query_plan(sim.kappa_eff, eps)

    out_path = None
    if qasm_path is not None:
        out_path = str(export_qasm3(sim.circuit, qasm_path))
    return ValidationResult(
        n=n,
        kappa=float(lam[-1] / lam[0]),
        kappa_eff=sim.kappa_eff,
        alpha=sim.alpha,
        eps=float(eps),
        encoding=encoding,
        degree=sim.degree,
        queries=sim.queries,
        qubits=sim.qubits,
        relative_error=rel_err,
        fidelity=fidelity,
        success_probability=sim.success_probability,
        predicted_success_probability=predicted,
        aa_calls_worst_case=plan.aa_calls,
        angle_seconds=sim.angle_seconds,
        angles_from_cache=sim.angles_from_cache,
        simulate_seconds=sim.simulate_seconds,
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
        write_text(p, text)
    except OSError as exc:
        raise InputError(f"cannot write {p}: {exc.strerror}") from exc
    return p
