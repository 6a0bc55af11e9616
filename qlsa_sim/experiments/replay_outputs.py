"""A replay's outputs: the decisions table, the speedup table (paper Table 1 analogue) and the crossover map.

The tables come from decision rows (``schedule/pipeline.py``: :meth:`BlockDecision.to_row`,
:func:`strategy_totals`), the map's ratios from ``experiments/crossover.py``; ``report/`` draws and writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qlsa_sim.core.names import QuantumModel
from qlsa_sim.core.outputs import write_csv
from qlsa_sim.cost.models import seconds_fn
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.experiments.crossover import classical_rivals, crossover_grids
from qlsa_sim.quantum.estimation.physical import physical_estimate
from qlsa_sim.quantum.estimation.resources import logical_counts
from qlsa_sim.report.crossover import plot_crossover
from qlsa_sim.report.tables import fmt_sig, write_table
from qlsa_sim.schedule.pipeline import features_from_row, strategy_totals

#: The surface-code machine a replay's decisions are also priced on (p = 1e-4, 1 us cycle; Gidney-Fowler factory).
DEFAULT_PHYSICAL = "surface-p1e-4-1us"

MODELED_NOTE = ("All seconds except rows marked modeled=False are MODELED: dense LU and Cholesky from paper "
                "Eq. 3 (c1 n^3 + c2), CG and Woodbury from modeled flop counts, all with constants fitted to "
                "timings measured on this machine{mem}; quantum from {qm}. Nothing quantum was measured. Steps are "
                "the trace's snapshot steps; a step's time is the sum over its blocks. The rows '+ scheduler "
                "overhead' charge the MEASURED features and choice to the best classical solver and to the hybrid "
                "alike: both choose per block from the same features. The MEASURED rows time, per block, one dense "
                "direct solve (Cholesky, else LU) and the best classical solver the models chose (e.g. Woodbury on "
                "a stored factor, reusing the features' Gram): the classical side as it runs here.")

#: Which cost model the verdicts use, said in every speedup table (the two models can disagree by decades).
VERDICT_NOTE = {
    QuantumModel.RESOURCES: ("Verdicts use this table: the QLSA is priced by the resource model (the counted "
                             "circuit under the cheapest block encoding the block allows)."),
    QuantumModel.EQ4: ("This table prices the QLSA by the paper's Eq. 4 and reproduces the paper's model; the "
                       "verdicts use the resource-model replay instead (--quantum-model resources; the demo writes it "
                       "to the folder ending in -resources), because Eq. 4's form q1 d kappa ln(n/eps) + q2 does not "
                       "follow the counted circuit cost (see the fit error below). Where the two disagree, believe "
                       "the resource model."),
}

ENCODINGS_NOTE = ("Every encoding the block allows, priced by the resource model (MODELED): sparse access (alpha = s "
                  "max|A_ij|), dense data (alpha = ||A||_F; _qroam: QROAM loading), the stored factor's form (alpha = "
                  "scale ||M||_F^2 + eps). The cheapest is the one the decisions use. alpha_over_norm = alpha / "
                  "||A||: kappa_eff = kappa x alpha_over_norm, the condition number the QLSA pays for.")


@dataclass(frozen=True)
class ReplayOutputs:
    decisions_csv: Path
    speedup_csv: Path
    speedup_md: Path
    crossover: tuple[Path, ...]
    encodings: tuple[Path, ...] = ()  # encodings.csv/.md (resource-model replays)


def quantum_description(profile: CalibrationProfile, quantum_model: str) -> str:
    """How the QLSA is priced, in words (with Eq. 4's fit quality)."""
    text = profile.quantum_model(quantum_model).describe()
    if quantum_model == QuantumModel.EQ4:
        text += f"; R^2 = {profile.eq4.r2:.3f} against the resource model"
    return text


def physical_columns(decisions: pd.DataFrame, profile: CalibrationProfile, physical: str) -> pd.DataFrame:
    """Per decision row, the QLSA priced by the resource model (its cheapest encoding) and that solve on the
    surface-code machine ``physical`` (Qualtran's models): ``resources_modeled_s``, under paper Eq. 4 also
    ``eq4_over_resources`` (the Eq. 4 fit's error at this block), and ``physical_*`` (infeasible: the reason, no
    numbers). All MODELED."""
    rows = []
    for r in decisions.to_dict("records"):
        est = profile.resources.estimate(features_from_row(r))
        extra = {"resources_modeled_s": est.seconds}
        if r.get("quantum_model") == QuantumModel.EQ4:
            extra["eq4_over_resources"] = r["quantum_modeled_s"] / est.seconds if est.seconds > 0 else math.nan
        if est.resources is not None:
            extra.update(physical_estimate(logical_counts(est.resources), physical).row())
        else:
            extra.update(physical_profile=physical, physical_feasible=False, physical_reason="singular")
        rows.append(extra)
    return pd.concat([decisions.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def encoding_table(decisions: pd.DataFrame, profile: CalibrationProfile) -> pd.DataFrame:
    """Per decision row and per block encoding the block allows (``quantum/estimation/encodings.py``): alpha,
    alpha / ||A|| (||A|| = max|lambda|), kappa_eff, the QLSA's modeled seconds on the profile's hardware and its
    counts, and which encoding is the cheapest (the one the resource model prices the block by). MODELED."""
    from dataclasses import replace

    model = replace(profile.resources, encoding="cheapest")
    rows = []
    for r in decisions.to_dict("records"):
        f = features_from_row(r)
        if not math.isfinite(f.kappa):
            continue
        norm = max(abs(f.lambda_min), abs(f.lambda_max))
        timed = [(model.time(res).seconds, res) for res in model.candidates(f)]
        best = min(t for t, _ in timed)
        for t, res in timed:
            rows.append({"id": f"{r['id']}/{res.encoding}", "step": r["step"], "block": r["block"], "n": f.n,
                         "kappa": f.kappa, "encoding": res.encoding, "alpha": res.alpha,
                         "alpha_over_norm": res.alpha / norm if norm > 0 else math.nan, "kappa_eff": res.kappa_eff,
                         "queries": res.queries, "toffoli": res.toffoli, "t_count": res.t_count,
                         "rotations": res.rotations, "logical_qubits": res.qubits, "quantum_modeled_s": t,
                         "cheapest": t == best, "hardware": model.hardware_label, "modeled": True})
    return pd.DataFrame(rows)


def physical_note(decisions: pd.DataFrame) -> str:
    """One line: the QLSA solves of the trace's largest block on the surface-code machine of the physical columns
    (wall time and physical qubits per solve, their range over the snapshots; or why infeasible). MODELED."""
    if "physical_profile" not in decisions or decisions.empty:
        return ""
    big = decisions[decisions["n"] == decisions["n"].max()]
    prof, n = big["physical_profile"].iloc[0], int(big["n"].iloc[0])
    ok = big[big["physical_feasible"].astype(bool)]
    head = f"On the surface-code machine {prof} (Qualtran's model), one QLSA solve of the n = {n} block"
    if ok.empty:
        return f"{head} is infeasible: {big['physical_reason'].iloc[0]} [modeled]."
    w, q = ok["physical_wall_s"].astype(float), ok["physical_qubits"].astype(float)
    skipped = "" if len(ok) == len(big) else f" ({len(big) - len(ok)} of {len(big)} snapshots infeasible)"
    return (f"{head} takes {fmt_sig(w.min())} to {fmt_sig(w.max())} s ({fmt_sig(w.min() / 3.156e7)} to "
            f"{fmt_sig(w.max() / 3.156e7)} years) on {fmt_sig(q.min())} to {fmt_sig(q.max())} physical qubits"
            f"{skipped} [modeled].")


def eq4_error_note(decisions: pd.DataFrame) -> str:
    """One line: how far paper Eq. 4 is from the resource model at this trace's blocks (per size n)."""
    if "eq4_over_resources" not in decisions:
        return ""
    parts = [f"n = {n}: median {g.median():.3g}x [{g.min():.3g}, {g.max():.3g}]"
             for n, g in decisions.groupby("n")["eq4_over_resources"]]
    return ("Paper Eq. 4 / resource model at this trace's blocks (Eq. 4 refitted at the trace's sizes; < 1 means Eq. 4 "
            "makes the QLSA cheaper): " + "; ".join(parts) + ".")


def speedup_table(decisions: pd.DataFrame) -> pd.DataFrame:
    """Strategy totals of a replay, with the scheduler's overhead and the measured direct solves."""
    return strategy_totals(decisions, overhead=True, measured=True)


def crossover_caption(qdesc: str, quantum_model: str, *, factor_sizes: bool = False) -> str:
    """What the crossover map shows and how its two sides are priced, in words (``factor_sizes``: some block
    size is stored as a factor, so a Woodbury panel is drawn)."""
    kappa = ("kappa_eff = alpha / lambda_min, the condition number the QLSA sees (grid: ideal encoding alpha = "
             "||A||; blocks: the alpha of their own encoding)" if quantum_model == QuantumModel.RESOURCES
             else "their condition number kappa")
    return ("Crossover map (all MODELED): log10 of the QLSA's over the classical solver's modeled time over condition "
            "number and density, one row of panels per block size n of the trace, one panel per classical rival. "
            "Blue: the QLSA is cheaper; red: the classical solver is cheaper; black line: break-even (QLSA = "
            f"classical). Markers: every block of the trace, on the row of its size, at {kappa}, coloured by training "
            f"step. Quantum: {qdesc}. Classical: models fitted to timings measured here."
            + (" Woodbury (sizes stored as a factor) is priced computing its own Gram, as a grid point has no "
               "features to reuse; the decisions price it reusing the Gram the scheduler's features computed, so "
               "there the map is the classical side's pessimistic case." if factor_sizes else ""))


def write_crossover(decisions: pd.DataFrame, profile: CalibrationProfile, out_stem: str | Path, *,
                    quantum_model: str, trace_label: str, progress: bool = False) -> list[Path]:
    """The crossover map at every block size of ``decisions`` (rivals with Woodbury where that size stores
    factors), its blocks marked, with its caption: ``<out_stem>.png``, ``.svg`` and ``.caption.md``."""
    quantum = seconds_fn(profile.quantum_model(quantum_model))
    maps, kappas, dens, factor_sizes = [], None, None, False
    for n in sorted(int(v) for v in decisions["n"].unique()):
        rank = decisions.loc[decisions["n"] == n, "factor_rank"].dropna()
        factor_sizes = factor_sizes or bool(len(rank))
        rivals = classical_rivals(profile, int(rank.iloc[0]) if len(rank) else None)
        grids, kappas, dens = crossover_grids(quantum, rivals, n, progress=progress)
        maps.append((n, grids))
    points, kappa_label = decisions[["n", "kappa", "density", "step"]].copy(), "condition number kappa"
    if quantum_model == QuantumModel.RESOURCES:
        # the estimator's cost follows kappa_eff = alpha / sigma_min of the block's encoding, not kappa: the
        # grid is an ideal encoding (alpha = ||A||), so each block is drawn at its kappa_eff
        points["kappa"] = decisions["quantum_kappa_eff"]
        kappa_label = "kappa_eff = alpha / lambda_min"
    return plot_crossover(maps, kappas, dens, points, out_stem, title=f"Crossover map (modeled): {trace_label}",
                          caption=crossover_caption(quantum_description(profile, quantum_model), quantum_model,
                                                    factor_sizes=factor_sizes),
                          kappa_label=kappa_label)


def write_replay_report(decisions: pd.DataFrame, profile: CalibrationProfile, out_dir: str | Path, *,
                        quantum_model: str, trace_label: str, physical: str | None = DEFAULT_PHYSICAL,
                        progress: bool = False) -> ReplayOutputs:
    """Write decisions.csv (with the physical figures of ``physical`` unless None), speedup.csv/.md and
    crossover.png/.svg/.caption.md into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    qdesc = quantum_description(profile, quantum_model)
    if physical is not None:
        decisions = physical_columns(decisions, profile, physical)
    dec_csv = out_dir / "decisions.csv"
    write_csv(decisions, dec_csv)
    modeled = MODELED_NOTE.format(qm=qdesc, mem=profile.memory_description())
    note = " ".join(t for t in (VERDICT_NOTE.get(quantum_model, ""), modeled, eq4_error_note(decisions),
                                physical_note(decisions)) if t)
    s_csv, s_md = write_table(speedup_table(decisions), out_dir, "speedup",
                              title=f"Speedup table (paper Table 1 analogue): {trace_label}", note=note)
    paths = write_crossover(decisions, profile, out_dir / "crossover", quantum_model=quantum_model,
                            trace_label=trace_label, progress=progress)
    encodings: tuple[Path, ...] = ()
    if quantum_model == QuantumModel.RESOURCES:
        enc = encoding_table(decisions, profile)
        if not enc.empty:
            encodings = write_table(enc, out_dir, "encodings", note=ENCODINGS_NOTE,
                                    title=f"Block encodings weighed per block: {trace_label}")
    return ReplayOutputs(dec_csv, s_csv, s_md, tuple(paths), encodings)
