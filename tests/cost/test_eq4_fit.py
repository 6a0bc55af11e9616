"""Paper Eq. 4 fitted in log space: exact on data of its own form; within a stated bound of the resource model at
each size it is fitted at; refitted at the sizes a replay replays, with the error per size recorded."""

import numpy as np
import pytest

from qlsa_sim.cost.calibrate import eq4_error_by_n, eq4_grid, fit_linear_log, fit_quantum_eq4, refit_eq4
from qlsa_sim.cost.models import QuantumResourceModel, eq4_regressor
from qlsa_sim.cost.profile import profile_from_constants

#: Eq. 4 fitted at one block size is within this factor of the resource model at that size, over kappa 2..1e5
#: and density 0.01..1 (measured: 0.64-1.51 at n = 3152; its ln(n/eps) term cannot follow the size).
EQ4_FIT_BOUND_AT_FITTED_SIZE = 2.0


def test_log_fit_recovers_eq4_exactly():
    x = np.array([eq4_regressor(n, k, d, 1e-2) for n in (64, 4096) for k in (2, 1e3, 1e5) for d in (0.01, 1.0)])
    y = 3e-9 * x + 2e-7
    f = fit_linear_log(x, y)
    assert f.a == pytest.approx(3e-9, rel=1e-6) and f.b == pytest.approx(2e-7, rel=1e-5) and f.r2_log > 0.999999


@pytest.mark.parametrize("n", [170, 3152])
def test_eq4_at_a_fitted_size_is_within_the_stated_bound(n):
    rm = QuantumResourceModel()
    fit, rows = fit_quantum_eq4(rm, eq4_grid([n]), "log")
    (err,) = eq4_error_by_n(rows, fit.a, fit.b)
    assert 1 / EQ4_FIT_BOUND_AT_FITTED_SIZE <= err["min_ratio"] and err["max_ratio"] <= EQ4_FIT_BOUND_AT_FITTED_SIZE


def test_refit_at_the_replayed_sizes_records_its_error():
    p = profile_from_constants(cholesky=(1e-11, 1e-5), q1=1.0, q2=0.0)
    q = refit_eq4(p, [170, 3152])
    assert [e["n"] for e in q.eq4.error_by_n] == [170, 3152] and "170, 3152" in q.eq4.rule
    assert q.eq4.model.q1 != p.eq4.model.q1 and q.classical == p.classical and q.resources == p.resources
    # across two sizes Eq. 4 is off in opposite directions at the two ends (the form misses the n-dependence)
    lo, hi = q.eq4.error_by_n
    assert lo["median_ratio"] > 1 > hi["median_ratio"]
