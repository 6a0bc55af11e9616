"""Saving figures, and the conventions every figure follows (plain publication practice):

- written as PNG (to look at, at :data:`DPI` >= 200) and SVG (to publish) by the one :func:`save_figure`;
- a one-line title; caveats go to a caption, written next to the figure as ``<stem>.caption.md``;
- legends outside the plotting area (:func:`legend_right`, :func:`legend_below`), never over data;
- integer ticks on every training-step axis (:func:`integer_steps`);
- no empty panels (unused axes are removed, :func:`remove_unused`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import MaxNLocator

from qlsa_sim.core.outputs import save_figure_file, write_text

#: Resolution of every PNG written (dots per inch).
DPI = 200
#: Label of every axis (or colour bar) that counts training steps.
STEP_LABEL = "training step"
#: File name suffix of a figure's caption (Markdown), written beside its PNG and SVG.
CAPTION_SUFFIX = ".caption.md"


def caption_path(out_stem: str | Path) -> Path:
    """Where the caption of the figure ``out_stem`` is written."""
    out_stem = Path(out_stem)
    return out_stem.with_name(out_stem.name + CAPTION_SUFFIX)


def save_figure(fig: Figure, out_stem: str | Path, *, caption: str = "", dpi: int = DPI) -> list[Path]:
    """Write ``<out_stem>.png`` and ``<out_stem>.svg`` (and ``<out_stem>.caption.md`` if ``caption``), close the
    figure, return the paths written. The same figure gives the same bytes: the SVG carries no date and its ids
    come from a fixed salt, so a regenerated report changes only where its content does."""
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_name(out_stem.name + ext) for ext in (".png", ".svg")]
    with plt.rc_context({"svg.hashsalt": "qlsa-sim"}):
        for p in paths:
            save_figure_file(fig, p, dpi=dpi, metadata={"Date": None} if p.suffix == ".svg" else None)
    plt.close(fig)
    if caption:
        paths.append(caption_path(out_stem))
        write_text(paths[-1], caption.strip() + "\n")
    return paths


def read_caption(paths: Iterable[str | Path]) -> str:
    """The caption among a figure's written ``paths`` ("" if it has none)."""
    for p in paths:
        if str(p).endswith(CAPTION_SUFFIX) and Path(p).is_file():
            return Path(p).read_text().strip()
    return ""


def integer_steps(axis: Axis) -> None:
    """Integer ticks on a training-step axis (labelled :data:`STEP_LABEL`)."""
    axis.set_major_locator(MaxNLocator(integer=True))


def legend_right(ax: Axes, **kw) -> Legend | None:
    """The axes' legend, outside it on the right (constrained layout makes room); None if nothing is labelled."""
    if not ax.get_legend_handles_labels()[0]:
        return None
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=kw.pop("fontsize", 7),
                     **kw)


def legend_below(fig: Figure, axes: Iterable[Axes], *, ncol: int = 3, **kw) -> Legend | None:
    """One legend for all ``axes`` (each label once, first style seen), below them; needs constrained layout."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if not entries:
        return None
    return fig.legend(list(entries.values()), list(entries), loc="outside lower center",
                      ncol=min(ncol, len(entries)), fontsize=kw.pop("fontsize", 8), **kw)


def remove_unused(axes: Iterable[Axes], used: int) -> None:
    """Remove the axes after the first ``used`` (no empty panels)."""
    for ax in list(axes)[used:]:
        ax.remove()
