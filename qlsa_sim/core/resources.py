"""Resource guards: a request whose estimated memory exceeds a stated fraction of this machine's RAM is refused
before anything is allocated, with the estimate (and, where known, the estimated time) in the message.

The fraction is :data:`MEMORY_FRACTION` of the physical memory (``QLSA_SIM_MEMORY_FRACTION`` overrides it,
a number in (0, 1]).
"""

from __future__ import annotations

import math
import os

from qlsa_sim.core.bounded import format_bytes
from qlsa_sim.errors import MemoryBudgetError

MEMORY_FRACTION = 0.5


def physical_memory() -> int:
    """Bytes of physical memory (``/proc/meminfo`` MemTotal, else sysconf; 8 GiB if neither is known)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def memory_fraction() -> float:
    """The fraction of physical memory one request may use (:data:`MEMORY_FRACTION` unless overridden)."""
    try:
        f = float(os.environ.get("QLSA_SIM_MEMORY_FRACTION", MEMORY_FRACTION))
    except ValueError:
        return MEMORY_FRACTION
    return f if 0 < f <= 1 and math.isfinite(f) else MEMORY_FRACTION


def memory_limit() -> int:
    """Bytes one request may allocate: the stated fraction of physical memory."""
    return int(memory_fraction() * physical_memory())


def format_seconds(s: float) -> str:
    """A duration for people: ``0.3 s``, ``12 min``, ``4.2 h``, ``3.1 days``, ``2e+04 years``."""
    if not math.isfinite(s):
        return "forever"
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.2g} {unit}"
    return f"{s:.2g} s"


def check_memory(nbytes: float, what: str, *, seconds: float | None = None) -> None:
    """Refuse (MemoryBudgetError naming ``what``) a request estimated to need ``nbytes`` when that exceeds
    :func:`memory_limit`; ``seconds`` (an estimate) is shown when given."""
    limit = memory_limit()
    if nbytes > limit:
        t = f" and about {format_seconds(seconds)}" if seconds is not None else ""
        raise MemoryBudgetError(f"{what} would need about {format_bytes(nbytes)} of memory{t}; the limit is "
                                f"{format_bytes(limit)} ({memory_fraction():.0%} of this machine's "
                                f"{format_bytes(physical_memory())})")
