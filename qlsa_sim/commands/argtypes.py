"""argparse types that check a value's range where it enters (the message names the allowed range), the
ranges shared by several flags, and the parser whose errors are one line.

An argparse ``type=`` that raises ``ArgumentTypeError`` makes argparse print ``argument --flag: <message>``;
:class:`OneLineParser` prints that as the single line ``qlsa-sim <command>: error: ...`` and exits with 2.
Only argparse and math are imported at module level.
"""

from __future__ import annotations

import argparse
import math

#: (low, high) of the numbers several flags share.
KAPPA = (1.0, 1e16)        # beyond ~1/(float64 epsilon) a matrix is numerically singular
EPS = (1e-15, 1.0)         # QLSA precision: [1e-15, 1); finer than float64 resolution means nothing
N_MAX = 1 << 40            # modeled matrix dimension (estimate, sweep)
SEED_MAX = 2**32 - 1


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``<prog>: error: <message>``, with exit status 2 (its
    subparsers are of the same class)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())}\n")


def _fmt(v) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


def _interval(lo, hi, lo_open: bool, hi_open: bool) -> str:
    return f"{'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi) if hi is not None else 'inf'}" \
           f"{')' if hi_open or hi is None else ']'}"


def integer(lo: int, hi: int | None = None, what: str = "an integer"):
    """argparse type: an integer in ``[lo, hi]`` (``hi`` None: no upper bound)."""
    def parse(text: str) -> int:
        try:
            v = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be {what} in {_interval(lo, hi, False, False)}, got {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"must be {what} in {_interval(lo, hi, False, False)}, got {v}")
        return v
    parse.__name__ = "integer"
    return parse


def real(lo: float, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False,
         what: str = "a finite number"):
    """argparse type: a finite float in the interval from ``lo`` to ``hi`` (open ends as given)."""
    def parse(text: str) -> float:
        try:
            v = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be {what} in {_interval(lo, hi, lo_open, hi_open)}, got {text!r}") from None
        ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and \
            (hi is None or (v < hi if hi_open else v <= hi))
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {what} in {_interval(lo, hi, lo_open, hi_open)}, got {text}")
        return v
    parse.__name__ = "number"
    return parse


def listed(item, *, unique: bool = False, min_distinct: int = 1):
    """argparse type: comma-separated values, each checked by ``item`` (an argparse type); at least
    ``min_distinct`` distinct ones; no repeats if ``unique``."""
    def parse(text: str) -> list:
        parts = [t for t in text.split(",") if t.strip()]
        values = []
        for t in parts:
            try:
                values.append(item(t))
            except argparse.ArgumentTypeError as e:
                raise argparse.ArgumentTypeError(f"each value {e}") from None
        if len(set(values)) < min_distinct:
            raise argparse.ArgumentTypeError(f"needs at least {min_distinct} distinct value(s), got {text!r}")
        if unique and len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"lists a value twice: {text!r}")
        return values
    parse.__name__ = "list"
    return parse


def choice(*names: str):
    """argparse type: one of ``names`` (the message lists them); like ``choices=`` but usable in lists."""
    def parse(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(f"unknown value {text!r}; known: {', '.join(names)}")
        return text
    parse.__name__ = "name"
    return parse


def address(text: str) -> str:
    """argparse type: a Dask scheduler address ``PROTOCOL://HOST:PORT`` (port 1 to 65535)."""
    import re

    m = re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://([^\s/:]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})", text.strip())
    if not m or not 1 <= int(m.group(3)) <= 65535:
        raise argparse.ArgumentTypeError(f"must be PROTOCOL://HOST:PORT (e.g. tcp://10.0.0.1:8786, port in [1, 65535]), "
                                         f"got {text!r}")
    return text.strip()


#: argparse types of the shared ranges: a condition number in [1, 1e16], a QLSA precision in [1e-15, 1), a density
#: in (0, 1], finite numbers > 0 and >= 0, a random seed in [0, 2^32 - 1].
kappa = real(*KAPPA, what="a condition number")
eps = real(*EPS, hi_open=True, what="a precision")
density = real(0.0, 1.0, lo_open=True, what="a density")
positive = real(0.0, None, lo_open=True)
non_negative = real(0.0, None)
seed = integer(0, SEED_MAX, "a seed")


def threads(text: str) -> int:
    """argparse type: a thread count from 1 to this machine's CPU count."""
    import os

    return integer(1, os.cpu_count() or 1, "a thread count (this machine's CPUs)")(text)


def ram_gb() -> float:
    """This machine's physical memory in GB (2^30 bytes), to 2 decimals."""
    from qlsa_sim.core.resources import physical_memory

    return round(physical_memory() / 2**30, 2)


def memory_gb(text: str) -> float:
    """argparse type: a memory budget in GB, > 0 and at most this machine's physical memory."""
    return real(0.0, ram_gb(), lo_open=True, what="GB of memory (at most this machine's RAM)")(text)
