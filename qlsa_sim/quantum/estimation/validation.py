"""Checks of the numbers every QLSA estimate takes (kappa, eps, integer sizes); InputError otherwise."""

from __future__ import annotations

import math
import numbers

from qlsa_sim.errors import InputError


def validate_kappa_eps(kappa: float, eps: float) -> tuple[float, float]:
    """Check ``kappa >= 1`` and ``0 < eps < 1`` (finite); return them as floats or raise InputError."""
    try:
        k, e = float(kappa), float(eps)
    except (TypeError, ValueError) as exc:
        raise InputError(f"kappa and eps must be numbers, got {kappa!r} and {eps!r}") from exc
    if not math.isfinite(k) or k < 1.0:
        raise InputError(f"condition number kappa must be finite and >= 1, got {kappa!r}")
    if not math.isfinite(e) or not 0.0 < e < 1.0:
        raise InputError(f"precision eps must lie in (0, 1), got {eps!r}")
    return k, e

def check_int(name: str, value: object, low: int) -> int:
    """``value`` as an int >= ``low`` (ints, numpy integers and integral floats accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be an integer, got {value!r}")
    f = float(value)
    if not math.isfinite(f) or not f.is_integer():
        raise InputError(f"{name} must be an integer, got {value!r}")
    if int(f) < low:
        raise InputError(f"{name} must be >= {low}, got {int(f)}")
    return int(f)
