"""Qualtran bloqs of our own for the QLSA counting path (see :mod:`qlsa_sim.quantum.estimation.counting`).

Imported lazily: importing Qualtran costs ~1.5 s.

Call graphs are built with :func:`_calls`, which ADDS the multiplicities of equal bloqs.  A dict
literal does not: Qualtran's ``QROM.adjoint()``, ``Swap.adjoint()`` and ``MultiControlX.adjoint()``
return the bloq itself, so ``{qrom: 1, qrom.adjoint(): 1}`` silently keeps ONE entry (this lost the
entry oracle's QROM uncompute, 5 instead of 6 lookups per sparse-access query, until fixed here).

Sparse-access query, documented formula (``N = 2^n``, ``L = N s`` stored entries, ``b`` angle bits; all
terms are Qualtran's own costs: ``QROM`` without data costs ``L - 2`` ``And`` plus ``L - 2`` ``And^dagger``
(measurement + Cliffords, 0 T) and ``b L`` CNOTs, Babbush et al. 2018, arXiv:1805.03662, Fig. 1):

    Toffoli-class(QLSAStep) = 6 (L - 2) + 2 U(s) + 2 n
    bare T(QLSAStep)        = 2 T_U(s)            (0 for every s: Qualtran prices no bare T here)
    rotations(QLSAStep)     = 2 b + 2 R_U(s) + 1

with six data lookups (entry oracle: compute + uncompute of the ``b``-bit angle table; two index
oracles of two lookups each), ``U(s), T_U(s), R_U(s)`` the Toffoli-class, bare T and rotation counts of
Qualtran's ``PrepareUniformSuperposition(s)`` (called twice; 0 for ``s = 1``, ``U = 0`` for a power of
two), ``2 n`` the ``And`` of the projector phase's two ``MultiControlX`` on ``n + 1`` controls
(``m - 1`` each; its ``Rz`` is the last rotation) and ``2b`` the ``Ry`` of the ``b`` controlled
rotations (two each).  At ``n = 14`` (``N = 16384``), ``s = 9800``, ``b = 30``: ``963 379 280``
Toffoli-class gates per query (the lost uncompute was ``N s - 2 = 160 563 198`` of them).
``tests/quantum/test_q_encodings.py`` checks the counted query against this formula.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from functools import cached_property

from attrs import frozen
from qualtran import Bloq, QAny, QBit, Register, Signature
from qualtran.bloqs.basic_gates import CNOT, Hadamard, Ry, Rz, Swap
from qualtran.bloqs.data_loading import QROM
from qualtran.bloqs.mcmt import MultiControlX
from qualtran.bloqs.state_preparation.prepare_uniform_superposition import PrepareUniformSuperposition

from qlsa_sim.quantum.estimation.registers import index_bits


def _calls(*pairs: tuple[Bloq, int] | Iterable[tuple[Bloq, int]]) -> dict[Bloq, int]:
    """A call graph from ``(bloq, count)`` pairs, ADDING the counts of equal bloqs (see module doc)."""
    out: Counter = Counter()
    for bloq, k in pairs:  # type: ignore[misc]
        if k:
            out[bloq] += int(k)
    return dict(out)


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

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        b = self.entry_bitsize
        # compute and uncompute of the angle table: QROM.adjoint() is the QROM itself, so a dict literal
        # {qrom: 1, qrom.adjoint(): 1} would keep one entry; _calls adds them (2 lookups, 2(L-2) And)
        return _calls((self.qrom, 1), (self.qrom.adjoint(), 1), (Ry(0.1), 2 * b), (CNOT(), 2 * b))

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

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        return _calls((self.qrom, 2))  # load c(j, l); erase l with the inverse table

    def adjoint(self) -> SparseIndexOracle:
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

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        idx = SparseIndexOracle(self.system_bitsize, self.num_nonzero)
        pairs = [
            (SignedEntryOracle(self.system_bitsize, self.num_nonzero, self.entry_bitsize), 1),
            (idx, 1),  # O_c
            (idx.adjoint(), 1),  # O_r^dagger (r = c for symmetric A); adjoint() is idx itself: _calls adds
            (Swap(self.system_bitsize), 1),
        ]
        if self.num_nonzero > 1:  # s = 1 (diagonal): no superposition over slots
            diffusion = PrepareUniformSuperposition(n=self.num_nonzero)
            pairs += [(diffusion, 1), (diffusion.adjoint(), 1)]  # Adjoint wrapper: a distinct key
        return _calls(*pairs)

    def adjoint(self) -> SparseAccessBlockEncoding:
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

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        mcx = MultiControlX(cvs=(0,) * self.num_ancillas)
        return _calls((mcx, 2), (Rz(0.1), 1))

    def __str__(self) -> str:
        return "ProjectorPhase"


@frozen
class QLSAStep(Bloq):
    """One block-encoding query followed by one projector-controlled phase."""

    block_encoding: Bloq  # any counting block encoding with an ``ancilla_bitsize`` (the reflected ancillas)

    @cached_property
    def signature(self) -> Signature:
        return Signature(
            [*self.block_encoding.signature, Register("phase", QBit())]
        )

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        return _calls((self.block_encoding, 1), (ProjectorPhase(self.block_encoding.ancilla_bitsize), 1))

    def __str__(self) -> str:
        return "QLSAStep"


@frozen
class QSVTInversionBloq(Bloq):
    """QSVT circuit of odd ``degree``: ``degree`` steps, one extra phase, Hadamards on the phase qubit."""

    block_encoding: Bloq
    degree: int

    @cached_property
    def signature(self) -> Signature:
        return Signature([*self.block_encoding.signature, Register("phase", QBit())])

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        return _calls(
            (QLSAStep(self.block_encoding), self.degree),
            (ProjectorPhase(self.block_encoding.ancilla_bitsize), 1),
            (Hadamard(), 2),
        )

    def __str__(self) -> str:
        return f"QSVTInversion(d={self.degree})"


# --------------------------------------------------------------------------- dense-data encodings

LOOKUPS = ("qrom", "qroam")


def _check_lookup(lookup: str) -> None:
    if lookup not in LOOKUPS:
        raise ValueError(f"lookup must be one of {LOOKUPS}, got {lookup!r}")


@frozen
class AngleLookupRotation(Bloq):
    """Multiplexed ``Ry``: ``|x>|t> -> |x> Ry(theta_x)|t>`` for ``2^selection_bitsize`` stored angles.

    Low, Kliuchnikov, Schaeffer 2018, arXiv:1812.00954, Sec. "arbitrary state preparation" (Qualtran's
    ``PRGAViaPhaseGradient``): look the ``b``-bit angle up (controlled by the target qubit and by
    ``num_controls`` extra controls), add it into a phase-gradient register (``AddIntoPhaseGrad``,
    ``b - 2`` Toffolis: a ``Z`` rotation by phase kickback), unlook it; ``Rx(+-pi/2)`` turn the ``Z`` into a
    ``Y`` rotation.  With a control off the lookup loads 0 and the layer is the identity, which is how the
    factor-form encoding controls a whole state preparation.  ``lookup``:

    * ``"qrom"`` -- unary-iteration ``QROM`` (Babbush et al. 2018, arXiv:1805.03662), compute and
      uncompute both by lookup, exactly as Qualtran's ``PRGAViaPhaseGradient``: ``2 (L - 2 + c)``
      Toffoli-class gates for ``L`` angles and ``c = 1 + num_controls`` controls; ``O(log L)`` work qubits.
    * ``"qroam"`` -- select-swap lookup with clean ancillas (Qualtran ``QROAMClean``, Berry, Gidney,
      Motta, McClean, Babbush 2019, arXiv:1902.02134, App. A-B: ``L/K + b (K - 1)`` Toffolis) and its
      measurement-based uncompute (``QROAMCleanAdjoint``, same paper App. C: ``L/K' + K'`` Toffolis), with
      Qualtran's optimal ``K ~ sqrt(L/b)``, ``K' ~ sqrt(L)``; ``~ sqrt(L b)`` extra qubits.
    """

    selection_bitsize: int
    phase_bitsize: int
    num_controls: int = 0
    lookup: str = "qrom"

    def __attrs_post_init__(self) -> None:
        _check_lookup(self.lookup)

    @cached_property
    def signature(self) -> Signature:
        regs = [Register("selection", QAny(max(1, self.selection_bitsize))), Register("target", QBit()),
                Register("phase_gradient", QAny(self.phase_bitsize))]
        if self.num_controls:
            regs.insert(0, Register("ctrl", QAny(self.num_controls)))
        return Signature(regs)

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        from qualtran.bloqs.basic_gates import Rx
        from qualtran.bloqs.rotations.phase_gradient import AddIntoPhaseGrad

        length = 2**self.selection_bitsize
        controls = 1 + self.num_controls  # the target qubit controls the phase kickback
        b = self.phase_bitsize
        pairs: list = [(AddIntoPhaseGrad(b, b), 1), (Rx(math.pi / 2), 1), (Rx(-math.pi / 2), 1)]
        if self.lookup == "qrom":
            q = QROM.build_from_bitsize((length,), (b,), num_controls=controls)
            pairs += [(q, 1), (q.adjoint(), 1)]  # QROM.adjoint() is q: _calls adds to 2 lookups
        else:
            from qualtran.bloqs.data_loading.qroam_clean import QROAMClean

            q = QROAMClean.build_from_bitsize((length,), (b,), num_controls=controls)
            pairs += [(q, 1), (q.adjoint(), 1)]  # QROAMCleanAdjointWrapper: measurement-based uncompute
        return _calls(*pairs)

    def adjoint(self) -> AngleLookupRotation:
        return self  # same costs (angles negated); counting-only bloq

    def __str__(self) -> str:
        return f"AngleLookupRotation(2^{self.selection_bitsize}, {self.lookup})"


@frozen
class MultiplexedStatePreparation(Bloq):
    """``|x>|0^m> -> |x> sum_y psi_x(y)|y>`` for ``2^select_bitsize`` real states on ``m`` qubits.

    The rotation tree of Grover & Rudolph (quant-ph/0208112) / Kerenidis & Prakash (arXiv:1603.08675,
    Thm. 5.1) with signs folded into the last level's ``Ry`` angles (real amplitudes need no phase layer):
    level ``q = 0 .. m-1`` is one :class:`AngleLookupRotation` addressed by ``(x, y_0..y_{q-1})``, i.e. a
    table of ``2^(select_bitsize + q)`` angles.  Total table entries ``2^select (2^m - 1)``.  This is the kind
    of state preparation Clader, Dalzell, Stamatopoulos, Salton, Berta, Zeng, "Quantum resources required
    to block-encode a matrix of classical data", arXiv:2206.03505 (IEEE TQE 2022) build their dense
    block encodings from: a rotation tree over QROM-loaded angles (we use the count-oriented variant,
    sequential levels, not their T-depth-optimised one).  Only the paper's abstract was retrievable here,
    so no equation of it is quoted; the costs are Qualtran's.  ``select_bitsize = 0`` is a
    plain state preparation (Qualtran's ``StatePreparationViaRotations`` without its phase layer).
    """

    select_bitsize: int
    state_bitsize: int
    phase_bitsize: int
    num_controls: int = 0
    lookup: str = "qrom"

    def __attrs_post_init__(self) -> None:
        _check_lookup(self.lookup)

    @cached_property
    def signature(self) -> Signature:
        regs = [Register("target", QAny(self.state_bitsize)), Register("phase_gradient", QAny(self.phase_bitsize))]
        if self.select_bitsize:
            regs.insert(0, Register("select", QAny(self.select_bitsize)))
        if self.num_controls:
            regs.insert(0, Register("ctrl", QAny(self.num_controls)))
        return Signature(regs)

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        return _calls(*[
            (AngleLookupRotation(self.select_bitsize + q, self.phase_bitsize, self.num_controls, self.lookup), 1)
            for q in range(self.state_bitsize)
        ])

    def adjoint(self) -> MultiplexedStatePreparation:
        return self  # same costs, levels in reverse order

    def __str__(self) -> str:
        return f"MultiplexedStatePrep(2^{self.select_bitsize} x 2^{self.state_bitsize}, {self.lookup})"


@frozen
class DenseDataBlockEncoding(Bloq):
    """``U_A = U_L^dagger . SWAP . U_R`` with ``alpha = ||A||_F`` (square, ``swap=True``) or, for a
    rectangular ``2^row x 2^col`` matrix ``M``, ``U_L^dagger U_R`` with distinct input / output registers.

    Kerenidis & Prakash 2017 (arXiv:1704.04992); Chakraborty, Gilyen, Jeffery 2019 (arXiv:1804.01973,
    Lemma 25); Gilyen, Su, Low, Wiebe 2019 (arXiv:1806.01838, Lemma 50); the state-preparation-pair
    construction Clader et al. 2022 (arXiv:2206.03505) cost, here priced with Qualtran's bloqs:

    * ``U_R : |0>_a -> sum_i ||A_i||/||A||_F |i>_a`` -- one state preparation of ``2^row`` amplitudes;
    * ``U_L : |i>_s |0>_a -> |i>_s sum_k A_ik/||A_i|| |k>_a`` -- a multiplexed preparation of the
      ``2^row`` normalised rows (``2^row (2^col - 1)`` stored angles);
    * ``<0_a, i| U_L^dagger SWAP U_R |0_a, j> = (A_ij/||A_i||)(||A_i||/||A||_F) = A_ij / ||A||_F``.

    Ancillas reflected by QSVT: the ``a`` register (``col_bitsize`` qubits).  ``num_controls`` controls
    every lookup (a control off makes the state preparations the identity) and turns the swap into a
    controlled swap.
    """

    row_bitsize: int
    col_bitsize: int
    phase_bitsize: int
    num_controls: int = 0
    lookup: str = "qrom"
    swap: bool = True

    def __attrs_post_init__(self) -> None:
        _check_lookup(self.lookup)

    @cached_property
    def signature(self) -> Signature:
        regs = [Register("system", QAny(self.row_bitsize)), Register("ancilla", QAny(self.col_bitsize)),
                Register("phase_gradient", QAny(self.phase_bitsize))]
        if self.num_controls:
            regs.insert(0, Register("ctrl", QAny(self.num_controls)))
        return Signature(regs)

    @property
    def ancilla_bitsize(self) -> int:
        return self.col_bitsize

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        from qualtran.bloqs.basic_gates import CSwap

        b, c, lk = self.phase_bitsize, self.num_controls, self.lookup
        pairs: list = [
            (MultiplexedStatePreparation(0, self.row_bitsize, b, c, lk), 1),  # U_R (row norms)
            (MultiplexedStatePreparation(self.row_bitsize, self.col_bitsize, b, c, lk), 1),  # U_L^dagger (rows)
        ]
        if self.swap:
            pairs.append((CSwap(self.row_bitsize) if c else Swap(self.row_bitsize), 1))
        return _calls(*pairs)

    def adjoint(self) -> DenseDataBlockEncoding:
        return self  # same gate counts

    def __str__(self) -> str:
        return f"DenseDataBlockEncoding(2^{self.row_bitsize} x 2^{self.col_bitsize}, {self.lookup})"


@frozen
class FactorFormBlockEncoding(Bloq):
    """Block encoding of ``H = scale M M^T + shift I`` (``M`` is ``2^row x 2^rank``) with
    ``alpha = scale ||M||_F^2 + shift``.

    * ``U_M`` -- :class:`DenseDataBlockEncoding` of the rectangular ``M / ||M||_F`` (no swap);
    * ``M M^T / ||M||_F^2`` -- the product ``U_M . U_M^dagger`` on separate ancilla registers
      (Gilyen, Su, Low, Wiebe 2019, arXiv:1806.01838, Lemma 53: subnormalizations multiply), then a swap
      returns the output row register to the input's place;
    * ``+ shift I`` -- linear combination of block encodings (GSLW Lemma 52 / Childs & Wiebe 2012,
      arXiv:1202.5822) with a one-qubit PREPARE ``|0> -> sqrt(p)|0> + sqrt(1-p)|1>``,
      ``p = scale ||M||_F^2 / alpha`` (one ``Ry`` and its inverse) and SELECT = controlled ``U_M U_M^dagger``
      (controlled lookups, controlled swap) on ``|0>``, identity on ``|1>``.  Without a shift the plain
      product (no control, no LCU qubit) is counted.

    Ancillas reflected by QSVT: ``row + rank`` (+1 with a shift).
    """

    row_bitsize: int
    rank_bitsize: int
    phase_bitsize: int
    has_shift: bool = True
    lookup: str = "qrom"

    def __attrs_post_init__(self) -> None:
        _check_lookup(self.lookup)

    @cached_property
    def signature(self) -> Signature:
        return Signature([
            Register("system", QAny(self.row_bitsize)),
            Register("ancilla", QAny(self.ancilla_bitsize)),
            Register("phase_gradient", QAny(self.phase_bitsize)),
        ])

    @property
    def ancilla_bitsize(self) -> int:
        return self.row_bitsize + self.rank_bitsize + (1 if self.has_shift else 0)

    def build_call_graph(self, ssa) -> dict[Bloq, int]:
        from qualtran.bloqs.basic_gates import CSwap

        c = 1 if self.has_shift else 0
        u_m = DenseDataBlockEncoding(self.row_bitsize, self.rank_bitsize, self.phase_bitsize, c, self.lookup,
                                     swap=False)
        pairs: list = [(u_m, 1), (u_m.adjoint(), 1),  # U_M and U_M^dagger (same bloq: _calls adds)
                       (CSwap(self.row_bitsize) if c else Swap(self.row_bitsize), 1)]
        if self.has_shift:
            pairs += [(Ry(0.1), 2)]  # PREPARE and PREPARE^dagger of the LCU qubit
        return _calls(*pairs)

    def adjoint(self) -> FactorFormBlockEncoding:
        return self

    def __str__(self) -> str:
        return f"FactorFormBlockEncoding(2^{self.row_bitsize} x 2^{self.rank_bitsize}, {self.lookup})"
