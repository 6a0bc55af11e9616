"""Frames of ``qlsa-sim reproduce``: Table 1, the solve table, and the data behind every figure, from the runs'
results and traces (tables of rows; ``report/`` draws and writes them)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from qlsa_sim.core.logs import progress as progress_of
from qlsa_sim.cost.calibrate import default_quantum_grid, eq4_grid, fit_quantum_eq4
from qlsa_sim.cost.models import seconds_fn
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.errors import QlsaSimError
from qlsa_sim.experiments.baselines import RunResult
from qlsa_sim.experiments.breakeven import blocks_break_even, break_even_sentence
from qlsa_sim.experiments.crossover import classical_rivals
from qlsa_sim.experiments.evolution import evolution_table, evolution_verdicts
from qlsa_sim.experiments.reproduce.intervals import Interval
from qlsa_sim.experiments.reproduce.runs import label_density, label_eps
from qlsa_sim.experiments.reproduce.settings import P_VALUES, TABLE1_ROWS, TASK_TITLES, TASKS, DNNSettings
from qlsa_sim.linalg.conditioning import STRATEGIES, newton_direction_error, prune
from qlsa_sim.linalg.features import FeatureConfig
from qlsa_sim.linalg.sparsity import p_sparsity_multi
from qlsa_sim.schedule.pipeline import strategy_totals
from qlsa_sim.traces.store import TraceReader


def final_accuracy(r: RunResult, window: int) -> float:
    """Mean held-out accuracy of the last ``window`` evaluations after step 0."""
    ev = [e.get("test_accuracy", math.nan) for e in r.evals if e["after_steps"] > 0][-window:]
    return float(np.mean(ev)) if ev else float(r.final_test_accuracy)


def _acc_stderr(r: RunResult, window: int) -> float:
    ev = [e.get("test_accuracy", math.nan) for e in r.evals if e["after_steps"] > 0][-window:]
    return float(np.std(ev, ddof=1) / math.sqrt(len(ev))) if len(ev) > 1 else 0.0


#: Table 1 figures, each a mean with a 95% interval over seeds (``intervals.py``).
TABLE1_FIELDS = ("steps", "measured_s_per_step", "modeled_s_per_step", "solve_measured_s_per_step",
                 "total_measured_s", "total_modeled_s", "total_s", "quantum_fraction", "final_test_loss",
                 "final_test_accuracy")


def steps_to_target(r: RunResult) -> float:
    """Updates until the held-out target first held; the cap (steps run) when it did not (censored)."""
    return float(r.steps_to_target if r.reached else r.steps_run)


def run_summary(results: Sequence[RunResult]) -> dict:
    """One method's runs over seeds: an :class:`Interval` per ``TABLE1_FIELDS`` figure, how many seeds reached
    the target (``reached``: all of them), and the per-seed values by seed (``by_seed``) for paired ratios."""
    by_seed = {int(r.seed): r for r in results}
    out: dict = {"seeds": len(results), "reached": all(r.reached for r in results),
                 "reached_count": sum(r.reached for r in results), "by_seed": by_seed,
                 "steps_run": float(np.mean([r.steps_run for r in results]))}
    for f in TABLE1_FIELDS:
        vals = [steps_to_target(r) if f == "steps" else getattr(r, f) for r in results]
        out[f] = Interval.of(vals)
    return out


def table1_frame(runs: Mapping[str, Mapping[str, Sequence[RunResult]]], tasks: Sequence[str] = TASKS) -> pd.DataFrame:
    """Wide Table 1: one row per method; per task and figure the mean over seeds (``<task>_<field>``) and its 95%
    interval (``<task>_<field>_lo`` / ``_hi``), the seeds run and how many reached the target."""
    rows = []
    for label, title in TABLE1_ROWS:
        row = {"id": label, "method": title}
        for task in tasks:
            res = runs.get(task, {}).get(label)
            a = run_summary(res) if res else {}
            row[f"{task}_seeds"] = a.get("seeds", 0)
            row[f"{task}_reached"] = a.get("reached", False)
            row[f"{task}_reached_count"] = a.get("reached_count", 0)
            for f in TABLE1_FIELDS:
                i = a.get(f, Interval(math.nan, math.nan, math.nan, 0))
                row[f"{task}_{f}"], row[f"{task}_{f}_lo"], row[f"{task}_{f}_hi"] = i.mean, i.lo, i.hi
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(t1: pd.DataFrame, task: str, field: str, i: int) -> Interval:
    return Interval(float(t1[f"{task}_{field}"].iloc[i]), float(t1[f"{task}_{field}_lo"].iloc[i]),
                    float(t1[f"{task}_{field}_hi"].iloc[i]), int(t1[f"{task}_seeds"].iloc[i]))


def table1_markdown_frame(t1: pd.DataFrame, targets: Mapping[str, str], tasks: Sequence[str] = TASKS) -> pd.DataFrame:
    """Human-readable Table 1: ``mean [95% interval]`` over seeds, MODELED columns labelled."""
    out = pd.DataFrame({"method": t1["method"]})
    for task in tasks:
        T = TASK_TITLES[task]
        cells = {f: [_cell(t1, task, f, i) for i in range(len(t1))] for f in TABLE1_FIELDS}
        steps = []
        for i, c in enumerate(cells["steps"]):
            k, n = int(t1[f"{task}_reached_count"].iloc[i]), int(t1[f"{task}_seeds"].iloc[i])
            steps.append("n/a" if not n else c.fmt(".3g") + ("" if k == n else f" ({k}/{n} seeds reached; cap)"))
        out[f"{T} steps to {targets[task]}"] = steps
        out[f"{T} s/step measured"] = [c.fmt(".3g") for c in cells["measured_s_per_step"]]
        out[f"{T} s/step modeled (QLSA)"] = [c.fmt(".3g") for c in cells["modeled_s_per_step"]]
        out[f"{T} total s (measured + modeled)"] = [c.fmt(".3g") for c in cells["total_s"]]
        out[f"{T} QLSA share of blocks"] = [("n/a" if not math.isfinite(c.mean) else f"{c.mean:.0%}")
                                           for c in cells["quantum_fraction"]]
    return out


#: Runs whose blocks the solve table totals (label -> what they price the QLSA by).
SOLVE_BLOCK_SETS = ("q-newton", "q-newton-eq4", "q-newton-readout")


def solve_table(blocks: Mapping[str, Mapping[str, pd.DataFrame]], measured: Mapping[str, float]) -> pd.DataFrame:
    """Solve seconds per step of every strategy on IDENTICAL blocks (all MODELED), per task and block set, by
    :func:`~qlsa_sim.schedule.pipeline.strategy_totals` over decision rows (a step = a (seed, step) pair).

    ``blocks[label][task]``: the block rows of run ``label`` (``SOLVE_BLOCK_SETS``: the Q-Newton run priced by the
    resource model, the one priced by paper Eq. 4, and the readout run, of which only the rows that include
    readout are kept); ``measured[task]``: the best-classical run's MEASURED solve s/step."""
    parts = []
    for label, by_task in blocks.items():
        for task, b in by_task.items():
            if b is None or b.empty:
                continue
            t = strategy_totals(b, step_keys=("seed", "step")).assign(task=TASK_TITLES[task], blocks_of=label)
            if label == "q-newton-readout":
                t = t[t["strategy"].isin(READOUT_ROWS)].assign(speedup_vs_lu=math.nan)
                t["strategy"] = t["strategy"].map(READOUT_ROWS)
            parts.append(t)
    for task, v in measured.items():
        if math.isfinite(v):
            parts.append(pd.DataFrame([{"strategy": "classical-only (best classical), solves MEASURED here",
                                        "task": TASK_TITLES[task], "blocks_of": "newton-best-classical",
                                        "steps": math.nan, "seconds_per_step": v, "total_seconds": math.nan,
                                        "speedup_vs_lu": math.nan, "speedup_vs_best_classical": math.nan,
                                        "quantum_fraction": 0.0, "modeled": False}]))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "id", out["task"] + "/" + out["blocks_of"] + "/" + out["strategy"])
    return out


#: Strategies taken from the readout run's blocks, renamed: they include tomography readout.
READOUT_ROWS = {"classical-only (best classical solver)": "classical-only (best classical), readout run's blocks",
                "quantum-only (QLSA)": "quantum-only incl. readout (resource model)",
                "Q-Newton hybrid (QLSA vs best classical)": "Q-Newton incl. readout (vs best classical)"}


def blocks_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    rows = [dict(b, seed=r.seed) for r in results for b in r.blocks]
    return pd.DataFrame(rows)


def _history_frame(r: RunResult) -> pd.DataFrame:
    return pd.DataFrame(list(r.history))


def convergence_frame(task: str, runs: Mapping[str, Sequence[RunResult]], labels: Sequence[str]) -> pd.DataFrame:
    """Held-out metrics after each evaluated step, with cumulative seconds (measured + modeled)."""
    rows = []
    for label in labels:
        for r in runs.get(label, [])[:1]:
            cum = np.concatenate([[0.0], np.cumsum([h["measured_s"] + h["modeled_s"] for h in r.history])])
            for e in r.evals:
                k = int(e["after_steps"])
                rows.append({"task": TASK_TITLES[task], "label": label, "step": k,
                             "seconds": float(cum[min(k, len(cum) - 1)]), "test_loss": e.get("test_loss", math.nan),
                             "test_accuracy": e.get("test_accuracy", math.nan)})
    return pd.DataFrame(rows)


def per_step_cost_frame(task: str, runs: Mapping[str, Sequence[RunResult]]) -> pd.DataFrame:
    """Fig. 2(c) data: per step sums over blocks (MODELED) of the Q-Newton run, its choices, the
    MEASURED classical solves of the best-classical run and the readout run's QLSA estimate."""
    q = runs.get("q-newton", [])
    if not q:
        return pd.DataFrame()
    h = _history_frame(q[0])
    df = pd.DataFrame({"task": TASK_TITLES[task], "step": h["step"], "quantum_modeled_s": h["quantum_modeled_s"],
                       "lu_modeled_s": h["lu_modeled_s"], "best_classical_modeled_s": h["best_classical_modeled_s"],
                       "hybrid_modeled_s": h["hybrid_modeled_s"],
                       "quantum_fraction": h["n_quantum"] / h["n_blocks"].where(h["n_blocks"] > 0)})
    for label, col, src in (("newton-best-classical", "measured_classical_s", "solve_measured_s"),
                            ("q-newton-readout", "readout_quantum_modeled_s", "quantum_modeled_s")):
        if runs.get(label):
            other = _history_frame(runs[label][0]).set_index("step")[src]
            df[col] = df["step"].map(other)
    return df


def classical_measured_over_modeled(runs: Mapping[str, Sequence[RunResult]]) -> float:
    """Median over the best-classical runs' steps (all seeds) of MEASURED solve seconds / modeled seconds of the
    solves they chose: how the calibrated classical models price this machine's solves as the runs ran them (NaN
    without such steps)."""
    ratios = [h["solve_measured_s"] / h["chosen_modeled_s"] for r in runs.get("newton-best-classical", [])
              for h in r.history if h.get("chosen_modeled_s", 0.0) > 0 and h.get("solve_measured_s", 0.0) > 0]
    return float(np.median(ratios)) if ratios else math.nan


#: A step slower than this many times its run's median step (and by more than a second) is a timing outlier.
OUTLIER_FACTOR = 3.0


def timing_outliers(runs: Mapping[str, Mapping[str, Sequence[RunResult]]], factor: float = OUTLIER_FACTOR
                    ) -> list[dict]:
    """Runs with MEASURED steps slower than ``factor`` x their run's median step and by more than 1 s: the mark of
    another job (or a pause) taking the machine during the step, or of a one-time cost in it. One row per such run:
    id, steps, median, worst. Milder contention (a run slowed 1.3x throughout) does not show this way; the readout
    row's ratio bounds it."""
    out = []
    for task_runs in runs.values():
        for res in task_runs.values():
            for r in res:
                t = np.array([float(h.get("measured_s", 0.0)) for h in r.history])
                if len(t) < 5:
                    continue
                med = float(np.median(t))
                bad = np.flatnonzero((t > factor * med) & (t > med + 1.0))
                if len(bad):
                    out.append({"run": r.id, "steps": [int(r.history[i].get("step", i)) for i in bad],
                                "median_s": med, "worst_s": float(t[bad].max())})
    return out


def sweep_frames(s: DNNSettings, res: Mapping[str, Sequence[RunResult]]) -> dict[str, pd.DataFrame]:
    """Fig. 2(b), 2(d) and 2(g)-left data from the sweep runs (first seed)."""
    def summary(label: str) -> dict:
        r = res[label][0]
        b = pd.DataFrame(list(r.blocks))
        h = _history_frame(r)
        return {"label": label, "final_accuracy": final_accuracy(r, s.final_window),
                "final_accuracy_stderr": _acc_stderr(r, s.final_window),
                "achieved_density": float(b["density"].mean()) if len(b) else math.nan,
                "kappa_median": float(b["kappa"].median()) if len(b) else math.nan,
                "kappa_max": float(b["kappa"].max()) if len(b) else math.nan,
                "quantum_modeled_s_per_step": float(h["quantum_modeled_s"].mean()) if len(h) else math.nan,
                "quantum_fraction": r.quantum_fraction, "steps_run": r.steps_run}

    ref = summary("reference")
    prune_rows = [{"strategy": "symmetric-magnitude", "target_density": d,
                   **summary(label_density("symmetric-magnitude", d))} for d in s.prune_densities]
    eps_rows = [{"reg_eps": e, **(ref if e == s.reg_eps else summary(label_eps(e)))} for e in s.reg_eps_grid]
    strat_rows = [{"strategy": st, "target_density": d, **summary(label_density(st, d))}
                  for st in STRATEGIES for d in s.strategy_densities]
    return {"reference": pd.DataFrame([ref]), "pruning": pd.DataFrame(prune_rows),
            "regularization": pd.DataFrame(eps_rows), "strategies": pd.DataFrame(strat_rows)}


def first_last_steps(reader: TraceReader) -> list[int]:
    """The first and last traced steps."""
    steps = reader.steps
    return sorted({steps[0], steps[-1]}) if steps else []


def direction_error_frame(trace_dir: str | Path, densities: Sequence[float], eps: float,
                          progress: bool = False) -> pd.DataFrame:
    """Newton-direction error of every pruning strategy on the first and last traced snapshots.

    As in training, ``A = H + eps I`` is pruned (symmetric strategies repaired to positive
    definite, ``linalg/conditioning.py``) and solved: error = ||A_p^-1 g - A^-1 g|| / ||A^-1 g||
    (``newton_direction_error`` with ``H_pruned = A_p - eps I``). NaN where A_p is singular.
    """
    reader = TraceReader(trace_dir)
    rows = []
    jobs = [(st, b) for st in first_last_steps(reader) for b in reader.blocks]
    for step, block in progress_of(jobs, "fig 2(g) direction errors", unit="block", enabled=progress):
        snap = reader.snapshot(step, block)
        H = 0.5 * (snap.matrix + snap.matrix.T)
        A = H + eps * np.eye(H.shape[0])
        for strategy in STRATEGIES:
            for d in densities:
                try:
                    P = prune(A, float(d), strategy, keep_pd=True).matrix
                    err = newton_direction_error(H, snap.gradient, P - eps * np.eye(H.shape[0]), eps)
                except (QlsaSimError, np.linalg.LinAlgError):
                    err = math.nan
                rows.append({"step": step, "block": block, "n": snap.n, "strategy": strategy,
                             "target_density": float(d), "error": err})
    return pd.DataFrame(rows)


def p_sparsity_frame(traces: Mapping[str, str | Path], ps: Sequence[float] = P_VALUES) -> pd.DataFrame:
    """Fig. 3 data: per matrix row, the p%-sparsity fraction (``linalg/sparsity.py``; paper Fig. 3)
    of the raw Hessian blocks at the first and last traced step of each trace."""
    rows = []
    for task, loc in traces.items():
        reader = TraceReader(loc)
        for step in first_last_steps(reader):
            for block in reader.blocks:
                snap = reader.snapshot(step, block)
                counts = p_sparsity_multi(snap.matrix, ps)
                for p, c in counts.items():
                    rows.append(pd.DataFrame({"task": task, "step": step, "block": block, "p": p,
                                              "fraction": c / snap.n}))
    if not rows:
        return pd.DataFrame(columns=["task", "step", "block", "p", "fraction"])
    return pd.concat(rows, ignore_index=True)


def evolution_frames(traces: Mapping[str, tuple[str | Path, FeatureConfig]], progress: bool = False
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-snapshot table, per-block first-vs-last verdicts) of ``report/evolution.py``, one
    feature config per trace (the run's own eps; PSD for MLP blocks)."""
    tables = []
    for task, (loc, cfg) in traces.items():
        t = evolution_table([loc], cfg, progress=progress)
        t["run"] = task
        t["id"] = [f"{task}/{i}" for i in t["id"]]
        tables.append(t)
    table = pd.concat(tables, ignore_index=True)
    return table, evolution_verdicts(table)


def quantum_vs_kappa_frames(profile: CalibrationProfile, readout_profile: CalibrationProfile, n: int,
                            observed_density: float, densities: Sequence[float] = (0.01, 0.1, 0.5, 1.0),
                            kappas: np.ndarray | None = None, factor_rank: int | None = None) -> pd.DataFrame:
    """Fig. 2(f) curves, all MODELED: QLSA seconds vs kappa per density (paper Eq. 4; the resource
    model) and the classical solvers at ``n`` (LU, Cholesky flat; CG at ``observed_density``; with a
    ``factor_rank``, Woodbury on that factor, flat, computing its own Gram: a grid point has none to reuse)."""
    kappas = np.geomspace(1.0, 1e8, 17) if kappas is None else kappas
    rows = []
    eq4 = seconds_fn(profile.quantum_model("eq4"))
    res = seconds_fn(profile.quantum_model("resources"))
    ro = seconds_fn(readout_profile.quantum_model("resources"))
    classical = classical_rivals(profile, factor_rank, best=False)
    for panel, fn in (("paper Eq. 4", eq4), ("resource model", res)):
        for d in densities:
            rows += [{"panel": panel, "kind": "quantum", "label": f"QLSA, d = {d:g}", "kappa": k,
                      "seconds": fn(n, k, d)} for k in kappas]
        if panel == "resource model":
            rows += [{"panel": panel, "kind": "quantum", "label": f"QLSA + readout, d = {observed_density:.2g}",
                      "kappa": k, "seconds": ro(n, k, observed_density)} for k in kappas]
        for name, fn_c in classical:
            rows += [{"panel": panel, "kind": "classical", "label": f"{name} (d = {observed_density:.2g})"
                      if name == "cg" else name, "kappa": k, "seconds": fn_c(n, k, observed_density)} for k in kappas]
        rows += [{"panel": panel, "kind": "classical", "label": "best classical", "kappa": k,
                  "seconds": min(f(n, k, observed_density) for _, f in classical)} for k in kappas]
    return pd.DataFrame(rows)


def eq4_form_fits(profile: CalibrationProfile, sizes: Sequence[int]) -> dict[str, tuple]:
    """Paper Eq. 4 fitted in log space to the resource model: across sizes 16..16384 ("across sizes") and at each
    of ``sizes`` alone (C7's data; ``cost.calibrate.fit_quantum_eq4``)."""
    grid = default_quantum_grid()
    out = {"across sizes": (fit_quantum_eq4(profile.resources, grid, "log")[0], tuple(sorted({g[0] for g in grid})))}
    for n in sorted(set(int(v) for v in sizes)):
        out[str(n)] = (fit_quantum_eq4(profile.resources, eq4_grid([n]), "log")[0], (n,))
    return out


def hardware_frame(task: str, runs: Mapping[str, Sequence[RunResult]], profile: CalibrationProfile,
                   speedup: float = 10.0) -> tuple[pd.DataFrame, list[str]]:
    """What hardware the hybrid needs on a workload: per block of the first seed's Q-Newton run the break-even
    gate and cycle times (``experiments/breakeven.py``), and the sentences for 10x on the solves alone and end to
    end (the shared work MEASURED in the best-classical run: its step time minus its solves). MODELED."""
    q, best = runs.get("q-newton", []), runs.get("newton-best-classical", [])
    if not q:
        return pd.DataFrame(), []
    rows = pd.DataFrame([b for b in q[0].blocks])
    blocks = blocks_break_even(profile, rows)
    name = f"the {TASK_TITLES[task]} workload"
    out = [break_even_sentence(name, blocks, speedup=speedup)[0],
           break_even_sentence(name, blocks, speedup=speedup, readout=True)[0]]
    if best:
        b = best[0]
        steps = rows["step"].nunique()
        shared = max(0.0, b.measured_s_per_step - b.solve_measured_s_per_step) * steps
        out.append(break_even_sentence(name, blocks, speedup=speedup, shared_s=shared)[0])
    return blocks.assign(task=TASK_TITLES[task]), out
