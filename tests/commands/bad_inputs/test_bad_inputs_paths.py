"""Paths: nothing a file says decides where the tool writes outside its output folder, and nothing outside a
trace folder is read through its manifest (``core/outputs.py``, ``traces/schema.py``, ``traces/store.py``)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from qlsa_sim.cli import main
from qlsa_sim.core.outputs import OutputSet, inside, safe_name
from qlsa_sim.errors import InputError


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "/abs", "a\\b", "x\x00y", "tab\tname", "a" * 256])
def test_names_from_files_are_never_paths(name):
    with pytest.raises(InputError, match="not a plain name"):
        safe_name(name, "run name")
    with pytest.raises(InputError):
        inside("analysis", name, "run name")


@pytest.mark.parametrize("name", ["mlp-fashion-mnist", "demo-digits-8x8", "trace", "run.2", "ünïcode"])
def test_plain_names_are_kept(name, tmp_path):
    assert inside(tmp_path, name, "run name") == tmp_path / name


@pytest.mark.parametrize("run", ["../../x", "/tmp/x", "..", "a/../../b"])
def test_run_name_cannot_lead_replay_outside(run, trace_copy, profile_path, tmp_path, monkeypatch, refused):
    t = trace_copy(lambda m, d: m.__setitem__("run", run))
    monkeypatch.chdir(tmp_path)
    refused("replay", t, "--calibration", profile_path, "--quiet", needles=("field 'run'",),
            absent=[tmp_path / "analysis", tmp_path.parent / "x", "/tmp/x"])


def test_default_output_folder_is_the_sanitized_run_name(trace_copy, profile_path, tmp_path, monkeypatch, capsys):
    t = trace_copy(lambda m, d: m.__setitem__("run", "my-run"))
    monkeypatch.chdir(tmp_path)
    assert main(["replay", str(t), "--calibration", str(profile_path), "--quiet", "--no-measure"]) == 0
    assert (tmp_path / "analysis" / "my-run" / "decisions.csv").is_file()


def test_manifest_file_entries_stay_inside_the_trace(trace_copy, profile_path, tmp_path, refused):
    """A file outside the trace with its true sha256 is not read: not by '..', not by a symlink."""
    outside = tmp_path / "outside"
    outside.mkdir()

    def climb(m, d):
        shutil.copy(d / "snap-00000000.npz", outside / "x.npz")
        for r in m["rows"]:
            if r["file"] == "snap-00000000.npz":
                r["file"] = "../outside/x.npz"
    t = trace_copy(climb)
    refused("replay", t, "--calibration", profile_path, "--out", tmp_path / "o", "--quiet",
            needles=("rows[0].file", "../outside/x.npz"), absent=[tmp_path / "o"])


def test_symlinks_inside_the_trace_are_fine(trace_copy, profile_path, tmp_path, capsys):
    def link(m, d):
        os.replace(d / "snap-00000000.npz", d / "real-00000000.npz")
        os.symlink("real-00000000.npz", d / "snap-00000000.npz")
    t = trace_copy(link)
    assert main(["replay", str(t), "--calibration", str(profile_path), "--out", str(tmp_path / "o"), "--quiet",
                 "--no-measure"]) == 0


def test_a_tampered_output_record_cannot_delete_outside(tmp_path):
    """The record of a previous output set names files to remove; a name leading outside is ignored."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".qlsa-outputs-replay.json").write_text(json.dumps({"files": ["../victim.txt", "/etc/hostname"]}))
    with OutputSet(out, "replay") as s:
        (s.path / "decisions.csv").write_text("a\n1\n")
    assert victim.read_text() == "keep me" and (out / "decisions.csv").is_file()
