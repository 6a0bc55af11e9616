"""The break-even report of a trace: per-block table, the workload's sentences (with and without readout, with
and without the scheduler's measured overhead) and the maps (``experiments/breakeven.py``; MODELED)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.experiments.breakeven import blocks_break_even, break_even_maps, break_even_sentence
from qlsa_sim.report.breakeven import plot_break_even_maps
from qlsa_sim.report.tables import write_table


def scheduling_split(decisions: pd.DataFrame) -> tuple[float, float]:
    """The scheduler's MEASURED seconds split into (shared, the hybrid's own): the Gram of a factor-stored block whose
    best classical solver is Woodbury is work the classical side does too (Woodbury reuses it, and computes it when
    run alone), the rest (spectrum, sparsity, estimates, choice) only the hybrid does."""
    if "scheduling_measured_s" not in decisions:
        return 0.0, 0.0
    total = float(decisions["scheduling_measured_s"].sum())
    if "gram_measured_s" not in decisions or "best_classical" not in decisions:
        return 0.0, total
    shared = float(decisions.loc[decisions["best_classical"] == "woodbury", "gram_measured_s"].fillna(0.0).sum())
    return shared, total - shared


def write_break_even_report(decisions: pd.DataFrame, profile: CalibrationProfile, out: str | Path, *, workload: str,
                            speedup: float = 10.0, phys_errors: Sequence[float] = (1e-3, 1e-4),
                            budget: float = 1e-2) -> Path:
    """Write blocks.csv, breakeven.md, maps.csv and maps.png/.svg into ``out``; returns the Markdown path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    blocks = blocks_break_even(profile, decisions, phys_errors=phys_errors, budget=budget)
    blocks.to_csv(out / "blocks.csv", index=False)
    shared, overhead = scheduling_split(decisions)
    p = min(phys_errors)
    lines = [break_even_sentence(workload, blocks, speedup=speedup, phys_error=p)[0],
             break_even_sentence(workload, blocks, speedup=speedup, phys_error=p, readout=True)[0],
             break_even_sentence(workload, blocks, speedup=speedup, phys_error=p, shared_s=shared,
                                 overhead_s=overhead)[0]]
    maps = break_even_maps(profile, int(blocks["n"].max()), float(blocks["kappa"].median()),
                           float(blocks["density"].median()))
    pd.concat([m.assign(map=k) for k, m in maps.items()], ignore_index=True).to_csv(out / "maps.csv", index=False)
    plot_break_even_maps(maps, blocks, out / "maps", title=f"Break-even logical gate time: {workload} [modeled]")
    cols = ["id", "n", "kappa", "encoding", "best_classical", "classical_modeled_s", "max_gate_time_s",
            "max_gate_time_readout_s", *[c for c in blocks.columns if c.startswith(("max_cycle_time_s_p",
                                                                                   "physical_qubits_p"))]]
    note = ("\n".join(f"- {ln}" for ln in lines)
            + f"\n\nPer block: the largest logical gate time (s) at which the QLSA (preset {profile.resources.preset}, "
              "cheapest encoding) is no slower than the best classical solver calibrated here (with readout: 36 n ln n "
              "/ delta^2 copies, arXiv:1808.09266), and per error rate the largest surface-code cycle time and the "
              "physical qubits (Qualtran's models; empty where infeasible; blocks.csv has the reasons). Maps: maps.png "
              "(grid points have no entries, so the ideal encoding alpha = ||A||). Every figure MODELED.")
    return write_table(blocks[cols], out, "breakeven", title=f"What hardware would make the hybrid win? {workload}",
                       note=note)[1]
