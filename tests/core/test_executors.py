"""Executor layer: the same keyed results in-process and on a process pool; retries; dead workers.

Kept light on imports: process-pool workers are spawned and import this module to find the task
functions.
"""

import sys

import pytest
from executor_workers import always_die, die_once, fail_on_three, flaky, square  # type: ignore[import-not-found]

from qlsa_sim.core import executors
from qlsa_sim.core.executors import run_tasks
from qlsa_sim.errors import InputError, QlsaSimError

ITEMS = [(f"k{i:02d}", i) for i in range(8)]


def test_inprocess_keys_order_values():
    res = run_tasks(square, ITEMS, progress=False)
    assert [r.key for r in res] == [k for k, _ in ITEMS]
    assert [r.value for r in res] == [i * i for i in range(8)]
    assert all(r.ok and r.attempts == 1 and r.status == "ok" for r in res)
    # a Mapping gives the same
    assert [r.value for r in run_tasks(square, dict(ITEMS), progress=False)] == [i * i for i in range(8)]


def test_expected_error_is_recorded_once_not_retried():
    res = run_tasks(fail_on_three, ITEMS, retries=2, progress=False)
    bad = res[3]
    assert not bad.ok and bad.error_type == "TraceError" and bad.error == "item 3 is bad"
    assert bad.attempts == 1 and bad.traceback == ""
    assert bad.describe() == "k03: TraceError: item 3 is bad"
    assert [r.value for r in res if r.ok] == [i * i for i in range(8) if i != 3]


def test_unexpected_error_is_retried_then_recorded(tmp_path):
    items = [("a", (str(tmp_path), 1, 2)), ("b", (str(tmp_path), 2, 5))]
    a, b = run_tasks(flaky, items, retries=2, progress=False)
    assert a.ok and a.value == 1 and a.attempts == 3          # failed twice, third run passed
    assert not b.ok and b.attempts == 3 and b.error_type == "RuntimeError"
    assert "transient failure 3 of item 2" in b.error and "RuntimeError" in b.traceback
    assert (tmp_path / "flaky-2").read_text() == "3"         # 1 run + 2 retries, no more


def test_stop_on_error_cancels_the_rest():
    res = run_tasks(fail_on_three, ITEMS, progress=False, stop_on_error=True)
    assert [r.status for r in res] == ["ok"] * 3 + ["error"] + ["cancelled"] * 4


@pytest.mark.parametrize("kwargs, match", [
    ({"executor": "threads"}, "unknown executor"),
    ({"retries": -1}, "retries"),
    ({"workers": 0}, "workers"),
    ({"executor": "process", "scheduler_address": "tcp://x:1"}, "executor dask"),
    ({"executor": "dask", "workers": 2, "scheduler_address": "tcp://x:1"}, "not both"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(InputError, match=match):
        run_tasks(square, ITEMS, progress=False, **kwargs)


def test_duplicate_keys_rejected():
    with pytest.raises(InputError, match="'a' appears more than once"):
        run_tasks(square, [("a", 1), ("a", 2)], progress=False)


def test_process_pool_same_results_as_inprocess():
    ref = run_tasks(fail_on_three, ITEMS, progress=False)
    got = run_tasks(fail_on_three, ITEMS, executor="process", workers=2, progress=False)
    assert [(r.key, r.status, r.value, r.error) for r in got] == [(r.key, r.status, r.value, r.error) for r in ref]


def test_process_pool_survives_a_killed_worker(tmp_path):
    items = [(f"k{i}", (str(tmp_path), i, 2)) for i in range(6)]
    res = run_tasks(die_once, items, executor="process", workers=2, retries=2, progress=False)
    assert (tmp_path / "died-2").exists()                     # the worker really died once
    assert [r.key for r in res] == [k for k, _ in items]      # every key once: complete, no duplicates
    assert all(r.ok for r in res) and [r.value for r in res] == [i * i for i in range(6)]
    assert res[2].attempts == 2


def test_process_pool_gives_up_on_a_task_that_always_kills_its_worker(tmp_path):
    items = [(f"k{i}", (str(tmp_path), i, 1)) for i in range(3)]
    # one worker: the pool can tell exactly which task was running when the worker died
    res = run_tasks(always_die, items, executor="process", workers=1, retries=1, progress=False)
    assert [r.ok for r in res] == [True, False, True]
    assert res[1].error_type == "WorkerDied" and res[1].attempts == 2
    assert len(list(tmp_path.glob("death-*"))) == 2           # ran exactly 1 + retries times


def test_dask_missing_gives_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)    # import distributed -> ImportError
    with pytest.raises(QlsaSimError, match=r"pip install \.\[distributed\]"):
        run_tasks(square, ITEMS, executor="dask", workers=2, progress=False)
    # the other executors do not need it
    assert run_tasks(square, ITEMS, executor="inprocess", progress=False)[1].value == 1


def test_empty_items():
    assert run_tasks(square, [], executor="process", progress=False) == []


def test_default_workers_positive():
    assert executors.default_workers() >= 1
