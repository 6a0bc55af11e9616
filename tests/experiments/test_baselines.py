"""Baselines runner: SGD / Adam / Newton classical-only / quantum-only / hybrid to a target on a tiny
problem; measured and modeled seconds apart; Ctrl-C leaves a readable trace and resume completes it."""

import numpy as np
import pytest
import torch

from qlsa_sim.cost.profile import profile_from_constants
from qlsa_sim.data.images import load_image_dataset
from qlsa_sim.errors import TraceError
from qlsa_sim.experiments.baselines import MethodSpec, StopRule, run_baselines, run_method
from qlsa_sim.linalg.features import FeatureConfig
from qlsa_sim.models.mlp import MLPConfig
from qlsa_sim.traces.store import TraceReader
from qlsa_sim.train import hybrid_newton as hn_mod
from qlsa_sim.train.hybrid_newton import HybridNewtonConfig
from qlsa_sim.train.mlp_task import MLPTask

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def make_profile(q1=1e-6, q2=0.0, c1=1e-9, c2=0.0):
    """Cholesky/LU c1 n^3 + c2 (Eq. 3); QLSA q1 d kappa ln(n/eps) + q2 (Eq. 4): decisions mix."""
    return profile_from_constants(cholesky=(c1, c2), lu=(c1, c2), q1=q1, q2=q2)


@pytest.fixture(scope="module")
def digits():
    return load_image_dataset("digits", image_size=4)


@pytest.fixture
def make_task(digits):
    return lambda seed: MLPTask(digits, MLPConfig((16, 6, 10)), batch_size=64, seed=seed, dtype=torch.float64)


NEWTON = HybridNewtonConfig(features=FeatureConfig(reg_eps=1e-2))
SPECS = [MethodSpec("sgd", 0.5, momentum=0.5), MethodSpec("adam", 0.05),
         MethodSpec("newton-classical", 0.5, newton=NEWTON), MethodSpec("newton-quantum", 0.5, newton=NEWTON),
         MethodSpec("hybrid", 0.5, newton=NEWTON)]


def test_runner_reaches_target_and_keeps_seconds_apart(make_task, tmp_path):
    stop = StopRule(target_accuracy=0.7, max_steps=150)
    rep = run_baselines(make_task, SPECS, stop, make_profile(), seeds=(1,), task_name="digits", out_dir=tmp_path,
                        progress=False)
    t = rep.table.set_index("id")
    assert list(t.index) == ["digits/sgd/1", "digits/adam/1", "digits/newton-classical/1", "digits/newton-quantum/1",
                             "digits/hybrid/1"]
    assert t["reached"].all() and (t["stop_reason"] == "target").all()
    assert (t["final_test_accuracy"] >= 0.7).all() and (t["initial_test_accuracy"] < 0.7).all()
    assert (t["steps_to_target"] == t["steps_run"]).all()
    newton = ["digits/newton-classical/1", "digits/newton-quantum/1", "digits/hybrid/1"]
    assert t.loc[newton, "steps_to_target"].max() < t.loc[["digits/sgd/1", "digits/adam/1"], "steps_to_target"].min()
    # measured vs modeled: first-order and classical Newton have no modeled part, quantum Newton no measured solve
    assert (t.loc[["digits/sgd/1", "digits/adam/1", "digits/newton-classical/1"], "total_modeled_s"] == 0).all()
    assert t.loc["digits/newton-quantum/1", "solve_measured_s_per_step"] == 0
    assert t.loc["digits/newton-quantum/1", "quantum_fraction"] == 1.0
    assert t.loc["digits/newton-quantum/1", "total_modeled_s"] > 0
    assert 0 < t.loc["digits/hybrid/1", "quantum_fraction"] < 1
    assert t.loc["digits/hybrid/1", "total_modeled_s"] > 0 and t.loc["digits/hybrid/1", "solve_measured_s_per_step"] > 0
    assert (t["measured_s_per_step"] > 0).all()
    np.testing.assert_allclose(t["total_s"], t["total_measured_s"] + t["total_modeled_s"])
    steps, blocks = rep.steps, rep.blocks
    assert len(steps) == t["steps_run"].sum() and steps["id"].is_unique
    assert len(blocks) == 2 * t.loc[newton, "steps_run"].sum() and blocks["id"].is_unique
    assert set(blocks["method"]) == {"newton-classical", "newton-quantum", "hybrid"}
    hyb = steps[steps["run"] == "digits/hybrid/1"]
    assert hyb["test_accuracy"].iloc[-1] >= 0.7 and hyb["cum_modeled_s"].iloc[-1] == pytest.approx(
        t.loc["digits/hybrid/1", "total_modeled_s"])
    # Newton runs wrote their live trace
    assert TraceReader(tmp_path / "digits" / "hybrid" / "seed1" / "trace").steps == list(
        range(int(t.loc["digits/hybrid/1", "steps_run"])))
    # a finished run resumes to the same result without training again
    again = run_method(make_task, SPECS[4], stop, make_profile(), seed=1, task_name="digits", out_dir=tmp_path,
                       resume=True, progress=False)
    assert again.summary()["final_test_loss"] == t.loc["digits/hybrid/1", "final_test_loss"]
    assert again.steps_run == t.loc["digits/hybrid/1", "steps_run"]
    with pytest.raises(TraceError, match="already exists"):
        run_method(make_task, SPECS[4], stop, make_profile(), seed=1, task_name="digits", out_dir=tmp_path,
                   progress=False)
    with pytest.raises(TraceError, match="other settings"):
        run_method(make_task, MethodSpec("hybrid", 0.25, newton=NEWTON), stop, make_profile(), seed=1,
                   task_name="digits", out_dir=tmp_path, resume=True, progress=False)


def test_ctrl_c_leaves_readable_trace_and_resume_completes(make_task, tmp_path, monkeypatch):
    spec, stop, prof = SPECS[4], StopRule(max_steps=8), make_profile()
    ref = run_method(make_task, spec, stop, prof, seed=2, task_name="d", out_dir=tmp_path / "ref", progress=False)

    real, calls = hn_mod.task_curvature, {"n": 0}

    def interrupted(*a, **k):  # Ctrl-C inside step 5 (its curvature blocks)
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(hn_mod, "task_curvature", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_method(make_task, spec, stop, prof, seed=2, task_name="d", out_dir=tmp_path / "cut", progress=False)
    run_dir = tmp_path / "cut" / "d" / "hybrid" / "seed2"
    partial = TraceReader(run_dir / "trace")
    assert partial.steps == [0, 1, 2, 3, 4]
    for snap in partial:  # every listed snapshot reads back, checksums verified
        assert np.isfinite(snap.matrix).all()
    assert not (run_dir / "result.json").exists()

    monkeypatch.setattr(hn_mod, "task_curvature", real)
    done = run_method(make_task, spec, stop, prof, seed=2, task_name="d", out_dir=tmp_path / "cut", resume=True,
                      progress=False)
    assert (run_dir / "result.json").exists()
    assert done.steps_run == ref.steps_run == 8
    assert done.final_test_loss == ref.final_test_loss  # bit-identical parameters
    assert [h["loss"] for h in done.history] == [h["loss"] for h in ref.history]
    assert [b["chosen"] for b in done.blocks] == [b["chosen"] for b in ref.blocks]
    a, b = TraceReader(run_dir / "trace"), TraceReader(tmp_path / "ref" / "d" / "hybrid" / "seed2" / "trace")
    assert a.steps == b.steps == list(range(8))
    assert [r["live_chosen"] for r in a.rows] == [r["live_chosen"] for r in b.rows]
    np.testing.assert_array_equal(a.snapshot(7, "layer:0").matrix, b.snapshot(7, "layer:0").matrix)


def test_first_order_run_resumes_after_interrupt(make_task, tmp_path):
    spec, stop = SPECS[0], StopRule(max_steps=12, eval_every=4)
    ref = run_method(make_task, spec, stop, seed=3, task_name="d", out_dir=tmp_path / "ref", progress=False)
    calls = {"n": 0}

    def flaky_task(seed):
        task = make_task(seed)
        real_loss = task.loss

        def loss(params, batch):
            calls["n"] += 1
            if calls["n"] == 7:
                raise KeyboardInterrupt
            return real_loss(params, batch)

        task.loss = loss
        return task

    with pytest.raises(KeyboardInterrupt):
        run_method(flaky_task, spec, stop, seed=3, task_name="d", out_dir=tmp_path / "cut", progress=False)
    done = run_method(make_task, spec, stop, seed=3, task_name="d", out_dir=tmp_path / "cut", resume=True,
                      progress=False)
    assert [h["loss"] for h in done.history] == [h["loss"] for h in ref.history]
    assert done.final_test_loss == ref.final_test_loss and done.stop_reason == "max_steps" and not done.reached
    assert [e["after_steps"] for e in done.evals] == [0, 4, 8, 12]
