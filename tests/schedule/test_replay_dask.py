"""The Dask executor (optional extra): same tables as in-process on a LocalCluster of 2 workers,
retries, a killed worker restarted by its nanny, bad snapshots. One cluster is shared by the module
(starting one costs a few seconds); one test starts its own through ``workers=2``.

Tables are compared after dropping the measured-timing columns (they differ run to run).
"""

import functools
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import dask
from executor_workers import always_die, die_then_replay, flaky, square  # type: ignore[import-not-found]

from qlsa_sim.core.executors import run_tasks
from qlsa_sim.cost.profile import load_profile
from qlsa_sim.errors import TraceError
from qlsa_sim.schedule.replay import ReplayConfig, collect_replay, plan_replay, replay, replay_trace
from qlsa_sim.traces.store import BlockData, TraceWriter

CFG = ReplayConfig()  # quantum_model="eq4"
STEPS = (0, 10, 20, 30, 40)


@pytest.fixture(scope="module")
def cluster():
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    yield c
    c.close()


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    """Synthetic PSD blocks (n = 60 dense, n = 48 as a factor) at 5 steps."""
    d = tmp_path_factory.mktemp("traces") / "syn"
    rng = np.random.default_rng(7)
    w = TraceWriter(d, meta={"identity": {"synthetic": 1}})
    for s in STEPS:
        X = rng.standard_normal((60, 80))
        w.write_snapshot(s, [BlockData("w1", rng.standard_normal(60), matrix=X @ X.T / 80),
                             BlockData("w2", rng.standard_normal(48), factor=rng.standard_normal((48, 20)), scale=0.1)],
                         loss=2.0 / (1 + s))
    return d


@pytest.fixture(scope="module")
def reference(trace, profile_path):
    return replay(trace, load_profile(profile_path), CFG, progress=False)


def test_localcluster_started_for_us_gives_identical_table(trace, profile_path, reference, capfd, same):
    from qlsa_sim.core.logs import close_logging, setup_logging

    setup_logging(0)  # as the CLI does: the dashboard's address is an INFO message
    try:
        df, failures = replay_trace(trace, load_profile(profile_path), CFG, executor="dask", workers=2, progress=False)
    finally:
        close_logging()
    err = capfd.readouterr().err
    assert "dask: 2 worker(s)" in err and "dashboard http://" in err
    assert failures == [] and len(df) == 2 * len(STEPS)
    same(df, reference)


def test_shared_cluster_identical_to_inprocess(trace, profile_path, cluster, same):
    a, _ = replay_trace(trace, load_profile(profile_path), CFG, progress=False)
    b, _ = replay_trace(trace, load_profile(profile_path), CFG, executor="dask",
                        scheduler_address=cluster.scheduler_address, progress=False)
    same(a, b)


def test_retry_and_expected_errors(tmp_path, cluster):
    items = [("ok", (str(tmp_path), 3, 0)), ("flaky", (str(tmp_path), 4, 2)), ("bad", (str(tmp_path), -1, 0)),
             ("hopeless", (str(tmp_path), 5, 9))]
    ok, retried, bad, hopeless = run_tasks(flaky, items, executor="dask", scheduler_address=cluster.scheduler_address,
                                           retries=2, progress=False)
    assert ok.value == 9 and retried.ok and retried.value == 16
    assert (tmp_path / "flaky-4").read_text() == "3"             # two failures, passed on the second retry
    assert bad.error_type == "TraceError" and bad.error == "item -1 is bad"
    assert (tmp_path / "flaky--1").read_text() == "1"            # expected errors are not retried
    assert hopeless.error_type == "RuntimeError" and "transient failure 3" in hopeless.error
    assert (tmp_path / "flaky-5").read_text() == "3"             # 1 run + 2 retries


def test_killed_worker_is_restarted_and_table_complete(trace, profile_path, reference, tmp_path, cluster, same):
    plan = plan_replay(trace)
    fn = functools.partial(die_then_replay, marker_dir=str(tmp_path), victim=plan.tasks[2].file,
                           profile=load_profile(profile_path), config=CFG)
    results = run_tasks(fn, [(t.file, t) for t in plan.tasks], executor="dask",
                        scheduler_address=cluster.scheduler_address, progress=False)
    assert (tmp_path / "died").exists()
    df, failures = collect_replay(plan, results)
    assert failures == [] and df["id"].is_unique and len(df) == len(reference)
    same(df, reference)


def test_task_that_always_kills_its_worker_gives_killedworker(tmp_path, cluster):
    # alone: Dask charges a death to every task on the dead worker, so co-scheduled tasks could be hit too
    (res,) = run_tasks(always_die, [("k1", (str(tmp_path), 1, 1))], executor="dask",
                       scheduler_address=cluster.scheduler_address, progress=False)
    assert not res.ok and res.error_type == "KilledWorker"
    assert len(list(tmp_path.glob("death-*"))) == 2              # allowed-failures = 1: two deaths, then given up
    # the nannies restarted the workers: the cluster still works
    after = run_tasks(always_die, [(f"k{i}", (str(tmp_path), i, 1)) for i in (0, 2, 3)], executor="dask",
                      scheduler_address=cluster.scheduler_address, progress=False)
    assert [r.value for r in after] == [0, 4, 9]


def test_corrupt_snapshot_on_dask(trace, profile_path, reference, tmp_path, cluster, same):
    import shutil

    t = Path(shutil.copytree(trace, tmp_path / "syn"))
    p = t / "snap-00000020.npz"
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    df, failures = replay_trace(t, load_profile(profile_path), CFG, executor="dask",
                                   scheduler_address=cluster.scheduler_address, progress=False)
    assert [(Path(f.file).name, f.error_type) for f in failures] == [("snap-00000020.npz", "TraceError")]
    same(df, reference[reference["step"] != 20].reset_index(drop=True))
    with pytest.raises(TraceError, match=r"snap-00000020\.npz: checksum mismatch"):
        replay_trace(t, load_profile(profile_path), CFG, executor="dask", scheduler_address=cluster.scheduler_address,
                        strict=True, progress=False)


def test_square_matches_inprocess(cluster):
    items = [(f"k{i}", i) for i in range(20)]
    ref = [r.value for r in run_tasks(square, items, progress=False)]
    got = run_tasks(square, items, executor="dask", scheduler_address=cluster.scheduler_address, progress=False)
    assert [r.key for r in got] == [k for k, _ in items] and [r.value for r in got] == ref
