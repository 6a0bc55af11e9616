"""Recording: determinism, contents, resume after an interruption."""

import numpy as np
import pytest
import torch

from qlsa_sim.data.images import load_image_dataset
from qlsa_sim.models.mlp import MLPConfig
from qlsa_sim.traces.store import TraceReader
from qlsa_sim.train import record as record_mod
from qlsa_sim.train.mlp_task import MLPTask
from qlsa_sim.train.record import RecordConfig, record_trace


@pytest.fixture(scope="module")
def digits():
    return load_image_dataset("digits", image_size=4)


def _task(digits):
    return MLPTask(digits, MLPConfig((16, 6, 10)), batch_size=32, seed=1)


CFG = RecordConfig(steps=30, every=10, lr=0.5)


def test_record_contents(tmp_path, digits):
    s = record_trace(_task(digits), tmp_path / "t", CFG, progress=False)
    assert s.snapshots_written == 4
    r = TraceReader(tmp_path / "t")
    assert r.steps == [0, 10, 20, 30] and r.blocks == ["layer:0", "layer:2"]
    assert [row["n"] for row in r.rows[:2]] == [16 * 6 + 6, 6 * 10 + 10]
    assert r.meta.dataset.startswith("digits 4x4")
    losses = [r.snapshot(st, "layer:0").loss for st in r.steps]
    assert losses[-1] < losses[0]  # SGD makes progress
    snap = r.snapshot(10, "layer:2")
    assert np.allclose(snap.matrix, snap.matrix.T) and np.linalg.eigvalsh(snap.matrix).min() > -1e-10


def test_snapshot_is_exact_hessian_at_recorded_params(tmp_path, digits):
    record_trace(_task(digits), tmp_path / "t", RecordConfig(steps=0, every=1), progress=False)
    task = _task(digits)
    batch = next(task.batches())
    params = {k: v.detach().double() for k, v in task.model.named_parameters()}
    W, b = params["2.weight"], params["2.bias"]

    def f(v):
        p = dict(params, **{"2.weight": v[:60].reshape(10, 6), "2.bias": v[60:]})
        return task.loss(p, batch)

    H = torch.func.hessian(f)(torch.cat([W.reshape(-1), b]))
    np.testing.assert_allclose(TraceReader(tmp_path / "t").snapshot(0, "layer:2").matrix, H.numpy(), atol=1e-13)


def test_resume_after_interrupt_reproduces_uninterrupted_run(tmp_path, digits, monkeypatch):
    record_trace(_task(digits), tmp_path / "full", CFG, progress=False)
    real = record_mod.snapshot_blocks
    calls = {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(record_mod, "snapshot_blocks", flaky)
    with pytest.raises(KeyboardInterrupt):
        record_trace(_task(digits), tmp_path / "part", CFG, progress=False)
    monkeypatch.undo()
    assert TraceReader(tmp_path / "part").steps == [0, 10]
    s = record_trace(_task(digits), tmp_path / "part", CFG, resume=True, progress=False)
    assert s.snapshots_written == 2
    a, b = TraceReader(tmp_path / "full"), TraceReader(tmp_path / "part")
    assert a.steps == b.steps
    for x, y in zip(a, b):
        assert (x.step, x.block) == (y.step, y.block)
        np.testing.assert_array_equal(x.matrix, y.matrix)
        np.testing.assert_array_equal(x.gradient, y.gradient)


def test_resume_of_nothing_is_an_error(tmp_path, digits):
    from qlsa_sim.errors import TraceError

    with pytest.raises(TraceError, match="nothing to resume"):
        record_trace(_task(digits), tmp_path / "never", CFG, resume=True, progress=False)
    assert not (tmp_path / "never").exists()


def test_recording_keeps_the_run_checkpoint_in_the_trace(tmp_path, digits):
    from qlsa_sim.train.runner import CHECKPOINT, load_checkpoint

    record_trace(_task(digits), tmp_path / "t", CFG, progress=False)
    ck = load_checkpoint(tmp_path / "t" / CHECKPOINT)
    assert ck["step"] == 30 and len(ck["history"]) == 30 and ck["identity"]["recording"]["every"] == 10
