"""The QSVT inversion circuit in qiskit, built from a block encoding and reflection-convention phases.

Layout: system qubits ``0 .. n_sys-1``, block-encoding ancillas next, then the encoding's clean work
qubits (if any), the QSVT phase qubit last.  The
circuit is (GSLW 2019, arXiv:1806.01838, Thm. 17 and Cor. 18; Martyn, Rossi, Tan, Chuang 2021,
arXiv:2105.02859, Fig. 4)

    H_p . Pi_phi(phi_d) . U . Pi_phi(phi_{d-1}) . U^dagger . ... . U . Pi_phi(phi_0) . H_p

(read left to right in time), where ``Pi_phi(phi) = exp(i phi (2 Pi - I))`` with ``Pi = |0><0|`` on the
ancillas is implemented with the phase qubit (multi-controlled X, ``Rz(2 phi)``, multi-controlled X).  The
Hadamards on the phase qubit average ``U_Phi`` and ``U_{-Phi}``, so post-selecting phase qubit and
ancillas on ``|0>`` applies ``Re P_Phi(A/alpha) = sign * P(A/alpha)`` to the system
(:func:`qlsa_sim.quantum.circuits.angles.qsvt_block_sign`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import StatePreparation

from qlsa_sim.errors import InputError
from qlsa_sim.quantum.circuits.block_encoding import BlockEncoding


@dataclass(frozen=True)
class QSVTCircuit:
    """A built QSVT inversion circuit and what it contains."""

    circuit: QuantumCircuit = field(repr=False)
    num_system: int
    num_ancillas: int
    degree: int
    queries: int  # applications of U or U^dagger (== degree)
    sign: float  # post-selected block = sign * P(A/alpha)


def projector_phase(qc: QuantumCircuit, anc: list[int], phase_qubit: int, phi: float,
                    work: list[int] | None = None) -> None:
    """Append ``exp(i phi (2|0><0|_anc - I))`` (phase qubit in |0>; sign flips on |1>).

    With enough clean ``work`` qubits the multi-controlled X is a Toffoli v-chain
    (:func:`qlsa_sim.quantum.block_encoding.mcx_vchain`), otherwise qiskit's ``mcx``.
    """
    from qlsa_sim.quantum.circuits.block_encoding import mcx_vchain

    if work is not None and len(work) >= len(anc) - 2:
        for _ in range(2):
            mcx_vchain(qc, anc, phase_qubit, work, ctrl_state=0)
            if _ == 0:
                qc.rz(2.0 * phi, phase_qubit)
        return
    ctrl = "0" * len(anc)
    qc.mcx(anc, phase_qubit, ctrl_state=ctrl)
    qc.rz(2.0 * phi, phase_qubit)
    qc.mcx(anc, phase_qubit, ctrl_state=ctrl)


def qsvt_circuit(be: BlockEncoding, phases: np.ndarray | tuple[float, ...], *, sign: float = 1.0) -> QSVTCircuit:
    """QSVT circuit for reflection-convention ``phases`` (``degree + 1`` of them, odd degree)."""
    ph = np.asarray(phases, dtype=float)
    d = len(ph) - 1
    if d < 1 or d % 2 == 0:
        raise InputError(f"need an odd polynomial degree >= 1, got {d}")
    ns, na, nw = be.num_system, be.num_ancillas, be.num_work
    total = ns + na + nw + 1
    qc = QuantumCircuit(total, name="QSVT")
    sysq = list(range(ns))
    anc = list(range(ns, ns + na))
    work = list(range(ns + na, ns + na + nw))
    p = ns + na + nw
    u = be.circuit.to_gate(label="U_A")
    u_dg = u if be.hermitian else be.circuit.inverse().to_gate(label="U_A_dg")
    qc.h(p)
    projector_phase(qc, anc, p, ph[d], work or None)
    for t in range(d):
        qc.append(u if t % 2 == 0 else u_dg, sysq + anc + work)
        projector_phase(qc, anc, p, ph[d - 1 - t], work or None)
    qc.h(p)
    return QSVTCircuit(qc, ns, na, d, d, sign)


def solve_circuit(qsvt: QSVTCircuit, b: np.ndarray) -> QuantumCircuit:
    """State preparation of ``b/|b|`` on the system followed by the QSVT circuit."""
    b = np.asarray(b, dtype=float)
    dim = 2**qsvt.num_system
    if b.ndim != 1 or b.shape[0] > dim:
        raise InputError(f"right-hand side must be a vector of length <= {dim}, got shape {b.shape}")
    nb = float(np.linalg.norm(b))
    if not np.isfinite(nb) or nb == 0.0:
        raise InputError("right-hand side b must be finite and non-zero")
    vec = np.zeros(dim)
    vec[: b.shape[0]] = b / nb
    qc = QuantumCircuit(qsvt.circuit.num_qubits, name="QLSA")
    qc.append(StatePreparation(vec, label="prep_b"), list(range(qsvt.num_system)))
    qc.compose(qsvt.circuit, inplace=True)
    return qc
