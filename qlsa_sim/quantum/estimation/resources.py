"""Full-scale QLSA resource estimate (MODELED): queries from a preset, gates per query from Qualtran.

``estimate_qlsa_resources`` combines

* the effective condition number of the block-encoded matrix.  A sparse-access block encoding
  encodes ``A / alpha`` with ``alpha = s max|A_ij|`` (Gilyen, Su, Low, Wiebe 2019, arXiv:1806.01838,
  Lemma 48; Childs, Kothari, Somma 2017, arXiv:1511.02306), whose smallest singular value is
  ``lambda_min / alpha``, so the inversion must cover ``kappa_eff = alpha / lambda_min >= kappa``.  When
  ``max_abs_entry`` and ``lambda_min`` (or ``lambda_max``, giving ``lambda_min = lambda_max / kappa``) are
  not given we assume an ideal encoding with ``alpha = ||A||`` so ``kappa_eff = kappa``, and ``method``
  says so;
  With ``encoding=`` (or :func:`estimate_for_encoding` / :func:`qlsa_resources_all_encodings` on a
  :class:`~qlsa_sim.quantum.estimation.encodings.MatrixInfo`) the dense-data (``alpha = ||A||_F``) and
  factor-form (``alpha = scale ||M||_F^2 + shift``) encodings are priced too
  (:mod:`qlsa_sim.quantum.estimation.encodings`); :func:`rank_by_total_gates` sorts the candidates;
* the expected number of block-encoding queries of the chosen preset
  (:mod:`qlsa_sim.quantum.estimation.presets`) through ``QueryPreset.queries_for(kappa, kappa_eff, eps)``:
  evaluated at ``kappa_eff`` (merged reading, every preset but the split one) or at ``kappa`` with
  subnormalization ``kappa_eff/kappa`` (``jennings2023_v1_alpha_split``);
* the Clifford+T cost of one query (:class:`qlsa_sim.quantum.estimation.bloqs.QLSAStep`: block encoding
  plus one projector-controlled phase), counted by Qualtran once per structure (bit sizes) and cached
  (``functools.lru_cache``): the per-query cost does not depend on the matrix values.

Conventions: ``queries`` and the gate counts are expected totals for one output copy of ``|x>``,
repetitions included; ``repetitions = 1/success_probability`` is the expected number of attempts inside
them; ``depth`` is the depth of ONE attempt (``queries/repetitions`` steps in sequence, each bounded by its
gate count, hence ``depth_is_upper_bound``).  Gate counts are NON-overlapping (``t_count`` excludes
Toffolis since the encodings change; before, it counted each Toffoli-class gate as 4 T and ``toffoli``
counted it again); ``t_equivalent`` is the single T-equivalent total (see :class:`QLSAResources`).
Every figure is MODELED.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qlsa_sim.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from qlsa_sim.quantum.estimation.physical import LogicalCounts
from qlsa_sim.quantum.estimation.counting import TS_PER_TOFFOLI, state_prep_counts, step_counts
from qlsa_sim.quantum.estimation.encodings import EncodingChoice, MatrixInfo, applicable_encodings, encoding_choice
from qlsa_sim.quantum.estimation.presets import DEFAULT_PRESET, get_preset
from qlsa_sim.quantum.estimation.registers import entry_bits_for, index_bits, rotation_synthesis_t
from qlsa_sim.quantum.estimation.validation import check_int, validate_kappa_eps


@dataclass(frozen=True)
class QLSAResources:
    """Modeled resources of one QLSA solve (see module docstring for conventions). Hashable.

    Gate counts are expected totals over all repetitions and NON-overlapping: ``toffoli`` (Toffoli, ``And``,
    controlled swap), ``t_count`` (bare T gates only, Toffolis EXCLUDED), ``rotations`` (arbitrary-angle),
    ``clifford``, ``measurements``.  ``t_equivalent = t_count + 4 toffoli + t_per_rotation rotations``
    (:data:`TS_PER_TOFFOLI`; ``t_per_rotation`` by :func:`registers.rotation_synthesis_t`, Ross-Selinger,
    at the per-rotation precision ``eps / (4 R)`` for ``R`` rotations per attempt).
    """

    n: int
    nnz_per_row: int
    kappa: float
    alpha: float
    kappa_eff: float
    eps: float
    preset: str
    queries: float
    t_count: float
    toffoli: float
    rotations: float
    clifford: float
    qubits: int
    depth: float
    depth_is_upper_bound: bool
    success_probability: float
    repetitions: float
    method: str
    entry_bits: int = 0  # stored-angle bits (entry angles for sparse, state-preparation angles otherwise)
    state_prep_gates: float = 0.0  # Clifford + T-expanded Toffolis + T + rotations of one preparation of |b>
    state_prep_depth: float = 0.0  # depth bound of one preparation of |b>
    state_prep_calls: float = 0.0  # expected preparations of |b> per output copy (one per attempt)
    modeled: bool = True
    encoding: str = "sparse"
    measurements: float = 0.0
    t_per_rotation: float = 0.0
    t_equivalent: float = 0.0
    state_prep_t_equivalent: float = 0.0  # T-equivalent of one preparation of |b>

    @property
    def queries_per_attempt(self) -> float:
        return self.queries / self.repetitions

    @property
    def logical_qubits(self) -> int:
        """Logical qubits (Qualtran ``QubitCount``: system, ancillas, work and lookup registers)."""
        return self.qubits

    @property
    def non_clifford(self) -> float:
        """Toffoli-class gates + bare T + rotations (each one non-Clifford operation)."""
        return self.toffoli + self.t_count + self.rotations

    @property
    def total_gates(self) -> float:
        """Clifford + T + rotations over all repetitions, each Toffoli-class gate as its 4 T gates (the
        sequential gate total of the ``gates`` time basis; numerically what it was before ``t_count`` was
        split from ``toffoli``)."""
        return self.clifford + self.t_count + TS_PER_TOFFOLI * self.toffoli + self.rotations


def rank_by_total_gates(resources: tuple[QLSAResources, ...] | list[QLSAResources],
                        key: str = "total_gates") -> tuple[QLSAResources, ...]:
    """``resources`` sorted by ``key`` (``total_gates`` or ``t_equivalent``, smallest first); the cost
    layer chooses among them."""
    if key not in ("total_gates", "t_equivalent"):
        raise InputError(f"key must be total_gates or t_equivalent, got {key!r}")
    return tuple(sorted(resources, key=lambda r: (getattr(r, key), r.encoding)))


def effective_alpha_kappa(
    n: int,
    nnz_per_row: int,
    kappa: float,
    *,
    max_abs_entry: float | None = None,
    lambda_min: float | None = None,
    lambda_max: float | None = None,
) -> tuple[float, float, str]:
    """``(alpha, kappa_eff, how)`` as described in the module docstring."""
    for name, v in (("max_abs_entry", max_abs_entry), ("lambda_min", lambda_min), ("lambda_max", lambda_max)):
        if v is not None and (not math.isfinite(float(v)) or float(v) <= 0.0):
            raise InputError(f"{name} must be finite and > 0, got {v!r}")
    if lambda_min is not None and lambda_max is not None and float(lambda_min) > float(lambda_max) * (1 + 1e-12):
        raise InputError(f"lambda_min {lambda_min} exceeds lambda_max {lambda_max}")
    if max_abs_entry is not None:
        alpha = nnz_per_row * float(max_abs_entry)
        if lambda_min is None and lambda_max is not None:
            lam_min = float(lambda_max) / kappa
            how = "sparse-access alpha=s*max|A_ij|, lambda_min=lambda_max/kappa"
        elif lambda_min is not None:
            lam_min = float(lambda_min)
            how = "sparse-access alpha=s*max|A_ij|"
        else:
            raise InputError("max_abs_entry needs lambda_min or lambda_max to give kappa_eff = alpha/lambda_min")
        lam_max = float(lambda_max) if lambda_max is not None else lam_min * kappa
        if lam_max > alpha * (1 + 1e-9):
            raise InputError(
                f"lambda_max {lam_max:.6g} exceeds s*max|A_ij| = {alpha:.6g}: inconsistent matrix information"
            )
        return alpha, max(alpha / lam_min, 1.0), how
    alpha = float(lambda_max) if lambda_max is not None else 1.0
    return alpha, kappa, "ideal encoding alpha=||A|| (kappa_eff=kappa)"


def _assemble(
    *, n: int, s: int, kappa: float, kappa_eff: float, alpha: float, eps: float, preset: str, encoding: str,
    how: str, bits_for, counts_for,
) -> QLSAResources:
    """Queries from the preset (both readings via ``queries_for``), counts per query, totals."""
    p = get_preset(preset)
    queries = p.queries_for(kappa, kappa_eff, eps)
    success = p.success_probability_for(kappa, kappa_eff, eps)
    reps = 1.0 / success
    per_attempt = queries / reps
    bits = bits_for(per_attempt)
    step = counts_for(bits)
    nb = index_bits(n)
    sp = state_prep_counts(nb, entry_bits_for(eps, per_attempt))
    rot_per_attempt = per_attempt * step.rotations + sp.rotations
    t_rot = float(rotation_synthesis_t(eps / (4.0 * max(rot_per_attempt, 1.0))))

    def t_eq(c) -> float:
        return c.t_count + TS_PER_TOFFOLI * c.toffoli + t_rot * c.rotations

    return QLSAResources(
        n=n,
        nnz_per_row=s,
        kappa=kappa,
        alpha=alpha,
        kappa_eff=kappa_eff,
        eps=eps,
        preset=p.name,
        queries=queries,
        t_count=queries * step.t_count,
        toffoli=queries * step.toffoli,
        rotations=queries * step.rotations,
        clifford=queries * step.clifford,
        qubits=max(step.qubits, sp.qubits),
        depth=per_attempt * step.depth_bound,
        depth_is_upper_bound=True,
        success_probability=success,
        repetitions=reps,
        method=f"analytic preset ({p.kind}{', alpha split' if p.alpha_split else ''}) + qualtran-cached "
               f"{encoding} step (b={bits}); {how}",
        entry_bits=bits,
        state_prep_gates=sp.depth_bound,
        state_prep_depth=sp.depth_bound,
        state_prep_calls=reps,
        encoding=encoding,
        measurements=queries * step.measurements,
        t_per_rotation=t_rot,
        t_equivalent=queries * t_eq(step),
        state_prep_t_equivalent=t_eq(sp),
    )


def estimate_qlsa_resources(
    n: int,
    nnz_per_row: int,
    kappa: float,
    eps: float,
    preset: str = DEFAULT_PRESET,
    *,
    max_abs_entry: float | None = None,
    lambda_min: float | None = None,
    lambda_max: float | None = None,
    encoding: str | None = None,
    frobenius_norm: float | None = None,
    factor_rank: int | None = None,
    factor_frobenius_sq: float | None = None,
    factor_scale: float | None = None,
    shift: float | None = None,
) -> QLSAResources:
    """Modeled QLSA resources for an ``n x n`` matrix with ``nnz_per_row`` non-zeros per row.

    ``encoding=None`` (default) keeps the historical behaviour: sparse-access gate counts with ``alpha`` from
    :func:`effective_alpha_kappa` (the ideal ``alpha = ||A||`` when ``max_abs_entry`` is missing).  A name from
    :data:`~qlsa_sim.quantum.estimation.encodings.ENCODINGS` prices that encoding; it needs ``lambda_min`` or
    ``lambda_max`` (the extreme singular values; the other follows from ``kappa``) and what the encoding
    needs (:class:`~qlsa_sim.quantum.estimation.encodings.MatrixInfo`).

    Raises InputError on n < 1, nnz_per_row outside [1, n], kappa < 1, eps outside (0, 1), or
    inconsistent / insufficient matrix information; UnknownNameError on an unknown preset or encoding.
    """
    n = check_int("n", n, 1)
    s = check_int("nnz_per_row", nnz_per_row, 1)
    if s > n:
        raise InputError(f"nnz_per_row {s} exceeds n {n}")
    kappa, eps = validate_kappa_eps(kappa, eps)
    get_preset(preset)
    if encoding is not None:
        info = matrix_info_from(
            n, s, kappa, max_abs_entry=max_abs_entry, lambda_min=lambda_min, lambda_max=lambda_max,
            frobenius_norm=frobenius_norm, factor_rank=factor_rank, factor_frobenius_sq=factor_frobenius_sq,
            factor_scale=factor_scale, shift=shift,
        )
        return estimate_for_encoding(info, eps, preset, encoding)
    alpha, kappa_eff, how = effective_alpha_kappa(
        n, s, kappa, max_abs_entry=max_abs_entry, lambda_min=lambda_min, lambda_max=lambda_max
    )
    nb = index_bits(n)
    return _assemble(
        n=n, s=s, kappa=kappa, kappa_eff=kappa_eff, alpha=alpha, eps=eps, preset=preset, encoding="sparse",
        how=how, bits_for=lambda q: entry_bits_for(eps, q), counts_for=lambda b: step_counts(nb, s, b),
    )


def matrix_info_from(
    n: int,
    nnz_per_row: int | None,
    kappa: float,
    *,
    lambda_min: float | None = None,
    lambda_max: float | None = None,
    **known: float | None,
) -> MatrixInfo:
    """A :class:`MatrixInfo` from the estimator's keyword arguments (``sigma_min = lambda_min``,
    ``sigma_max = lambda_max``, the missing one from ``kappa``; both given must agree with ``kappa``)."""
    kappa = float(kappa)
    if lambda_min is None and lambda_max is None:
        raise InputError("an encoding needs lambda_min or lambda_max to give kappa_eff = alpha/sigma_min")
    lo = float(lambda_min) if lambda_min is not None else float(lambda_max) / kappa  # type: ignore[arg-type]
    hi = float(lambda_max) if lambda_max is not None else float(lambda_min) * kappa  # type: ignore[arg-type]
    if lambda_min is not None and lambda_max is not None and lo > 0 and not math.isclose(hi / lo, kappa, rel_tol=1e-6):
        raise InputError(f"lambda_max/lambda_min = {hi / lo:.6g} does not match kappa {kappa:.6g}")
    return MatrixInfo(n=n, sigma_min=lo, sigma_max=hi, nnz_per_row=nnz_per_row, **known)  # type: ignore[arg-type]


def estimate_for_encoding(info: MatrixInfo, eps: float, preset: str = DEFAULT_PRESET,
                          encoding: str = "dense") -> QLSAResources:
    """Modeled QLSA resources of ``info``'s matrix block-encoded with ``encoding`` (MODELED)."""
    _, eps = validate_kappa_eps(1.0, eps)
    get_preset(preset)
    choice = encoding_choice(encoding, info)
    return _resources_of(choice, eps, preset)


def _resources_of(choice: EncodingChoice, eps: float, preset: str) -> QLSAResources:
    info = choice.info
    return _assemble(
        n=info.n, s=info.nnz_per_row if info.nnz_per_row is not None else info.n, kappa=max(info.kappa, 1.0),
        kappa_eff=choice.kappa_eff, alpha=choice.alpha, eps=eps, preset=preset, encoding=choice.name,
        how=f"{choice.citation}, alpha={choice.alpha:.6g}, kappa_eff=alpha/sigma_min",
        bits_for=lambda q: choice.bits_for(eps, q), counts_for=choice.step_counts,
    )


def qlsa_resources_all_encodings(info: MatrixInfo, eps: float,
                                 preset: str = DEFAULT_PRESET) -> tuple[QLSAResources, ...]:
    """One :class:`QLSAResources` per encoding ``info`` allows (``applicable_encodings`` order); rank them
    with :func:`rank_by_total_gates`.  InputError if no encoding applies."""
    _, eps = validate_kappa_eps(1.0, eps)
    get_preset(preset)
    choices = applicable_encodings(info)
    if not choices:
        raise InputError("no block encoding applies: give nnz_per_row and max_abs_entry (sparse), frobenius_norm "
                         "(dense) or the factor form (factor)")
    return tuple(_resources_of(c, eps, preset) for c in choices)


def logical_counts(res: QLSAResources, *, copies: float = 1.0, include_state_prep: bool = False) -> LogicalCounts:
    """The solve's logical counts as the surface-code models take them (``physical.py``): Toffoli-class gates,
    bare T, rotations, Clifford, measurements, logical qubits; ``sequential_gates`` = the ``gates`` time basis'
    sequential total (for idealized profiles), all times ``copies`` output copies of |x> (tomography). With
    ``include_state_prep`` the preparations of |b> are added as their T-equivalent (T gates), an upper bound of
    their non-Clifford cost."""
    from qlsa_sim.quantum.estimation.physical import LogicalCounts

    prep_t = res.state_prep_t_equivalent * res.state_prep_calls if include_state_prep else 0.0
    prep_gates = res.state_prep_gates * res.state_prep_calls if include_state_prep else 0.0
    return LogicalCounts(toffoli=copies * res.toffoli, t=copies * (res.t_count + prep_t),
                         rotations=copies * res.rotations, clifford=copies * res.clifford,
                         measurements=copies * res.measurements, logical_qubits=max(1, int(res.qubits)),
                         sequential_gates=copies * (res.total_gates + prep_gates))
