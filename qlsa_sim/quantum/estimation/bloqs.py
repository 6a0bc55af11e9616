"""Qualtran bloqs of our own for the QLSA counting path (see :mod:`qlsa_sim.quantum.estimation.counting`).

Imported lazily: importing Qualtran costs ~1.5 s.
"""

from __future__ import annotations

from functools import cached_property
from typing import Dict

from attrs import frozen
from qualtran import Bloq, QAny, QBit, Register, Signature
from qualtran.bloqs.basic_gates import CNOT, Hadamard, Ry, Rz, Swap
from qualtran.bloqs.data_loading import QROM
from qualtran.bloqs.mcmt import MultiControlX
from qualtran.bloqs.state_preparation.prepare_uniform_superposition import (
    PrepareUniformSuperposition,
)

from qlsa_sim.quantum.estimation.registers import index_bits


@frozen
class SignedEntryOracle(Bloq):
    """Entry oracle for signed real entries stored sparsely over (column j, slot l); see module doc."""

    system_bitsize: int
    num_nonzero: int
    entry_bitsize: int

    @cached_property
    def signature(self) -> Signature:
        return Signature(
            [
                Register("q", QBit()),
                Register("l", QAny(index_bits(self.num_nonzero))),
                Register("j", QAny(self.system_bitsize)),
            ]
        )

    @cached_property
    def qrom(self) -> QROM:
        return QROM.build_from_bitsize((2**self.system_bitsize * self.num_nonzero,), (self.entry_bitsize,))

    def build_call_graph(self, ssa) -> Dict[Bloq, int]:
        b = self.entry_bitsize
        return {self.qrom: 1, self.qrom.adjoint(): 1, Ry(0.1): 2 * b, CNOT(): 2 * b}

    def __str__(self) -> str:
        return "SignedEntryOracle"


@frozen
class SparseIndexOracle(Bloq):
    """Row/column oracle ``|l>|j> -> |c(j,l)>|j>`` of an unstructured pattern (two QROMs, see doc)."""

    system_bitsize: int
    num_nonzero: int

    @cached_property
    def signature(self) -> Signature:
        return Signature([Register("l", QAny(self.system_bitsize)), Register("j", QAny(self.system_bitsize))])

    @cached_property
    def qrom(self) -> QROM:
        return QROM.build_from_bitsize((2**self.system_bitsize * self.num_nonzero,), (self.system_bitsize,))

    def build_call_graph(self, ssa) -> Dict[Bloq, int]:
        return {self.qrom: 2}

    def adjoint(self) -> "SparseIndexOracle":
        return self  # same cost; counting-only bloq

    def __str__(self) -> str:
        return "SparseIndexOracle"


@frozen
class SparseAccessBlockEncoding(Bloq):
    """``U_A`` with ``alpha = s max|A|``: ``n + 1`` ancillas (slot register + entry qubit)."""

    system_bitsize: int
    num_nonzero: int
    entry_bitsize: int

    @cached_property
    def signature(self) -> Signature:
        return Signature(
            [
                Register("system", QAny(self.system_bitsize)),
                Register("ancilla", QAny(self.system_bitsize + 1)),
            ]
        )

    @property
    def ancilla_bitsize(self) -> int:
        return self.system_bitsize + 1

    def build_call_graph(self, ssa) -> Dict[Bloq, int]:
        idx = SparseIndexOracle(self.system_bitsize, self.num_nonzero)
        calls: Dict[Bloq, int] = {
            SignedEntryOracle(self.system_bitsize, self.num_nonzero, self.entry_bitsize): 1,
            idx: 2,  # O_c and O_r^dagger
            Swap(self.system_bitsize): 1,
        }
        if self.num_nonzero > 1:  # s = 1 (diagonal): no superposition over slots
            diffusion = PrepareUniformSuperposition(n=self.num_nonzero)
            calls[diffusion] = 1
            calls[diffusion.adjoint()] = 1
        return calls

    def adjoint(self) -> "SparseAccessBlockEncoding":
        return self  # same gate counts

    def __str__(self) -> str:
        return "SparseAccessBlockEncoding"


@frozen
class ProjectorPhase(Bloq):
    """``exp(i phi (2|0><0| - I))`` on ``num_ancillas`` qubits via one phase qubit."""

    num_ancillas: int

    @cached_property
    def signature(self) -> Signature:
        return Signature([Register("ancilla", QAny(self.num_ancillas)), Register("phase", QBit())])

    def build_call_graph(self, ssa) -> Dict[Bloq, int]:
        mcx = MultiControlX(cvs=(0,) * self.num_ancillas)
        return {mcx: 2, Rz(0.1): 1}

    def __str__(self) -> str:
        return "ProjectorPhase"


@frozen
class QLSAStep(Bloq):
    """One block-encoding query followed by one projector-controlled phase."""

    block_encoding: SparseAccessBlockEncoding

    @cached_property
    def signature(self) -> Signature:
        return Signature(
            [*self.block_encoding.signature, Register("phase", QBit())]
        )

    def build_call_graph(self, ssa) -> Dict[Bloq, int]:
        return {self.block_encoding: 1, ProjectorPhase(self.block_encoding.ancilla_bitsize): 1}

    def __str__(self) -> str:
        return "QLSAStep"


@frozen
class QSVTInversionBloq(Bloq):
    """QSVT circuit of odd ``degree``: ``degree`` steps, one extra phase, Hadamards on the phase qubit."""

    block_encoding: SparseAccessBlockEncoding
    degree: int

    @cached_property
    def signature(self) -> Signature:
        return Signature([*self.block_encoding.signature, Register("phase", QBit())])

    def build_call_graph(self, ssa) -> Dict[Bloq, int]:
        return {
            QLSAStep(self.block_encoding): self.degree,
            ProjectorPhase(self.block_encoding.ancilla_bitsize): 1,
            Hadamard(): 2,
        }

    def __str__(self) -> str:
        return f"QSVTInversion(d={self.degree})"
