"""The on-disk JSON cache (``core/cache.py``) and the gate-count cache built on it: hits, misses on a torn, tampered
or foreign entry, keys that change with every input, concurrent writers, and a cache that cannot be written."""

from __future__ import annotations

import json

import pytest
from executor_workers import hammer_cache  # type: ignore[import-not-found]

from qlsa_sim.core.cache import DiskCache, cache_root
from qlsa_sim.core.executors import run_tasks


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(tmp_path))
    return DiskCache("t")


def test_round_trip_and_misses(cache, tmp_path):
    key = {"f": "x", "args": [1, 2], "version": "1"}
    assert cache.get(key) is None
    cache.put(key, {"a": 1.5, "b": [1, 2]})
    assert cache.get(key) == {"a": 1.5, "b": [1, 2]}
    assert cache.path(key).parent == tmp_path / "t" and cache_root() == tmp_path
    assert cache.get(dict(key, version="2")) is None            # any input changes the key
    path = cache.path(key)
    entry = json.loads(path.read_text())
    entry["value"]["a"] = 2.5                                   # tampered: the checksum no longer matches
    path.write_text(json.dumps(entry))
    assert cache.get(key) is None
    path.write_text(path.read_text()[:20])                      # torn
    assert cache.get(key) is None
    other = {"f": "y"}
    cache.put(other, 7)
    cache.path(key).write_text(cache.path(other).read_text())   # another key's entry under this name
    assert cache.get(key) is None
    cache.put(key, 3)                                           # rewritten on the next computation
    assert cache.get(key) == 3


def test_switched_off_and_unwritable(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("QLSA_SIM_CACHE", "off")
    cache.put({"k": 1}, 1)
    assert cache.get({"k": 1}) is None and not (tmp_path / "t").exists()
    monkeypatch.delenv("QLSA_SIM_CACHE")
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(blocker))      # a file, not a folder: nothing can be written
    cache.put({"k": 1}, 1)
    assert cache.get({"k": 1}) is None


def test_concurrent_writers_leave_one_whole_entry(tmp_path):
    res = run_tasks(hammer_cache, [(f"w{i}", (str(tmp_path), 150)) for i in range(3)], executor="process",
                    workers=3, progress=False)
    assert all(r.ok for r in res), [r.describe() for r in res]
    assert sum(r.value for r in res) == 0                       # no reader ever saw a partial file
    files = list((tmp_path / "hammer").iterdir())
    assert len(files) == 1                                      # no temporary file left behind


def test_counts_come_from_disk_without_qualtran(tmp_path, monkeypatch):
    from qlsa_sim.quantum.estimation import counting

    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(tmp_path))
    counting.step_counts.cache_clear()
    ref = counting.step_counts(6, 5, 9)
    assert len(list((tmp_path / "counts").iterdir())) == 2     # the step and its qubit count
    counting.step_counts.cache_clear()                          # a new process: only the disk remains
    monkeypatch.setattr(counting, "_counts", lambda *a, **k: pytest.fail("recounted"))
    assert counting.step_counts(6, 5, 9) == ref
    # a different package version (or bloq source) is a different key: counted again
    counting.step_counts.cache_clear()
    monkeypatch.setattr(counting, "count_identity", lambda: {"qualtran": "0.0", "qlsa_sim": "x", "source": "y"})
    with pytest.raises(pytest.fail.Exception):
        counting.step_counts(6, 5, 9)
    counting.step_counts.cache_clear()


def test_tampered_count_is_recounted(tmp_path, monkeypatch):
    from qlsa_sim.quantum.estimation import counting

    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(tmp_path))
    counting.phase_counts.cache_clear()
    ref = counting.phase_counts(3)
    (path,) = (tmp_path / "counts").iterdir()
    entry = json.loads(path.read_text())
    entry["value"]["StepCounts"]["toffoli"] = 0.0
    path.write_text(json.dumps(entry))
    counting.phase_counts.cache_clear()
    assert counting.phase_counts(3) == ref and json.loads(path.read_text())["value"]["StepCounts"]["toffoli"] == \
        ref.toffoli
    counting.phase_counts.cache_clear()


def test_a_value_json_cannot_hold_is_not_kept(cache):
    key = {"f": "nan"}
    cache.put(key, {"x": float("nan")})  # no error: the caller computed it anyway
    assert cache.get(key) is None and not cache.directory.exists()
