"""Full-scale QLSA resource estimate (MODELED): queries from a preset, gates per query from Qualtran.

``estimate_qlsa_resources`` combines

* the effective condition number of the block-encoded matrix.  A sparse-access block encoding
  encodes ``A / alpha`` with ``alpha = s max|A_ij|`` (Gilyen, Su, Low, Wiebe 2019, arXiv:1806.01838,
  Lemma 48; Childs, Kothari, Somma 2017, arXiv:1511.02306), whose smallest singular value is
  ``lambda_min / alpha``, so the inversion must cover ``kappa_eff = alpha / lambda_min >= kappa``.  When
  ``max_abs_entry`` and ``lambda_min`` (or ``lambda_max``, giving ``lambda_min = lambda_max / kappa``) are
  not given we assume an ideal encoding with ``alpha = ||A||`` so ``kappa_eff = kappa``, and ``method``
  says so;
* the expected number of block-encoding queries of the chosen preset
  (:mod:`qlsa_sim.quantum.estimation.presets`), evaluated at ``kappa_eff``;
* the Clifford+T cost of one query (:class:`qlsa_sim.quantum.counting.QLSAStep`: sparse-access block
  encoding with QROM oracles over the ``n*s`` stored entries, plus one projector-controlled phase),
  counted by Qualtran once per structure ``(ceil(log2 n), s, bits)`` and cached (``functools.lru_cache``):
  the per-query cost does not depend on the matrix values.

Conventions: ``queries`` and the gate counts are expected totals for one output copy of ``|x>``,
repetitions included; ``repetitions = 1/success_probability`` is the expected number of attempts inside
them; ``depth`` is the depth of ONE attempt (``queries/repetitions`` steps in sequence, each bounded by its
gate count, hence ``depth_is_upper_bound``).  Every figure is MODELED.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qlsa_sim.errors import InputError
from qlsa_sim.quantum.estimation.counting import state_prep_counts, step_counts
from qlsa_sim.quantum.estimation.presets import DEFAULT_PRESET, get_preset
from qlsa_sim.quantum.estimation.registers import entry_bits_for, index_bits
from qlsa_sim.quantum.estimation.validation import check_int, validate_kappa_eps


@dataclass(frozen=True)
class QLSAResources:
    """Modeled resources of one QLSA solve (see module docstring for conventions). Hashable."""

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
    entry_bits: int = 0
    state_prep_gates: float = 0.0  # Clifford+T+rotations of one preparation of |b> (MODELED)
    state_prep_depth: float = 0.0  # depth bound of one preparation of |b>
    state_prep_calls: float = 0.0  # expected preparations of |b> per output copy (one per attempt)
    modeled: bool = True

    @property
    def queries_per_attempt(self) -> float:
        return self.queries / self.repetitions

    @property
    def total_gates(self) -> float:
        """Clifford + T + rotations over all repetitions."""
        return self.clifford + self.t_count + self.rotations




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
) -> QLSAResources:
    """Modeled QLSA resources for an ``n x n`` matrix with ``nnz_per_row`` non-zeros per row.

    Raises InputError on n < 1, nnz_per_row outside [1, n], kappa < 1, eps outside (0, 1), or
    inconsistent matrix information; UnknownNameError on an unknown preset.
    """
    n = check_int("n", n, 1)
    s = check_int("nnz_per_row", nnz_per_row, 1)
    if s > n:
        raise InputError(f"nnz_per_row {s} exceeds n {n}")
    kappa, eps = validate_kappa_eps(kappa, eps)
    p = get_preset(preset)
    alpha, kappa_eff, how = effective_alpha_kappa(
        n, s, kappa, max_abs_entry=max_abs_entry, lambda_min=lambda_min, lambda_max=lambda_max
    )
    queries = p.queries(kappa_eff, eps)
    success = p.success_probability(kappa_eff, eps)
    reps = 1.0 / success
    per_attempt = queries / reps
    bits = entry_bits_for(eps, per_attempt)
    nb = index_bits(n)
    step = step_counts(nb, s, bits)
    sp = state_prep_counts(nb, bits)
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
        method=f"analytic preset ({p.kind}) + qualtran-cached sparse-access step (b={bits}); {how}",
        entry_bits=bits,
        state_prep_gates=sp.depth_bound,
        state_prep_depth=sp.depth_bound,
        state_prep_calls=reps,
    )
