"""Crossover maps: the modeled quantum / classical time ratio over (kappa, density) at fixed n, drawn.

One panel per classical rival (dense LU as in the paper, Cholesky, CG, Woodbury when the trace
stores factors, and the best of them), each with its break-even line and the trace's blocks of
that n marked. The ratios are computed by ``experiments/crossover.py``; this module only draws them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from qlsa_sim.report.figures import save_figure


def plot_crossover(grids: Sequence[tuple[str, np.ndarray]], kappas: np.ndarray, dens: np.ndarray, n: int,
                   points: pd.DataFrame | None, out_stem: str | Path, *, title: str = "", subtitle: str = "",
                   kappa_label: str = "condition number kappa") -> list[Path]:
    """Write ``<out_stem>.png`` and ``.svg``: one panel per (rival label, log10(T_quantum / T_classical) grid
    with rows = densities ``dens`` and columns = ``kappas``) at size ``n``.

    ``points`` (columns n, kappa, density, step) are the trace's blocks; those of size ``n`` are drawn,
    at the kappa the quantum model takes (``kappa_label`` says which).
    """
    rivals = [label for label, _ in grids]
    grids = [g for _, g in grids]
    finite = np.concatenate([g[np.isfinite(g)].ravel() for g in grids])
    lim = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    cols = min(3, len(rivals))
    rows = int(np.ceil(len(rivals) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.9 * rows + 0.9), squeeze=False,
                             constrained_layout=True)
    pts = points[points["n"] == n] if points is not None and len(points) else None
    mesh = None
    for ax, label, g in zip(axes.ravel(), rivals, grids):
        mesh = ax.pcolormesh(kappas, dens, g, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="auto")
        crosses = np.nanmin(g) < 0 < np.nanmax(g)
        if crosses:
            ax.contour(kappas, dens, g, levels=[0.0], colors="k", linewidths=1.5)
        ax.set(xscale="log", yscale="log", xlabel=kappa_label, ylabel="density d", title=f"vs {label}")
        verdict = ("black line: break-even" if crosses else
                   "quantum cheaper everywhere" if np.nanmax(g) < 0 else "classical cheaper everywhere")
        ax.text(0.98, 0.02, verdict, transform=ax.transAxes, ha="right", va="bottom", fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
        if pts is not None and len(pts):
            marks = ax.scatter(pts["kappa"], pts["density"], c=pts["step"], cmap="viridis", edgecolors="k", s=30,
                               zorder=3)
    for ax in axes.ravel()[len(rivals):]:
        ax.axis("off")
    if pts is not None and len(pts):  # one legend for all panels, below them (never over a marker)
        fig.legend([marks], [f"trace blocks (n={n}), colour = step"], loc="outside lower center", fontsize=8)
    fig.colorbar(mesh, ax=axes.ravel().tolist(), label="log10(T_quantum / T_classical)  [modeled]", shrink=0.8)
    width = 60 * cols
    fig.suptitle("\n".join(textwrap.fill(t, width) for t in (f"{title} (n = {n})", subtitle) if t), fontsize=9)
    return save_figure(fig, out_stem)
