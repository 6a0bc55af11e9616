"""Small-n agreement between the built QSVT circuit and the Qualtran counting path.

The built side is the qiskit QSVT circuit over the QROM-structured sparse-access encoding
(:func:`qlsa_sim.quantum.block_encoding.sparse_access_encoding_qrom`), transpiled to Clifford+T with
qiskit's rotation synthesis (``basis_gates = cx, h, s, sdg, t, tdg, x, y, z``, ``optimization_level=1``,
``qubits_initially_zero=False``).  To keep transpiling cheap the circuit is transpiled per distinct
component (one block-encoding query, one projector phase) and the counts are summed with their
multiplicities in the circuit: ``degree`` queries, ``degree + 1`` phases, 2 Hadamards.

The counted side is :class:`qlsa_sim.quantum.bloqs.QSVTInversionBloq` of the same degree and structure
(Qualtran ``QECGatesCost``); its arbitrary rotations are converted at the T and Clifford cost qiskit's
synthesis pays for one ``Rz`` (measured in the same run), so both sides are in the same gate set.

Expected: queries equal exactly; gate counts within a small factor, built >= counted, because the
built QROM uncomputes each unary-iteration AND with a Toffoli (7 T) where Qualtran prices a
measurement-based uncompute (0 T) and a 4-T AND (Gidney 2018, arXiv:1709.06648).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qlsa_sim.quantum.circuits.angles import find_angles, qsvt_block_sign
from qlsa_sim.quantum.circuits.block_encoding import check_symmetric_matrix, sparse_access_encoding_qrom
from qlsa_sim.quantum.circuits.build import projector_phase, qsvt_circuit
from qlsa_sim.quantum.estimation.counting import qsvt_counts

CLIFFORD_T = ["cx", "h", "s", "sdg", "t", "tdg", "x", "y", "z"]


def clifford_t_counts(circuit) -> tuple[int, int]:
    """``(T count, Clifford count)`` of ``circuit`` after Clifford+T transpilation."""
    from qiskit import transpile

    out = transpile(circuit, basis_gates=CLIFFORD_T, optimization_level=1, qubits_initially_zero=False)
    ops = out.count_ops()
    t = int(ops.get("t", 0) + ops.get("tdg", 0))
    return t, int(sum(v for k, v in ops.items() if k not in ("t", "tdg")))


@lru_cache(maxsize=1)
def rotation_cost() -> tuple[int, int]:
    """``(T, Clifford)`` qiskit's synthesis spends on one generic ``Rz``."""
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(1)
    qc.rz(0.1234567, 0)
    return clifford_t_counts(qc)


@dataclass(frozen=True)
class Agreement:
    """Built vs counted resources of one small QSVT inversion circuit."""

    n: int
    s: int
    entry_bits: int
    degree: int
    built_queries: int
    counted_queries: int
    built_t: int
    counted_t: float
    built_clifford: int
    counted_clifford: float

    @property
    def t_ratio(self) -> float:
        return self.built_t / self.counted_t

    @property
    def clifford_ratio(self) -> float:
        return self.built_clifford / self.counted_clifford


def counted_queries(system_bitsize: int, s: int, entry_bits: int, degree: int) -> int:
    """Block-encoding calls in Qualtran's call graph of :class:`QSVTInversionBloq`."""
    from qualtran.resource_counting import get_bloq_call_graph

    from qlsa_sim.quantum.estimation.bloqs import QSVTInversionBloq, SparseAccessBlockEncoding

    be = SparseAccessBlockEncoding(system_bitsize, s, entry_bits)
    _, sigma = get_bloq_call_graph(
        QSVTInversionBloq(be, degree), keep=lambda b: isinstance(b, SparseAccessBlockEncoding)
    )
    return int(sum(v for b, v in sigma.items() if isinstance(b, SparseAccessBlockEncoding)))


def measure_agreement(a: np.ndarray, eps: float = 0.1, entry_bits: int = 6) -> Agreement:
    """Build the QSVT circuit for ``a`` (symmetric positive definite) and compare with the counts."""
    from qiskit import QuantumCircuit

    a = check_symmetric_matrix(a, require_pd=True)
    be = sparse_access_encoding_qrom(a, entry_bits)
    lam_min = float(np.linalg.eigvalsh(a)[0])
    angles = find_angles(max(be.alpha / lam_min, 1.0), eps)
    qs = qsvt_circuit(be, angles.phases, sign=qsvt_block_sign(angles.degree))
    names = {be.circuit.name, f"{be.circuit.name}_dg", "U_A", "U_A_dg"}
    built_queries = sum(1 for inst in qs.circuit.data if inst.operation.name in names or inst.operation.label in names)
    t_be, c_be = clifford_t_counts(be.circuit)
    ns, na, nw = be.num_system, be.num_ancillas, be.num_work
    ph = QuantumCircuit(ns + na + nw + 1)
    projector_phase(ph, list(range(ns, ns + na)), ns + na + nw, 0.321, list(range(ns + na, ns + na + nw)))
    t_ph, c_ph = clifford_t_counts(ph)
    d = qs.degree
    built_t = d * t_be + (d + 1) * t_ph
    built_c = d * c_be + (d + 1) * c_ph + 2
    s = int(dict(be.info)["s"])
    counts = qsvt_counts(ns, s, entry_bits, d)
    t_rot, c_rot = rotation_cost()
    return Agreement(
        n=a.shape[0],
        s=s,
        entry_bits=entry_bits,
        degree=d,
        built_queries=built_queries,
        counted_queries=counted_queries(ns, s, entry_bits, d),
        built_t=built_t,
        counted_t=counts.t_all + counts.rotations * t_rot,
        built_clifford=built_c,
        counted_clifford=counts.clifford + counts.rotations * c_rot,
    )
