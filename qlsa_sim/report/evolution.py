"""The evolution figure: kappa, density and p90-sparsity of every recorded block against the training step."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from qlsa_sim.report.figures import STEP_LABEL, integer_steps, legend_below, save_figure

CAPTION = ("Every recorded block of every run against the training step (one line per block, one colour per run): "
           "its condition number, density and p90-sparsity fraction. The paper's claim: kappa drops 10-1000x and "
           "sparsity emerges over training.")


def plot_evolution(table: pd.DataFrame, out_stem: str | Path, *, caption: str = CAPTION) -> list[Path]:
    """kappa, density and p90 fraction against step, one line per block, one colour per run (legend below)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), constrained_layout=True)
    runs = list(dict.fromkeys(table["run"]))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(runs):
        for j, (block, g) in enumerate(table[table["run"] == run].groupby("block", sort=False)):
            g = g.sort_values("step")
            kw = {"color": colours[i % len(colours)], "alpha": 0.7, "marker": "o", "ms": 3,
                  "label": run if j == 0 else None}
            axes[0].plot(g["step"], g["kappa"], **kw)
            axes[1].plot(g["step"], g["density"], **kw)
            axes[2].plot(g["step"], g["p90_fraction"], **kw)
    axes[0].set(yscale="log", ylabel="kappa of H + eps I", title="condition number")
    axes[1].set(ylabel="density (non-zero fraction)", title="density")
    axes[2].set(ylabel="median p90-sparsity / n", title="entries needed for 90% of each row's mass")
    for ax in axes:
        ax.set_xlabel(STEP_LABEL)
        integer_steps(ax.xaxis)
        ax.grid(alpha=0.3)
    legend_below(fig, axes[:1], ncol=6)
    fig.suptitle("Evolution of every recorded block over training", fontsize=10)
    return save_figure(fig, out_stem, caption=caption)
