"""Rows printed as a fixed-width table on the console (``tabulate``; no pandas, so a quick command stays quick)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def console_table(rows: Sequence[Mapping], *, drop: Iterable[str] = (), floatfmt: str = ".4g") -> str:
    """The rows' columns (in first-row order, without ``drop``) right-aligned under their names; floats to
    ``floatfmt``, None as empty. An empty sequence gives "(no rows)"."""
    from tabulate import tabulate

    if not rows:
        return "(no rows)"
    skip = set(drop)
    cols = [c for c in rows[0] if c not in skip]
    return tabulate([[r.get(c) for c in cols] for r in rows], headers=cols, tablefmt="plain", floatfmt=floatfmt,
                    missingval="")
