"""How kappa, density and p%-sparsity of each block evolve over training, and the paper's claim.

The seed paper claims its Hessians "grow better conditioned and sparser as training goes on"
(kappa dropping 10-1000x, sparsity emerging). This report measures both on recorded traces:
per (run, step, block) kappa of H + eps I, density, and the median p%-sparsity fraction (per
row, the fewest entries reaching p% of the row's absolute sum, divided by n; paper Fig. 3),
then compares each block's first and last snapshot.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from qlsa_sim.core.executors import run_tasks
from qlsa_sim.core.outputs import write_csv
from qlsa_sim.errors import InputError, TraceError
from qlsa_sim.linalg.features import FeatureConfig, matrix_features
from qlsa_sim.linalg.sparsity import p_sparsity_summary
from qlsa_sim.report.evolution import plot_evolution
from qlsa_sim.report.tables import write_table
from qlsa_sim.traces.store import TraceReader

P_VALUES = (50, 75, 90, 95)
#: The claim as tested: kappa falls by >= KAPPA_DROP and the p90 fraction by >= SPARSITY_DROP.
KAPPA_DROP = 10.0
SPARSITY_DROP = 0.5


def _file_rows(task: tuple[str, str, tuple], config: FeatureConfig) -> list[dict]:
    """Evolution rows of the blocks of one snapshot file (a unit of work for any executor)."""
    location, file, model = task
    reader = TraceReader(location)
    rows = []
    for _, snap in reader.iter_file(file):
        if isinstance(snap, Exception):
            raise snap
        f = matrix_features(snap.matrix, config, name=f"{reader.display(file)} block {snap.block!r}")
        ps = p_sparsity_summary(snap.matrix, P_VALUES)
        rows.append({"id": snap.id, "run": reader.run, "model": model, "step": snap.step, "block": snap.block,
                     "n": f.n, "loss": snap.loss, "kappa": f.kappa, "kappa_method": f.kappa_method,
                     "lambda_min": f.lambda_min, "lambda_max": f.lambda_max, "reg_eps": f.reg_eps,
                     "positive_definite": f.positive_definite, "density": f.density,
                     **{f"p{p}_fraction": ps[p]["median_fraction"] for p in P_VALUES}})
    return rows


def evolution_table(traces: Sequence[str | Path], config: FeatureConfig = FeatureConfig(psd=False), *,
                    progress: bool = True, executor: str = "inprocess", workers: int | None = None,
                    scheduler_address: str | None = None) -> pd.DataFrame:
    """One row per (run, step, block) with kappa (and its method), density and p%-sparsity fractions.

    One task per snapshot file on the chosen executor (``schedule/executors.py``); rows keep the
    traces' manifest order whatever the executor.
    """
    items = []
    for loc in traces:
        reader = TraceReader(loc)
        model = reader.meta.model
        for file in dict.fromkeys(r["file"] for r in reader.rows):
            items.append((f"{reader.location}::{file}", (reader.location, file, model)))
    results = run_tasks(functools.partial(_file_rows, config=config), items, executor=executor, workers=workers,
                        scheduler_address=scheduler_address, progress=progress, desc="evolution")
    failed = [r for r in results if not r.ok]
    if failed:
        raise TraceError(failed[0].error)
    return pd.DataFrame([row for r in results for row in r.value])


def evolution_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Per (run, block): first vs last snapshot, and whether each half of the claim holds there."""
    if table.empty:
        raise InputError("no snapshots to compare")
    out = []
    for (run, block), g in table.sort_values("step", kind="stable").groupby(["run", "block"], sort=False):
        first, last = g.iloc[0], g.iloc[-1]
        kdrop = first["kappa"] / last["kappa"]
        sdrop = last["p90_fraction"] / first["p90_fraction"] if first["p90_fraction"] > 0 else np.nan
        out.append({"run": run, "model": first["model"], "block": block, "n": int(first["n"]),
                    "first_step": int(first["step"]), "last_step": int(last["step"]),
                    "kappa_first": first["kappa"], "kappa_last": last["kappa"], "kappa_drop": kdrop,
                    "density_first": first["density"], "density_last": last["density"],
                    "p90_fraction_first": first["p90_fraction"], "p90_fraction_last": last["p90_fraction"],
                    "kappa_drops_10x": bool(kdrop >= KAPPA_DROP),
                    "sparsity_emerges": bool(sdrop <= SPARSITY_DROP or last["density"] <= SPARSITY_DROP * first["density"])})
    return pd.DataFrame(out)


def verdict_text(verdicts: pd.DataFrame) -> str:
    lines = []
    for model, g in verdicts.groupby("model"):
        k, s = int(g["kappa_drops_10x"].sum()), int(g["sparsity_emerges"].sum())
        med = float(np.median(g["kappa_drop"]))
        lines.append(f"- {model}: kappa fell >= {KAPPA_DROP:g}x in {k} of {len(g)} blocks (median change "
                     f"{med:.3g}x: values > 1 are drops); sparsity emerged (p90 fraction or density at most "
                     f"{SPARSITY_DROP:g} of its first value) in {s} of {len(g)} blocks. "
                     + ("The claim HOLDS here." if k == len(g) and s == len(g) else
                        "The claim does NOT hold here." if k == 0 and s == 0 else "The claim holds only in part."))
    return "\n".join(lines)


def write_evolution_report(traces: Sequence[str | Path], out_dir: str | Path, *,
                           config: FeatureConfig = FeatureConfig(psd=False), progress: bool = True,
                           **executor_options) -> Path:
    """Write evolution.csv, verdicts.csv/.md (with the verdict) and evolution.png/.svg; returns the .md path."""
    out_dir = Path(out_dir)
    table = evolution_table(traces, config, progress=progress, **executor_options)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(table, out_dir / "evolution.csv")
    verdicts = evolution_verdicts(table)
    plot_evolution(table, out_dir / "evolution")
    note = (f"kappa of H + eps I with eps = {config.reg_eps:g} ({'relative' if config.reg_relative else 'absolute'}); "
            f"p90 fraction: median over rows of the p90-sparsity divided by n (paper Fig. 3). Figure: evolution.png.\n\n"
            + verdict_text(verdicts))
    return write_table(verdicts, out_dir, "verdicts", title="Do the Hessians grow better conditioned and sparser?",
                       note=note)[1]
