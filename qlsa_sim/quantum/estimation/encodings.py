"""Block-encoding registry: which encodings apply to a matrix, their ``alpha``, ``kappa_eff`` and per-query
gate counts (MODELED).

A QLSA queries a block encoding of ``A / alpha``; its query count grows with
``kappa_eff = alpha / sigma_min(A)``, so the encoding with the smallest ``alpha`` need not be the one with
the cheapest query.  Encodings (``ENCODINGS``):

* ``sparse`` -- sparse access, ``alpha = s max|A_ij|`` (Gilyen, Su, Low, Wiebe 2019, arXiv:1806.01838,
  Lemma 48; bloq :class:`~qlsa_sim.quantum.estimation.bloqs.SparseAccessBlockEncoding`).  Needs
  ``nnz_per_row`` and ``max_abs_entry``.  Stored-angle bits: :func:`registers.entry_bits_for`.
* ``dense`` / ``dense_qroam`` -- dense data (state-preparation pair), ``alpha = ||A||_F`` (Kerenidis &
  Prakash 2017, arXiv:1704.04992; GSLW Lemma 50; costed after Clader et al. 2022, arXiv:2206.03505;
  bloq :class:`~qlsa_sim.quantum.estimation.bloqs.DenseDataBlockEncoding`).  Needs ``frobenius_norm``.
  ``dense`` looks angles up with a unary-iteration QROM (few qubits, ``~2 N^2`` Toffolis per query);
  ``dense_qroam`` with a select-swap QROAM and measurement-based uncompute (Berry et al. 2019,
  arXiv:1902.02134, App. A-C; ``~ sqrt(N^2 b)`` Toffolis AND qubits): the space-time trade-off
  Clader et al. discuss; ``QLSAResources.qubits`` says what it costs in qubits.
* ``factor`` / ``factor_qroam`` -- ``H = scale M M^T + shift I`` from its stored ``n x r`` factor ``M``:
  ``alpha = scale ||M||_F^2 + shift`` (dense-data encoding of ``M``, product GSLW Lemma 53, LCU with the
  identity GSLW Lemma 52; bloq :class:`~qlsa_sim.quantum.estimation.bloqs.FactorFormBlockEncoding`).
  Needs ``factor_rank``, ``factor_frobenius_sq``, ``factor_scale``, ``shift``.

Angle bits of the dense and factor encodings: :func:`registers.phase_bits_for` with
``levels = 2 n_sys`` (dense: ``n`` rotation levels for the row norms, ``n`` for the rows) and
``levels = 2 (n_sys + ceil(log2 r))`` (factor: ``U_M`` and ``U_M^dagger``).

Counts per query are Qualtran ``QECGatesCost`` / ``QubitCount`` of one
:class:`~qlsa_sim.quantum.estimation.bloqs.QLSAStep` (block encoding + projector phase), cached on
the structure (bit sizes only), as :func:`counting.step_counts` is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.quantum.estimation.counting import StepCounts, dense_step_counts, factor_step_counts, step_counts
from qlsa_sim.quantum.estimation.registers import entry_bits_for, index_bits, phase_bits_for
from qlsa_sim.quantum.estimation.validation import check_int

ENCODINGS: tuple[str, ...] = ("sparse", "dense", "dense_qroam", "factor", "factor_qroam")

_CITATIONS = {
    "sparse": "sparse access, alpha = s max|A_ij| (GSLW 2019, arXiv:1806.01838, Lemma 48)",
    "dense": "dense data, alpha = ||A||_F, QROM lookups (Kerenidis-Prakash arXiv:1704.04992; GSLW Lemma 50; "
             "Clader et al. arXiv:2206.03505)",
    "dense_qroam": "dense data, alpha = ||A||_F, select-swap QROAM lookups (Clader et al. arXiv:2206.03505; "
                   "Berry et al. arXiv:1902.02134 App. A-C)",
    "factor": "factor form scale M M^T + shift I, alpha = scale ||M||_F^2 + shift (GSLW Lemmas 50, 52, 53), QROM",
    "factor_qroam": "factor form scale M M^T + shift I, alpha = scale ||M||_F^2 + shift, select-swap QROAM",
}

_REL = 1e-9  # relative slack of the consistency checks (float round-off of the caller's norms)


def _pos(name: str, v: float | None, *, allow_zero: bool = False) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(f) or f < 0.0 or (f == 0.0 and not allow_zero):
        raise InputError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}, got {v!r}")
    return f


@dataclass(frozen=True)
class MatrixInfo:
    """What is known of the (symmetric) matrix ``A`` a QLSA inverts; validated on construction.

    Required: ``n`` (dimension) and the extreme singular values ``sigma_min <= sigma_max`` (for a positive
    definite ``A`` its extreme eigenvalues).  Optional groups, each enabling encodings:

    * ``nnz_per_row`` (densest row, in [1, n]) and ``max_abs_entry`` -> ``sparse``
      (``s max|A_ij| >= sigma_max`` is checked);
    * ``frobenius_norm`` -> ``dense`` (``sigma_max <= ||A||_F <= sqrt(n) sigma_max`` is checked);
    * ``factor_rank`` ``r``, ``factor_frobenius_sq`` ``||M||_F^2``, ``factor_scale``, ``shift``: ``A = scale
      M M^T + shift I`` with ``M`` of shape ``n x r`` -> ``factor`` (all four or none; ``shift >= 0``;
      ``sigma_min >= shift`` and ``sigma_max <= scale ||M||_F^2 + shift`` are checked).
    """

    n: int
    sigma_min: float
    sigma_max: float
    nnz_per_row: int | None = None
    max_abs_entry: float | None = None
    frobenius_norm: float | None = None
    factor_rank: int | None = None
    factor_frobenius_sq: float | None = None
    factor_scale: float | None = None
    shift: float | None = None

    def __post_init__(self) -> None:
        n = check_int("n", self.n, 1)
        object.__setattr__(self, "n", n)
        lo, hi = _pos("sigma_min", self.sigma_min), _pos("sigma_max", self.sigma_max)
        if lo is None or hi is None:
            raise InputError("sigma_min and sigma_max are required")
        if lo > hi * (1 + _REL):
            raise InputError(f"sigma_min {lo} exceeds sigma_max {hi}")
        object.__setattr__(self, "sigma_min", lo)
        object.__setattr__(self, "sigma_max", hi)
        if self.nnz_per_row is not None:
            s = check_int("nnz_per_row", self.nnz_per_row, 1)
            if s > n:
                raise InputError(f"nnz_per_row {s} exceeds n {n}")
            object.__setattr__(self, "nnz_per_row", s)
        amax = _pos("max_abs_entry", self.max_abs_entry)
        object.__setattr__(self, "max_abs_entry", amax)
        if amax is not None and self.nnz_per_row is not None and hi > self.nnz_per_row * amax * (1 + _REL):
            raise InputError(f"sigma_max {hi:.6g} exceeds s*max|A_ij| = {self.nnz_per_row * amax:.6g}: "
                             "inconsistent matrix information")
        fro = _pos("frobenius_norm", self.frobenius_norm)
        object.__setattr__(self, "frobenius_norm", fro)
        if fro is not None and not hi * (1 - _REL) <= fro <= math.sqrt(n) * hi * (1 + _REL):
            raise InputError(f"frobenius_norm {fro:.6g} outside [sigma_max, sqrt(n) sigma_max] = "
                             f"[{hi:.6g}, {math.sqrt(n) * hi:.6g}]: inconsistent matrix information")
        factor = (self.factor_rank, self.factor_frobenius_sq, self.factor_scale, self.shift)
        if any(v is not None for v in factor):
            if any(v is None for v in factor):
                raise InputError("factor form needs all of factor_rank, factor_frobenius_sq, factor_scale, shift")
            r = check_int("factor_rank", self.factor_rank, 1)
            object.__setattr__(self, "factor_rank", r)
            fsq = _pos("factor_frobenius_sq", self.factor_frobenius_sq)
            sc = _pos("factor_scale", self.factor_scale)
            sh = _pos("shift", self.shift, allow_zero=True)
            object.__setattr__(self, "factor_frobenius_sq", fsq)
            object.__setattr__(self, "factor_scale", sc)
            object.__setattr__(self, "shift", sh)
            assert fsq is not None and sc is not None and sh is not None
            if sh == 0.0 and r < n:
                raise InputError(f"scale M M^T with rank {r} < n = {n} and no shift is singular")
            if lo < sh * (1 - _REL):
                raise InputError(f"sigma_min {lo:.6g} is below shift {sh:.6g}: scale M M^T + shift I has no such "
                                 "eigenvalue")
            if hi > (sc * fsq + sh) * (1 + _REL):
                raise InputError(f"sigma_max {hi:.6g} exceeds scale ||M||_F^2 + shift = {sc * fsq + sh:.6g}")

    @property
    def kappa(self) -> float:
        """``sigma_max / sigma_min``."""
        return self.sigma_max / self.sigma_min

    @property
    def has_factor(self) -> bool:
        return self.factor_rank is not None


@dataclass(frozen=True)
class EncodingChoice:
    """One applicable block encoding of a matrix: ``alpha``, ``kappa_eff = alpha / sigma_min`` (MODELED)."""

    name: str
    alpha: float
    kappa_eff: float
    citation: str
    info: MatrixInfo

    @property
    def alpha_over_norm(self) -> float:
        """``alpha / sigma_max >= 1``: the subnormalization relative to ``||A||``."""
        return self.alpha / self.info.sigma_max

    def levels(self) -> int:
        """Rotation levels per query entering the angle-bit budget (0 for ``sparse``)."""
        nb = index_bits(self.info.n)
        if self.name.startswith("dense"):
            return 2 * nb
        if self.name.startswith("factor"):
            return 2 * (nb + index_bits(int(self.info.factor_rank or 1)))
        return 0

    def bits_for(self, eps: float, queries_per_attempt: float) -> int:
        """Stored-angle bits meeting the ``eps/4`` data-precision budget (see module docstring)."""
        if self.name == "sparse":
            return entry_bits_for(eps, queries_per_attempt)
        return phase_bits_for(eps, queries_per_attempt, self.levels())

    def step_counts(self, bits: int) -> StepCounts:
        """Counts of one query (block encoding + projector phase), Qualtran, cached on the structure."""
        return encoding_step_counts(self.name, self.info, bits)


def encoding_step_counts(name: str, info: MatrixInfo, bits: int) -> StepCounts:
    """Per-query counts of encoding ``name`` for ``info`` at ``bits`` angle bits (cached by bit sizes)."""
    nb = index_bits(info.n)
    if name == "sparse":
        if info.nnz_per_row is None:
            raise InputError("the sparse encoding needs nnz_per_row")
        return step_counts(nb, info.nnz_per_row, int(bits))
    if name in ("dense", "dense_qroam"):
        return dense_step_counts(nb, int(bits), "qroam" if name.endswith("qroam") else "qrom")
    if name in ("factor", "factor_qroam"):
        if not info.has_factor:
            raise InputError("the factor encoding needs factor_rank, factor_frobenius_sq, factor_scale, shift")
        return factor_step_counts(nb, index_bits(int(info.factor_rank or 1)), int(bits), bool(info.shift),
                                  "qroam" if name.endswith("qroam") else "qrom")
    raise UnknownNameError("block encoding", str(name), ENCODINGS)


def encoding_alpha(name: str, info: MatrixInfo) -> float | None:
    """``alpha`` of encoding ``name`` for ``info``, or None when ``info`` lacks what it needs."""
    if name == "sparse":
        if info.nnz_per_row is None or info.max_abs_entry is None:
            return None
        return info.nnz_per_row * info.max_abs_entry
    if name in ("dense", "dense_qroam"):
        return info.frobenius_norm
    if name in ("factor", "factor_qroam"):
        if not info.has_factor:
            return None
        return float(info.factor_scale) * float(info.factor_frobenius_sq) + float(info.shift)  # type: ignore[arg-type]
    raise UnknownNameError("block encoding", str(name), ENCODINGS)


def encoding_choice(name: str, info: MatrixInfo) -> EncodingChoice:
    """The encoding ``name`` for ``info``; InputError if ``info`` lacks what it needs."""
    alpha = encoding_alpha(name, info)
    if alpha is None:
        raise InputError(f"encoding {name!r} does not apply: the matrix information lacks what it needs "
                         f"({_CITATIONS[name]})")
    alpha = max(alpha, info.sigma_max)  # the validation allows float slack below ||A||; alpha >= ||A|| always
    return EncodingChoice(name, alpha, max(alpha / info.sigma_min, 1.0), _CITATIONS[name], info)


def applicable_encodings(info: MatrixInfo) -> tuple[EncodingChoice, ...]:
    """Every encoding ``info`` allows, in :data:`ENCODINGS` order, with its ``alpha`` and ``kappa_eff``."""
    return tuple(encoding_choice(name, info) for name in ENCODINGS if encoding_alpha(name, info) is not None)
