"""Paper-scale replay, per snapshot (issue 14, goal 3, the replay part; the report stage is timed elsewhere): the wall
time of ``replay_trace`` on a factor trace of the 784-16-10 MLP on Fashion-MNIST (layer-1 block n = 12560 stored as
the float32 factor M, 12560 x 1280, plus the 170 x 170 layer-2 block) against the sum of the per-snapshot feature
and solve times the replay itself reports (``features_measured_s``, ``solve_measured_s``), in the same run.

Two replays, 1 BLAS thread, calibration/example-2core.json:
  --no-measure   features, estimates and choice only (what ``qlsa-sim replay --no-measure`` runs);
  measured       plus one MEASURED dense Cholesky solve per block, which needs the dense matrix built from the
                 factor (``matrix_build_measured_s``: the replay's own work, not part of the solve).
TARGET: wall <= 1.2 x (features + solves). Reading: each file's bytes are read and sha256-verified once, the next
file by a prefetch thread while this one is replayed (``schedule/replay.py``), and its members are views of the
verified bytes (``traces/npz_view.py``: no zip CRC pass, no copy); the first file's read is not overlapped. The trace: ``--trace DIR``, else recorded here into a temporary folder
(``record --dataset fashion-mnist --sizes 784-16-10 --curvature ggn --storage factor --steps 100 --every 50
--dtype float32``: 3 snapshots, 65 MB each).

    python bench/bench_replay_paper.py [--trace DIR] [--no-measured]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.2


def record(directory: Path) -> None:
    args = [sys.executable, "-m", "qlsa_sim.cli", "record", "--dataset", "fashion-mnist", "--sizes", "784-16-10",
            "--curvature", "ggn", "--storage", "factor", "--steps", "100", "--every", "50", "--dtype", "float32",
            "--out", str(directory), "--quiet"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    subprocess.run(args, check=True, env=env, cwd=ROOT)


def replay_once(trace: Path, measure: bool) -> None:
    from qlsa_sim.cost.profile import load_profile
    from qlsa_sim.schedule.replay import ReplayConfig, replay_trace

    profile = load_profile(ROOT / "calibration" / "example-2core.json")
    t = time.perf_counter()
    df, failures = replay_trace(trace, profile, ReplayConfig(measure_classical=measure), progress=False)
    wall = time.perf_counter() - t
    assert not failures, failures
    snaps = df["step"].nunique()
    feats = float(df["features_measured_s"].sum())
    solve = float(df["solve_measured_s"].sum()) if measure else 0.0
    build = float(df["matrix_build_measured_s"].sum()) if measure and "matrix_build_measured_s" in df else 0.0
    work = feats + solve
    label = "measured solves" if measure else "--no-measure"
    print(f"[{label:15s}] {snaps} snapshots: wall {wall:.1f} s = {wall / snaps:.2f} s a snapshot; "
          f"features {feats:.2f} s"
          f" + solves {solve:.1f} s = {work:.1f} s; ratio {wall / work:.2f} (target <= {TARGET}: "
          f"{'met' if wall / work <= TARGET else 'NOT met'}); the rest: dense builds {build:.1f} s, reading, checks "
          f"and estimates {wall - work - build:.1f} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trace")
    ap.add_argument("--no-measured", action="store_true", help="only the --no-measure replay")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(a.trace) if a.trace else Path(tmp) / "paper-trace"
        if not a.trace:
            record(trace)
        replay_once(trace, False)
        if not a.no_measured:
            replay_once(trace, True)
