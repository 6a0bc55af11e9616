"""Means with 95% confidence intervals over seeds, and the verdict rules that read them.

A figure over seeds is a Student-t interval of the mean, ``mean +- t_{0.975, k-1} s / sqrt(k)`` for ``k``
seeds (Student 1908; e.g. Wasserman, *All of Statistics*, Sec. 6.3.2); a ratio (a speedup) is taken in log
space, so its interval is that of the geometric mean and never crosses zero. With one seed the interval is
unknown (NaN ends): the verdict rules then fall back to the point value and say so.

A claim holds only if it holds at the interval's unfavourable end: a speedup counts from its lower end, a
step count or a time from its upper end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """``mean`` with the ``LEVEL`` confidence interval ``[lo, hi]`` over ``n`` values (NaN ends if n < 2)."""

    mean: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float], *, log: bool = False, level: float = LEVEL) -> Interval:
        """The t-interval of the mean of the finite ``values`` (of their logarithm if ``log``: a ratio)."""
        v = np.array([float(x) for x in values if x is not None and math.isfinite(float(x))])
        if log:
            v = v[v > 0]
            if v.size == 0:
                return cls(math.nan, math.nan, math.nan, 0)
            i = cls.of(np.log(v), level=level)
            return cls(math.exp(i.mean), math.exp(i.lo) if math.isfinite(i.lo) else math.nan,
                       math.exp(i.hi) if math.isfinite(i.hi) else math.nan, i.n)
        if v.size == 0:
            return cls(math.nan, math.nan, math.nan, 0)
        m = float(v.mean())
        if v.size < 2:
            return cls(m, math.nan, math.nan, int(v.size))
        half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
        return cls(m, m - half, m + half, int(v.size))

    @property
    def known(self) -> bool:
        """Whether the interval has ends (two or more values)."""
        return math.isfinite(self.lo) and math.isfinite(self.hi)

    def low_end(self) -> float:
        """The lower end, or the mean when the interval is unknown (the point value)."""
        return self.lo if self.known else self.mean

    def high_end(self) -> float:
        """The upper end, or the mean when the interval is unknown (the point value)."""
        return self.hi if self.known else self.mean

    def fmt(self, spec: str = ".3g", suffix: str = "") -> str:
        """``mean [lo, hi]`` (``mean`` alone when unknown), e.g. ``3.1x [2.4x, 4x]``."""
        if not math.isfinite(self.mean):
            return "n/a"
        if not self.known:
            return f"{self.mean:{spec}}{suffix}"
        return f"{self.mean:{spec}}{suffix} [{self.lo:{spec}}{suffix}, {self.hi:{spec}}{suffix}]"


def at_least(i: Interval, threshold: float) -> bool:
    """A 'larger is better' figure (a speedup) clears ``threshold`` at its unfavourable (lower) end."""
    return math.isfinite(i.low_end()) and i.low_end() >= threshold


def above(i: Interval, threshold: float) -> bool:
    """A 'larger is better' figure exceeds ``threshold`` at its lower end."""
    return math.isfinite(i.low_end()) and i.low_end() > threshold


def clearly_below(a: Interval, b: Interval) -> bool:
    """``a`` is smaller than ``b`` at the unfavourable ends: a's upper end below b's lower end."""
    return math.isfinite(a.high_end()) and math.isfinite(b.low_end()) and a.high_end() < b.low_end()


def not_worse(diff: Interval, tolerance: float) -> bool:
    """A difference 'candidate minus baseline' of a larger-is-better metric is no worse than ``-tolerance``
    at its lower end."""
    return math.isfinite(diff.low_end()) and diff.low_end() >= -tolerance
