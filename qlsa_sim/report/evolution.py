"""The evolution figure: kappa, density and p90-sparsity of every recorded block against the training step."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from qlsa_sim.report.figures import save_figure


def plot_evolution(table: pd.DataFrame, out_stem: str | Path) -> list[Path]:
    """kappa, density and p90 fraction against step, one line per block, one colour per run."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
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
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(textwrap.fill("Evolution over training of every recorded block (one line per block); paper claim: "
                               "kappa drops 10-1000x and sparsity emerges", 140), fontsize=10)
    return save_figure(fig, out_stem)
