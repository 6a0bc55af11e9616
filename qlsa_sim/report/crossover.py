"""Crossover maps: the modeled QLSA / classical time ratio over (kappa, density), drawn.

One row of panels per block size n of the trace, one panel per classical rival (dense LU as in the paper,
Cholesky, CG, Woodbury when the trace stores factors, and the best of them). Blue is where the QLSA is cheaper,
red where the classical solver is; the black line is the break-even (QLSA = classical), and each region is
named on the panel. Every trace block is marked on the row of its own size, coloured by its training step.
The ratios are computed by ``experiments/crossover.py``; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from qlsa_sim.report.figures import STEP_LABEL, save_figure

#: Per block size: (n, [(rival label, log10(T_quantum / T_classical) grid, rows = densities, columns = kappas)]).
SizeMaps = Sequence[tuple[int, Sequence[tuple[str, np.ndarray]]]]

RATIO_CMAP, STEP_CMAP = "RdBu_r", "viridis"  # RdBu_r: negative log ratio (QLSA cheaper) blue, positive red
RATIO_LABEL = "log10(QLSA / classical modeled time)\nblue = QLSA cheaper, red = classical cheaper"
BREAK_EVEN_LABEL = "break-even (QLSA = classical)"
BOX = {"facecolor": "white", "alpha": 0.85, "lw": 0, "pad": 2}


def _colour_limit(maps: SizeMaps) -> float:
    """Symmetric colour limit: the largest finite |log ratio| (at least 1)."""
    finite = np.concatenate([g[np.isfinite(g)].ravel() for _, grids in maps for _, g in grids])
    return max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0


def _step_norm(points: pd.DataFrame | None) -> Normalize | None:
    """Colour scale of the training steps of the marked blocks (None without blocks)."""
    if points is None or not len(points):
        return None
    lo, hi = float(points["step"].min()), float(points["step"].max())
    return Normalize(lo - 0.5, hi + 0.5) if lo == hi else Normalize(lo, hi)


def _name_sides(ax: Axes, kappas: np.ndarray, dens: np.ndarray, g: np.ndarray) -> bool:
    """Write "QLSA cheaper" / "classical cheaper" in their regions (at the cell where each side wins most), or
    which side wins everywhere; True if the map crosses break-even."""
    finite = np.where(np.isfinite(g), g, np.nan)
    if np.all(np.isnan(finite)):
        ax.text(0.5, 0.5, "no finite ratio", transform=ax.transAxes, ha="center", va="center", bbox=BOX)
        return False
    crosses = bool(np.nanmin(g) < 0 < np.nanmax(g))
    if not crosses:
        side = "QLSA cheaper everywhere" if np.nanmax(g) < 0 else "classical cheaper everywhere"
        ax.text(0.97, 0.03, side, transform=ax.transAxes, ha="right", va="bottom", fontsize=8, bbox=BOX)
        return False
    for text, flat in (("QLSA cheaper", np.nanargmin(finite)), ("classical cheaper", np.nanargmax(finite))):
        i, j = np.unravel_index(flat, g.shape)
        ax.text(kappas[j], dens[i], text, fontsize=8, bbox=BOX, ha="left" if j < g.shape[1] / 2 else "right",
                va="bottom" if i < g.shape[0] / 2 else "top")
    return True


def _panel(ax: Axes, kappas: np.ndarray, dens: np.ndarray, g: np.ndarray, lim: float, title: str, kappa_label: str):
    """One map: the ratio, the break-even line and the sides in words; returns the mesh."""
    mesh = ax.pcolormesh(kappas, dens, g, cmap=RATIO_CMAP, vmin=-lim, vmax=lim, shading="auto",
                         rasterized=True)  # a dense mesh as one image: vector files stay small and fast
    if _name_sides(ax, kappas, dens, g):
        ax.contour(kappas, dens, g, levels=[0.0], colors="k", linewidths=1.5)
    ax.set(xscale="log", yscale="log", xlabel=kappa_label, ylabel="density d")
    ax.set_title(title, fontsize=9)
    return mesh


def _mark_blocks(ax: Axes, pts: pd.DataFrame, norm: Normalize) -> None:
    """The trace's blocks of this size, coloured by training step."""
    ax.scatter(pts["kappa"], pts["density"], c=pts["step"], cmap=STEP_CMAP, norm=norm, edgecolors="k", s=30, zorder=3)


def _keys(fig, axes: list[Axes], mesh, norm: Normalize | None) -> None:
    """Colour bars (ratio; training step) beside the panels, the legend (break-even, blocks) below them."""
    fig.colorbar(mesh, ax=axes, label=RATIO_LABEL, shrink=0.85)
    handles = [Line2D([], [], color="k", lw=1.5, label=BREAK_EVEN_LABEL)]
    if norm is not None:
        bar = fig.colorbar(ScalarMappable(norm, STEP_CMAP), ax=axes, label=f"{STEP_LABEL} of a marked block",
                           shrink=0.85)
        bar.locator = MaxNLocator(integer=True)
        handles.append(Line2D([], [], marker="o", ls="", mfc="0.75", mec="k",
                              label="trace block, on the row of its size n (colour: training step)"))
    fig.legend(handles, [h.get_label() for h in handles], loc="outside lower center", ncol=len(handles), fontsize=8)


def plot_crossover(maps: SizeMaps, kappas: np.ndarray, dens: np.ndarray, points: pd.DataFrame | None,
                   out_stem: str | Path, *, title: str = "", caption: str = "",
                   kappa_label: str = "condition number kappa") -> list[Path]:
    """Write ``<out_stem>.png`` and ``.svg`` (and the ``caption``): per block size ``n`` of ``maps`` a row of
    panels, one per (rival label, log10(T_quantum / T_classical) grid with rows = densities ``dens`` and columns =
    ``kappas``).

    ``points`` (columns n, kappa, density, step) are the trace's blocks, each drawn on the row of its size at the
    kappa the quantum model takes (``kappa_label`` says which).
    """
    lim, norm = _colour_limit(maps), _step_norm(points)
    cols = max(len(grids) for _, grids in maps)
    fig, grid = plt.subplots(len(maps), cols, figsize=(4.2 * cols + 1.8, 3.6 * len(maps) + 1.0), squeeze=False,
                             constrained_layout=True)
    used, mesh = [], None
    for row, (n, grids) in zip(grid, maps):
        pts = points[points["n"] == n] if norm is not None else None
        for ax, (label, g) in zip(row, grids):
            mesh = _panel(ax, kappas, dens, g, lim, f"n = {n}: QLSA vs {label}", kappa_label)
            if pts is not None and len(pts):
                _mark_blocks(ax, pts, norm)
            used.append(ax)
        for ax in row[len(grids):]:
            ax.remove()
    _keys(fig, used, mesh, norm)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, out_stem, caption=caption)
