"""One block's scheduling decision, the same for offline replay and live training.

:func:`decide_block` takes a curvature block as stored (dense, or a factor M with H = scale M M^T), the
policy and the calibration profile, and returns the matrix actually solved, ``A = prune(H + eps I)``, and a
frozen :class:`BlockDecision`: the block's features (``linalg/features.py``), every cost estimate that
applies (each calibrated classical solver, and the QLSA under the policy's quantum model;
``cost/models.py``), and the cheapest estimate the policy allows. ``schedule/replay.py`` and
``train/hybrid_newton.py`` both call it, so live training decides exactly as an offline replay of its
trace (tested).

Every table of decisions is built from :meth:`BlockDecision.to_row` (one vocabulary: ``*_modeled_s`` are
MODELED seconds, ``*_measured_s`` MEASURED ones), and every speedup or solve table from
:func:`strategy_totals` over such rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qlsa_sim.core.names import Mode, QuantumModel, Solver, parse
from qlsa_sim.cost.models import CostEstimate
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.errors import InputError
from qlsa_sim.linalg.features import FeatureConfig, MatrixFeatures, PreparedBlock, prepare
from qlsa_sim.linalg.solvers import lu_solve, solve_with


@dataclass(frozen=True)
class SchedulePolicy:
    """What the scheduler may choose and how it prices the QLSA.

    ``features``: damping, pruning and the kappa method (``linalg/features.py``). ``quantum_model``:
    "eq4" (paper Eq. 4 as fitted) or "resources" (the resource estimator). ``mode``: "hybrid" (cheapest
    of all), "classical" (cheapest classical solver), "quantum" (the QLSA). ``classical_solvers``: the
    classical solvers the scheduler may pick, e.g. ("lu",) for the paper's dense-LU baseline (None: every
    solver the profile calibrates)."""

    features: FeatureConfig = FeatureConfig()
    quantum_model: str = QuantumModel.EQ4
    mode: str = Mode.HYBRID
    classical_solvers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantum_model", parse(QuantumModel, self.quantum_model, "quantum model"))
        object.__setattr__(self, "mode", parse(Mode, self.mode, "scheduling mode"))
        if self.classical_solvers is not None:
            if not self.classical_solvers:
                raise InputError("classical_solvers must name at least one solver (or be None)")
            object.__setattr__(self, "classical_solvers",
                               tuple(parse(Solver, s, "classical solver") for s in self.classical_solvers))

    def allows(self, e: CostEstimate) -> bool:
        if e.is_quantum:
            return self.mode != Mode.CLASSICAL
        return self.mode != Mode.QUANTUM and (self.classical_solvers is None or e.solver in self.classical_solvers)


def block_estimates(features: MatrixFeatures, profile: CalibrationProfile, quantum_model: str) -> list[CostEstimate]:
    """Estimates of every calibrated classical solver that applies to the block, and of the QLSA."""
    classical = [m.estimate(features) for m in profile.classical_models if m.applies(features)]
    return classical + [profile.quantum_model(quantum_model).estimate(features)]


def cheapest(estimates: Sequence[CostEstimate]) -> CostEstimate:
    """Cheapest estimate; ties go to the classical solver (it needs no quantum hardware)."""
    if not estimates:
        raise InputError("no cost estimates to choose from")
    return min(estimates, key=lambda e: (e.seconds, e.is_quantum))


@dataclass(frozen=True)
class BlockDecision:
    """The scheduler's choice for one block of one step, with the features and every estimate it compared.

    ``scheduling_measured_s``: MEASURED seconds of taking the features, the estimates and the choice (the
    scheduler's own overhead). Every estimate is MODELED."""

    id: str
    run: str
    step: int
    block: str
    features: MatrixFeatures
    estimates: tuple[CostEstimate, ...]
    chosen: CostEstimate
    policy: SchedulePolicy
    calibrated: tuple[str, ...]
    profile: str = ""
    scheduling_measured_s: float = 0.0

    @property
    def classical(self) -> tuple[CostEstimate, ...]:
        return tuple(e for e in self.estimates if not e.is_quantum)

    @property
    def best_classical(self) -> CostEstimate | None:
        return cheapest(self.classical) if self.classical else None

    @property
    def quantum(self) -> CostEstimate:
        return next(e for e in self.estimates if e.is_quantum)

    def modeled_s(self, solver: str) -> float:
        """MODELED seconds of ``solver`` on this block (NaN where it does not apply)."""
        return next((float(e.seconds) for e in self.estimates if e.solver == solver), math.nan)

    def to_row(self) -> dict:
        """The decision as one flat row (the vocabulary of every decisions table)."""
        f, q, best = self.features, self.quantum, self.best_classical
        best_s = float(best.seconds) if best is not None else math.nan
        lu_s = self.modeled_s(Solver.LU)
        row = {"id": self.id, "run": self.run, "step": int(self.step), "block": self.block,
               **{k: getattr(f, k) for k in FEATURE_COLUMNS},
               "max_nnz_per_row_lower": (f.max_nnz_per_row if f.max_nnz_per_row_lower is None
                                         else f.max_nnz_per_row_lower),
               "features_measured_s": f.seconds, "kappa_measured_s": f.kappa_seconds, "gram_measured_s": f.gram_seconds,
               "scheduling_measured_s": self.scheduling_measured_s}
        row.update({f"{s}_modeled_s": self.modeled_s(s) for s in self.calibrated})
        row.update(quantum_solver=q.solver, quantum_modeled_s=float(q.seconds),
                   quantum_model=str(self.policy.quantum_model), **_quantum_details(q),
                   best_classical=best.solver if best is not None else "", best_classical_modeled_s=best_s,
                   hybrid_modeled_s=float(min(q.seconds, best_s)) if best is not None else float(q.seconds),
                   hybrid_is_quantum=bool(best is None or q.seconds < best_s),
                   paper_hybrid_modeled_s=float(min(lu_s, q.seconds)) if math.isfinite(lu_s) else math.nan,
                   paper_hybrid_is_quantum=bool(math.isfinite(lu_s) and q.seconds < lu_s),
                   chosen=self.chosen.solver, chosen_is_quantum=self.chosen.is_quantum,
                   chosen_modeled_s=float(self.chosen.seconds), mode=str(self.policy.mode),
                   quantum_over_best_classical=float(q.seconds) / best_s if best_s > 0 else math.nan,
                   profile=self.profile)
        return row


#: Feature columns of a decision row (``MatrixFeatures`` fields, without its timings).
FEATURE_COLUMNS = ("n", "nnz", "density", "density_tol", "max_nnz_per_row", "max_abs_entry", "reg_eps", "kappa",
                   "lambda_min", "lambda_max", "kappa_method", "kappa_exact", "positive_definite", "symmetric",
                   "factor_rank", "frobenius_norm", "factor_frobenius_sq", "factor_scale", "density_method",
                   "density_error")


def features_from_row(row: dict) -> MatrixFeatures:
    """The block's features back from a decision row (``FEATURE_COLUMNS``; e.g. to price it again)."""
    def opt(v, cast):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else cast(v)

    kw = {k: row[k] for k in FEATURE_COLUMNS if k in row}
    kw.update(factor_rank=opt(kw["factor_rank"], int), factor_frobenius_sq=opt(kw["factor_frobenius_sq"], float),
              factor_scale=opt(kw["factor_scale"], float), n=int(kw["n"]), nnz=int(kw["nnz"]),
              max_nnz_per_row=int(kw["max_nnz_per_row"]), kappa_exact=bool(kw["kappa_exact"]),
              positive_definite=bool(kw["positive_definite"]), symmetric=bool(kw["symmetric"]),
              max_nnz_per_row_lower=opt(row.get("max_nnz_per_row_lower"), int))
    return MatrixFeatures(**kw, kappa_seconds=float(row.get("kappa_measured_s", 0.0)),
                          seconds=float(row.get("features_measured_s", 0.0)),
                          gram_seconds=float(row.get("gram_measured_s", 0.0)))


#: Counts of the QLSA's chosen encoding in a decision row (``quantum_<key>``; MODELED): Toffoli-class gates,
#: bare T gates (Toffolis excluded), rotations, Clifford gates and their T-equivalent total, logical qubits.
QUANTUM_COUNTS = ("kappa_eff", "alpha", "queries", "toffoli", "t_count", "rotations", "clifford", "measurements",
                  "t_equivalent", "logical_qubits")


def _quantum_details(q: CostEstimate) -> dict:
    """The encoding and counts behind a resource-model estimate (MODELED); NaN under paper Eq. 4 (no counts)."""
    r = q.resources
    out = {"quantum_encoding": r.encoding if r is not None else ""}
    out.update({f"quantum_{k}": (float(getattr(r, k)) if r is not None else math.nan) for k in QUANTUM_COUNTS})
    return out


@dataclass(frozen=True, eq=False)
class ScheduledBlock:
    """A decision and the block it is about (:class:`~qlsa_sim.linalg.features.PreparedBlock`): :attr:`matrix`,
    ``A = prune(H + eps I)`` (what a solver solves; for a block whose features came from its factor, built on first
    use), the factor (H = scale M M^T) when the block was stored as one, and its Gram ``M^T M`` when the features
    computed it (a Woodbury solve reuses it)."""

    decision: BlockDecision
    prepared: PreparedBlock = field(repr=False)

    @property
    def matrix(self) -> np.ndarray:
        return self.prepared.matrix

    @property
    def factor(self) -> np.ndarray | None:
        return self.prepared.factor

    @property
    def scale(self) -> float:
        return self.prepared.scale

    @property
    def gram(self) -> np.ndarray | None:
        return self.prepared.gram


def decide_block(H: np.ndarray | None, policy: SchedulePolicy, profile: CalibrationProfile, *, run: str, step: int,
                 block: str, id: str, factor: np.ndarray | None = None, scale: float = 1.0,
                 name: str | None = None) -> ScheduledBlock:
    """Features of ``H`` as solved, every estimate, and the cheapest one the policy allows (module docstring).

    ``H`` may be None for a block given by its ``factor`` (H = scale M M^T): the dense matrix is then built only
    if the features or a solver need it. ``name`` is how errors refer to the block (e.g. the snapshot file and
    block). InputError if no solver the policy allows applies (e.g. mode "classical" with only Cholesky on an
    indefinite block)."""
    t0 = time.perf_counter()
    prep = prepare(H, policy.features, name=name or f"step {step} block {block!r}", factor=factor, factor_scale=scale)
    f = prep.features
    ests = tuple(block_estimates(f, profile, policy.quantum_model))
    allowed = [e for e in ests if policy.allows(e)]
    if not allowed:
        raise InputError(f"{name or block}: no {policy.mode} solver in profile {profile.path!r} applies "
                         f"(positive definite: {f.positive_definite})")
    d = BlockDecision(id=id, run=run, step=int(step), block=block, features=f, estimates=ests,
                      chosen=cheapest(allowed), policy=policy,
                      calibrated=tuple(m.solver for m in profile.classical_models), profile=profile.path,
                      scheduling_measured_s=time.perf_counter() - t0)
    return ScheduledBlock(d, prep)


def classical_solve(sb: ScheduledBlock, solver: str, g: np.ndarray, profile: CalibrationProfile
                    ) -> tuple[np.ndarray, float, str]:
    """Solve the block ``A x = g`` by the named classical solver, timed: ``(x, MEASURED seconds, fallback)``.
    Woodbury and CG on a block stored as a factor run on the factor (Woodbury reusing the features' Gram, CG
    matrix-free to the profile's CG tolerance); the dense solvers on the block's matrix (Cholesky on its lower
    triangle), whose building from a factor is timed with them unless built before. A Cholesky that fails on a
    borderline positive definite block falls back to LU (fallback "lu"; the failed attempt's time is counted). The
    one place live training and replay solve a block."""
    f = sb.decision.features
    rtol = profile.classical_model(Solver.CG).rtol if solver == Solver.CG else 1e-2
    on_factor = sb.factor is not None and solver in (Solver.WOODBURY, Solver.CG)
    fallback = ""
    t0 = time.perf_counter()
    A = None if on_factor else sb.prepared.lower_matrix() if solver == Solver.CHOLESKY else sb.matrix
    try:
        x = solve_with(solver, A, g, factor=sb.factor, scale=sb.scale, eps=f.reg_eps, rtol=rtol, gram=sb.gram)
    except InputError:
        if solver != Solver.CHOLESKY:
            raise
        fallback = "lu"
        x = lu_solve(sb.matrix, g)  # the whole matrix (mirrors the lower triangle if only that was built)
    return x, time.perf_counter() - t0, fallback


# ------------------------------------------------------------------------------------------ totals
#: Strategies of every speedup / solve table: name -> (seconds column, quantum-fraction column or None).
SOLVE_STRATEGIES = {
    "classical-only (dense LU; paper Eq. 3)": ("lu_modeled_s", None),
    "classical-only (best classical solver)": ("best_classical_modeled_s", None),
    "quantum-only (QLSA)": ("quantum_modeled_s", "all"),
    "Q-Newton hybrid (QLSA vs dense LU; the paper's scheduler)": ("paper_hybrid_modeled_s", "paper_hybrid_is_quantum"),
    "Q-Newton hybrid (QLSA vs best classical)": ("hybrid_modeled_s", "hybrid_is_quantum"),
}
OVERHEAD = "scheduler overhead (features, estimates, choice; MEASURED here)"
WITH_OVERHEAD = "Q-Newton hybrid (QLSA vs best classical) + scheduler overhead"
#: The best classical solver per block needs the same features to choose (CG's cost depends on kappa), and its
#: Woodbury solve reuses their Gram, so it is charged the same MEASURED overhead.
CLASSICAL_WITH_OVERHEAD = "classical-only (best classical solver) + scheduler overhead"
MEASURED_SOLVE = "classical-only (direct solve, MEASURED here)"
MEASURED_BEST = "classical-only (best classical solver, MEASURED here)"


def strategy_totals(rows: pd.DataFrame, *, step_keys: Sequence[str] = ("step",), overhead: bool = False,
                    measured: bool = False) -> pd.DataFrame:
    """Per strategy: steps, seconds per step, total, speedups against dense LU and the best classical solver,
    and the QLSA's share of blocks (paper Table 1 analogue), from decision rows (:meth:`BlockDecision.to_row`).

    A step's time is the sum over its blocks; ``step_keys`` say what a step is (e.g. ("seed", "step")).
    Strategies whose column is absent or all NaN are left out. ``overhead`` adds the best classical solver and the
    hybrid each with the scheduler's MEASURED overhead charged (the hybrid's speedup against the best classical
    then taken with both charged: both choose per block from the same features), and the overhead itself;
    ``measured`` the MEASURED direct solves (column ``solve_measured_s``) and best classical solves
    (``best_classical_solve_measured_s``). Every other figure is MODELED (``modeled`` column)."""
    if rows is None or rows.empty:
        raise InputError("no decisions to summarize (empty trace?)")
    steps = rows.groupby(list(step_keys)).ngroups
    totals: list[tuple[str, float, float, bool]] = []
    for name, (col, qcol) in SOLVE_STRATEGIES.items():
        if col in rows and rows[col].notna().any():
            qf = 1.0 if qcol == "all" else (float(rows[qcol].mean()) if qcol else 0.0)
            totals.append((name, float(rows[col].sum()), qf, True))
    by = {name: t for name, t, _, _ in totals}
    if overhead:
        oh = float(rows["scheduling_measured_s"].sum())
        hy = next(t for t in totals if t[0].startswith("Q-Newton hybrid (QLSA vs best"))
        totals.append((CLASSICAL_WITH_OVERHEAD, by["classical-only (best classical solver)"] + oh, 0.0, True))
        totals.append((WITH_OVERHEAD, hy[1] + oh, hy[2], True))
        totals.append((OVERHEAD, oh, math.nan, False))
    for name, col in ((MEASURED_SOLVE, "solve_measured_s"), (MEASURED_BEST, "best_classical_solve_measured_s")):
        if measured and col in rows and rows[col].notna().any():
            totals.append((name, float(rows[col].sum()), 0.0, False))
    lu, best = by.get("classical-only (dense LU; paper Eq. 3)", math.nan), by["classical-only (best classical solver)"]

    def ratio(base: float, t: float) -> float:
        return base / t if t > 0 else math.inf

    best_oh = dict((n, t) for n, t, _, _ in totals).get(CLASSICAL_WITH_OVERHEAD, math.nan)
    out = [{"strategy": name, "steps": steps, "seconds_per_step": t / steps, "total_seconds": t,
            "speedup_vs_lu": ratio(lu, t) if name != OVERHEAD else math.nan,
            "speedup_vs_best_classical": (math.nan if name == OVERHEAD else ratio(best_oh, t)
                                          if name == WITH_OVERHEAD else ratio(best, t)),
            "quantum_fraction": qf, "modeled": modeled} for name, t, qf, modeled in totals]
    return pd.DataFrame(out)
