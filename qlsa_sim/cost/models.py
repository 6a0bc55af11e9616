"""Cost models of one block solve ``H x = g``: classical (paper Eq. 3, flop models) and quantum (paper Eq. 4,
the resource estimator). Every figure here is MODELED and ``CostEstimate.modeled`` says so.

- Paper Eq. 3 (classical): ``T_c(n) = c1 * n**3 + c2`` (dense direct solve; constants fitted to timings
  measured on this machine, ``cost/calibrate.py``).
- Flop models (CG, Woodbury): ``T = sum over kernels of max(a * flops, traffic / B) + b`` with flops and bytes
  from ``cost/classical_solvers.py`` (the memory term, a roofline, only where a kernel's operand is out of cache).
- Paper Eq. 4 (quantum): ``T_q(n, kappa, d) = q1 * d * kappa * ln(n / eps) + q2`` with eps the solution
  precision; we take the natural logarithm (any other base is absorbed by q1).
- Resource model (beyond the paper): QLSA query count of a named preset (e.g. Jennings et al. 2023,
  arXiv:2305.11352, Thm 1) x per-query block-encoding cost -> gate counts x gate time
  (``quantum/estimation/resources.py``, ``quantum/estimation/timing.py``).

Quantum seconds have ONE path: a quantum model's :meth:`estimate` of a block's :class:`MatrixFeatures`.
Replay, live training, ``estimate``, sweeps and crossover maps all call it; grids go through
:func:`grid_features` (a hypothetical block of given n, kappa, density) and :func:`seconds_fn`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from qlsa_sim.core.names import QuantumModel, Solver
from qlsa_sim.cost import classical_solvers as cs
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg.features import MatrixFeatures
from qlsa_sim.quantum.estimation.encodings import ENCODINGS, MatrixInfo
from qlsa_sim.quantum.estimation.hardware import HardwareProfile, get_profile
from qlsa_sim.quantum.estimation.physical import physical_estimate
from qlsa_sim.quantum.estimation.physical_profiles import surface_code_profile_names
from qlsa_sim.quantum.estimation.resources import (
    QLSAResources,
    effective_alpha_kappa,
    estimate_for_encoding,
    estimate_qlsa_resources,
    logical_counts,
    qlsa_resources_all_encodings,
)
from qlsa_sim.quantum.estimation.timing import QuantumTime, canonical_basis, qlsa_time, tomography_copies

SecondsFn = Callable[[int, float, float], float]


@dataclass(frozen=True)
class CostEstimate:
    """Predicted seconds of one solver on one block, with its parts and provenance (always MODELED).

    ``resources``: the QLSA's counted resources behind a quantum estimate of the resource model."""

    solver: str
    seconds: float
    model: str
    modeled: bool = True
    components: tuple[tuple[str, float], ...] = field(default=())
    resources: QLSAResources | None = field(default=None, compare=False, repr=False)

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
    solver: str = Solver.CHOLESKY

    def __post_init__(self) -> None:
        if not (math.isfinite(self.c1) and math.isfinite(self.c2)) or self.c1 < 0 or self.c2 < 0:
            raise InputError(f"Eq. 3 constants must be finite and >= 0, got c1={self.c1}, c2={self.c2}")
        if self.solver not in (Solver.CHOLESKY, Solver.LU):
            raise InputError(f"paper Eq. 3 models a dense direct solve (cholesky, lu), not {self.solver!r}")
        object.__setattr__(self, "solver", str(Solver(self.solver).value))

    def seconds(self, n: float) -> float:
        return self.c1 * float(n) ** 3 + self.c2

    def applies(self, f: MatrixFeatures) -> bool:
        return self.solver != Solver.CHOLESKY or f.positive_definite

    def estimate(self, f: MatrixFeatures) -> CostEstimate:
        return CostEstimate(self.solver, self.seconds(f.n), "c1*n^3+c2 (paper Eq. 3), fitted to measured timings",
                            components=(("cubic", self.c1 * float(f.n) ** 3), ("overhead", self.c2)))


@dataclass(frozen=True)
class ClassicalFlopModel:
    """``T = sum over kernels of max(a * flops, traffic / B) + b`` (CG, Woodbury) with flops and memory traffic
    from ``cost/classical_solvers.py``, a and b fitted to timings measured here. CG applies to SPD blocks
    (iterations modeled from kappa, Shewchuk 1994 Sec. 10, to relative residual ``rtol``; matrix-free on a block
    stored as a factor); Woodbury to blocks stored as a factor.

    The memory term is a roofline (Williams, Waterman & Patterson, CACM 52(4), 2009): ``a`` is fitted at sizes
    whose operand stays in cache, so once a kernel's working set exceeds ``cache_bytes`` its time is at least
    the bytes it streams over the memory bandwidth ``bandwidth_Bps`` (both MEASURED by the calibrator with a
    GEMV ladder, ``cost/calibrate.py::measure_memory``). Without them (profiles written before the term
    existed) the model is ``a * flops + b``, optimistic wherever the operand is out of cache: a dense CG
    iteration at n = 12560 streams 1.26 GB."""

    a: float
    b: float
    solver: str
    rtol: float = 1e-2
    bandwidth_Bps: float | None = None
    cache_bytes: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.a) and math.isfinite(self.b)) or self.a < 0 or self.b < 0:
            raise InputError(f"flop-model constants must be finite and >= 0, got a={self.a}, b={self.b}")
        if self.solver not in (Solver.CG, Solver.WOODBURY):
            raise InputError(f"no flop model for solver {self.solver!r} (known: cg, woodbury)")
        object.__setattr__(self, "solver", str(Solver(self.solver).value))
        if not 0 < self.rtol < 1:
            raise InputError(f"CG tolerance rtol must be in (0, 1), got {self.rtol}")
        if (self.bandwidth_Bps is None) != (self.cache_bytes is None):
            raise InputError("the memory term needs both bandwidth_Bps and cache_bytes (or neither)")
        if self.bandwidth_Bps is not None and not (math.isfinite(self.bandwidth_Bps) and self.bandwidth_Bps > 0
                                                   and math.isfinite(self.cache_bytes) and self.cache_bytes >= 0):
            raise InputError(f"memory bandwidth must be finite and > 0 and cache bytes finite and >= 0, got "
                             f"{self.bandwidth_Bps}, {self.cache_bytes}")

    def with_memory(self, bandwidth_Bps: float | None, cache_bytes: float | None) -> ClassicalFlopModel:
        """This model with the roofline's memory term (None, None: without it)."""
        return replace(self, bandwidth_Bps=bandwidth_Bps, cache_bytes=cache_bytes)

    def phases(self, f: MatrixFeatures) -> tuple[cs.Phase, ...]:
        """The solve's kernels with their modeled flops and bytes (``cost/classical_solvers.py``); Woodbury's without
        the Gram when the features computed it (``gram_seconds`` > 0: the solve reuses it, and the scheduler's
        MEASURED time already holds it, whichever side wins)."""
        if self.solver == Solver.CG:
            return cs.cg_phases(f.n, f.nnz, f.kappa, self.rtol, factor_rank=f.factor_rank)
        return cs.woodbury_phases(f.n, f.factor_rank, gram_given=f.gram_seconds > 0)

    def flops(self, f: MatrixFeatures) -> float:
        return sum(p.flops for p in self.phases(f))

    def applies(self, f: MatrixFeatures) -> bool:
        if self.solver == Solver.CG:
            return f.positive_definite and math.isfinite(f.kappa)
        return f.factor_rank is not None

    def estimate(self, f: MatrixFeatures) -> CostEstimate:
        """Each kernel at its roofline, max(a flops, traffic / B) (traffic counted once its working set exceeds the
        cache), summed, plus b; without the memory term, a * flops + b."""
        compute = memory = total = 0.0
        for p in self.phases(f):
            c = self.a * p.flops
            m = (p.traffic / self.bandwidth_Bps if self.bandwidth_Bps is not None and p.working_set > self.cache_bytes
                 else 0.0)
            compute, memory, total = compute + c, memory + m, total + max(c, m)
        how = ("sum over kernels of max(a*flops, bytes/B), + b (roofline, Williams et al. 2009)"
               if self.bandwidth_Bps is not None else "a*flops+b")
        return CostEstimate(self.solver, total + self.b,
                            f"{how}, flops modeled ({self.solver}), a, b fitted to measured timings",
                            components=(("flops", compute), ("memory", memory), ("overhead", self.b)))


ClassicalModel = ClassicalCubicModel | ClassicalFlopModel


def eq4_regressor(n: float, kappa: float, density: float, precision: float) -> float:
    """The variable of paper Eq. 4: ``d * kappa * ln(n / eps)``."""
    if not 0 < precision < 1:
        raise InputError(f"QLSA precision eps must be in (0, 1), got {precision}")
    if not kappa >= 1:
        raise InputError(f"condition number must be >= 1, got {kappa}")
    if not 0 < density <= 1:
        raise InputError(f"density must be in (0, 1], got {density}")
    return density * kappa * math.log(n / precision)


class QuantumCostModel(Protocol):
    """What the scheduler needs of a quantum cost model: its precision and a block's estimate."""

    precision: float

    def estimate(self, f: MatrixFeatures) -> CostEstimate: ...

    def describe(self) -> str: ...


def _singular(solver: str) -> CostEstimate:
    return CostEstimate(solver, math.inf, "singular block (kappa = inf): no QLSA applies")


@dataclass(frozen=True)
class QuantumEq4Model:
    """Paper Eq. 4 with q1, q2 fitted to the resource model (see ``cost/calibrate.py``)."""

    q1: float
    q2: float
    precision: float
    preset: str
    hardware: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.q1) and math.isfinite(self.q2)) or self.q1 < 0 or self.q2 < 0:
            raise InputError(f"Eq. 4 constants must be finite and >= 0, got q1={self.q1}, q2={self.q2}")
        if not 0 < self.precision < 1:
            raise InputError(f"QLSA precision eps must be in (0, 1), got {self.precision}")

    @property
    def solver(self) -> str:
        return f"qlsa:{self.preset}"

    def seconds(self, n: float, kappa: float, density: float) -> float:
        return self.q1 * eq4_regressor(n, kappa, density, self.precision) + self.q2

    def estimate(self, f: MatrixFeatures) -> CostEstimate:
        if not math.isfinite(f.kappa):
            return _singular(self.solver)
        x = eq4_regressor(f.n, f.kappa, f.density, self.precision)
        return CostEstimate(self.solver, self.q1 * x + self.q2,
                            f"q1*d*kappa*ln(n/eps)+q2 (paper Eq. 4), fitted to the {self.preset} resource model on "
                            f"hardware {self.hardware}", components=(("linear", self.q1 * x), ("overhead", self.q2)))

    def describe(self) -> str:
        return (f"paper Eq. 4 (q1 d kappa ln(n/eps) + q2, q1={self.q1:.3g}, q2={self.q2:.3g}) fitted to preset "
                f"{self.preset} on hardware {self.hardware}, eps={self.precision:g}")


#: How the resource model picks the block encoding: the cheapest applicable one, or a named one.
ENCODING_CHOICES = ("cheapest", *ENCODINGS)


@dataclass(frozen=True)
class QuantumResourceModel:
    """QLSA counts from the resource estimator x gate time of a hardware profile (beyond the paper).

    ``encoding``: "cheapest" (default) evaluates every block encoding the block's features allow (sparse
    access, alpha = s max|A_ij|; dense data, alpha = ||A||_F; the stored factor's form, alpha = scale
    ||M||_F^2 + eps; ``quantum/estimation/encodings.py``) and keeps the one with the fewest modeled seconds,
    as the classical side keeps its cheapest solver; or one of them by name. ``basis``: "gates" (every gate
    in sequence) or "non-clifford" (Cliffords free; ``quantum/estimation/timing.py``)."""

    precision: float = 1e-2
    preset: str = "jennings2023_v1"
    hardware: str = "attosecond"
    basis: str = "gates"
    include_state_prep: bool = False
    include_readout: bool = False
    encoding: str = "cheapest"
    gate_time_s: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.precision < 1:
            raise InputError(f"QLSA precision eps must be in (0, 1), got {self.precision}")
        if self.gate_time_s is not None and not (math.isfinite(self.gate_time_s) and self.gate_time_s > 0):
            raise InputError(f"a gate time must be finite and > 0 s, got {self.gate_time_s}")
        object.__setattr__(self, "basis", canonical_basis(self.basis))
        if self.encoding not in ENCODING_CHOICES:
            raise UnknownNameError("block encoding", str(self.encoding), ENCODING_CHOICES)

    @property
    def solver(self) -> str:
        return f"qlsa:{self.preset}"

    def candidates(self, f: MatrixFeatures) -> tuple[QLSAResources, ...]:
        """The QLSA resources of every encoding this model weighs for the block (one when it is named). A block
        whose entries are unknown (a grid point: n, kappa, density) gets the ideal encoding, alpha = ||A||, the
        lower bound of every encoding's alpha, with sparse-access gates per query (``encoding`` "ideal")."""
        info = matrix_info(f)
        if info is None:  # sparse-access gates per query, ideal alpha = ||A|| (the lower bound of every alpha)
            m = encoded_matrix(f)
            res = estimate_qlsa_resources(m["n"], m["nnz_per_row"], f.kappa, self.precision, self.preset)
            return (replace(res, encoding="ideal"),)
        if self.encoding == "cheapest":
            return qlsa_resources_all_encodings(info, self.precision, self.preset)
        return (estimate_for_encoding(info, self.precision, self.preset, self.encoding),)

    def estimate(self, f: MatrixFeatures) -> CostEstimate:
        """The block's QLSA time under its cheapest encoding (or the named one). A QLSA inverts a Hermitian
        A through its singular values |lambda| (Childs, Kothari, Somma 2017, arXiv:1511.02306, Sec. 1:
        kappa = ||A|| ||A^-1||), so the estimator gets sigma_max = max|lambda| and sigma_min = sigma_max /
        kappa, which for a positive definite block are lambda_max and lambda_min, and which also cover
        indefinite blocks (exact transformer Hessians). A non-symmetric block (``f.symmetric`` False, rowwise
        pruning) is encoded as its Hermitian dilation ``[[0, A], [A^T, 0]]`` (Harrow, Hassidim, Lloyd 2009,
        arXiv:0811.3171, p. 2): size 2n, the same sigma's and kappa, sparsity max(row, column), Frobenius
        norm sqrt(2) ||A||_F."""
        if not math.isfinite(f.kappa):
            return _singular(self.solver)
        timed = [(self.time(r), r) for r in self.candidates(f)]
        t, res = min(timed, key=lambda tr: tr[0].seconds)
        parts = ", ".join(name for name, _ in t.components)
        how = "cheapest of " + "/".join(r.encoding for _, r in timed) if len(timed) > 1 else res.encoding
        sigma_max = max(abs(f.lambda_min), abs(f.lambda_max))
        ratio = res.alpha / sigma_max if sigma_max > 0 and res.encoding != "ideal" else 1.0
        machine = (f"the surface code of physical profile {self.hardware} ({t.basis})" if self.on_surface_code
                   else f"{self.hardware} gate time, {self.basis} basis")
        return CostEstimate(self.solver, t.seconds,
                            f"{self.preset} queries x {res.encoding} block-encoding gates ({how}, alpha/||A|| = "
                            f"{ratio:.3g}) on {machine} [{parts}]", components=tuple(t.components), resources=res)

    @property
    def on_surface_code(self) -> bool:
        """Whether ``hardware`` names a surface-code machine (time from Qualtran's physical models)."""
        return self.gate_time_s is None and self.hardware in surface_code_profile_names()

    @property
    def hardware_label(self) -> str:
        """The hardware's name, or ``gate-time-<t>s`` for a given gate time."""
        return f"gate-time-{self.gate_time_s:g}s" if self.gate_time_s is not None else self.hardware

    @property
    def gate_time(self) -> float:
        """Seconds per logical gate (layer) of a gate-time profile (NaN on a surface-code profile)."""
        if self.gate_time_s is not None:
            return self.gate_time_s
        return math.nan if self.on_surface_code else get_profile(self.hardware).gate_time_s

    def time(self, res: QLSAResources) -> QuantumTime:
        """Modeled seconds of the solve ``res`` on ``hardware``: logical gates x gate time for a gate-time profile
        (``quantum/estimation/timing.py``), or the surface-code wall time of Qualtran's models for a physical
        profile (``quantum/estimation/physical.py``; infeasible = inf seconds, the reason in ``basis``). Readout
        repeats the solve ``36 n ln n / delta^2`` times (Kerenidis & Prakash, arXiv:1808.09266, Thm 4.3)."""
        if not self.on_surface_code:
            hw = (HardwareProfile(self.hardware_label, self.gate_time_s, "a gate time given by the user", "user-given")
                  if self.gate_time_s is not None else self.hardware)
            return qlsa_time(res, hw, basis=self.basis, include_state_prep=self.include_state_prep,
                             include_readout=self.include_readout)
        phys = physical_estimate(logical_counts(res, include_state_prep=self.include_state_prep), self.hardware)
        if not phys.feasible:
            return QuantumTime(math.inf, (("qlsa", math.inf),), f"infeasible: {phys.reason}", self.hardware)
        comps = [("qlsa", float(phys.wall_time_s))]
        if self.include_readout:
            comps.append(("readout", (tomography_copies(res.n, 1e-2) - 1.0) * comps[0][1]))
        return QuantumTime(float(sum(v for _, v in comps)), tuple(comps),
                           f"surface code: {phys.physical_qubits} physical qubits, d = {phys.code_distance}",
                           self.hardware)

    def describe(self) -> str:
        enc = "the cheapest block encoding" if self.encoding == "cheapest" else f"the {self.encoding} encoding"
        return (f"the resource estimator (preset {self.preset}, {enc}, hardware {self.hardware}, {self.basis} "
                f"basis, eps={self.precision:g}{', readout included' if self.include_readout else ''})")


def encoded_matrix(f: MatrixFeatures) -> dict:
    """What the estimator is told of the block (see :meth:`QuantumResourceModel.estimate`): n (2n for the
    dilation of a non-symmetric block), nonzeros per row, kappa, max|A_ij|, sigma_min and sigma_max (the
    last three None when the entries are unknown)."""
    sigma_max = max(abs(f.lambda_min), abs(f.lambda_max))
    known = math.isfinite(f.max_abs_entry) and f.max_abs_entry > 0 and sigma_max > 0
    return {"n": f.n if f.symmetric else 2 * f.n, "nnz_per_row": f.max_nnz_per_row, "kappa": f.kappa,
            "max_abs_entry": f.max_abs_entry if known else None,
            "lambda_min": sigma_max / f.kappa if known else None, "lambda_max": sigma_max if known else None}


def matrix_info(f: MatrixFeatures) -> MatrixInfo | None:
    """The block as the encodings see it (``quantum/estimation/encodings.py``); None when its entries are
    unknown (a grid point). The factor form applies to an unpruned symmetric block stored as a factor."""
    m = encoded_matrix(f)
    if m["max_abs_entry"] is None:
        return None
    fro = f.frobenius_norm * (1.0 if f.symmetric else math.sqrt(2.0))
    factor = {}
    if f.symmetric and f.factor_rank is not None and f.factor_frobenius_sq and f.factor_scale:
        factor = {"factor_rank": f.factor_rank, "factor_frobenius_sq": f.factor_frobenius_sq,
                  "factor_scale": f.factor_scale, "shift": f.reg_eps}
    return MatrixInfo(n=m["n"], sigma_min=m["lambda_min"], sigma_max=m["lambda_max"], nnz_per_row=m["nnz_per_row"],
                      max_abs_entry=m["max_abs_entry"], frobenius_norm=fro if math.isfinite(fro) and fro > 0 else None,
                      **factor)


def effective_kappa(f: MatrixFeatures) -> float:
    """``kappa_eff = alpha / sigma_min`` of the block's sparse-access encoding (``alpha = s max|A_ij|``),
    the condition number the QLSA's query count sees (``quantum/estimation/resources.py``)."""
    if not math.isfinite(f.kappa):
        return math.inf
    m = encoded_matrix(f)
    return effective_alpha_kappa(m["n"], m["nnz_per_row"], m["kappa"], max_abs_entry=m["max_abs_entry"],
                                 lambda_min=m["lambda_min"], lambda_max=m["lambda_max"])[1]


def quantum_model(kind: str, eq4: QuantumEq4Model, resources: QuantumResourceModel) -> QuantumCostModel:
    """The model of ``kind`` ("eq4" or "resources")."""
    return eq4 if QuantumModel(kind) == QuantumModel.EQ4 else resources


def grid_features(n: int, kappa: float, density: float, factor_rank: int | None = None) -> MatrixFeatures:
    """Features of a hypothetical SPD block (lambda_max = 1, entries unknown) for cost models on a grid."""
    n = int(n)
    return MatrixFeatures(n=n, nnz=int(round(density * n * n)), density=float(density), density_tol=0.0,
                          max_nnz_per_row=max(1, min(n, int(math.ceil(density * n)))), max_abs_entry=math.nan,
                          reg_eps=0.0, kappa=float(kappa), lambda_min=1.0 / float(kappa), lambda_max=1.0,
                          kappa_method="grid", kappa_exact=True, positive_definite=True, kappa_seconds=0.0,
                          seconds=0.0, factor_rank=factor_rank)


def seconds_fn(model, factor_rank: int | None = None) -> SecondsFn:
    """``(n, kappa, density) -> modeled seconds`` of any cost model on :func:`grid_features` (the one grid path)."""
    return lambda n, k, d: model.estimate(grid_features(n, k, d, factor_rank)).seconds
