"""Parallel replay: identical tables in-process / process pool / fsspec URLs, against the reference
``replay(TraceReader)``; a killed worker loses and duplicates nothing; bad snapshots are reported.

Tables are compared after dropping the MEASURED columns (``*_measured_s``): they are measurements of each
run and differ run to run.
"""

import argparse
import functools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from executor_workers import die_then_replay  # type: ignore[import-not-found]

from qlsa_sim.commands.options import add_parallel_options, parallel_options
from qlsa_sim.core.executors import TaskResult, run_tasks
from qlsa_sim.cost.profile import load_profile
from qlsa_sim.errors import TraceError
from qlsa_sim.schedule.replay import (
    FileResult,
    ReplayConfig,
    collect_replay,
    drop_timing_columns,
    format_failures,
    is_timing_column,
    plan_replay,
    replay,
    replay_file,
    replay_trace,
    write_features_to_manifest,
)
from qlsa_sim.traces.store import BlockData, TraceReader, TraceWriter

CFG = ReplayConfig()  # quantum_model="eq4"


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    """A recorded MLP trace: steps 0, 10, 20, 30; blocks layer:0 (n=102) and layer:2 (n=70)."""
    from qlsa_sim.data.images import load_image_dataset  # lazy: spawned workers import this module
    from qlsa_sim.models.mlp import MLPConfig
    from qlsa_sim.train.mlp_task import MLPTask
    from qlsa_sim.train.record import RecordConfig, record_trace

    d = tmp_path_factory.mktemp("traces") / "mlp"
    record_trace(MLPTask(load_image_dataset("digits", image_size=4), MLPConfig((16, 6, 10)), batch_size=32),
                 d, RecordConfig(steps=30, every=10), progress=False)
    return d


@pytest.fixture(scope="module")
def reference(trace, profile_path):
    return replay(trace, load_profile(profile_path), CFG, progress=False)


def replay_parallel(trace, profile_path, config, **kw):
    """Replay with the profile at ``profile_path`` (the driver loads it once; tasks carry it)."""
    return replay_trace(trace, load_profile(profile_path), config, **kw)


def _copy(trace, tmp_path, name="t"):
    return Path(shutil.copytree(trace, tmp_path / name))


def test_inprocess_matches_reference_replay(trace, profile_path, reference, same):
    df, failures = replay_parallel(trace, profile_path, CFG, progress=False)
    assert failures == []
    assert len(df) == 8 and df["id"].is_unique
    timing = ["features_measured_s", "kappa_measured_s", "scheduling_measured_s", "solve_measured_s"]
    assert all(is_timing_column(c) for c in timing) and (df[timing] >= 0).all().all()
    kept = drop_timing_columns(df).columns
    assert not set(timing) & set(kept) and {"kappa", "chosen", "measured_solver", "quantum_modeled_s"} <= set(kept)
    assert list(df["step"]) == [0, 0, 10, 10, 20, 20, 30, 30]
    assert list(df["block"]) == ["layer:0", "layer:2"] * 4
    same(df, reference)


def test_process_pool_two_workers_identical(trace, profile_path, reference, same):
    df, failures = replay_parallel(trace, profile_path, CFG, executor="process", workers=2, progress=False)
    assert failures == []
    same(df, reference)


def test_file_url_and_relative_path_identical(trace, profile_path, reference, monkeypatch, same):
    df, _ = replay_parallel(f"file://{trace}", profile_path, CFG, progress=False)
    same(df, reference)
    monkeypatch.chdir(trace.parent)
    df, _ = replay_parallel(trace.name, profile_path, CFG, executor="process", workers=1, progress=False)
    same(df, reference)


def test_non_local_fsspec_store(trace, profile_path, reference, same):
    import fsspec

    mem = fsspec.filesystem("memory")
    for p in trace.iterdir():
        mem.pipe(f"/qlsa-d-test/{trace.name}/{p.name}", p.read_bytes())
    try:
        df, failures = replay_parallel(f"memory://qlsa-d-test/{trace.name}", profile_path, CFG, progress=False)
    finally:
        mem.rm("/qlsa-d-test", recursive=True)
    assert failures == []
    same(df, reference)


def test_factor_storage_matches_trace_reader(tmp_path, profile_path, rng, same):
    """Blocks stored as factors (H = scale * M M^T) are rebuilt as TraceReader does."""
    w = TraceWriter(tmp_path / "f", meta={"identity": {"synthetic": True}})
    for step in (0, 5):
        M = rng.standard_normal((40, 12))
        H = rng.standard_normal((30, 30))
        w.write_snapshot(step, [BlockData("a", rng.standard_normal(40), factor=M, scale=0.5),
                                BlockData("b", rng.standard_normal(30), matrix=H @ H.T)], loss=1.0 - step / 10)
    ref = replay(tmp_path / "f", load_profile(profile_path), CFG, progress=False)
    df, failures = replay_parallel(tmp_path / "f", profile_path, CFG, progress=False)
    assert failures == [] and len(df) == 4
    same(df, ref)


def test_killed_worker_leaves_table_complete_without_duplicates(trace, profile_path, reference, tmp_path, same):
    plan = plan_replay(trace)
    assert [t.file for t in plan.tasks] == [f"snap-{s:08d}.npz" for s in (0, 10, 20, 30)]
    fn = functools.partial(die_then_replay, marker_dir=str(tmp_path), victim="snap-00000010.npz",
                           profile=load_profile(profile_path), config=CFG)
    results = run_tasks(fn, [(t.file, t) for t in plan.tasks], executor="process", workers=2, progress=False)
    assert (tmp_path / "died").exists()
    df, failures = collect_replay(plan, results)
    assert failures == [] and df["id"].is_unique and len(df) == len(TraceReader(trace))
    same(df, reference)


def test_results_delivered_twice_add_no_rows(trace, profile_path, reference, same):
    plan = plan_replay(trace)
    prof = load_profile(profile_path)
    results = [TaskResult(t.file, "ok", replay_file(t, prof, CFG)) for t in plan.tasks]
    df, _ = collect_replay(plan, results[::-1] + results[1:2])  # out of order, one repeated
    same(df, reference)


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 64] = bytes(b ^ 0xFF for b in data[mid:mid + 64])  # flipped, so changed whatever was there
    path.write_bytes(bytes(data))


def test_corrupt_snapshot_reported_and_skipped(trace, profile_path, reference, tmp_path, same):
    t = _copy(trace, tmp_path)
    _corrupt(t / "snap-00000010.npz")
    df, failures = replay_parallel(t, profile_path, CFG, executor="process", workers=2, progress=False)
    assert len(failures) == 1
    f = failures[0]
    assert f.file == str(t / "snap-00000010.npz") and f.error_type == "TraceError"
    assert "checksum mismatch" in f.message and "snap-00000010.npz" in f.message
    assert f.ids == ("mlp/00000010/layer:0", "mlp/00000010/layer:2")
    assert "snap-00000010.npz" in format_failures(failures)
    keep = reference[reference["step"] != 10].reset_index(drop=True)
    same(df, keep)


def test_corrupt_snapshot_raises_with_strict(trace, profile_path, tmp_path):
    t = _copy(trace, tmp_path)
    _corrupt(t / "snap-00000020.npz")
    with pytest.raises(TraceError, match=r"snap-00000020\.npz: checksum mismatch"):
        replay_parallel(t, profile_path, CFG, strict=True, progress=False)
    with pytest.raises(TraceError, match=r"snap-00000020\.npz"):
        replay_parallel(t, profile_path, CFG, executor="process", workers=2, strict=True, progress=False)


def test_truncated_and_missing_files_unverified(trace, profile_path, tmp_path):
    t = _copy(trace, tmp_path)
    p = t / "snap-00000000.npz"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 3])
    (t / "snap-00000030.npz").unlink()
    df, failures = replay_parallel(t, profile_path, CFG, verify=False, progress=False)
    msgs = {Path(f.file).name: f.message for f in failures}
    assert set(msgs) == {"snap-00000000.npz", "snap-00000030.npz"}
    assert "corrupt or truncated" in msgs["snap-00000000.npz"]
    assert "missing" in msgs["snap-00000030.npz"]
    assert sorted(df["step"].unique()) == [10, 20]


def test_bad_block_fails_alone(trace, profile_path, reference, tmp_path, same):
    """A manifest row that does not match its array fails that block only; its file-mates replay."""
    t = _copy(trace, tmp_path)
    man = json.loads((t / "manifest.json").read_text())
    bad = next(r for r in man["rows"] if r["step"] == 20 and r["block"] == "layer:2")
    bad["dtype"] = "float32"
    (t / "manifest.json").write_text(json.dumps(man))
    df, failures = replay_parallel(t, profile_path, CFG, progress=False)
    assert [(f.ids, f.error_type) for f in failures] == [(("mlp/00000020/layer:2",), "TraceError")]
    assert "dtype" in failures[0].message and "snap-00000020.npz" in failures[0].message
    assert len(df) == 7 and "mlp/00000020/layer:0" in set(df["id"])
    same(df, reference[reference["id"] != "mlp/00000020/layer:2"].reset_index(drop=True))
    with pytest.raises(TraceError, match=r"snap-00000020\.npz: block 'layer:2': dtype"):
        replay_parallel(t, profile_path, CFG, strict=True, progress=False)


def test_not_a_trace(tmp_path, profile_path):
    with pytest.raises(TraceError, match="no manifest"):
        replay_parallel(tmp_path, profile_path, CFG, progress=False)


def test_save_features_writes_manifest(trace, profile_path, tmp_path):
    t = _copy(trace, tmp_path)
    df, _ = replay_parallel(t, profile_path, CFG, executor="process", workers=2, progress=False)
    write_features_to_manifest(t, df)
    rows = TraceReader(t).rows
    assert [r["feature_kappa"] for r in rows] == pytest.approx(list(df["kappa"]), rel=1e-12)
    assert all(r["feature_n"] == r["n"] for r in rows)


def test_cli_options():
    p = argparse.ArgumentParser()
    add_parallel_options(p)
    a = p.parse_args([])
    assert parallel_options(a) == {"executor": "inprocess", "workers": None, "scheduler_address": None}
    assert not a.strict
    a = p.parse_args(["--executor", "process", "--workers", "3", "--strict"])
    assert parallel_options(a) == {"executor": "process", "workers": 3, "scheduler_address": None} and a.strict
    a = p.parse_args(["--scheduler-address", "tcp://10.0.0.1:8786"])
    assert parallel_options(a)["executor"] == "dask"
    with pytest.raises(SystemExit):
        p.parse_args(["--executor", "threads"])


def test_result_value_type(trace, profile_path):
    plan = plan_replay(trace)
    r = replay_file(plan.tasks[0], load_profile(profile_path), CFG)
    assert isinstance(r, FileResult) and r.file == "snap-00000000.npz" and len(r.rows) == 2 and r.failures == ()
    assert np.isfinite([row["kappa"] for row in r.rows]).all()


def test_factor_trace_replays_without_the_dense_matrix(tmp_path, profile_path, monkeypatch):
    """A factored block above exact_max_n is decided from its factor: neither the snapshot nor the pipeline builds
    the n x n matrix unless the measured dense solve asks for it."""
    from qlsa_sim.linalg.features import FeatureConfig, PreparedBlock
    from qlsa_sim.schedule.pipeline import SchedulePolicy
    from qlsa_sim.traces.store import Snapshot

    rng = np.random.default_rng(3)
    w = TraceWriter(tmp_path / "f", meta={"identity": {"synthetic": True}})
    for step in (0, 1):
        M = rng.standard_normal((80, 10)) * (rng.random((80, 10)) < 0.3)
        w.write_snapshot(step, [BlockData("a", rng.standard_normal(80), factor=M.astype(np.float32), scale=0.5)],
                         loss=1.0, dtype="float32")
    snap = TraceReader(tmp_path / "f").snapshot(0, "a")
    assert snap.dense is None and snap.n == 80 and snap.scale == 0.5
    np.testing.assert_array_equal(snap.matrix, 0.5 * (snap.factor @ snap.factor.T))
    cfg = ReplayConfig(SchedulePolicy(FeatureConfig(exact_max_n=32)), measure_classical=False)
    monkeypatch.setattr(Snapshot, "matrix", property(lambda self: pytest.fail("snapshot densified")))
    monkeypatch.setattr(PreparedBlock, "matrix", property(lambda self: pytest.fail("block densified")))
    df = replay(tmp_path / "f", load_profile(profile_path), cfg, progress=False)
    assert len(df) == 2 and (df["density_method"] == "sampled").all()
    assert (df["kappa_method"] == "factor-gram-lanczos").all()
    assert (df["gram_measured_s"] > 0).all() and (df["max_nnz_per_row_lower"] <= df["max_nnz_per_row"]).all()


def test_inprocess_prefetch_hashes_each_file_once_and_reports_a_corrupt_one(trace, profile_path, reference,
                                                                            tmp_path, monkeypatch, same):
    """The in-process replay reads and verifies the next file in a thread (``_Prefetcher``): every file is
    hashed once, and a corrupt file read ahead is still reported as that file's failure, the rest replayed."""
    import hashlib

    import qlsa_sim.traces.store as store

    t = _copy(trace, tmp_path)
    _corrupt(t / "snap-00000020.npz")
    hashed = []
    real = hashlib.sha256

    def counting_sha256(data=b""):
        hashed.append(len(data))
        return real(data)

    monkeypatch.setattr(store.hashlib, "sha256", counting_sha256)
    df, failures = replay_parallel(t, profile_path, CFG, progress=False)
    big = [n for n in hashed if n > 1000]  # whole snapshot files (not manifests or keys)
    assert len(big) == 4 + 1  # four files once each; the corrupt one again when its task reports it
    assert [f.file for f in failures] == [str(t / "snap-00000020.npz")]
    assert "checksum mismatch" in failures[0].message
    same(df, reference[reference["step"] != 20].reset_index(drop=True))


def test_a_best_classical_solver_that_is_the_dense_one_is_timed_once(reference):
    """With only Cholesky and LU calibrated the best classical solver is the measured dense one: same seconds."""
    assert (reference["best_classical"] == reference["measured_solver"]).all()
    assert (reference["best_classical_solve_measured_s"] == reference["solve_measured_s"]).all()
