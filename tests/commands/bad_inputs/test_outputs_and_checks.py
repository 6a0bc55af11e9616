"""Outputs as a set (``core/outputs.py``): a killed command leaves the previous complete set or a folder marked
INCOMPLETE, never a silent mix; temporaries of dead processes are removed. Plus the checks that are not
refusals: ``validate`` exits 1 naming its error and eps when a solve misses eps, a tampered angle cache is
recomputed, and ``estimate --json`` keeps full precision."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from qlsa_sim.cli import main
from qlsa_sim.core.atomic import atomic_write_json, pid_alive, remove_stale_temporaries
from qlsa_sim.core.outputs import MARKER, OutputSet, output_set

ROOT = Path(__file__).resolve().parents[3]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert not pid_alive(p.pid)
    return p.pid


def _killed_while(code: str, out: Path) -> None:
    """Run ``code`` in a child that SIGKILLs itself at the end (``kill()``), as a crash would."""
    prog = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from qlsa_sim.core.outputs import OutputSet, output_set
        out = Path({str(out)!r})
        def kill():
            os.kill(os.getpid(), signal.SIGKILL)
    """) + textwrap.dedent(code)
    r = subprocess.run([sys.executable, "-c", prog], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == -9


def _write_set(out: Path, names=("decisions.csv", "speedup.csv", "crossover.png"), text="old") -> None:
    with output_set(out, "replay") as s:
        for n in names:
            (s.path / n).write_text(text)


def test_killed_while_writing_keeps_the_previous_set(tmp_path):
    out = tmp_path / "o"
    _write_set(out)
    _killed_while("""
        with output_set(out, "replay") as s:
            (s.path / "decisions.csv").write_text("")   # 0 bytes, then killed
            kill()
    """, out)
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {"decisions.csv", "speedup.csv",
                                                                             "crossover.png"}
    assert (out / "decisions.csv").read_text() == "old" and not (out / MARKER).exists()
    assert any(p.name.startswith(".qlsa-staging-") for p in out.iterdir())  # the dead run's staging folder
    _write_set(out, names=("decisions.csv", "speedup.csv"), text="new")  # a rerun replaces the set ...
    assert not any(p.name.startswith(".qlsa-staging-") for p in out.iterdir())  # ... and removes the leftovers
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {"decisions.csv", "speedup.csv"}
    assert (out / "decisions.csv").read_text() == "new"


def test_killed_while_moving_in_leaves_the_folder_marked(tmp_path):
    out = tmp_path / "o"
    _write_set(out)
    _killed_while("""
        import os as _os
        real = _os.replace
        def replace(a, b):  # killed after the first file moved in
            real(a, b)
            kill()
        with output_set(out, "replay") as s:
            (s.path / "decisions.csv").write_text("new")
            (s.path / "speedup.csv").write_text("new")
            _os.replace = replace
    """, out)
    assert "did not finish" in (out / MARKER).read_text()
    _write_set(out, text="newer")
    assert not (out / MARKER).exists() and (out / "speedup.csv").read_text() == "newer"


def test_marked_set_in_place(tmp_path):
    out = tmp_path / "rep"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / "r.json").write_text("resumable")
    with output_set(out, "reproduce", staged=False, keep=("runs",)):
        (out / "table1.csv").write_text("1")
        (out / "fig.png").write_text("1")
    rec = json.loads((out / ".qlsa-outputs-reproduce.json").read_text())
    assert sorted(rec["files"]) == ["fig.png", "table1.csv"]
    with pytest.raises(RuntimeError):  # failed half-way: marked, old files kept for the rerun
        with output_set(out, "reproduce", staged=False, keep=("runs",)):
            (out / "table1.csv").write_text("")
            raise RuntimeError("boom")
    assert (out / MARKER).exists()
    with output_set(out, "reproduce", staged=False, keep=("runs",)):
        (out / "table1.csv").write_text("2")
    assert not (out / MARKER).exists() and not (out / "fig.png").exists()  # stale member of the old set removed
    assert (out / "runs" / "r.json").read_text() == "resumable"


def test_a_failed_staged_run_leaves_the_previous_set_untouched(tmp_path):
    out = tmp_path / "o"
    _write_set(out)
    with pytest.raises(ValueError):
        with OutputSet(out, "replay") as s:
            (s.path / "decisions.csv").write_text("")
            raise ValueError("boom")
    assert (out / "decisions.csv").read_text() == "old" and not (out / MARKER).exists()
    assert not any(p.name.startswith(".qlsa-staging-") for p in out.iterdir())


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    for pid in (dead, alive):
        (tmp_path / f".local.json.tmp-{pid}").write_text("partial")
    (tmp_path / f".qlsa-staging-{dead}").mkdir()
    (tmp_path / "user.tmp-1").write_text("not ours")  # not hidden: never touched
    atomic_write_json(tmp_path / "local.json", {"a": 1})  # a later write of the same file cleans up
    assert not (tmp_path / f".local.json.tmp-{dead}").exists() and (tmp_path / f".local.json.tmp-{alive}").exists()
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [f".qlsa-staging-{dead}"] and (tmp_path / "user.tmp-1").exists()


def test_calibrate_rerun_cleans_a_killed_runs_temporary(tmp_path, capsys, monkeypatch):
    import dataclasses

    import qlsa_sim.cost.calibrate as cal
    from qlsa_sim.cost.profile import profile_from_constants

    p = profile_from_constants(cholesky=(1e-11, 1e-5), lu=(2e-11, 1e-5), q1=1e-15, q2=1e-12)
    p = dataclasses.replace(p, classical=tuple(dataclasses.replace(c, fit_sizes=(8, 65)) for c in p.classical))
    monkeypatch.setattr(cal, "calibrate", lambda **kw: p)  # no timing: this test is about the file
    out = tmp_path / "c.json"
    tmp = tmp_path / f".c.json.tmp-{_dead_pid()}"
    tmp.write_text("{")
    assert main(["calibrate", "--sizes", "8,65", "--repeats", "1", "--out", str(out), "--quiet"]) == 0
    assert out.is_file() and not tmp.exists()


def test_replay_writes_its_reports_as_a_set(small_trace, profile_path, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "decisions.csv").write_text("")  # what a killed older tool left
    (out / MARKER).write_text("incomplete")
    assert main(["replay", str(small_trace), "--calibration", str(profile_path), "--out", str(out), "--quiet",
                 "--no-measure"]) == 0
    assert not (out / MARKER).exists() and (out / "decisions.csv").stat().st_size > 0
    rec = json.loads((out / ".qlsa-outputs-replay.json").read_text())
    assert set(rec["files"]) == {"decisions.csv", "speedup.csv", "speedup.md", "crossover.png", "crossover.svg",
                                 "crossover.caption.md"}


@pytest.mark.slow  # ~6 s: a child process loads the toolkit, replays, and is killed while drawing
def test_replay_killed_during_the_figures_keeps_the_previous_reports(small_trace, profile_path, tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["replay", str(small_trace), "--calibration", str(profile_path), "--out", str(out), "--quiet",
            "--no-measure"]
    assert main(argv) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    _killed_while(f"""
        import qlsa_sim.experiments.replay_outputs as ro
        from qlsa_sim.cli import main
        ro.plot_crossover = lambda *a, **k: kill()  # killed after decisions.csv and speedup.* were written
        main({argv!r})
    """, out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before and not (out / MARKER).exists()


# ------------------------------------------------------------------------------------------ validate, estimate
def test_validate_exits_1_naming_error_and_eps_when_it_misses(monkeypatch, capsys):
    import dataclasses

    import qlsa_sim.quantum.circuits.simulate as sim

    real = sim.validate_solve

    def worse(*a, **k):
        return dataclasses.replace(real(*a, **k), relative_error=0.044)
    monkeypatch.setattr(sim, "validate_solve", worse)
    assert main(["validate", "--n", "2", "--kappa", "2"]) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert "relative_error" in out and len(lines) == 1
    assert lines[0].startswith("qlsa-sim validate: error: case 1 (n = 2") and "0.044" in lines[0] and "eps 0.01" in lines[0]


def test_validate_with_rhs(tmp_path, capsys):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, np.diag([1.0, 2.0]))
    np.save(b, np.array([1.0, 1.0]))
    assert main(["validate", "--matrix", str(a), "--rhs", str(b), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["relative_error"] <= 0.01


def test_tampered_angle_cache_is_recomputed(capsys):
    from qlsa_sim.quantum.circuits.angles import _cache_key, _cache_path, find_angles

    first = find_angles(3.0, 0.05)
    path = _cache_path(_cache_key(3.0, 0.05, "sym_qsp"))
    assert find_angles(3.0, 0.05).from_cache
    data = json.loads(path.read_text())
    data["phases"][1] += 0.05
    path.write_text(json.dumps(data))
    again = find_angles(3.0, 0.05)
    assert not again.from_cache and again.phases == pytest.approx(first.phases)
    data = json.loads(path.read_text())  # a forger who also fixes the checksum is caught by the response check
    from qlsa_sim.quantum.circuits import angles as mod

    data["phases"][1] += 0.05
    data["sha256"] = mod._digest(data["key"], data["degree"], data["scale"], data["phases"])
    path.write_text(json.dumps(data))
    assert not find_angles(3.0, 0.05).from_cache


def test_estimate_json_keeps_full_precision(capsys):
    from qlsa_sim.experiments.estimate import estimate_document, point_features

    assert main(["estimate", "--n", "16", "--kappa", "10", "--density", "1", "--json", "--preset", "qsvt",
                 "--profile", "attosecond"]) == 0
    got = json.loads(capsys.readouterr().out)["estimates"][0]["logical_time"][0]["seconds"]
    want = estimate_document(point_features(16, 10.0, 1.0, 1e-2), 1e-2, presets=["qsvt"], hardware=["attosecond"])
    assert got == want.estimates[0].logical_time[0].seconds and 0 < got < 1e-9