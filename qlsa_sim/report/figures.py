"""Saving figures: every figure is written as PNG (to look at) and SVG (to publish)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from qlsa_sim.core.outputs import save_figure_file  # noqa: E402


def save_figure(fig, out_stem: str | Path, *, dpi: int = 120) -> list[Path]:
    """Write ``<out_stem>.png`` and ``<out_stem>.svg``, close the figure, return both paths."""
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_suffix(".png"), out_stem.with_suffix(".svg")]
    for p in paths:
        save_figure_file(fig, p, dpi=dpi)
    plt.close(fig)
    return paths
