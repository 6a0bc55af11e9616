"""Bad trace manifests and snapshot files: refused by the schema (``traces/schema.py``) and the file checks of
``traces/store.py`` before any snapshot is read or any report written; property tests of the validator."""

from __future__ import annotations

import copy
import json
import math
import os
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlsa_sim.errors import TraceError
from qlsa_sim.traces.schema import validate_manifest


def _row(k, v, i=0):
    def mutate(m, d):
        m["rows"][i][k] = v
    return mutate


def _top(k, v):
    def mutate(m, d):
        m[k] = v
    return mutate


BAD = [
    ("meta a list", _top("meta", []), "field 'meta'"),
    ("meta.identity a string", _top("meta", {"identity": "x"}), "meta.identity"),
    ("unknown curvature", _top("meta", {"identity": {"curvature": "hessian-ish"}}), "meta.identity.curvature"),
    ("rows an object", _top("rows", {}), "field 'rows'"),
    ("rows missing", lambda m, d: m.__delitem__("rows"), "field 'rows' is missing"),
    ("a row a number", lambda m, d: m["rows"].__setitem__(0, 5), "rows[0]"),
    ("step a list", _row("step", [1]), "rows[0].step"),
    ("step fifty", _row("step", "fifty"), "rows[0].step"),
    ("step negative", _row("step", -1), "rows[0].step"),
    ("step a float", _row("step", 1.5), "rows[0].step"),
    ("step a bool", _row("step", True), "rows[0].step"),
    ("n a word", _row("n", "abc"), "rows[0].n"),
    ("n zero", _row("n", 0), "rows[0].n"),
    ("unknown storage", _row("storage", "sparse"), "rows[0].storage"),
    ("unknown dtype", _row("dtype", "int8"), "rows[0].dtype"),
    ("loss a word", _row("loss", "low"), "rows[0].loss"),
    ("loss nan", _row("loss", "nan"), "rows[0].loss"),
    ("bad key", _row("key", "H"), "rows[0].key"),
    ("key of the other storage", _row("key", "M_0"), "does not match storage"),
    ("factor without rank", _row("storage", "factor"), "rows[0]"),
    ("sha256 short", _row("sha256", "abc"), "rows[0].sha256"),
    ("file climbs out", _row("file", "../../outside/x.npz"), "rows[0].file"),
    ("file absolute", _row("file", "/etc/passwd"), "rows[0].file"),
    ("file passwd", _row("file", "../../../etc/passwd"), "rows[0].file"),
    ("file hidden", _row("file", ".snap.npz"), "rows[0].file"),
    ("block empty", _row("block", ""), "rows[0].block"),
    ("duplicate rows", lambda m, d: m["rows"].append(copy.deepcopy(m["rows"][0])), "both hold step 0"),
    ("run climbs out", _top("run", "../../x"), "field 'run'"),
    ("run absolute", _top("run", "/tmp/x"), "field 'run'"),
    ("run a number", _top("run", 7), "field 'run'"),
    ("wrong format", _top("format", "qlsa-sim-trace/9"), "format"),
    ("manifest a list", lambda m, d: ((d / "manifest.json").write_text("[]"), "keep")[1], "JSON object"),
]


@pytest.mark.parametrize("name,mutate,field", BAD, ids=[b[0] for b in BAD])
def test_bad_manifest_is_refused_before_any_read(name, mutate, field, trace_copy, profile_path, tmp_path, refused):
    t = trace_copy(mutate)
    line = refused("replay", t, "--calibration", profile_path, "--out", tmp_path / "o", "--quiet",
                   needles=(str(t / "manifest.json"), field), absent=[tmp_path / "o", tmp_path / "analysis"])
    assert "corrupt or truncated" not in line and "index out of range" not in line


def test_bad_manifest_refused_by_evolution_too(trace_copy, tmp_path, refused):
    t = trace_copy(_row("step", "fifty"))
    refused("evolution", t, "--out", tmp_path / "evo", "--quiet", needles=("rows[0].step",),
            absent=[tmp_path / "evo"])


@pytest.mark.parametrize("kind", ["not json", "empty", "dev zero", "missing", "a folder"])
def test_bad_manifest_file(kind, trace_copy, profile_path, tmp_path, refused):
    t = trace_copy()
    m = t / "manifest.json"
    m.unlink()
    if kind == "not json":
        m.write_text("{rows: [")
    elif kind == "empty":
        m.write_text("")
    elif kind == "dev zero":
        os.symlink("/dev/zero", m)
    elif kind == "a folder":
        m.mkdir()
    refused("replay", t, "--calibration", profile_path, "--out", tmp_path / "o", "--quiet", needles=(str(t),),
            absent=[tmp_path / "o"])


def test_oversized_manifest_is_refused_before_reading(trace_copy, profile_path, tmp_path, refused, monkeypatch):
    import qlsa_sim.traces.store as store

    monkeypatch.setattr(store, "MANIFEST_MAX_BYTES", 100)
    t = trace_copy()
    refused("replay", t, "--calibration", profile_path, "--out", tmp_path / "o", "--quiet",
            needles=("manifest.json", "more than the 100 B allowed"), absent=[tmp_path / "o"])


def _snap_as(target_fn):
    def mutate(m, d):
        p = d / "snap-00000000.npz"
        target = target_fn(p, d)
        p.unlink()
        os.symlink(target, p)
    return mutate


def _outside(p, d):
    out = d.parent / "outside"
    out.mkdir(exist_ok=True)
    shutil.copy(p, out / p.name)  # the true file: same sha256 as the manifest lists
    return out / p.name


@pytest.mark.parametrize("name,mutate,needle", [
    ("symlink to /dev/zero", _snap_as(lambda p, d: "/dev/zero"), "not a regular file"),
    ("symlink out of the trace", _snap_as(_outside), "symlink leading out of the trace folder"),
    ("a folder", lambda m, d: [(d / "snap-00000000.npz").unlink(), (d / "snap-00000000.npz").mkdir()] and None,
     "not a regular file"),
    ("larger than its rows", lambda m, d: open(d / "snap-00000000.npz", "ab").write(b"\0" * (1 << 17)) and None,
     "more than its 2 block(s) can take"),
])
def test_bad_snapshot_file_refuses_the_trace_before_any_work(name, mutate, needle, trace_copy, profile_path,
                                                             tmp_path, refused):
    t = trace_copy(mutate)
    refused("replay", t, "--calibration", profile_path, "--out", tmp_path / "o", "--quiet",
            needles=("snap-00000000.npz", needle), absent=[tmp_path / "o"])


def test_a_remote_location_without_its_driver_is_one_line(profile_path, tmp_path, refused):
    refused("replay", "http://example.invalid/trace", "--calibration", profile_path, "--out", tmp_path / "o",
            "--quiet", needles=("http://example.invalid/trace",), absent=[tmp_path / "o"])


# ------------------------------------------------------------------------------------------ properties
HEX = "0123456789abcdef"
rows = st.lists(st.fixed_dictionaries({
    "step": st.integers(0, 10**9), "block": st.text(min_size=1, max_size=12), "n": st.integers(1, 10**6),
    "dtype": st.sampled_from(["float64", "float32"]), "storage": st.just("dense"),
    "loss": st.floats(allow_nan=False, allow_infinity=False), "file": st.from_regex(r"snap-[0-9]{8}\.npz", fullmatch=True),
    "key": st.from_regex(r"H_[1-9][0-9]{0,3}", fullmatch=True), "sha256": st.text(HEX, min_size=64, max_size=64)},
    optional={"test_loss": st.floats(), "feature_kappa": st.floats()}), max_size=6,
    unique_by=lambda r: (r["step"], r["block"]))
manifests = st.fixed_dictionaries({"format": st.just("qlsa-sim-trace/1"), "rows": rows},
                                  optional={"run": st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
                                            "created": st.text(max_size=5),
                                            "meta": st.just({"identity": {"every": 5, "curvature": "ggn"}})})
junk = st.one_of(st.none(), st.booleans(), st.text(max_size=4), st.lists(st.integers(), max_size=2),
                 st.floats(allow_nan=True), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
                 st.sampled_from(["../x.npz", "/abs.npz", -1, "fifty"]))


@settings(max_examples=100, deadline=None)
@given(man=manifests)
def test_valid_manifests_are_accepted_unchanged(man):
    before = json.dumps(man, sort_keys=True)
    assert validate_manifest(man, "m.json") is man and json.dumps(man, sort_keys=True) == before


@settings(max_examples=200, deadline=None)
@given(man=manifests.filter(lambda m: m["rows"]), field=st.sampled_from(
    ["step", "n", "dtype", "storage", "loss", "file", "key", "sha256", "block"]), value=junk, data=st.data())
def test_any_bad_row_field_is_one_trace_error_naming_it(man, field, value, data):
    i = data.draw(st.integers(0, len(man["rows"]) - 1))
    good = dict(man["rows"][i])
    man["rows"][i][field] = value
    try:
        validate_manifest(man, "m.json")
    except TraceError as e:
        msg = str(e)
        assert "\n" not in msg and msg.startswith("m.json: ")
        assert f"rows[{i}]" in msg or "both hold" in msg
        return
    # accepted only if the value is one the field allows
    finite = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    assert (field == "block" and isinstance(value, str) and value) or (field == "loss" and finite), (field, value)
    assert good is not None


def test_compressed_array_beyond_its_row_is_not_unpacked(trace_copy, profile_path, tmp_path, refused):
    """A small compressed snapshot whose array would unpack far beyond what n allows (checksum made
    consistent): refused from the zip's directory, before decompression."""
    import numpy as np

    from qlsa_sim.traces.store import _sha256_file

    def bomb(m, d):
        p = d / "snap-00000000.npz"
        with np.load(p) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["H_0"] = np.zeros((2000, 2000))
        np.savez_compressed(p, **arrays)
        for r in m["rows"]:
            if r["file"] == p.name:
                r["sha256"] = _sha256_file(p)
    t = trace_copy(bomb)
    refused("replay", t, "--calibration", profile_path, "--out", tmp_path / "o", "--quiet", "--strict",
            needles=("snap-00000000.npz", "array 'H_0' holds 30.5 MiB, more than n=6 allows"), absent=[tmp_path / "o"])
