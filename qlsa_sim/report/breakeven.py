"""Break-even maps: the largest logical gate time at which a QLSA matches the best classical solver, drawn over
(n, kappa) and (n, density), with reference gate times as contours and the trace's blocks marked.

Sides in words: where the map is brighter than a contour, a machine with that gate time makes the QLSA cheaper;
where it is darker, the classical solver stays cheaper."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from qlsa_sim.report.figures import legend_below, save_figure

#: Reference times per logical gate drawn as contours (labelled in the legend).
REFERENCE_GATE_TIMES = ((1e-18, "1 attosecond (the paper's idealized gate)"), (1e-9, "1 ns"),
                        (1e-6, "1 us (surface-code cycle)"))


CAPTION = ("Colour: log10 of the largest logical gate time (s) at which the QLSA is no slower than the best classical "
           "solver calibrated here (MODELED; grid points: ideal encoding alpha = ||A|| and the dense classical "
           "solvers, as a grid point has no factor for Woodbury). A machine whose gates are faster than that makes "
           "the QLSA cheaper there; a slower one leaves the classical solver cheaper. White lines: where reference "
           "gate times break even (brighter side: QLSA cheaper with those gates). Markers: the "
           "trace's blocks at their own features.")


def _panel(ax, grid: pd.DataFrame, x: str, y: str, blocks: pd.DataFrame | None, vmin: float, vmax: float):
    xs, ys = np.sort(grid[x].unique()), np.sort(grid[y].unique())
    z = np.log10(grid.pivot_table(index=y, columns=x, values="max_gate_time_s").loc[ys, xs].to_numpy())
    mesh = ax.pcolormesh(xs, ys, z, cmap="viridis", vmin=vmin, vmax=vmax, shading="auto",
                         rasterized=True)  # a dense mesh as one image: vector files stay small and fast
    styles = ("--", "-.", ":")
    for (t, label), ls in zip(REFERENCE_GATE_TIMES, styles):
        if np.nanmin(z) < np.log10(t) < np.nanmax(z):
            ax.contour(xs, ys, z, levels=[np.log10(t)], colors="w", linestyles=ls, linewidths=1.2)
            ax.plot([], [], color="k", ls=ls, label=f"gates of {label}: QLSA cheaper on the brighter side")
    if blocks is not None and len(blocks):
        ax.scatter(blocks[x], blocks[y], c=np.log10(blocks["max_gate_time_s"]), cmap="viridis", vmin=vmin, vmax=vmax,
                   edgecolors="r", linewidths=1.2, s=40, zorder=3, label="trace blocks (own features)")
    ax.set(xscale="log", yscale="log", xlabel="block size n", ylabel=y if y != "kappa" else "condition number kappa")
    return mesh


def plot_break_even_maps(maps: dict[str, pd.DataFrame], blocks: pd.DataFrame | None, out_stem: str | Path, *,
                         title: str) -> list[Path]:
    """Two panels (``n_kappa``, ``n_density``); colour = log10 of the largest logical gate time (s) at which the
    QLSA is no slower than the best classical solver: below that time the quantum side wins. PNG + SVG."""
    z = np.log10(pd.concat([m["max_gate_time_s"] for m in maps.values()]))
    vmin, vmax = float(np.floor(z.min())), float(np.ceil(z.max()))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    mesh = None
    for ax, (key, x, y) in zip(axes, (("n_kappa", "n", "kappa"), ("n_density", "n", "density"))):
        mesh = _panel(ax, maps[key], x, y, blocks, vmin, vmax)
        ax.set_title("over (n, kappa)" if key == "n_kappa" else "over (n, density)", fontsize=10)
    legend_below(fig, axes, ncol=2)
    fig.colorbar(mesh, ax=list(axes), label="log10 break-even logical gate time (s) [modeled]\n"
                                            "faster gates: QLSA cheaper; slower: classical cheaper")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, out_stem, caption=CAPTION)
