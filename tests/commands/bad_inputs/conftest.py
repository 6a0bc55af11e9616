"""Fixtures of the bad-input suite: a small trace, a good calibration, and ``refused``: run the CLI and assert a
refused input (exit 2, one line on stderr naming the input and the problem, no traceback, nothing written)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from qlsa_sim.cli import main
from qlsa_sim.commands import COMMANDS
from qlsa_sim.traces.store import BlockData, TraceWriter


def _spd(rng, n):
    a = rng.standard_normal((n, n))
    return a @ a.T / n + np.eye(n)


@pytest.fixture(scope="session")
def small_trace(tmp_path_factory) -> Path:
    """A dense trace of two steps x two blocks (n = 6 and 4), written by the store itself."""
    d = tmp_path_factory.mktemp("trace") / "tiny"
    rng = np.random.default_rng(5)
    w = TraceWriter(d, meta={"identity": {"task": {"model": "mlp", "dataset": "synthetic"}, "every": 10}})
    for step in (0, 10):
        w.write_snapshot(step, [BlockData("a", rng.standard_normal(6), matrix=_spd(rng, 6)),
                                BlockData("b", rng.standard_normal(4), matrix=_spd(rng, 4))], loss=1.0 - step / 100)
    return d


@pytest.fixture
def trace_copy(small_trace, tmp_path):
    """``copy(mutate=None)``: a fresh copy of the small trace; ``mutate(manifest_dict, folder)`` edits it (the
    dict is written back unless ``mutate`` returns "keep": it wrote the manifest itself)."""
    def copy(mutate=None, name: str = "t") -> Path:
        d = tmp_path / name
        shutil.copytree(small_trace, d, symlinks=True)
        if mutate is not None:
            man = json.loads((d / "manifest.json").read_text())
            if mutate(man, d) != "keep":
                (d / "manifest.json").write_text(json.dumps(man))
        return d
    return copy


@pytest.fixture
def good_profile(profile_path) -> dict:
    """The JSON of a valid calibration profile (tests/conftest.py's ``profile_path``)."""
    return json.loads(Path(profile_path).read_text())


def _listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


@pytest.fixture
def refused(capsys, tmp_path):
    """``refused(*argv, needles=(...), absent=(...))``: run ``qlsa-sim argv``; assert exit 2, exactly one line on
    stderr ``qlsa-sim <command>: error: ...`` holding every needle, no traceback, nothing printed on stdout,
    every path in ``absent`` missing afterwards and nothing new under ``tmp_path`` but inputs made before the
    call. Returns the error line."""
    def run(*argv, needles=(), absent=()) -> str:
        argv = [str(a) for a in argv]
        before = _listing(tmp_path)
        rc = main(argv)
        out, err = capsys.readouterr()
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert rc == 2, (rc, err)
        assert len(lines) == 1 and "Traceback" not in err, err
        cmd = argv[0] if argv and argv[0] in COMMANDS else ""
        assert lines[0].startswith(f"qlsa-sim {cmd}: error: " if cmd else "qlsa-sim: error: "), lines[0]
        for n in needles:
            assert n in lines[0], (n, lines[0])
        assert out == "", out
        for p in absent:
            assert not os.path.lexists(p), f"{p} was written"
        new = {p for p in _listing(tmp_path) - before if not p.startswith("cache")}
        assert not new, f"written: {sorted(new)}"
        return lines[0]
    return run
