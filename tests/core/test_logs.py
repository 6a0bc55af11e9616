"""Logging and progress (``core/logs.py``): no escape codes in a redirected stderr, a log file beside the outputs,
levels from --quiet/--verbose, one bar at a time on a terminal, and a heartbeat so no stage stays silent."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from qlsa_sim.core import logs
from qlsa_sim.core.logs import Progress, close_logging, log_beside, setup_logging

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ["sweep", "--presets", "jennings2023_v1", "--profiles", "attosecond", "--n", "64,128", "--kappa", "10,100",
         "--density", "0.5", "--chunk", "1"]


def _cli(args, cache):
    env = dict(os.environ, PYTHONPATH=str(ROOT), QLSA_SIM_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-m", "qlsa_sim.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_redirected_stderr_gets_lines_not_escape_codes_and_the_log_file_sits_beside_the_outputs(tmp_path):
    out = tmp_path / "res" / "s.csv"
    r = _cli([*SWEEP, "--out", str(out)], tmp_path / "cache")
    assert r.returncode == 0, r.stderr
    assert "\x1b[" not in r.stderr and "\r" not in r.stderr       # no bar when stderr is not a terminal
    log_file = tmp_path / "res" / "s.log"
    text = log_file.read_text()
    assert "sweep: started (4 task)" in text and "DEBUG" in text   # everything, with times, in the file
    q = _cli([*SWEEP, "--out", str(out), "--quiet", "--log-file", str(tmp_path / "q.log")], tmp_path / "cache")
    assert q.returncode == 0 and q.stderr == "" and (tmp_path / "q.log").stat().st_size > 0


def test_levels_and_late_log_file(tmp_path, capsys):
    lg = logging.getLogger("qlsa_sim.test")
    setup_logging(-1)
    try:
        lg.info("hidden")
        lg.warning("shown")
        assert log_beside(tmp_path) == tmp_path / "qlsa-sim.log"   # records made before it are written to it
        lg.debug("detail")
    finally:
        close_logging()
    err = capsys.readouterr().err
    assert "shown" in err and "hidden" not in err
    text = (tmp_path / "qlsa-sim.log").read_text()
    assert "hidden" in text and "shown" in text and "detail" in text
    setup_logging(1)
    try:
        lg.debug("debugging")
    finally:
        close_logging()
    assert "debugging" in capsys.readouterr().err
    assert logging.getLogger("qlsa_sim").handlers == []             # closed: library use is untouched


def test_one_bar_at_a_time_on_a_terminal(monkeypatch):
    from tqdm import tqdm

    screen = io.StringIO()
    monkeypatch.setattr(logs, "_on_terminal", lambda: True)
    monkeypatch.setattr(sys, "stderr", screen)
    with Progress(3, "outer", unit="step") as outer:
        assert outer.bar is not None
        for _ in range(3):
            with Progress(2, "inner", unit="block") as inner:
                assert inner.bar is None                                 # shown on the outer bar instead
                inner.update()
                assert "inner 1/2" in outer.bar.postfix
                assert len([b for b in tqdm._instances if not b.disable]) == 1
            outer.update()
    with Progress(2, "quiet", enabled=False) as q:
        assert q.bar is None


def test_heartbeat_names_the_running_stage(monkeypatch, caplog):
    monkeypatch.setattr(logs, "HEARTBEAT_S", 0.5)
    caplog.set_level(logging.INFO, logger="qlsa_sim")
    with Progress(4, "slow stage", unit="task") as p:
        with Progress(None, "inner work") as q:
            q.update(note="block a")
            time.sleep(2.6)
        p.update()
    beats = [r.getMessage() for r in caplog.records if "still working" in r.getMessage()]
    assert beats and all(b.startswith("inner work: still working") for b in beats)
    assert "block a" in beats[0]
