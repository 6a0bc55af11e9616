"""Paper Eq. 3 fits (t = c1 n^3 + c2) on synthetic timings with a known efficiency ramp; bad input;
how the chosen fit is recorded in a profile. No timing assertions."""

import json
from pathlib import Path

import numpy as np
import pytest

from qlsa_sim.cli import build_parser
from qlsa_sim.cost.calibrate import EQ3_FITS, calibrate, fit_eq3
from qlsa_sim.cost.profile import load_profile, profile_from_json
from qlsa_sim.errors import InputError, UnknownNameError

SIZES = np.array([32, 64, 128, 256, 512, 1024, 2048], float)
C1, C2, N0 = 1e-11, 4e-5, 1500.0   # N0: GFLOP/s at n are 1/(1 + N0/n) of the asymptote (~0.58 at n = 2048,
                                   # as measured for Cholesky on this kind of machine, bench_calibration_extrapolation)


def _ramp(n, noise=0.0, rng=None):
    """Blocked-factorization-like seconds: c1 n^3 (1 + n0/n) + c2, optionally x lognormal noise."""
    t = C1 * n ** 3 * (1 + N0 / n) + C2
    return t * np.exp(rng.normal(0, noise, n.size)) if noise else t


def test_asymptotic_recovers_c1_and_extrapolates_where_relative_does_not():
    t = _ramp(SIZES)
    a, r = fit_eq3(SIZES, t, "asymptotic"), fit_eq3(SIZES, t, "relative")
    assert a.c1 == pytest.approx(C1, rel=0.05)                 # c2 in the band biases c1 by < 1%
    assert a.c1_sizes == (512, 1024, 2048) and r.c1_sizes == tuple(SIZES.astype(int))
    big = 8 * SIZES[-1]                                          # n = 16384, truth 1.09 c1 n^3
    truth = _ramp(np.array([big]))[0]
    assert 1 / 1.15 < a.seconds(big) / truth < 1.15
    assert r.seconds(big) / truth > 1.5                          # the relative fit's bias that motivates the default
    assert r.c1 > 1.5 * C1
    # model exact at the smallest size; the price: a worse R^2 on all sizes (under-predicts near n = 2048)
    assert a.seconds(SIZES[0]) == pytest.approx(t[0], rel=1e-9)
    assert a.r2 < r.r2 <= 1.0 and a.r2_log <= 1.0 and a.method == "asymptotic" and r.method == "relative"


def test_asymptotic_with_noise(rng):
    n = np.repeat(SIZES, 3)
    a = fit_eq3(n, _ramp(n, 0.03, rng))
    assert a.c1 == pytest.approx(C1, rel=0.2) and a.c2 >= 0


def test_both_fits_recover_exact_eq3():
    t = C1 * SIZES ** 3 + C2
    for method in EQ3_FITS:
        f = fit_eq3(SIZES, t, method)
        assert f.c1 == pytest.approx(C1, rel=2e-3) and f.c2 == pytest.approx(C2, rel=2e-2), method
        assert f.r2 == pytest.approx(1.0, abs=1e-4)


def test_asymptotic_falls_back_when_the_n2_term_is_unresolved():
    # overhead-dominated sizes that grow slower than n^2: the c1 n^3 + b n^2 fit has c1 = 0
    n = np.array([16, 32, 64, 128], float)
    f = fit_eq3(n, 4e-5 + 2e-7 * n)
    assert f.c1 > 0 and f.c1_sizes == (32, 64, 128)


def test_two_sizes_and_the_band_keeps_three_largest():
    assert fit_eq3([100, 200], [1e-3, 8e-3]).c1_sizes == (100, 200)
    assert fit_eq3(SIZES[:4], _ramp(SIZES[:4])).c1_sizes == (64, 128, 256)   # 256/4 = 64


@pytest.mark.parametrize("n, t", [([1024], [0.1]), ([1024, 1024], [0.1, 0.1]), ([64, 128], [1e-4, 0.0]),
                                  ([64, 128], [1e-4, -1.0]), ([64, 128], [1e-4, np.nan]), ([0, 128], [1e-4, 1e-3]),
                                  ([64, 128, 256], [1e-4, 1e-3])])
def test_fit_eq3_bad_input(n, t):
    for method in EQ3_FITS:
        with pytest.raises(InputError):
            fit_eq3(n, t, method)


def test_unknown_fit_name():
    with pytest.raises(UnknownNameError, match="unknown Eq. 3 fit 'median'; known: asymptotic, relative"):
        fit_eq3(SIZES, _ramp(SIZES), "median")
    with pytest.raises(UnknownNameError):                        # before anything is measured
        calibrate(sizes=(64, 128), eq3_fit="median")
    with pytest.raises(InputError, match="two distinct"):
        calibrate(sizes=(64, 64))


def test_calibrate_records_the_fit(tmp_path):
    grid = [(16, 2.0, 0.5), (64, 10.0, 0.5), (256, 100.0, 1.0)]
    for method in EQ3_FITS:
        p = calibrate(sizes=(16, 32, 64, 128), repeats=1, progress=False, quantum_grid=grid,
                      solvers_to_fit=("cholesky", "lu"), eq3_fit=method)
        assert p.measured and f"Eq. 3 ({method})" in p.source
        for c in p.classical:
            assert c.rule == method and c.model.c1 > 0 and c.model.c2 >= 0 and c.r2_log <= 1
            assert c.fit_sizes == ((32, 64, 128) if method == "asymptotic" else (16, 32, 64, 128))
            assert len(c.timings) == 4 and all(t["median"] > 0 for t in c.timings)
        q = profile_from_json(json.loads(json.dumps(p.to_json())))
        assert q.classical == p.classical and q.eq4 == p.eq4


def test_committed_profile_without_fit_key_still_loads():
    path = Path(__file__).resolve().parents[2] / "calibration" / "example-2core.json"
    raw = json.loads(path.read_text())
    p = load_profile(path)
    assert p.classical_model("cholesky").c1 == pytest.approx(raw["classical"]["solvers"]["cholesky"]["c1"])


def test_cli_flag():
    args = build_parser().parse_args(["calibrate"])
    assert args.eq3_fit == "asymptotic"
    assert build_parser().parse_args(["calibrate", "--eq3-fit", "relative"]).eq3_fit == "relative"
    choices = next(a for a in build_parser()._subparsers._group_actions[0].choices["calibrate"]._actions
                   if a.dest == "eq3_fit").choices
    assert tuple(choices) == EQ3_FITS


def test_poor_fits_are_flagged_by_the_stated_thresholds():
    from qlsa_sim.cost.models import ClassicalCubicModel
    from qlsa_sim.cost.profile import POOR_FIT_R2, POOR_FIT_R2_LOG, ClassicalFit, fit_problem

    assert fit_problem(0.99, 0.99) is None and fit_problem(float("nan"), float("nan")) is None
    assert "R^2 = -4.56" in fit_problem(-4.56, 0.95) and POOR_FIT_R2 == 0.0
    assert "log10" in fit_problem(0.95, POOR_FIT_R2_LOG - 0.01)
    fit = ClassicalFit(ClassicalCubicModel(1e-11, 1e-5, "cholesky"), r2=-4.56, r2_log=0.5)
    assert fit.problem.startswith("poor fit")


def test_calibrate_warns_of_a_poor_fit_and_flags_it_in_the_profile(tmp_path, monkeypatch, capsys):
    """The command's own wiring: a Cholesky fit with R^2 = -4.56 (seen with --sizes 32,64,128,256) is warned of
    and written as fit_quality; the timings themselves are replaced by a stored profile's."""
    from dataclasses import replace

    import qlsa_sim.cost.calibrate as cal
    from qlsa_sim.cli import main

    stored = load_profile(Path(__file__).resolve().parents[2] / "calibration" / "example-2core.json")
    poor = replace(stored, classical=(replace(stored.classical[0], r2=-4.56), *stored.classical[1:]))
    monkeypatch.setattr(cal, "calibrate", lambda **kw: poor)
    out = tmp_path / "p.json"
    assert main(["calibrate", "--sizes", "32,64,128,256", "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: cholesky poor fit: R^2 = -4.56" in err
    doc = json.loads(out.read_text())
    assert doc["classical"]["solvers"]["cholesky"]["fit_quality"].startswith("poor fit")
    assert doc["classical"]["solvers"]["lu"]["fit_quality"] == "ok"


def test_memory_fit_on_a_constructed_ladder():
    from qlsa_sim.cost.calibrate import fit_memory

    rows = [{"bytes": b, "bandwidth_Bps": bw} for b, bw in
            ((8e6, 60e9), (32e6, 55e9), (64e6, 30e9), (128e6, 11e9), (256e6, 9e9), (512e6, 10e9))]
    bw, cache = fit_memory(rows)
    assert bw == pytest.approx(9.5e9) and cache == 64e6  # 30 GB/s >= 2 x 9.5: still cached
    assert fit_memory([{"bytes": 1e6, "bandwidth_Bps": 5e9}, {"bytes": 2e6, "bandwidth_Bps": 5e9}]) == (5e9, 0.0)
    with pytest.raises(InputError, match="two working sets"):
        fit_memory(rows[:1])


def test_calibrate_measures_the_memory_term():
    grid = [(16, 2.0, 0.5), (64, 10.0, 0.5), (256, 100.0, 1.0)]
    p = calibrate(sizes=(16, 32, 64, 128), repeats=1, progress=False, quantum_grid=grid,
                  solvers_to_fit=("cholesky", "cg", "woodbury"), memory_sizes=(2.0 ** 16, 2.0 ** 18, 2.0 ** 20))
    m = p.memory
    assert m is not None and m.bandwidth_Bps > 0 and m.cache_bytes >= 0 and len(m.timings) == 3
    assert all(t["bandwidth_Bps"] == pytest.approx(t["bytes"] / t["best"]) for t in m.timings)
    assert p.classical_model("cg").bandwidth_Bps == m.bandwidth_Bps
    q = profile_from_json(json.loads(json.dumps(p.to_json())))
    assert q.memory == m and q.classical == p.classical and q.identity()["sha256"] == p.identity()["sha256"]
    # without a flop-model solver there is no memory term, and the file has no memory entry
    p2 = calibrate(sizes=(16, 32), repeats=1, progress=False, quantum_grid=grid, solvers_to_fit=("cholesky",))
    assert p2.memory is None and "memory" not in p2.to_json()["classical"]


def test_committed_profile_hash_is_unchanged_by_the_memory_entry():
    """A profile without the memory entry writes the same JSON as before it existed (runs made with it resume)."""
    path = Path(__file__).resolve().parents[2] / "calibration" / "example-2core.json"
    raw = json.loads(path.read_text())
    p = load_profile(path)
    if "memory" not in raw["classical"]:
        assert "memory" not in p.to_json()["classical"] and p.memory is None
        assert p.classical_model("cg").bandwidth_Bps is None
    else:
        assert p.memory.bandwidth_Bps == raw["classical"]["memory"]["bandwidth_Bps"]
