"""The one classical solve of a scheduled block (live training and replay share it) against a dense float64
reference, and replay's MEASURED solve of the best classical solver beside its dense one."""

from pathlib import Path

import numpy as np
import pytest

from qlsa_sim.cost.profile import load_profile
from qlsa_sim.linalg.features import FeatureConfig
from qlsa_sim.schedule.pipeline import MEASURED_BEST, SchedulePolicy, classical_solve, decide_block, strategy_totals
from qlsa_sim.schedule.replay import ReplayConfig, replay
from qlsa_sim.traces.store import BlockData, TraceWriter

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile(ROOT / "calibration/example-2core.json")  # has CG and Woodbury models
EPS = 1e-2
POLICY = SchedulePolicy(FeatureConfig(reg_eps=EPS, exact_max_n=32))


def _factor(rng, n=90, r=6):
    return rng.standard_normal((n, r)) * (rng.random((n, r)) < 0.5), 1.0 / r


@pytest.mark.parametrize("solver", ["woodbury", "cg", "cholesky", "lu"])
def test_each_solver_solves_the_block(rng, solver):
    M, scale = _factor(rng)
    sb = decide_block(None, POLICY, PROFILE, run="t", step=0, block="a", id="t/00000000/a", factor=M, scale=scale)
    A = scale * M @ M.T + EPS * np.eye(len(M))
    g = rng.standard_normal(len(M))
    x, seconds, fallback = classical_solve(sb, solver, g, PROFILE)
    assert seconds > 0 and fallback == ""
    if solver == "cg":  # to the profile's relative residual
        assert np.linalg.norm(A @ x - g) <= PROFILE.classical_model("cg").rtol * np.linalg.norm(g)
    else:
        np.testing.assert_allclose(x, np.linalg.solve(A, g), rtol=1e-8, atol=1e-10)


def test_a_failed_cholesky_falls_back_to_lu(rng):
    B = rng.standard_normal((40, 40))
    H = B + B.T  # symmetric, indefinite
    sb = decide_block(H, SchedulePolicy(FeatureConfig(reg_eps=0.0)), PROFILE, run="t", step=0, block="a",
                      id="t/00000000/a")
    g = rng.standard_normal(40)
    x, _, fallback = classical_solve(sb, "cholesky", g, PROFILE)
    assert fallback == "lu"
    np.testing.assert_allclose(H @ x, g, rtol=1e-8, atol=1e-8)


def test_the_lu_fallback_after_a_lower_only_cholesky_solves_the_whole_matrix(rng, monkeypatch):
    """On a factor block Cholesky gets a matrix whose lower triangle only is promised; the LU it falls back to must
    see the whole, mirrored matrix."""
    import qlsa_sim.schedule.pipeline as pipeline
    from qlsa_sim.errors import InputError

    M, scale = _factor(rng, 400, 4)
    sb = decide_block(None, POLICY, PROFILE, run="t", step=0, block="a", id="t/00000000/a", factor=M, scale=scale)
    assert not sb.prepared.matrix_built  # features from the factor: no n x n matrix yet
    real = pipeline.solve_with

    def failing_cholesky(solver, A, *args, **kwargs):
        if solver == "cholesky":
            A[np.triu_indices_from(A, 1)] = 0.0  # all a lower-triangle matrix promises (PreparedBlock.lower_matrix)
            raise InputError("matrix is not positive definite (forced)")
        return real(solver, A, *args, **kwargs)

    monkeypatch.setattr(pipeline, "solve_with", failing_cholesky)
    g = rng.standard_normal(len(M))
    x, _, fallback = classical_solve(sb, "cholesky", g, PROFILE)
    A = scale * M @ M.T + EPS * np.eye(len(M))
    assert fallback == "lu"
    np.testing.assert_allclose(x, np.linalg.solve(A, g), rtol=1e-8, atol=1e-10)


def test_replay_measures_the_best_classical_solver_too(tmp_path, rng):
    """On a block stored as a factor the best classical solver is Woodbury (reusing the features' Gram): replay
    times it beside the dense Cholesky, and the speedup table gets a MEASURED best-classical row."""
    w = TraceWriter(tmp_path / "f", meta={"identity": {"synthetic": True}})
    for step in (0, 1):
        M, scale = _factor(rng, 400, 4)  # Woodbury is this profile's cheapest solver here
        w.write_snapshot(step, [BlockData("a", rng.standard_normal(400), factor=M.astype(np.float32), scale=scale)],
                         loss=1.0, dtype="float32")
    df = replay(tmp_path / "f", PROFILE, ReplayConfig(POLICY), progress=False)
    assert (df["best_classical"] == "woodbury").all() and (df["measured_solver"] == "cholesky").all()
    assert (df["best_classical_solve_measured_s"] > 0).all()
    t = strategy_totals(df, measured=True).set_index("strategy")
    assert t.loc[MEASURED_BEST, "total_seconds"] == pytest.approx(df["best_classical_solve_measured_s"].sum())
    assert not t.loc[MEASURED_BEST, "modeled"]
    no = replay(tmp_path / "f", PROFILE, ReplayConfig(POLICY, measure_classical=False), progress=False)
    assert "best_classical_solve_measured_s" not in no
    assert MEASURED_BEST not in set(strategy_totals(no, measured=True)["strategy"])
