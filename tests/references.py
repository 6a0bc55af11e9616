"""Slow, obvious references the tests hold fast paths against."""

from __future__ import annotations

from qlsa_sim.quantum.estimation.resources import estimate_qlsa_resources
from qlsa_sim.quantum.estimation.timing import qlsa_time


def qlsa_seconds(rm, n: int, s: int, kappa: float, **info) -> float:
    """The resource model's seconds by hand: the estimator's counts x its time model (``info``: max_abs_entry,
    lambda_min, lambda_max; none given = the ideal encoding)."""
    res = estimate_qlsa_resources(n, s, kappa, rm.precision, rm.preset, **info)
    return qlsa_time(res, rm.hardware, basis=rm.basis, include_state_prep=rm.include_state_prep,
                     include_readout=rm.include_readout).seconds
