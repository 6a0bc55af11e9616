"""Sweeps and feature extraction (evolution) on every executor give identical tables."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qlsa_sim.cli import main
from qlsa_sim.cost.profile import profile_from_constants
from qlsa_sim.errors import UnknownNameError
from qlsa_sim.experiments.evolution import evolution_table
from qlsa_sim.experiments.sweep import run_sweep, sweep_points
from qlsa_sim.linalg.features import FeatureConfig
from qlsa_sim.quantum.estimation.resources import estimate_qlsa_resources
from qlsa_sim.quantum.estimation.timing import qlsa_time

POINTS = dict(presets=["jennings2023_v1", "dalzell2024"], profiles=["attosecond", "logical-ec"], ns=[64, 512],
              kappas=[10.0, 1e3], densities=[0.1, 1.0], precision=1e-2)


def test_sweep_rows_match_the_estimator_and_ids_are_stable():
    pts = sweep_points(**POINTS)
    cal = profile_from_constants(cholesky=(1e-11, 1e-5), lu=(2e-11, 1e-5), q1=0.0, q2=0.0)
    df = run_sweep(pts, calibration=cal, chunk=5, progress=False)
    assert len(df) == 2 * 2 * 2 * 2 * 2 and df["id"].is_unique
    assert list(df["id"]) == [p.id for p in pts]
    row = df[df["id"] == "dalzell2024/logical-ec/n=512/kappa=1000/d=0.1/eps=0.01"].iloc[0]
    res = estimate_qlsa_resources(512, 52, 1000.0, 1e-2, "dalzell2024")
    assert row["queries"] == res.queries and row["quantum_modeled_s"] == qlsa_time(res, "logical-ec").seconds
    assert row["lu_modeled_s"] == pytest.approx(2e-11 * 512 ** 3 + 1e-5)
    best = min(row["cholesky_modeled_s"], row["lu_modeled_s"])
    assert row["quantum_over_best_classical"] == pytest.approx(row["quantum_modeled_s"] / best)
    # the same solve on the default surface-code machine: Qualtran's model on the point's own counts
    from qlsa_sim.quantum.estimation.physical import physical_estimate
    from qlsa_sim.quantum.estimation.resources import logical_counts

    ph = physical_estimate(logical_counts(res), "surface-p1e-4-1us")
    assert row["physical_profile"] == "surface-p1e-4-1us" and bool(row["physical_feasible"]) == ph.feasible
    if ph.feasible:
        assert row["physical_qubits"] == ph.physical_qubits and row["physical_wall_s"] == ph.wall_time_s
    else:
        assert row["physical_reason"] == ph.reason


def test_sweep_identical_in_process_and_pool():
    pts = sweep_points(**POINTS)
    ref = run_sweep(pts, chunk=64, progress=False)
    pd.testing.assert_frame_equal(ref, run_sweep(pts, chunk=3, executor="process", workers=2, progress=False,
                                                 reuse_rows=False))


def test_sweep_identical_on_dask():
    pytest.importorskip("distributed")
    pts = sweep_points(**POINTS)
    ref = run_sweep(pts, chunk=64, progress=False)
    pd.testing.assert_frame_equal(ref, run_sweep(pts, chunk=7, executor="dask", workers=2, progress=False,
                                                 reuse_rows=False))



def test_a_repeated_sweep_reads_its_rows_back_and_starts_no_pool(tmp_path, monkeypatch):
    """Rows on disk come back equal to the evaluated ones (NaN classical columns and infeasible physical points
    included); a full hit starts no pool and evaluates nothing; a new point, another calibration or other code is
    evaluated again; an entry for another point is not taken."""
    from qlsa_sim.experiments import sweep

    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(tmp_path))
    pts = sweep_points(**POINTS)
    cal = profile_from_constants(cholesky=(1e-11, 1e-5), lu=(2e-11, 1e-5), q1=0.0, q2=0.0)
    ref = run_sweep(pts, calibration=cal, chunk=5, progress=False, reuse_rows=False)
    run_sweep(pts[:20], calibration=cal, chunk=5, progress=False)              # 20 of the 32 rows on disk
    evaluated = []
    real = sweep.evaluate_points
    monkeypatch.setattr(sweep, "evaluate_points", lambda ps, **kw: evaluated.extend(p.id for p in ps) or real(ps, **kw))
    pd.testing.assert_frame_equal(ref, run_sweep(pts, calibration=cal, chunk=5, executor="process", workers=2,
                                                 progress=False))
    monkeypatch.setattr(sweep, "start_pool_server", lambda *a, **k: pytest.fail("a pool was started"))
    monkeypatch.setattr(sweep, "run_tasks", lambda *a, **k: pytest.fail("points were evaluated"))
    pd.testing.assert_frame_equal(ref, run_sweep(pts, calibration=cal, executor="process", workers=2,
                                                 progress=False))
    with pytest.raises(pytest.fail.Exception):  # another calibration: other classical columns
        run_sweep(pts, calibration=profile_from_constants(cholesky=(2e-11, 1e-5), lu=(2e-11, 1e-5), q1=0.0, q2=0.0),
                  progress=False)
    sweep.row_identity.cache_clear()
    monkeypatch.setattr(sweep, "code_identity", lambda *a: {"qualtran": "0", "qlsa_sim": "x", "source": "other"})
    with pytest.raises(pytest.fail.Exception):  # other code
        run_sweep(pts, calibration=cal, progress=False)
    sweep.row_identity.cache_clear()


def test_sweep_bad_input():
    with pytest.raises(UnknownNameError, match="magic"):
        sweep_points(**dict(POINTS, presets=["magic"]))
    with pytest.raises(Exception, match="kappa >= 1"):
        sweep_points(**dict(POINTS, kappas=[0.5]))


def test_sweep_cli(tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["sweep", "--presets", "jennings2023_v1", "--profiles", "attosecond", "--n", "64,128",
                 "--kappa", "10", "--density", "0.5", "--out", str(out), "--quiet"]) == 0
    df = pd.read_csv(out)
    assert len(df) == 2 and (df["modeled"]).all() and np.isfinite(df["quantum_modeled_s"]).all()


def test_evolution_identical_in_process_and_pool():
    traces = [Path(__file__).resolve().parents[2] / "hessian_traces" / "example-digits"]
    cfg = FeatureConfig(psd=False)
    a = evolution_table(traces, cfg, progress=False)
    b = evolution_table(traces, cfg, progress=False, executor="process", workers=2)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["step"]) == [0, 0, 50, 50, 100, 100]
