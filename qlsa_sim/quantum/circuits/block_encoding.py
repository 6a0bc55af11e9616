"""Block encodings of a real symmetric matrix as qiskit circuits (small n: for building and simulating).

A block encoding of ``A`` with subnormalization ``alpha`` is a unitary ``U`` on ``system + ancilla``
qubits whose block with all ancillas in ``|0>`` equals ``A / alpha`` (Gilyen, Su, Low, Wiebe 2019,
arXiv:1806.01838, Def. 43).  Qubit layout of every circuit here (qiskit is little-endian): qubits
``0 .. n_sys-1`` are the system, the rest are ancillas, so ``Operator(circuit).data[:N, :N]`` (``N =
2^n_sys``) is the top-left block.  Matrices whose size is not a power of two are embedded in the top-left
corner of a ``2^n_sys`` zero matrix (the padding subspace is invariant and ``b`` has no component there).

Encodings:

* :func:`dilation_encoding` -- ``U = [[A', S], [S, -A']]``, ``A' = A/||A||``, ``S = sqrt(I - A'^2)``:
  exact, one ancilla, Hermitian; the reference (GSLW Lemma 48's "unitary dilation").
* :func:`pauli_lcu_encoding` -- ``A = sum_k c_k P_k``, ``alpha = sum |c_k|``; PREPARE puts
  ``sqrt(|c_k|/alpha)`` on ``ceil(log2 K)`` ancillas, SELECT applies ``sign(c_k) P_k`` controlled on ``k``
  (Childs & Wiebe 2012, arXiv:1202.5822; GSLW Lemma 52).
* :func:`sparse_access_encoding` -- ``alpha = s max|A_ij|``; slot register in uniform superposition over
  ``s``, entry oracle ``Ry(2 arccos(A_ij/max|A|))`` (signed entries: ``arccos`` of a negative number),
  column oracle, swap, row oracle dagger, uncompute (GSLW Lemma 48; Lin 2022, arXiv:2201.08309, Sec. 6.5).
  Same structure as the counting bloq :class:`qlsa_sim.quantum.bloqs.SparseAccessBlockEncoding`.

The dense-data (``alpha = ||A||_F``) and factor-form (``scale M M^T + shift I``) encodings are in
:mod:`qlsa_sim.quantum.circuits.data_encoding`.

Every encoding reports ``alpha`` and its qubit count; ``kappa_eff = alpha / lambda_min`` is what the
inversion polynomial must cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import UCRYGate, UnitaryGate

from qlsa_sim.core.names import CircuitEncoding, names
from qlsa_sim.errors import InputError

ENCODINGS = names(CircuitEncoding)


def check_symmetric_matrix(a: object, *, require_pd: bool = False, name: str = "matrix") -> np.ndarray:
    """Return ``a`` as a float64 square symmetric finite matrix, else InputError.

    With ``require_pd`` the matrix must also be positive definite (Cholesky succeeds).
    """
    arr = np.asarray(a)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise InputError(f"{name} must be a non-empty square 2-D array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"{name} must be real, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} has non-finite entries")
    scale = max(float(np.max(np.abs(arr))), 1e-300)
    asym = float(np.max(np.abs(arr - arr.T)))
    if asym > 1e-10 * scale:
        raise InputError(f"{name} is not symmetric (max |A - A^T| = {asym:.3g})")
    arr = 0.5 * (arr + arr.T)
    if require_pd:
        try:
            np.linalg.cholesky(arr)
        except np.linalg.LinAlgError:
            lam = float(np.linalg.eigvalsh(arr)[0])
            raise InputError(f"{name} is not positive definite (smallest eigenvalue {lam:.3g})") from None
    return arr


def num_qubits_for(n: int) -> int:
    """System qubits for dimension ``n``: ``ceil(log2 n)``, at least 1."""
    return max(1, int(math.ceil(math.log2(n)))) if n > 1 else 1


def pad_matrix(a: np.ndarray) -> np.ndarray:
    """Embed ``a`` in the top-left corner of a ``2^k x 2^k`` zero matrix."""
    n = a.shape[0]
    dim = 2 ** num_qubits_for(n)
    out = np.zeros((dim, dim))
    out[:n, :n] = a
    return out


def householder_with_first_column(v: np.ndarray) -> np.ndarray:
    """Real orthogonal (symmetric) matrix whose first column is the unit vector ``v``."""
    v = np.asarray(v, dtype=float)
    v = v / np.linalg.norm(v)
    e = np.zeros_like(v)
    e[0] = 1.0
    w = e - v
    nw = np.linalg.norm(w)
    if nw < 1e-15:
        return np.eye(len(v))
    w /= nw
    return np.eye(len(v)) - 2.0 * np.outer(w, w)


@dataclass(frozen=True)
class BlockEncoding:
    """A block encoding: circuit on ``num_system + num_ancillas`` qubits with ``<0|U|0> = matrix/alpha``."""

    name: str
    matrix: np.ndarray = field(repr=False)  # padded matrix (2^num_system square)
    alpha: float
    num_system: int
    num_ancillas: int
    circuit: QuantumCircuit = field(repr=False)
    hermitian: bool = False  # U == U^dagger
    info: tuple[tuple[str, float], ...] = ()
    num_work: int = 0  # clean work qubits after the ancillas: start and end in |0>, not reflected by QSVT

    @property
    def num_qubits(self) -> int:
        return self.num_system + self.num_ancillas + self.num_work

    def top_left_block(self) -> np.ndarray:
        """``<0_anc| U |0_anc>`` computed from the circuit (reference check, small n only).

        Up to 5 qubits via ``qiskit.quantum_info.Operator``; beyond, column by column with Aer's
        statevector simulator (never a full ``2^q x 2^q`` unitary).
        """
        dim = 2**self.num_system
        if self.num_qubits <= 5:
            from qiskit.quantum_info import Operator

            return np.asarray(Operator(self.circuit).data)[:dim, :dim]
        return circuit_columns(self.circuit, self.num_system)

    def kappa_eff(self, lambda_min: float) -> float:
        """``alpha / lambda_min``: the condition number the inversion must cover."""
        if not lambda_min > 0:
            raise InputError(f"lambda_min must be > 0, got {lambda_min!r}")
        return self.alpha / lambda_min


def circuit_columns(circuit: QuantumCircuit, num_system: int) -> np.ndarray:
    """``<0_anc, i| U |0_anc, j>`` for all system basis states, by Aer statevector simulation."""
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    dim = 2**num_system
    sim = AerSimulator(method="statevector")
    flat = QuantumCircuit(circuit.num_qubits)
    for inst in circuit.data:  # StatePreparation's isometry became an Aer "multiplexer" that crashed Aer 0.18
        if inst.operation.name.startswith("state_preparation"):
            sub = transpile(inst.operation.definition, basis_gates=["u", "cx"], optimization_level=0,
                            qubits_initially_zero=False)
            flat.compose(sub, [circuit.find_bit(q).index for q in inst.qubits], inplace=True)
        else:
            flat.append(inst)
    base = transpile(flat, sim, optimization_level=0, qubits_initially_zero=False)
    circs = []
    for j in range(dim):
        qc = QuantumCircuit(circuit.num_qubits)
        for b in range(num_system):
            if (j >> b) & 1:
                qc.x(b)
        qc.compose(base, inplace=True)
        qc.save_statevector()
        circs.append(qc)
    result = sim.run(circs).result()
    out = np.zeros((dim, dim), dtype=complex)
    for j in range(dim):
        out[:, j] = np.asarray(result.get_statevector(j))[:dim]
    return out


def dilation_encoding(a: np.ndarray) -> BlockEncoding:
    """Exact unitary dilation with ``alpha = ||A||_2`` (one ancilla)."""
    a = check_symmetric_matrix(a)
    p = pad_matrix(a)
    nq = num_qubits_for(a.shape[0])
    alpha = float(np.max(np.abs(np.linalg.eigvalsh(a))))
    if alpha == 0.0:
        raise InputError("matrix is zero: nothing to encode")
    ap = p / alpha
    w, v = np.linalg.eigh(ap)
    s = (v * np.sqrt(np.clip(1.0 - w * w, 0.0, None))) @ v.T
    u = np.block([[ap, s], [s, -ap]])
    qc = QuantumCircuit(nq + 1, name="U_dil")
    qc.append(UnitaryGate(u, label="U_A", check_input=False), list(range(nq + 1)))
    return BlockEncoding("dilation", p, alpha, nq, 1, qc, hermitian=True)


def pauli_decomposition(a: np.ndarray, tol: float = 1e-14) -> tuple[list[str], np.ndarray]:
    """Pauli strings (qiskit labels) and real coefficients of the padded symmetric matrix ``a``."""
    from qiskit.quantum_info import SparsePauliOp

    op = SparsePauliOp.from_operator(pad_matrix(a), atol=tol)
    coeffs = np.asarray(op.coeffs)
    if np.max(np.abs(coeffs.imag), initial=0.0) > 1e-10:
        raise InputError("Pauli coefficients are not real: matrix not real symmetric")
    labels = [p.to_label() for p in op.paulis]
    return labels, coeffs.real


def _append_controlled_pauli(qc: QuantumCircuit, label: str, negative: bool, anc: list[int], idx: int) -> None:
    """Apply ``(-1 if negative) * P`` to the system when the ancillas hold ``idx`` (native gates only)."""
    m = len(anc)
    flips = [anc[b] for b in range(m) if not (idx >> b) & 1]
    for f in flips:
        qc.x(f)
    nq = len(label)
    for i in range(nq):
        p = label[nq - 1 - i]  # qiskit labels: rightmost character is qubit 0
        if p == "I":
            continue
        if p == "X":
            qc.mcx(anc, i)
        elif p == "Z":
            qc.h(i)
            qc.mcx(anc, i)
            qc.h(i)
        else:  # Y = S X S^dagger
            qc.sdg(i)
            qc.mcx(anc, i)
            qc.s(i)
    if negative:  # phase -1 on the ancilla pattern: multi-controlled Z on the ancillas
        if m == 1:
            qc.z(anc[0])
        else:
            qc.h(anc[-1])
            qc.mcx(anc[:-1], anc[-1])
            qc.h(anc[-1])
    for f in flips:
        qc.x(f)


def pauli_lcu_encoding(a: np.ndarray) -> BlockEncoding:
    """LCU (PREPARE / SELECT) of the Pauli decomposition, ``alpha = sum |c_k|``."""
    a = check_symmetric_matrix(a)
    nq = num_qubits_for(a.shape[0])
    labels, c = pauli_decomposition(a)
    if len(labels) == 0:
        raise InputError("matrix is zero: nothing to encode")
    alpha = float(np.sum(np.abs(c)))
    k = len(labels)
    m = max(1, int(math.ceil(math.log2(k)))) if k > 1 else 1
    amps = np.zeros(2**m)
    amps[:k] = np.sqrt(np.abs(c) / alpha)
    prep = householder_with_first_column(amps)
    qc = QuantumCircuit(nq + m, name="U_lcu")
    anc = list(range(nq, nq + m))
    qc.append(UnitaryGate(prep, label="PREP", check_input=False), anc)
    for idx, (lab, ck) in enumerate(zip(labels, c)):
        _append_controlled_pauli(qc, lab, bool(ck < 0), anc, idx)
    qc.append(UnitaryGate(prep.T, label="PREP_dg", check_input=False), anc)
    return BlockEncoding("pauli_lcu", pad_matrix(a), alpha, nq, m, qc, info=(("terms", float(k)),))


def sparse_pattern(a: np.ndarray, s: int | None = None) -> tuple[int, np.ndarray]:
    """``(s, c)`` with ``c[j, l]`` the ``l``-th listed row of column ``j`` (non-zeros first, then padding)."""
    n = a.shape[0]
    nz = [np.flatnonzero(a[:, j]) for j in range(n)]
    s_min = max(1, max(len(x) for x in nz))
    s = s_min if s is None else int(s)
    if s < s_min:
        raise InputError(f"sparsity s={s} is below the densest column ({s_min} non-zeros)")
    if s > n:
        raise InputError(f"sparsity s={s} exceeds the dimension {n}")
    c = np.zeros((n, s), dtype=np.int64)
    for j in range(n):
        rest = [i for i in range(n) if i not in set(nz[j].tolist())]
        c[j] = np.array(list(nz[j]) + rest[: s - len(nz[j])])
    return s, c


def _index_permutation(c: np.ndarray, nq: int) -> np.ndarray:
    """Permutation matrix on (slot register L, system register) implementing ``|l>|j> -> |c(j,l)>|j>``.

    Basis index = ``j + 2^nq * l`` (system low qubits, slot register high qubits).  Slots ``l >= s`` and
    columns ``j >= n`` (padding) are completed to a bijection.
    """
    dim = 2**nq
    n, s = c.shape
    perm = np.zeros(dim * dim, dtype=np.int64)
    for j in range(dim):
        if j < n:
            used = list(c[j])
        else:
            used = []
        free = [v for v in range(dim) if v not in set(used)]
        images = used + free
        for sl in range(dim):
            perm[j + dim * sl] = j + dim * images[sl]
    mat = np.zeros((dim * dim, dim * dim))
    mat[perm, np.arange(dim * dim)] = 1.0
    return mat


def _sparse_setup(a: np.ndarray, s: int | None):
    """Shared start of the sparse-access encodings: checked matrix, n, system qubits, 2^qubits, max|A_ij|,
    row sparsity s, column-index table, ``alpha = s max|A_ij|``."""
    a = check_symmetric_matrix(a)
    n = a.shape[0]
    nq = num_qubits_for(n)
    amax = float(np.max(np.abs(a)))
    if amax == 0.0:
        raise InputError("matrix is zero: nothing to encode")
    s, c = sparse_pattern(a, s)
    return a, n, nq, 2**nq, amax, s, c, s * amax


def sparse_access_encoding(a: np.ndarray, s: int | None = None) -> BlockEncoding:
    """Sparse-access encoding with signed entries, ``alpha = s max|A_ij|`` (``n_sys + 1`` ancillas)."""
    a, n, nq, dim, amax, s, c, alpha = _sparse_setup(a, s)
    # registers: system 0..nq-1, slot L nq..2nq-1, entry qubit q = 2nq
    sysq, slot, q = list(range(nq)), list(range(nq, 2 * nq)), 2 * nq
    uni = np.zeros(dim)
    uni[:s] = 1.0 / math.sqrt(s)
    diff = householder_with_first_column(uni)
    # entry oracle: uniformly controlled Ry on q, controls (system, slot); UCRY angle index = j + dim*l
    angles = np.zeros(dim * dim)
    for j in range(n):
        for sl in range(s):
            angles[j + dim * sl] = 2.0 * math.acos(float(np.clip(a[c[j, sl], j] / amax, -1.0, 1.0)))
    perm = _index_permutation(c, nq)
    qc = QuantumCircuit(2 * nq + 1, name="U_sparse")
    qc.append(UnitaryGate(diff, label="D_s", check_input=False), slot)
    qc.append(UCRYGate(list(angles)), [q] + sysq + slot)
    qc.append(UnitaryGate(perm, label="O_c", check_input=False), sysq + slot)
    for x, y in zip(slot, sysq):
        qc.swap(x, y)
    qc.append(UnitaryGate(perm.T, label="O_r_dg", check_input=False), sysq + slot)
    qc.append(UnitaryGate(diff.T, label="D_s_dg", check_input=False), slot)
    return BlockEncoding(
        "sparse", pad_matrix(a), alpha, nq, nq + 1, qc, info=(("s", float(s)), ("max_abs_entry", amax))
    )


def mcx_vchain(
    qc: QuantumCircuit, controls: list[int], target: int, work: list[int], ctrl_state: int | None = None
) -> None:
    """Multi-controlled X from Toffolis with ``len(controls) - 2`` clean work qubits (v-chain: ``2k - 3``
    Toffolis for ``k >= 3`` controls; Barenco et al. 1995, quant-ph/9503016, Lemma 7.2)."""
    k = len(controls)
    flips = [] if ctrl_state is None else [controls[i] for i in range(k) if not (ctrl_state >> i) & 1]
    for f in flips:
        qc.x(f)
    if k == 1:
        qc.cx(controls[0], target)
    elif k == 2:
        qc.ccx(controls[0], controls[1], target)
    else:
        if len(work) < k - 2:
            raise InputError(f"mcx_vchain needs {k - 2} work qubits, got {len(work)}")
        chain = [(controls[0], controls[1], work[0])]
        for i in range(1, k - 2):
            chain.append((controls[i + 1], work[i - 1], work[i]))
        for a, b, t in chain:
            qc.ccx(a, b, t)
        qc.ccx(controls[k - 1], work[k - 3], target)
        for a, b, t in reversed(chain):
            qc.ccx(a, b, t)
    for f in flips:
        qc.x(f)


def _naive_qrom(qc: QuantumCircuit, addr: list[int], flag: int, data: list[int], table: dict[int, int],
                work: list[int]) -> None:
    """XOR ``table[address]`` into ``data`` by unary iteration over a pruned binary tree of the address
    bits (Babbush et al. 2018, arXiv:1805.03662, Sec. III.A, Fig. 7): each visited node computes its
    child's flag with one Toffoli, the sibling's by a CNOT, and uncomputes it with one Toffoli; at a leaf
    the flag CNOTs the set bits into ``data``.  ``flag`` is the root (set to |1> and back); ``work`` holds
    one flag per address bit."""
    k = len(addr)
    if len(work) < k:
        raise InputError(f"unary iteration needs {k} work qubits, got {len(work)}")
    entries = sorted(a for a, v in table.items() if v)
    if not entries:
        return

    def has(lo: int, hi: int) -> bool:
        import bisect

        i = bisect.bisect_left(entries, lo)
        return i < len(entries) and entries[i] < hi

    def visit(parent: int, level: int, lo: int) -> None:
        if level < 0:
            value = table[lo]
            for bit, q in enumerate(data):
                if (value >> bit) & 1:
                    qc.cx(parent, q)
            return
        bitq, child, half = addr[level], work[level], 1 << level
        left, right = has(lo, lo + half), has(lo + half, lo + 2 * half)
        if left:
            qc.x(bitq)
            qc.ccx(parent, bitq, child)  # child = parent AND NOT bit
            qc.x(bitq)
            visit(child, level - 1, lo)
            if right:
                qc.cx(parent, child)  # child = parent AND bit
                visit(child, level - 1, lo + half)
                qc.ccx(parent, bitq, child)
            else:
                qc.x(bitq)
                qc.ccx(parent, bitq, child)
                qc.x(bitq)
        elif right:
            qc.ccx(parent, bitq, child)
            visit(child, level - 1, lo + half)
            qc.ccx(parent, bitq, child)

    qc.x(flag)
    visit(flag, k - 1, 0)
    qc.x(flag)


def _index_oracle_qrom(qc: QuantumCircuit, idx: np.ndarray, sysq: list[int], slot: list[int], fresh: list[int],
                       flag: int, work: list[int]) -> None:
    """``|l>_L |j>_sys |0>_F -> |c(j,l)>_L |j>_sys |0>_F`` for the used slots ``l < s``: load ``c`` into
    ``F`` (QROM over (j, l)), erase ``l`` with the inverse table (QROM over (j, c)), swap ``L`` and ``F``.
    Two QROMs of ``n s`` entries, as in :class:`qlsa_sim.quantum.bloqs.SparseIndexOracle`."""
    nq = len(sysq)
    n, s = idx.shape
    load = {j + (2**nq) * sl: int(idx[j, sl]) for j in range(n) for sl in range(s)}
    erase = {j + (2**nq) * int(idx[j, sl]): sl for j in range(n) for sl in range(s)}
    _naive_qrom(qc, sysq + slot, flag, fresh, load, work)
    _naive_qrom(qc, sysq + fresh, flag, slot, erase, work)
    for x, y in zip(slot, fresh):
        qc.swap(x, y)


def sparse_access_encoding_qrom(a: np.ndarray, entry_bits: int = 6, s: int | None = None) -> BlockEncoding:
    """The sparse-access encoding with explicit QROM-style oracles and ``entry_bits``-bit rotation angles.

    Same block structure as :func:`sparse_access_encoding` but built from the pieces the counting path
    prices (:mod:`qlsa_sim.quantum.estimation.bloqs`): uniform superposition over ``s`` slots, entry oracle = QROM of
    the angles ``arccos(A_ij/max|A|)`` + ``entry_bits`` controlled ``Ry`` + QROM uncompute, index oracles
    of two QROMs each, swap.  Work registers (angle data, fresh index register, QROM flag) start and end
    in ``|0>`` (``num_work``; the QSVT reflects only slot register and entry qubit, ``n_sys + 1``
    ancillas, as the counting path does).  Entries are quantised: ``|U_00 alpha - A| <= s max|A| pi 2^-b``
    per entry.  Meant for gate counting at small n (qubits: ``5 n_sys + entry_bits + 2``).
    """
    b = int(entry_bits)
    if b < 1:
        raise InputError(f"entry_bits must be >= 1, got {entry_bits}")
    a, n, nq, dim, amax, s, c, alpha = _sparse_setup(a, s)
    sysq, slot, q = list(range(nq)), list(range(nq, 2 * nq)), 2 * nq
    data = list(range(2 * nq + 1, 2 * nq + 1 + b))
    fresh = list(range(2 * nq + 1 + b, 3 * nq + 1 + b))
    flag = 3 * nq + 1 + b
    work = list(range(flag + 1, flag + 1 + 2 * nq))
    total = flag + 1 + len(work)
    qc = QuantumCircuit(total, name="U_sparse_qrom")
    low = slot[: max(1, int(math.ceil(math.log2(s))))] if s > 1 else []
    uniform = None
    if s & (s - 1) == 0:
        for qb in low:
            qc.h(qb)
    else:
        from qiskit.circuit.library import StatePreparation

        vec = np.zeros(2 ** len(low))
        vec[:s] = 1.0 / math.sqrt(s)
        uniform = StatePreparation(vec, label="D_s")
        qc.append(uniform, low)
    kmax = 2**b - 1
    table = {}
    for j in range(n):
        for sl in range(s):
            theta = math.acos(float(np.clip(a[c[j, sl], j] / amax, -1.0, 1.0)))
            table[j + dim * sl] = min(kmax, int(round(theta / math.pi * 2**b)))
    _naive_qrom(qc, sysq + slot, flag, data, table, work)
    for t, dq in enumerate(data):
        qc.cry(math.pi * 2.0 ** (t + 1 - b), dq, q)
    _naive_qrom(qc, sysq + slot, flag, data, table, work)
    sub = QuantumCircuit(total)
    _index_oracle_qrom(sub, c, sysq, slot, fresh, flag, work)
    qc.compose(sub, inplace=True)
    for x, y in zip(slot, sysq):
        qc.swap(x, y)
    qc.compose(sub.inverse(), inplace=True)  # O_r^dagger (r = c for symmetric A)
    if uniform is None:
        for qb in low:
            qc.h(qb)
    else:
        qc.append(uniform.inverse(), low)
    return BlockEncoding(
        "sparse_qrom", pad_matrix(a), alpha, nq, nq + 1, qc,
        info=(("s", float(s)), ("max_abs_entry", amax), ("entry_bits", float(b))),
        num_work=total - (2 * nq + 1),
    )


def make_encoding(a: np.ndarray, kind: str = "dilation") -> BlockEncoding:
    """Build the block encoding called ``kind`` (one of :data:`ENCODINGS`)."""
    from qlsa_sim.errors import UnknownNameError

    builders = {"dilation": dilation_encoding, "pauli_lcu": pauli_lcu_encoding, "sparse": sparse_access_encoding}
    if kind not in builders:
        raise UnknownNameError("block encoding", kind, ENCODINGS)
    return builders[kind](a)
