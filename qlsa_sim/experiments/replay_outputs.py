"""A replay's outputs: the decisions table, the speedup table (paper Table 1 analogue) and the crossover map.

The tables come from decision rows (``schedule/pipeline.py``: :meth:`BlockDecision.to_row`,
:func:`strategy_totals`), the map's ratios from ``experiments/crossover.py``; ``report/`` draws and writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qlsa_sim.core.names import QuantumModel
from qlsa_sim.core.outputs import write_csv
from qlsa_sim.cost.models import seconds_fn
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.experiments.crossover import classical_rivals, crossover_grids
from qlsa_sim.report.crossover import plot_crossover
from qlsa_sim.report.tables import write_table
from qlsa_sim.schedule.pipeline import strategy_totals

MODELED_NOTE = ("All seconds except rows marked modeled=False are MODELED: dense LU and Cholesky from paper "
                "Eq. 3 (c1 n^3 + c2), CG and Woodbury from modeled flop counts, all with constants fitted to "
                "timings measured on this machine; quantum from {qm}. Nothing quantum was measured. Steps are the "
                "trace's snapshot steps; a step's time is the sum over its blocks.")


@dataclass(frozen=True)
class ReplayOutputs:
    decisions_csv: Path
    speedup_csv: Path
    speedup_md: Path
    crossover: tuple[Path, ...]


def quantum_description(profile: CalibrationProfile, quantum_model: str) -> str:
    """How the QLSA is priced, in words (with Eq. 4's fit quality)."""
    text = profile.quantum_model(quantum_model).describe()
    if quantum_model == QuantumModel.EQ4:
        text += f"; R^2 = {profile.eq4.r2:.3f} against the resource model"
    return text


def speedup_table(decisions: pd.DataFrame) -> pd.DataFrame:
    """Strategy totals of a replay, with the scheduler's overhead and the measured direct solves."""
    return strategy_totals(decisions, overhead=True, measured=True)


def write_replay_report(decisions: pd.DataFrame, profile: CalibrationProfile, out_dir: str | Path, *,
                        quantum_model: str, trace_label: str) -> ReplayOutputs:
    """Write decisions.csv, speedup.csv/.md and crossover.png/.svg into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    qdesc = quantum_description(profile, quantum_model)
    dec_csv = out_dir / "decisions.csv"
    write_csv(decisions, dec_csv)
    s_csv, s_md = write_table(speedup_table(decisions), out_dir, "speedup",
                              title=f"Speedup table (paper Table 1 analogue): {trace_label}",
                              note=MODELED_NOTE.format(qm=qdesc))
    n = int(decisions["n"].max())
    rank = decisions.loc[decisions["n"] == n, "factor_rank"].dropna()
    rank = int(rank.iloc[0]) if len(rank) else None
    grids, kappas, dens = crossover_grids(seconds_fn(profile.quantum_model(quantum_model)),
                                          classical_rivals(profile, rank), n)
    points, kappa_label = decisions[["n", "kappa", "density", "step"]].copy(), "condition number kappa"
    if quantum_model == QuantumModel.RESOURCES:
        # the estimator's cost follows kappa_eff = alpha / sigma_min of the block's encoding, not kappa: the
        # grid is an ideal encoding (alpha = ||A||), so each block is drawn at its kappa_eff
        points["kappa"] = decisions["quantum_kappa_eff"]
        kappa_label = "kappa_eff = alpha / lambda_min"
    paths = plot_crossover(grids, kappas, dens, n, points, out_dir / "crossover",
                           title=f"Crossover map (modeled): {trace_label}",
                           subtitle=f"quantum: {qdesc}; classical: models fitted to timings measured here"
                                    + ("; x axis: kappa_eff, the condition number the QLSA sees (grid: ideal "
                                       "encoding alpha = ||A||; blocks: their sparse-access alpha = s max|A_ij|)"
                                       if quantum_model == QuantumModel.RESOURCES else ""),
                           kappa_label=kappa_label)
    return ReplayOutputs(dec_csv, s_csv, s_md, tuple(paths))
