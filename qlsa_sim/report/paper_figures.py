"""The Q-Newton paper's figures (arXiv:2405.00252, Fig. 2(b)-(g) and Fig. 3), drawn from our runs.

Pure functions: DataFrames in, ``<stem>.png``, ``<stem>.svg`` and ``<stem>.caption.md`` out (the paths are
returned; ``report/figures.py``: one-line titles, the caveats (``note``) in the caption, legends outside the axes,
integer step axes). The data are assembled by ``experiments/reproduce/``; each function documents the columns it
reads. Every axis that shows a MODELED quantity says so in its label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from qlsa_sim.errors import InputError
from qlsa_sim.report.figures import STEP_LABEL, integer_steps, legend_below, legend_right, save_figure

COLOURS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _need(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {', '.join(missing)}")
    if df.empty:
        raise InputError(f"{what}: no rows to plot")


def _save(fig, out_stem: str | Path, title: str, *caption: str) -> list[Path]:
    """One-line ``title``; the ``caption`` parts (what the figure shows beyond it, the caller's note) go to the
    caption file beside the figure."""
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, out_stem, caption=" ".join(c.strip().rstrip(".") + "." for c in caption if c.strip()))


def _density_axis(ax, values) -> None:
    """Log x axis with a plain tick at each density used (no overlapping minor labels)."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ticks = sorted({float(v) for v in values if np.isfinite(v) and v > 0})
    ax.set_xscale("log")
    if ticks:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())


STRATEGY_STYLE = {"symmetric-magnitude": (COLOURS[0], "o", "-"), "random": (COLOURS[1], "s", "-"),
                  "rowwise-topk": (COLOURS[2], "^", "--"), "global": (COLOURS[3], "x", ":")}


def _log_ok(values) -> bool:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size) and bool((v > 0).all())


def plot_accuracy_vs_pruning(df: pd.DataFrame, out_stem: str | Path, *, reference_accuracy: float,
                             reference_quantum_s: float | None = None, note: str = "") -> list[Path]:
    """Fig. 2(b): held-out accuracy vs the pruning density of the solved blocks.

    ``df`` columns: ``target_density``, ``achieved_density`` (mean over blocks and steps),
    ``final_accuracy``, ``quantum_modeled_s_per_step`` (Eq. 4, MODELED). The unpruned run is the
    dashed reference line.
    """
    _need(df, ("target_density", "achieved_density", "final_accuracy", "quantum_modeled_s_per_step"), "fig 2(b)")
    d = df.sort_values("target_density")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), constrained_layout=True)
    ax = axes[0]
    ax.plot(d["target_density"], d["final_accuracy"], "o-", label="pruned (symmetric magnitude)")
    ax.axhline(reference_accuracy, ls="--", color="k", label=f"unpruned: {reference_accuracy:.3f}")
    ax.set(xlabel="target density of the solved block (fraction of non-zeros)",
           ylabel="held-out accuracy (mean of the last evaluations)", title="accuracy vs pruning")
    _density_axis(ax, d["target_density"])
    legend_right(ax)
    ax.grid(alpha=0.3)
    ax = axes[1]
    ax.plot(d["achieved_density"], d["quantum_modeled_s_per_step"], "s-", color=COLOURS[1], label="pruned runs")
    if reference_quantum_s is not None and math.isfinite(reference_quantum_s):
        ax.axhline(reference_quantum_s, ls="--", color="k", label="unpruned")
    ax.set(xscale="log", xlabel="achieved density (mean over blocks and steps)",
           ylabel="QLSA seconds per step [modeled, Eq. 4]", title="what pruning buys: modeled QLSA cost")
    if _log_ok(d["quantum_modeled_s_per_step"]):
        ax.set_yscale("log")
    legend_right(ax)
    ax.grid(alpha=0.3)
    return _save(fig, out_stem, "Fig. 2(b) analogue: accuracy vs pruning sparsity (DNN, HybridNewton)", note)


#: Fig. 2(c)'s series: column, label, line style, marker, colour, draw order. Q-Newton's choice is a broad pale
#: line drawn first (its points carry the QLSA-share markers); the QLSA, which it equals where every block goes to
#: the QLSA, is a dashed line with crosses drawn on top of it.
PER_STEP_SERIES = (
    ("hybrid_modeled_s", "Q-Newton's choice [modeled] (marker colour: QLSA share)", "-", "", COLOURS[5], 1),
    ("lu_modeled_s", "dense LU [modeled, Eq. 3]", "-", "s", COLOURS[0], 3),
    ("best_classical_modeled_s", "best classical [modeled]", "-", "^", COLOURS[1], 3),
    ("measured_classical_s", "best classical, solve MEASURED here", ":", "v", COLOURS[2], 3),
    ("quantum_modeled_s", "QLSA [modeled, Eq. 4]", "--", "x", COLOURS[3], 4),
    ("readout_quantum_modeled_s", "QLSA incl. readout [modeled, resources]", "-.", "d", COLOURS[4], 4),
)


def _per_step_panel(ax, g: pd.DataFrame, task: str):
    """One task of Fig. 2(c); returns the QLSA-share scatter."""
    for col, label, ls, marker, colour, z in PER_STEP_SERIES:
        if col in g and g[col].notna().any():
            pale = col == "hybrid_modeled_s"
            ax.plot(g["step"], g[col], ls=ls, marker=marker or None, ms=6, mew=1.5, color=colour, label=label,
                    lw=5 if pale else 1.4, alpha=0.35 if pale else 1.0, zorder=z)
    sc = ax.scatter(g["step"], g["hybrid_modeled_s"], c=g["quantum_fraction"], cmap="viridis", vmin=0, vmax=1,
                    s=45, edgecolors="k", zorder=2)
    cols = [c for c, *_ in PER_STEP_SERIES if c in g]
    if _log_ok(g[cols].to_numpy().ravel()):
        ax.set_yscale("log")
    ax.set(xlabel=STEP_LABEL, ylabel="solve seconds per step (sum over blocks)", title=task)
    integer_steps(ax.xaxis)
    ax.grid(alpha=0.3)
    return sc


def plot_per_step_cost(df: pd.DataFrame, out_stem: str | Path, *, note: str = "") -> list[Path]:
    """Fig. 2(c): per-step solve cost, quantum vs classical, with the scheduler's choices.

    ``df`` columns: ``task``, ``step``, ``quantum_modeled_s``, ``lu_modeled_s``,
    ``best_classical_modeled_s``, ``hybrid_modeled_s``, ``quantum_fraction`` (of the hybrid's
    blocks), optional ``measured_classical_s`` (MEASURED solves of the best-classical run) and
    ``readout_quantum_modeled_s`` (QLSA incl. tomography readout). All but the measured series are
    MODELED sums over the step's blocks.
    """
    _need(df, ("task", "step", "quantum_modeled_s", "lu_modeled_s", "best_classical_modeled_s", "hybrid_modeled_s",
               "quantum_fraction"), "fig 2(c)")
    tasks = list(dict.fromkeys(df["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.2 * len(tasks), 5.0), squeeze=False, constrained_layout=True)
    for ax, task in zip(axes[0], tasks):
        sc = _per_step_panel(ax, df[df["task"] == task].sort_values("step"), task)
    fig.colorbar(sc, ax=axes.ravel().tolist(), label="share of blocks the scheduler sent to the QLSA", shrink=0.8)
    legend_below(fig, axes[0])
    return _save(fig, out_stem, "Fig. 2(c) analogue: per-step quantum vs classical solve cost",
                 "Markers on Q-Newton's line: the share of the step's blocks the scheduler sent to the QLSA "
                 "(where it is 1, the QLSA line lies on Q-Newton's)", note)


def plot_regularization(df: pd.DataFrame, out_stem: str | Path, *, note: str = "") -> list[Path]:
    """Fig. 2(d): regularization eps vs accuracy, condition number and modeled QLSA cost.

    ``df`` columns: ``reg_eps``, ``final_accuracy``, ``kappa_median``, ``kappa_max``,
    ``quantum_modeled_s_per_step`` (Eq. 4, MODELED).
    """
    _need(df, ("reg_eps", "final_accuracy", "kappa_median", "kappa_max", "quantum_modeled_s_per_step"), "fig 2(d)")
    d = df.sort_values("reg_eps")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), constrained_layout=True)
    axes[0].plot(d["reg_eps"], d["final_accuracy"], "o-")
    axes[0].set(ylabel="held-out accuracy (mean of the last evaluations)", title="accuracy")
    axes[1].plot(d["reg_eps"], d["kappa_median"], "o-", label="median over blocks and steps")
    axes[1].plot(d["reg_eps"], d["kappa_max"], "s--", label="max")
    axes[1].set(ylabel="kappa of the solved block H + eps I", title="condition number", yscale="log")
    legend_right(axes[1])
    axes[2].plot(d["reg_eps"], d["quantum_modeled_s_per_step"], "o-", color=COLOURS[2])
    axes[2].set(ylabel="QLSA seconds per step [modeled, Eq. 4]", title="modeled QLSA cost")
    if _log_ok(d["quantum_modeled_s_per_step"]):
        axes[2].set_yscale("log")
    for ax in axes:
        ax.set(xscale="log", xlabel="regularization eps (H + eps I)")
        ax.grid(alpha=0.3)
    return _save(fig, out_stem, "Fig. 2(d) analogue: regularization vs accuracy and condition number (DNN)", note)


def plot_convergence(df: pd.DataFrame, out_stem: str | Path, *, targets: dict | None = None,
                     note: str = "") -> list[Path]:
    """Fig. 2(e): Newton vs SGD convergence, against steps and against seconds.

    ``df`` columns: ``task``, ``label``, ``step`` (updates made), ``seconds`` (cumulative measured
    + modeled), ``test_loss``, ``test_accuracy``. ``targets``: task -> (metric column, value) drawn
    as a dotted line.
    """
    _need(df, ("task", "label", "step", "seconds", "test_loss", "test_accuracy"), "fig 2(e)")
    tasks, labels = list(dict.fromkeys(df["task"])), list(dict.fromkeys(df["label"]))
    fig, axes = plt.subplots(len(tasks), 2, figsize=(12, 3.8 * len(tasks) + 0.6), squeeze=False,
                             constrained_layout=True)
    for row, task in zip(axes, tasks):
        g = df[df["task"] == task]
        metric, value = (targets or {}).get(task, ("test_loss", None))
        for label, h in g.groupby("label", sort=False):
            h = h.sort_values("step")
            kw = {"color": COLOURS[labels.index(label) % len(COLOURS)], "label": label, "lw": 1.4}
            row[0].plot(h["step"], h[metric], **kw)
            t = h[h["seconds"] > 0]  # the log axis drops the start (0 s)
            row[1].plot(t["seconds"], t[metric], **kw)
        for ax in row:
            if value is not None:
                ax.axhline(value, ls=":", color="k", label="target")
            ax.set_ylabel(f"held-out {metric.replace('test_', '')}")
            ax.grid(alpha=0.3)
        row[0].set(xlabel=STEP_LABEL, title=f"{task}: per step")
        integer_steps(row[0].xaxis)
        row[1].set(xlabel="cumulative seconds (measured + modeled)", xscale="log", title=f"{task}: per second")
    legend_below(fig, axes.ravel(), ncol=6)
    return _save(fig, out_stem, "Fig. 2(e) analogue: Newton vs SGD convergence", note)


def plot_quantum_vs_kappa(curves: pd.DataFrame, out_stem: str | Path, *, n: int, points: pd.DataFrame | None = None,
                          note: str = "") -> list[Path]:
    """Fig. 2(f): QLSA runtime vs kappa at several densities against the classical lines (all MODELED).

    ``curves`` columns: ``panel`` (e.g. "paper Eq. 4"), ``kind`` ("quantum" | "classical"),
    ``label``, ``kappa``, ``seconds``. ``points`` (optional) columns: ``panel``, ``kappa``,
    ``seconds``: the run's blocks of size ``n``.
    """
    _need(curves, ("panel", "kind", "label", "kappa", "seconds"), "fig 2(f)")
    panels = list(dict.fromkeys(curves["panel"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(8.6 * len(panels), 4.6), squeeze=False, constrained_layout=True)
    for ax, panel in zip(axes[0], panels):
        g = curves[curves["panel"] == panel]
        qi = ci = 0
        for label, h in g.groupby("label", sort=False):
            h = h.sort_values("kappa")
            if h["kind"].iloc[0] == "quantum":
                ax.plot(h["kappa"], h["seconds"], "-", color=plt.cm.viridis(0.15 + 0.7 * qi / 4), label=label)
                qi += 1
            else:
                ax.plot(h["kappa"], h["seconds"], "--", color=["k", "tab:red", "tab:brown", "tab:gray"][ci % 4], lw=1.8,
                        label=label)
                ci += 1
        if points is not None and len(points):
            p = points[points["panel"] == panel]
            if len(p):
                ax.scatter(p["kappa"], p["seconds"], marker="x", color="tab:red", zorder=5,
                           label=f"this run's blocks (n={n})")
        ax.set(xscale="log", yscale="log", xlabel="condition number kappa", ylabel="seconds per solve [modeled]",
               title=f"{panel}, n = {n}")
        ax.grid(alpha=0.3, which="both")
        legend_right(ax)
    return _save(fig, out_stem, f"Fig. 2(f) analogue: QLSA runtime vs kappa against the classical solvers (n = {n})",
                 "All MODELED: QLSA runtime at several densities (solid) against the classical solvers (dashed)", note)


def plot_pruning_strategies(train: pd.DataFrame, direction: pd.DataFrame, out_stem: str | Path, *,
                            reference_accuracy: float, note: str = "") -> list[Path]:
    """Fig. 2(g): pruning strategies vs accuracy (training runs) and vs Newton-direction error.

    ``train`` columns: ``strategy``, ``target_density``, ``final_accuracy`` (every strategy trained;
    non-symmetric rowwise-topk blocks are solved by LU or a QLSA on the dilation). ``direction`` columns: ``strategy``,
    ``target_density``, ``error`` (||x_p - x|| / ||x||, NaN where the pruned system is singular),
    ``block``, ``step``; every strategy including ``rowwise-topk`` (the seed code's).
    """
    _need(train, ("strategy", "target_density", "final_accuracy"), "fig 2(g) training")
    _need(direction, ("strategy", "target_density", "error"), "fig 2(g) direction error")
    fig, axes = plt.subplots(1, 2, figsize=(15, 4.4), constrained_layout=True)
    def style(s: str, i: int):
        return STRATEGY_STYLE.get(s, (COLOURS[(i + 4) % len(COLOURS)], "d", "-"))

    for i, (s, g) in enumerate(train.groupby("strategy", sort=False)):
        g = g.sort_values("target_density")
        c, m, ls = style(s, i)
        axes[0].plot(g["target_density"], g["final_accuracy"], ls=ls, marker=m, color=c, label=s)
    axes[0].axhline(reference_accuracy, ls="--", color="k", label=f"unpruned: {reference_accuracy:.3f}")
    axes[0].set(xlabel="target density", ylabel="held-out accuracy (mean of the last evaluations)",
                title="training with each pruning strategy")
    _density_axis(axes[0], train["target_density"])
    legend_right(axes[0])
    agg = direction.groupby(["strategy", "target_density"], sort=False)["error"].median().reset_index()
    strategies = list(dict.fromkeys(direction["strategy"]))
    for i, s in enumerate(strategies):
        g = agg[agg["strategy"] == s].sort_values("target_density")
        c, m, ls = style(s, i)
        axes[1].plot(g["target_density"], g["error"], ls=ls, marker=m, ms=7, color=c, label=s, alpha=0.85)
    axes[1].set(xlabel="target density", ylabel="Newton-direction error ||x_p - x|| / ||x|| (median)",
                title="Newton-direction error on trace blocks (all strategies)")
    _density_axis(axes[1], direction["target_density"])
    if _log_ok(agg["error"]):
        axes[1].set_yscale("log")
    legend_right(axes[1])
    for ax in axes:
        ax.grid(alpha=0.3)
    return _save(fig, out_stem, "Fig. 2(g) analogue: pruning strategies vs accuracy and Newton-direction error",
                 "Left: training with each pruning strategy; right: Newton-direction error on trace blocks; "
                 "rowwise-topk (the seed code's) gives non-symmetric blocks", note)


def plot_p_sparsity(df: pd.DataFrame, out_stem: str | Path, *, note: str = "") -> list[Path]:
    """Fig. 3: distribution over rows of the p%-sparsity fraction (entries needed for p% of a row's
    absolute sum, divided by n) at two training steps, per task and p.

    ``df`` columns: ``task``, ``step``, ``p``, ``fraction`` (one row per matrix row, all blocks of
    the task pooled).
    """
    _need(df, ("task", "step", "p", "fraction"), "fig 3")
    tasks = list(dict.fromkeys(df["task"]))
    ps = sorted(df["p"].unique())
    fig, axes = plt.subplots(len(tasks), len(ps), figsize=(6.4 * len(ps), 3.4 * len(tasks)), squeeze=False,
                             constrained_layout=True)
    bins = np.linspace(0, 1, 41)
    for r, task in enumerate(tasks):
        for c, p in enumerate(ps):
            ax = axes[r][c]
            g = df[(df["task"] == task) & (df["p"] == p)]
            for i, (step, h) in enumerate(g.groupby("step")):
                ax.hist(h["fraction"], bins=bins, alpha=0.55, color=COLOURS[i % len(COLOURS)],
                        label=f"step {int(step)} (median {h['fraction'].median():.3f})", density=True)
            ax.set(xlabel=f"p{p:g}-sparsity / n", ylabel="density of rows", title=f"{task}: p = {p:g}%")
            legend_right(ax)
            ax.grid(alpha=0.3)
    return _save(fig, out_stem, "Fig. 3 analogue: p%-sparsity of the Hessian blocks at two training steps",
                 "p%-sparsity: the entries needed for p% of a row's absolute sum, divided by n (smaller = sparser)",
                 note)
