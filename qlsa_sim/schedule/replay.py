"""Offline replay: trace -> features -> cost estimates -> decisions, one row per (step, block).

Every row carries the stable id ``<run>/<step>/<block>`` and the settings that produced it, so
replays of different traces or settings concatenate and de-duplicate safely.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from qlsa_sim.cost.calibrate import CalibrationProfile
from qlsa_sim.cost.models import CostEstimate
from qlsa_sim.errors import InputError
from qlsa_sim.linalg.features import FeatureConfig, prepare_block
from qlsa_sim.linalg.solvers import cholesky_solve, lu_solve
from qlsa_sim.schedule.policy import Decision, decide
from qlsa_sim.traces.store import Snapshot, TraceReader, update_row_fields

QUANTUM_MODELS = ("eq4", "resources")


@dataclass(frozen=True)
class ReplayConfig:
    """Replay settings. ``quantum_model``: 'eq4' = paper Eq. 4 with the profile's fitted q1, q2;
    'resources' = the resource estimator directly (preset / profile from the calibration)."""

    features: FeatureConfig = FeatureConfig()
    quantum_model: str = "eq4"
    measure_classical: bool = True
    threads: int = 1

    def __post_init__(self) -> None:
        if self.quantum_model not in QUANTUM_MODELS:
            raise InputError(f"unknown quantum model {self.quantum_model!r}; known: {', '.join(QUANTUM_MODELS)}")


def curvature_is_psd(meta: dict) -> bool:
    """Whether a trace's blocks are positive semi-definite by construction: GGN and empirical-Fisher
    blocks always are, exact Hessian blocks only for ReLU MLPs (where they equal the GGN blocks)."""
    identity = meta.get("identity", {})
    curvature = identity.get("curvature", "exact")
    return curvature in ("ggn", "fisher") or identity.get("task", {}).get("model") == "mlp"


def block_estimates(features, profile: CalibrationProfile, quantum_model: str) -> list[CostEstimate]:
    """Estimates of every classical solver that applies to the block, and of the QLSA."""
    q = (profile.quantum.estimate(features) if quantum_model == "eq4"
         else profile.resource_model.estimate(features))
    return [m.estimate(features) for m in profile.classical_models if m.applies(features)] + [q]


def measure_direct_solve(A: np.ndarray, g: np.ndarray, positive_definite: bool, threads: int = 1) -> tuple[str, float]:
    """MEASURED seconds of one dense solve of ``A x = g`` here: Cholesky if SPD, else LU."""
    fn, name = (cholesky_solve, "cholesky") if positive_definite else (lu_solve, "lu")
    with threadpool_limits(threads):
        t0 = time.perf_counter()
        fn(A, g)
        return name, time.perf_counter() - t0


def replay_snapshot(snap: Snapshot, profile: CalibrationProfile, config: ReplayConfig) -> tuple[Decision, dict]:
    """Features, estimates and the decision for one block, as a Decision and a flat row."""
    with threadpool_limits(config.threads):
        A, f = prepare_block(snap.matrix, config.features, name=f"{snap.row.get('file')} block {snap.block!r}",
                             factor=snap.factor, factor_scale=float(snap.row.get("scale", 1.0)))
    ests = block_estimates(f, profile, config.quantum_model)
    d = decide(snap.id, snap.step, snap.block, ests)
    row = {"id": snap.id, "run": snap.row.get("run", ""), "step": snap.step, "block": snap.block,
           "loss": snap.loss, "storage": snap.row.get("storage", "dense"), **f.as_dict()}
    row["features_seconds"] = row.pop("seconds")
    for m in profile.classical_models:
        row[f"classical_{m.solver}_s"] = np.nan
    for e in ests:
        key = "quantum" if e.is_quantum else f"classical_{e.solver}"
        row[f"{key}_s"] = e.seconds
        row[f"{key}_model"] = e.model
    best = d.best_classical
    row.update(best_classical=best.solver, best_classical_s=best.seconds,
               quantum_solver=d.quantum.solver, chosen=d.chosen.solver, chosen_is_quantum=d.chosen.is_quantum,
               chosen_s=d.chosen.seconds, ratio_quantum_over_best_classical=d.quantum.seconds / best.seconds)
    # the paper's Q-Newton: the cheaper of the QLSA and dense LU (paper Eq. 3's solver)
    lu = row.get("classical_lu_s", np.nan)
    if np.isfinite(lu):
        row["paper_hybrid_s"] = min(lu, d.quantum.seconds)
        row["paper_hybrid_is_quantum"] = bool(d.quantum.seconds < lu)
    if config.measure_classical:
        row["measured_solver"], row["measured_classical_s"] = measure_direct_solve(
            A, snap.gradient, f.positive_definite, config.threads)
    row["estimates_modeled"] = True
    row["quantum_model"] = config.quantum_model
    row["profile"] = profile.path
    return d, row


def replay(trace: TraceReader | str, profile: CalibrationProfile, config: ReplayConfig = ReplayConfig(), *,
           progress: bool = True, save_features: bool = False) -> pd.DataFrame:
    """Replay every (step, block) of a trace in this process; the first bad snapshot raises.

    The decisions table has one row per block (see :func:`replay_snapshot`). For process pools,
    Dask clusters and skipping bad snapshots use ``schedule.parallel_replay.replay_parallel``,
    which this calls with the in-process executor.
    """
    from qlsa_sim.schedule.parallel_replay import replay_parallel

    location = trace.location if isinstance(trace, TraceReader) else trace
    return replay_parallel(location, profile, config, executor="inprocess", strict=True, progress=progress,
                           save_features=save_features)[0]


SAVED_FEATURES = ("n", "nnz", "density", "density_tol", "max_nnz_per_row", "reg_eps", "kappa", "lambda_min",
                  "lambda_max", "kappa_method", "kappa_seconds")


def write_features_to_manifest(directory, decisions: pd.DataFrame) -> None:
    """Store the replay's features as ``feature_*`` fields of the trace's manifest rows."""
    update_row_fields(directory, {(int(r.step), r.block): {f"feature_{k}": getattr(r, k) for k in SAVED_FEATURES}
                                  for r in decisions.itertuples()})


def speedup_table(decisions: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 1 analogue over the replayed steps: steps, seconds per step, total, speedup.

    Seconds are MODELED (classical: Eq. 3 / flop models fitted to measured timings; quantum: see
    ``quantum_model``) except the rows marked ``modeled=False``. A step's time is the sum over its
    blocks. Rows: dense LU only (the paper's classical baseline), best classical solver only,
    quantum only, the paper's hybrid (QLSA vs LU), our hybrid (QLSA vs best classical), that hybrid
    with the scheduler's own overhead (features) charged, the measured direct solves, and the overhead.
    """
    if decisions.empty:
        raise InputError("no decisions to summarize (empty trace?)")
    per_step = decisions.groupby("step")
    steps = per_step.ngroups
    cols = {"classical-only (dense LU, paper's baseline)": "classical_lu_s",
            "classical-only (best classical solver)": "best_classical_s",
            "quantum-only": "quantum_s",
            "hybrid, paper (QLSA vs LU)": "paper_hybrid_s",
            "hybrid (QLSA vs best classical)": "chosen_s"}
    totals = {name: float(per_step[c].sum().sum()) for name, c in cols.items() if c in decisions}
    overhead = float(decisions["features_seconds"].sum())
    totals["hybrid (QLSA vs best classical) + scheduler overhead"] = totals["hybrid (QLSA vs best classical)"] + overhead
    lu_name = "classical-only (dense LU, paper's baseline)"
    base_name = lu_name if lu_name in totals else "classical-only (best classical solver)"
    base = totals[base_name]
    qfrac = {"quantum-only": 1.0, "hybrid (QLSA vs best classical)": float(decisions["chosen_is_quantum"].mean())}
    if "paper_hybrid_is_quantum" in decisions:
        qfrac["hybrid, paper (QLSA vs LU)"] = float(decisions["paper_hybrid_is_quantum"].mean())
    qfrac["hybrid (QLSA vs best classical) + scheduler overhead"] = qfrac["hybrid (QLSA vs best classical)"]
    out = [{"strategy": name, "steps": steps, "seconds_per_step": t / steps, "total_seconds": t,
            "speedup_vs_baseline": base / t if t > 0 else np.inf, "quantum_fraction": qfrac.get(name, 0.0),
            "modeled": True} for name, t in totals.items()]
    if "measured_classical_s" in decisions:
        t = float(decisions["measured_classical_s"].sum())
        out.append({"strategy": "classical-only (direct solve, measured here)", "steps": steps,
                    "seconds_per_step": t / steps, "total_seconds": t, "speedup_vs_baseline": base / t,
                    "quantum_fraction": 0.0, "modeled": False})
    out.append({"strategy": "scheduler overhead (features, measured here)", "steps": steps,
                "seconds_per_step": overhead / steps, "total_seconds": overhead, "speedup_vs_baseline": np.nan,
                "quantum_fraction": np.nan, "modeled": False})
    table = pd.DataFrame(out)
    table.attrs["baseline"] = base_name
    return table
