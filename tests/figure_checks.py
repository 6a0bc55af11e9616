"""Plain publication practice, checked on a rendered figure (``tests/report/test_figures.py`` applies it to every
figure function of ``qlsa_sim/report``): PNG at >= 200 dpi, one-line titles that fit the figure, no empty
panels, integer ticks on training-step axes, legends off every axes' plotting area, and (where asked) both
sides of the comparison named in words."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from PIL import Image

from qlsa_sim.report.figures import STEP_LABEL

MIN_DPI = 200


def capture_figures(monkeypatch) -> list[Figure]:
    """Keep every figure a report function closes (it is checked, then closed by :func:`close_all`)."""
    kept: list[Figure] = []
    monkeypatch.setattr(plt, "close", lambda fig=None: kept.append(fig))
    return kept


def close_all(figs: Iterable[Figure]) -> None:
    for fig in figs:
        fig.clf()
    plt.close("all")


def png_dpi_problems(paths: Iterable[Path]) -> list[str]:
    pngs = [Path(p) for p in paths if str(p).endswith(".png")]
    if not pngs:
        return ["no PNG written"]
    out = []
    for p in pngs:
        dpi = Image.open(p).info.get("dpi", (0, 0))
        if min(round(float(d)) for d in dpi) < MIN_DPI:
            out.append(f"{p.name}: {dpi} dpi < {MIN_DPI}")
    return out


def title_problems(fig: Figure) -> list[str]:
    """Titles of one line, and a suptitle that fits within the figure's width."""
    out = [f"multi-line axes title {t!r}" for ax in fig.axes for loc in ("left", "center", "right")
           if "\n" in (t := ax.get_title(loc))]
    sup = fig._suptitle
    if sup is not None and sup.get_text():
        if "\n" in sup.get_text():
            out.append(f"multi-line suptitle {sup.get_text()!r}")
        box, page = sup.get_window_extent(fig.canvas.get_renderer()), fig.bbox
        if box.x0 < page.x0 - 1 or box.x1 > page.x1 + 1:
            out.append(f"suptitle wider than the figure: {sup.get_text()!r}")
    return out


def empty_axes_problems(fig: Figure) -> list[str]:
    return [f"empty axes {ax.get_title()!r}" for ax in fig.axes
            if not (ax.lines or ax.collections or ax.images or ax.patches)]


def step_axis_problems(fig: Figure) -> list[str]:
    """Every axis (colour bars included) labelled as a training step has integer ticks only."""
    out = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.get_label_text().startswith(STEP_LABEL):
                continue
            lo, hi = sorted(axis.get_view_interval())
            ticks = [t for t in axis.get_majorticklocs() if lo - 1e-9 <= t <= hi + 1e-9]
            if not ticks or not np.allclose(ticks, np.round(ticks)):
                out.append(f"step axis {axis.get_label_text()!r} ticks {ticks}")
    return out


def legend_problems(fig: Figure) -> list[str]:
    """No legend overlaps the plotting area of any axes (its own or a neighbour's, colour bars included)."""
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    out = []
    for leg in legends:
        box = leg.get_window_extent(renderer)
        for ax in fig.axes:
            inter = Bbox.intersection(box, ax.get_window_extent(renderer))
            if inter is not None and inter.width > 1 and inter.height > 1:
                out.append(f"legend {[t.get_text() for t in leg.get_texts()][:2]} over axes {ax.get_title()!r}")
    return out


def figure_text(fig: Figure) -> str:
    """Every word on the figure: titles, axis and colour-bar labels, texts, legends."""
    parts = [t.get_text() for t in fig.texts]
    parts += [fig._suptitle.get_text()] if fig._suptitle is not None else []
    for ax in fig.axes:
        parts += [ax.get_title(loc) for loc in ("left", "center", "right")]
        parts += [ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts]
    for leg in [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends):
        parts += [t.get_text() for t in leg.get_texts()]
    return "\n".join(parts)


def side_problems(fig: Figure) -> list[str]:
    text = figure_text(fig)
    out = [] if ("QLSA" in text or "quantum" in text.lower()) else ["the quantum side is not named in words"]
    return out + ([] if "classical" in text.lower() else ["the classical side is not named in words"])


def figure_problems(fig: Figure, paths: Iterable[Path], *, sides: bool = False) -> list[str]:
    """Everything plain publication practice would object to in ``fig`` (written to ``paths``)."""
    fig.canvas.draw()  # lay out as saved (constrained layout), so extents are final
    out = (png_dpi_problems(paths) + title_problems(fig) + empty_axes_problems(fig) + step_axis_problems(fig)
           + legend_problems(fig))
    return out + (side_problems(fig) if sides else [])
