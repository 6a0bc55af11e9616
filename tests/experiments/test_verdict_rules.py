"""Verdict rules read 95% intervals over seeds: a claim holds only at the interval's unfavourable end.
Intervals against scipy's t-interval; the rules on constructed intervals and constructed runs."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from qlsa_sim.experiments.reproduce.claims import SPEED_CLAIMS, claim_speedup, claims_vs_sgd, seed_speedups
from qlsa_sim.experiments.reproduce.frames import run_summary
from qlsa_sim.experiments.reproduce.intervals import Interval, above, at_least, clearly_below, not_worse


def test_interval_matches_scipy_t_interval():
    v = [3.0, 4.0, 6.0, 5.0, 4.5]
    lo, hi = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    i = Interval.of(v)
    assert (i.mean, i.lo, i.hi, i.n) == pytest.approx((np.mean(v), lo, hi, 5))
    g = Interval.of([2.0, 8.0], log=True)  # a ratio: geometric mean, interval in log space
    assert g.mean == pytest.approx(4.0) and g.lo > 0 and g.lo * g.hi == pytest.approx(16.0)
    one = Interval.of([7.0])
    assert one.mean == 7.0 and not one.known and one.low_end() == one.high_end() == 7.0
    assert Interval.of([math.nan, math.inf]).n == 0 and one.fmt() == "7"


def test_rules_use_the_unfavourable_end():
    wide = Interval(12.0, 8.0, 16.0, 5)            # mean above 10x, lower end below
    assert not at_least(wide, 10.0) and above(wide, 1.1)
    assert at_least(Interval(15.0, 11.0, 19.0, 5), 10.0)
    a, b = Interval(9.0, 7.0, 11.0, 5), Interval(12.0, 10.5, 13.5, 5)
    assert not clearly_below(a, b)                 # overlapping: not shown
    assert clearly_below(Interval(9.0, 8.0, 10.0, 5), b)
    assert not_worse(Interval(-0.005, -0.009, -0.001, 5), 0.01) and not not_worse(Interval(0.0, -0.02, 0.02, 5), 0.01)


def _run(seed, total_s, steps, reached, acc=0.8, loss=1.0, quantum_fraction=0.5):
    return SimpleNamespace(seed=seed, total_s=total_s, steps_run=steps, reached=reached,
                           steps_to_target=steps if reached else None, final_test_accuracy=acc, final_test_loss=loss,
                           measured_s_per_step=total_s / steps, modeled_s_per_step=0.0, solve_measured_s_per_step=0.0,
                           total_measured_s=total_s, total_modeled_s=0.0, quantum_fraction=quantum_fraction)


def test_speedup_claim_holds_only_if_the_lower_end_reaches_10x():
    base = run_summary([_run(s, 100.0 + s, 10, True) for s in range(5)])
    fast = run_summary([_run(s, t, 10, True) for s, t in enumerate((8.0, 8.5, 9.0, 9.5, 10.0))])     # ~11x, tight
    noisy = run_summary([_run(s, t, 10, True) for s, t in enumerate((4.0, 8.0, 20.0, 9.0, 6.0))])    # ~12x, wide
    t2t, per, e2e = seed_speedups(base, fast)
    assert e2e == pytest.approx([min(a, b) for a, b in zip(t2t, per)])
    spec = SPEED_CLAIMS[0]
    solve = __import__("pandas").DataFrame(columns=["task", "blocks_of", "strategy", "speedup_vs_lu"])
    assert claim_speedup(spec, {"dnn": {"newton-lu": base, "q-newton-vs-lu": fast}}, solve).verdict == "holds"
    assert claim_speedup(spec, {"dnn": {"newton-lu": base, "q-newton-vs-lu": noisy}}, solve).verdict == "partly"
    # the same speed bought with 3 accuracy points is not 'without compromising accuracy'
    worse = run_summary([_run(s, t, 10, True, acc=0.77) for s, t in enumerate((8.0, 8.5, 9.0, 9.5, 10.0))])
    assert claim_speedup(spec, {"dnn": {"newton-lu": base, "q-newton-vs-lu": worse}}, solve).verdict == "does not hold"


def test_a_speedup_without_quantum_blocks_is_not_the_qlsas():
    """A Q-Newton run that sent every block to the classical side is classical Newton: however much faster its
    measured seconds came out, C1-C3 do not count it, and the claim says why."""
    import pandas as pd

    base = run_summary([_run(s, 100.0 + s, 10, True) for s in range(5)])
    faster = [_run(s, t, 10, True, quantum_fraction=0.0) for s, t in enumerate((60.0, 62.0, 64.0, 61.0, 63.0))]
    solve = pd.DataFrame(columns=["task", "blocks_of", "strategy", "speedup_vs_best_classical"])
    spec = next(s for s in SPEED_CLAIMS if s[0] == "C3")
    c = claim_speedup(spec, {"dnn": {spec[1]: base, spec[2]: run_summary(faster)}}, solve)
    assert c.verdict == "does not hold" and "QLSA share 0%" in c.measurement and "classical timing" in c.measurement
    used = [_run(s, t, 10, True, quantum_fraction=1.0) for s, t in enumerate((60.0, 62.0, 64.0, 61.0, 63.0))]
    assert claim_speedup(spec, {"dnn": {spec[1]: base, spec[2]: run_summary(used)}}, solve).verdict == "partly"


def test_fewer_steps_and_less_time_than_sgd_need_separated_intervals():
    sgd = run_summary([_run(s, 1.0, st, True) for s, st in enumerate((60, 62, 58, 61, 59))])
    close = run_summary([_run(s, 5.0, st, True) for s, st in enumerate((40, 70, 55, 65, 50))])
    clear = run_summary([_run(s, 0.5, st, True) for s, st in enumerate((9, 10, 11, 10, 9))])
    c8, c9 = claims_vs_sgd({"dnn": {"sgd": sgd, "q-newton": close}})
    assert c8.verdict == "does not hold" and c9.verdict == "does not hold"
    c8, c9 = claims_vs_sgd({"dnn": {"sgd": sgd, "q-newton": clear}})
    assert c8.verdict == "holds" and c9.verdict == "holds"
