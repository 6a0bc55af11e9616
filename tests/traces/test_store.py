"""Trace store: round trip, crash safety, corruption detection, resume."""

import json

import numpy as np
import pytest

from qlsa_sim.errors import InputError, TraceError
from qlsa_sim.traces import store as store_mod
from qlsa_sim.traces.store import BlockData, TraceReader, TraceWriter


def _blocks(rng, n=6, k=2):
    A = rng.standard_normal((n, n))
    M = rng.standard_normal((n, k))
    return [BlockData("a", rng.standard_normal(n), matrix=A @ A.T),
            BlockData("b", rng.standard_normal(n), factor=M, scale=0.5)]


def test_round_trip_dense_and_factor(tmp_path, rng):
    w = TraceWriter(tmp_path / "t", meta={"identity": {"x": 1}})
    blocks = _blocks(rng)
    w.write_snapshot(0, blocks, loss=1.5, extra={"test_accuracy": 0.5})
    w.write_snapshot(10, _blocks(rng), loss=1.0)
    r = TraceReader(tmp_path / "t")
    assert r.steps == [0, 10] and r.blocks == ["a", "b"] and len(r) == 4
    s = r.snapshot(0, "a")
    np.testing.assert_array_equal(s.matrix, blocks[0].matrix)
    np.testing.assert_array_equal(s.gradient, blocks[0].gradient)
    assert s.loss == 1.5 and s.row["test_accuracy"] == 0.5 and s.id == "t/00000000/a"
    f = r.snapshot(0, "b")
    np.testing.assert_allclose(f.matrix, 0.5 * blocks[1].factor @ blocks[1].factor.T)
    assert list(r.table()["id"]) == ["t/00000000/a", "t/00000000/b", "t/00000010/a", "t/00000010/b"]


def test_crash_between_file_and_manifest_keeps_earlier_snapshots(tmp_path, rng, monkeypatch):
    w = TraceWriter(tmp_path / "t", meta={})
    w.write_snapshot(0, _blocks(rng), loss=1.0)

    def boom(*a, **k):
        raise KeyboardInterrupt  # killed after the file was renamed, before the manifest was updated

    monkeypatch.setattr(store_mod, "_sha256_file", boom)
    with pytest.raises(KeyboardInterrupt):
        w.write_snapshot(5, _blocks(rng), loss=0.9)
    monkeypatch.undo()
    assert (tmp_path / "t" / "snap-00000005.npz").exists()  # orphan file, not listed
    r = TraceReader(tmp_path / "t")
    assert r.steps == [0]
    assert [s.step for s in r] == [0, 0]
    # resuming rewrites the orphan and lists it
    w2 = TraceWriter(tmp_path / "t", meta={}, resume=True)
    w2.write_snapshot(5, _blocks(rng), loss=0.9)
    assert TraceReader(tmp_path / "t").steps == [0, 5]


def test_crash_inside_file_write_leaves_no_partial_file(tmp_path, rng, monkeypatch):
    w = TraceWriter(tmp_path / "t", meta={})

    def boom(f, arrays):
        f.write(b"PK\x03\x04partial")
        raise KeyboardInterrupt

    monkeypatch.setattr("qlsa_sim.traces.store.write_aligned_npz", boom)
    with pytest.raises(KeyboardInterrupt):
        w.write_snapshot(0, _blocks(rng), loss=1.0)
    assert not list((tmp_path / "t").glob("*snap*"))
    assert TraceReader(tmp_path / "t").steps == []


def test_truncated_file_is_named(tmp_path, rng):
    w = TraceWriter(tmp_path / "t", meta={})
    w.write_snapshot(0, _blocks(rng), loss=1.0)
    p = tmp_path / "t" / "snap-00000000.npz"
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TraceError, match="snap-00000000.npz.*checksum"):
        TraceReader(tmp_path / "t").snapshot(0, "a")
    # even with the checksum skipped, the truncation is caught by the loader
    with pytest.raises(TraceError, match="snap-00000000.npz.*(corrupt|truncated)"):
        TraceReader(tmp_path / "t").snapshot(0, "a", verify=False)


def test_wrong_checksum_and_missing_file(tmp_path, rng):
    w = TraceWriter(tmp_path / "t", meta={})
    w.write_snapshot(0, _blocks(rng), loss=1.0)
    man = json.loads((tmp_path / "t" / "manifest.json").read_text())
    man["rows"][0]["sha256"] = "0" * 64
    (tmp_path / "t" / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(TraceError, match="checksum mismatch"):
        TraceReader(tmp_path / "t").snapshot(0, "a")
    (tmp_path / "t" / "snap-00000000.npz").unlink()
    with pytest.raises(TraceError, match="missing"):
        TraceReader(tmp_path / "t").snapshot(0, "b")


def test_nan_in_file_is_reported(tmp_path, rng):
    w = TraceWriter(tmp_path / "t", meta={})
    w.write_snapshot(0, _blocks(rng), loss=1.0)
    p = tmp_path / "t" / "snap-00000000.npz"
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["H_0"][1, 2] = np.nan
    np.savez(p, **arrays)
    man = json.loads((tmp_path / "t" / "manifest.json").read_text())
    for row in man["rows"]:
        row["sha256"] = store_mod._sha256_file(p)
    (tmp_path / "t" / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(TraceError, match="snap-00000000.npz.*NaN"):
        TraceReader(tmp_path / "t").snapshot(0, "a")
    with pytest.raises(InputError, match="NaN"):
        w.write_snapshot(1, [BlockData("a", np.zeros(2), matrix=np.full((2, 2), np.nan))], loss=1.0)


def test_bad_manifests(tmp_path):
    with pytest.raises(TraceError, match="not found"):
        TraceReader(tmp_path / "none")
    (tmp_path / "e").mkdir()
    with pytest.raises(TraceError, match="no manifest"):
        TraceReader(tmp_path / "e")
    (tmp_path / "e" / "manifest.json").write_text("{not json")
    with pytest.raises(TraceError, match="manifest.json.*JSON"):
        TraceReader(tmp_path / "e")
    (tmp_path / "e" / "manifest.json").write_text(json.dumps({"format": "qlsa-sim-trace/1", "rows": [{"step": 0}]}))
    with pytest.raises(TraceError, match=r"field 'rows\[0\].block' is missing"):
        TraceReader(tmp_path / "e")


def test_existing_trace_needs_resume_or_overwrite(tmp_path, rng):
    TraceWriter(tmp_path / "t", meta={"identity": {"lr": 0.1}}).write_snapshot(0, _blocks(rng), loss=1.0)
    with pytest.raises(TraceError, match="--resume"):
        TraceWriter(tmp_path / "t", meta={})
    with pytest.raises(TraceError, match="cannot resume"):
        TraceWriter(tmp_path / "t", meta={"identity": {"lr": 0.2}}, resume=True)
    w = TraceWriter(tmp_path / "t", meta={"identity": {"lr": 0.1}}, resume=True)
    assert w.recorded_steps() == [0]
    with pytest.raises(TraceError, match="already recorded"):
        w.write_snapshot(0, _blocks(rng), loss=1.0)
    TraceWriter(tmp_path / "t", meta={}, overwrite=True)
    assert TraceReader(tmp_path / "t").steps == []
