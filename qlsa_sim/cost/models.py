"""Cost models of one block solve ``H x = g``: classical (paper Eq. 3) and quantum (paper Eq. 4).

Every figure here is MODELED: a prediction from a formula whose constants were fitted, either
to timings measured on this machine (classical) or to the QLSA resource estimator's counts times
a gate time (quantum; nothing quantum is ever measured here). ``CostEstimate.modeled`` says so.

- Paper Eq. 3 (classical): ``T_c(n) = c1 * n**3 + c2``.
- Paper Eq. 4 (quantum):   ``T_q(n, kappa, d) = q1 * d * kappa * ln(n / eps) + q2`` with eps the
  solution precision; we take the natural logarithm (any other base is absorbed by q1).
- Resource model (beyond the paper): QLSA query count of a named preset (e.g. Jennings et al.
  2023, arXiv:2305.11352, Thm 1) x per-query block-encoding cost -> depth x gate time
  (``qlsa_sim.quantum.estimation.resources`` / ``qlsa_sim.quantum.estimation.timing``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

from qlsa_sim.errors import InputError

if TYPE_CHECKING:
    from qlsa_sim.linalg.features import MatrixFeatures


@dataclass(frozen=True)
class CostEstimate:
    """Predicted seconds of one solver on one block, with its parts and provenance."""

    solver: str
    seconds: float
    model: str
    modeled: bool = True
    components: tuple[tuple[str, float], ...] = field(default=())

    @property
    def is_quantum(self) -> bool:
        return self.solver.startswith("qlsa")


@dataclass(frozen=True)
class ClassicalCubicModel:
    """Paper Eq. 3: ``T = c1 n^3 + c2`` seconds for a dense direct solve (fitted on this machine).

    ``solver`` is "cholesky" (SPD blocks only) or "lu" (any non-singular block; the paper's baseline).
    """

    c1: float
    c2: float
    solver: str = "cholesky"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.c1) and math.isfinite(self.c2)) or self.c1 < 0:
            raise InputError(f"classical constants must be finite with c1 >= 0, got c1={self.c1}, c2={self.c2}")

    def seconds(self, n: float) -> float:
        return self.c1 * float(n) ** 3 + self.c2

    def applies(self, f: MatrixFeatures) -> bool:
        return self.solver != "cholesky" or f.positive_definite

    def estimate(self, f: MatrixFeatures) -> CostEstimate:
        return CostEstimate(self.solver, self.seconds(f.n), "c1*n^3+c2 (paper Eq. 3), fitted to measured timings",
                            components=(("cubic", self.c1 * float(f.n) ** 3), ("overhead", self.c2)))


@dataclass(frozen=True)
class ClassicalFlopModel:
    """``T = a * flops + b`` with flops from ``cost/classical_solvers.py`` (CG, Woodbury), a and b
    fitted to timings measured here. CG applies to SPD blocks (iterations modeled from kappa,
    Shewchuk 1994 Sec. 10, to relative residual ``rtol``); Woodbury to blocks stored as a factor."""

    a: float
    b: float
    solver: str
    rtol: float = 1e-2

    def flops(self, f: MatrixFeatures) -> float:
        from qlsa_sim.cost import classical_solvers as cs

        if self.solver == "cg":
            return cs.cg_flops(f.n, f.nnz, f.kappa, self.rtol)
        if self.solver == "woodbury":
            return cs.woodbury_flops(f.n, f.factor_rank)
        raise InputError(f"no flop model for solver {self.solver!r}")

    def applies(self, f: MatrixFeatures) -> bool:
        if self.solver == "cg":
            return f.positive_definite and math.isfinite(f.kappa)
        return self.solver == "woodbury" and f.factor_rank is not None

    def estimate(self, f: MatrixFeatures) -> CostEstimate:
        fl = self.flops(f)
        return CostEstimate(self.solver, self.a * fl + self.b,
                            f"a*flops+b, flops modeled ({self.solver}), a, b fitted to measured timings",
                            components=(("flops", self.a * fl), ("overhead", self.b)))


def eq4_regressor(n: float, kappa: float, density: float, precision: float) -> float:
    """The variable of paper Eq. 4: ``d * kappa * ln(n / eps)``."""
    if not 0 < precision < 1:
        raise InputError(f"QLSA precision eps must be in (0, 1), got {precision}")
    if kappa < 1:
        raise InputError(f"condition number must be >= 1, got {kappa}")
    if not 0 < density <= 1:
        raise InputError(f"density must be in (0, 1], got {density}")
    return density * kappa * math.log(n / precision)


@dataclass(frozen=True)
class QuantumEq4Model:
    """Paper Eq. 4 with q1, q2 fitted to the resource model (see ``cost.calibrate``)."""

    q1: float
    q2: float
    precision: float
    preset: str
    profile: str

    def seconds(self, n: float, kappa: float, density: float) -> float:
        return self.q1 * eq4_regressor(n, kappa, density, self.precision) + self.q2

    def estimate(self, f: MatrixFeatures) -> CostEstimate:
        x = eq4_regressor(f.n, f.kappa, f.density, self.precision)
        return CostEstimate(f"qlsa:{self.preset}", self.q1 * x + self.q2,
                            f"q1*d*kappa*ln(n/eps)+q2 (paper Eq. 4), fitted to the {self.preset} "
                            f"resource model on profile {self.profile}",
                            components=(("linear", self.q1 * x), ("overhead", self.q2)))


@dataclass(frozen=True)
class QuantumResourceModel:
    """QLSA counts from the resource estimator x gate time of a hardware profile (beyond the paper)."""

    precision: float = 1e-2
    preset: str = "jennings2023_v1"
    profile: str = "attosecond"
    basis: str = "depth"
    include_state_prep: bool = False
    include_readout: bool = False

    def seconds_for(self, n: int, nnz_per_row: int, kappa: float, *, max_abs_entry: float | None = None,
                    lambda_min: float | None = None, lambda_max: float | None = None) -> CostEstimate:
        from qlsa_sim.quantum.estimation.resources import estimate_qlsa_resources
        from qlsa_sim.quantum.estimation.timing import qlsa_time

        res = estimate_qlsa_resources(int(n), int(nnz_per_row), float(kappa), self.precision, self.preset,
                                      max_abs_entry=max_abs_entry, lambda_min=lambda_min, lambda_max=lambda_max)
        t = qlsa_time(res, self.profile, basis=self.basis, include_state_prep=self.include_state_prep,
                      include_readout=self.include_readout)
        parts = ", ".join(name for name, _ in t.components)
        return CostEstimate(f"qlsa:{self.preset}", t.seconds,
                            f"{self.preset} queries x block-encoding {self.basis} x {self.profile} gate time "
                            f"[{parts}]", components=tuple(t.components))

    def estimate(self, f: MatrixFeatures) -> CostEstimate:
        """The block's QLSA time. A QLSA inverts a Hermitian A through its singular values |lambda|
        (Childs, Kothari, Somma 2017, arXiv:1511.02306, Sec. 1: kappa = ||A|| ||A^-1||), so the
        estimator gets sigma_max = max|lambda| and sigma_min = sigma_max / kappa, which for a
        positive definite block are lambda_max and lambda_min, and which also cover indefinite
        blocks (exact transformer Hessians). A non-symmetric block (``f.symmetric`` False, rowwise
        pruning) is encoded as its Hermitian dilation ``[[0, A], [A^T, 0]]`` (Harrow, Hassidim, Lloyd
        2009, arXiv:0811.3171, p. 2): size 2n, the same sigma's and kappa, sparsity max(row, column)."""
        if not math.isfinite(f.kappa):
            return CostEstimate(f"qlsa:{self.preset}", math.inf, "singular block (kappa = inf): no QLSA applies")
        return self.seconds_for(**self.encoded_matrix(f))

    @staticmethod
    def encoded_matrix(f) -> dict:
        """What the estimator is told of the block (see :meth:`estimate`): n (2n for the dilation of a
        non-symmetric block), nonzeros per row, kappa, max|A_ij|, sigma_min and sigma_max."""
        sigma_max = max(abs(f.lambda_min), abs(f.lambda_max))
        return {"n": f.n if getattr(f, "symmetric", True) else 2 * f.n, "nnz_per_row": f.max_nnz_per_row,
                "kappa": f.kappa, "max_abs_entry": f.max_abs_entry, "lambda_min": sigma_max / f.kappa,
                "lambda_max": sigma_max}

    @staticmethod
    def effective_kappa(f) -> float:
        """``kappa_eff = alpha / sigma_min`` of the block's sparse-access encoding (``alpha = s max|A_ij|``),
        the condition number the QLSA's query count sees (:func:`qlsa_sim.quantum.resources.effective_alpha_kappa`)."""
        from qlsa_sim.quantum.estimation.resources import effective_alpha_kappa

        if not math.isfinite(f.kappa):
            return math.inf
        m = QuantumResourceModel.encoded_matrix(f)
        return effective_alpha_kappa(m["n"], m["nnz_per_row"], m["kappa"], max_abs_entry=m["max_abs_entry"],
                                     lambda_min=m["lambda_min"], lambda_max=m["lambda_max"])[1]
