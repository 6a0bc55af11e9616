"""The inverse question: what hardware would make the hybrid win? (MODELED throughout.)

Per block: the largest logical gate time at which the QLSA (its cheapest encoding under the profile's preset)
is no slower than the best classical solver calibrated here, ``t_gate* = T_classical / G`` with ``G`` the
QLSA's sequential logical gates (the ``gates`` time basis; times ``36 n ln n / delta^2`` copies when the
solution is read out, Kerenidis & Prakash arXiv:1808.09266 Thm 4.3); and for a surface-code machine of error
rate ``p`` the largest cycle time, ``T_classical / n_cycles`` (Qualtran's models, ``quantum/estimation/
physical.py``: the cycle count does not depend on the cycle time).

Per workload (all blocks of all steps): the largest gate time at which the hybrid (each block to the cheaper of
the QLSA and its best classical solver) reaches a target speedup ``S`` over the best classical solver,
``sum_b min(G_b t, C_b) <= (sum_b C_b + W) / S - W``, with ``W`` the measured work every Newton variant shares
(curvature, features, line search; 0 for the solve-only figure). The left side grows with ``t``, so the answer
is found by bisection in log t; when the right side is <= 0 no gate time reaches ``S`` (Amdahl's law).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from qlsa_sim.cost.models import grid_features
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.linalg.features import MatrixFeatures
from qlsa_sim.quantum.estimation.physical import max_cycle_time_for, max_logical_gate_time_for, physical_estimate
from qlsa_sim.quantum.estimation.physical_profiles import custom_profile
from qlsa_sim.quantum.estimation.resources import QLSAResources, logical_counts
from qlsa_sim.quantum.estimation.timing import tomography_copies
from qlsa_sim.schedule.pipeline import features_from_row

PHYS_ERRORS = (1e-3, 1e-4)
ERROR_BUDGET = 1e-2


def best_classical_s(profile: CalibrationProfile, f: MatrixFeatures) -> tuple[str, float]:
    """(name, MODELED seconds) of the cheapest calibrated classical solver that applies to the block."""
    ests = [m.estimate(f) for m in profile.classical_models if m.applies(f)]
    best = min(ests, key=lambda e: e.seconds)
    return best.solver, float(best.seconds)


def quantum_resources(profile: CalibrationProfile, f: MatrixFeatures) -> QLSAResources:
    """The QLSA's counts on the block under the profile's preset and its cheapest encoding."""
    return replace(profile.resources, include_readout=False).estimate(f).resources


def block_break_even(profile: CalibrationProfile, f: MatrixFeatures, *, phys_errors: Sequence[float] = PHYS_ERRORS,
                     budget: float = ERROR_BUDGET) -> dict:
    """One block's break-even hardware (module docstring): gate time with and without readout, and per error
    rate the cycle time, the physical qubits and the code distance (None when infeasible at that p)."""
    solver, c = best_classical_s(profile, f)
    res = quantum_resources(profile, f)
    copies = tomography_copies(res.n, 1e-2)
    row = {"n": f.n, "kappa": f.kappa, "density": f.density, "best_classical": solver, "classical_modeled_s": c,
           "encoding": res.encoding, "alpha": res.alpha, "kappa_eff": res.kappa_eff,
           "sequential_gates": res.total_gates,
           "max_gate_time_s": max_logical_gate_time_for(c, res.total_gates),
           "max_gate_time_readout_s": max_logical_gate_time_for(c, res.total_gates * copies)}
    counts = logical_counts(res)
    for p in phys_errors:
        ref = physical_estimate(counts, custom_profile(1e-6, p, budget))  # the qubits and distance at any cycle
        ok = ref.feasible and ref.n_cycles
        row[f"max_cycle_time_s_p{p:g}"] = max_cycle_time_for(c, counts, p, budget) if ok else None
        row[f"physical_qubits_p{p:g}"] = ref.physical_qubits if ok else None
        row[f"code_distance_p{p:g}"] = ref.code_distance if ok else None
        row[f"infeasible_reason_p{p:g}"] = "" if ok else ref.reason
    return row


def blocks_break_even(profile: CalibrationProfile, decisions: pd.DataFrame, **kw) -> pd.DataFrame:
    """:func:`block_break_even` for every decision row (its features rebuilt from the row)."""
    rows = [{"id": r["id"], "step": r["step"], "block": r["block"],
             **block_break_even(profile, features_from_row(r), **kw)} for r in decisions.to_dict("records")]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class WorkloadBreakEven:
    """The largest time per quantum operation (a logical gate, or a surface-code cycle) at which the hybrid
    reaches ``speedup`` over the best classical solver; None when no time does (Amdahl's law: the shared
    measured work ``shared_s`` is too large, or no block can go quantum)."""

    speedup: float
    unit: str              # "logical gate" or "surface-code cycle at p = ..."
    max_time_s: float | None
    classical_s: float
    shared_s: float
    reason: str = ""


def workload_break_even(classical_s: Sequence[float], quantum_ops: Sequence[float | None], *, speedup: float,
                        shared_s: float = 0.0, overhead_s: float = 0.0, unit: str = "logical gate"
                        ) -> WorkloadBreakEven:
    """Largest t with sum_b min(ops_b t, C_b) + W + O <= (sum_b C_b + W) / S (module docstring); W = ``shared_s``
    (work both sides do), O = ``overhead_s`` (the scheduler's own work, the hybrid's only); ``quantum_ops[b]``
    None = block b cannot go quantum (infeasible)."""
    c = np.asarray(classical_s, float)
    ops = np.array([np.inf if o is None or not math.isfinite(o) else o for o in quantum_ops], float)
    total_c = float(c.sum())
    budget = (total_c + shared_s) / speedup - shared_s - overhead_s
    if budget <= 0:
        return WorkloadBreakEven(speedup, unit, None, total_c, shared_s,
                                 f"unreachable at any speed: the measured work outside the solves ({shared_s:.3g} s "
                                 f"shared, {overhead_s:.3g} s scheduling) exceeds 1/{speedup:g} of the classical total "
                                 f"{total_c + shared_s:.3g} s")

    def cost(t: float) -> float:
        finite = np.isfinite(ops)
        quantum = np.full_like(ops, np.inf)
        quantum[finite] = ops[finite] * t
        return float(np.minimum(quantum, c).sum())

    if cost(0.0) > budget or not np.isfinite(ops).any():
        return WorkloadBreakEven(speedup, unit, None, total_c, shared_s,
                                 "unreachable: the blocks that cannot go quantum alone cost more than the target")
    lo, hi = -40.0, 10.0  # log10 seconds
    while hi - lo > 1e-9:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cost(10 ** mid) <= budget else (lo, mid)
    return WorkloadBreakEven(speedup, unit, float(10 ** lo), total_c, shared_s)


def break_even_sentence(workload: str, blocks: pd.DataFrame, *, speedup: float = 10.0, shared_s: float = 0.0,
                        overhead_s: float = 0.0, phys_error: float = 1e-4, readout: bool = False) -> tuple[str, dict]:
    """'To reach the paper's 10x on <workload> against <best classical solver>, a QLSA needs logical gates of at
    most X s (Y physical qubits at p = ...)', from :func:`blocks_break_even` rows; and the figures behind it."""
    solvers = ", ".join(sorted(set(blocks["best_classical"])))
    ops = blocks["classical_modeled_s"] / blocks["max_gate_time_readout_s" if readout else "max_gate_time_s"]
    g = workload_break_even(blocks["classical_modeled_s"], ops, speedup=speedup, shared_s=shared_s,
                            overhead_s=overhead_s)
    copies = (blocks["max_gate_time_s"] / blocks["max_gate_time_readout_s"]) if readout else 1.0
    cycles = copies * blocks["classical_modeled_s"] / blocks[f"max_cycle_time_s_p{phys_error:g}"].astype(float)
    cyc = workload_break_even(blocks["classical_modeled_s"], cycles, speedup=speedup, shared_s=shared_s,
                              overhead_s=overhead_s, unit=f"surface-code cycle at p = {phys_error:g}")
    qubits = blocks[f"physical_qubits_p{phys_error:g}"].dropna()
    what = ("end to end (the measured work outside the solves included)" if shared_s or overhead_s
            else "on the solves alone") + (", reading the solution out" if readout else "")
    if g.max_time_s is None:
        text = (f"On {workload} no logical gate time reaches the paper's {speedup:g}x against the best classical "
                f"solver ({solvers}) {what}: {g.reason} [modeled].")
    else:
        phys = (f"; on a surface code at p = {phys_error:g} it needs cycles of at most {cyc.max_time_s:.3g} s and "
                f"{int(qubits.max()):,} physical qubits for the largest solve" if cyc.max_time_s and len(qubits)
                else f"; no surface code at p = {phys_error:g} reaches it ({cyc.reason or 'infeasible blocks'})")
        text = (f"To reach the paper's {speedup:g}x on {workload} against the best classical solver ({solvers}) "
                f"{what}, a QLSA needs logical gates of at most {g.max_time_s:.3g} s{phys} [modeled].")
    return text, {"gate": g, "cycle": cyc}


def break_even_points(profile: CalibrationProfile, points: Sequence[tuple[int, float, float]]) -> pd.DataFrame:
    """Max logical gate time (s) at which the QLSA (ideal encoding, alpha = ||A||: a grid point has no entries)
    matches the best classical solver, at each (n, kappa, density). MODELED."""
    model = replace(profile.resources, include_readout=False)
    rows = []
    for n, k, d in points:
        f = grid_features(int(n), float(k), float(d))
        res = model.estimate(f).resources
        solver, c = best_classical_s(profile, f)
        rows.append({"id": f"n={int(n)}/kappa={k:g}/d={d:g}", "n": int(n), "kappa": float(k), "density": float(d),
                     "best_classical": solver, "classical_modeled_s": c, "sequential_gates": res.total_gates,
                     "max_gate_time_s": c / res.total_gates, "modeled": True})
    return pd.DataFrame(rows)


def break_even_maps(profile: CalibrationProfile, max_n: int, kappa: float, density: float,
                    resolution: int = 9) -> dict[str, pd.DataFrame]:
    """The two maps: over (n, kappa) at ``density`` and over (n, density) at ``kappa`` (n from 64 to 4 max_n,
    kappa 1..1e8, density 1e-3..1)."""
    ns = np.unique(np.geomspace(64, max(256, 4 * max_n), resolution).astype(int))
    kappas, dens = np.geomspace(1.0, 1e8, resolution), np.geomspace(1e-3, 1.0, resolution)
    return {"n_kappa": break_even_points(profile, [(n, k, density) for n in ns for k in kappas]),
            "n_density": break_even_points(profile, [(n, kappa, d) for n in ns for d in dens])}
