"""Write tables as CSV (exact) and Markdown (for people)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from qlsa_sim.core.outputs import write_csv, write_text


def fmt_sig(v: float | None) -> str:
    """A figure to 3 significant digits for people; "n/a" when missing or not finite."""
    if v is None or not math.isfinite(v):
        return "n/a"
    return "0" if v == 0 else f"{v:.3g}"


def write_table(df: pd.DataFrame, directory: str | Path, stem: str, *, title: str | None = None,
                note: str | None = None, floatfmt: str = ".4g") -> tuple[Path, Path]:
    """Write ``<stem>.csv`` and ``<stem>.md``; the Markdown carries the title and a note."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    csv, md = directory / f"{stem}.csv", directory / f"{stem}.md"
    write_csv(df, csv)
    parts = [f"# {title}\n" if title else "", df.to_markdown(index=False, floatfmt=floatfmt), "\n"]
    if note:
        parts.append(f"\n{note}\n")
    write_text(md, "\n".join(p for p in parts if p))
    return csv, md
