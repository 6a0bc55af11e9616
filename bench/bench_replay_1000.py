"""1000-snapshot replay of small blocks (issue 14, goal 3): wall time of ``replay_trace`` in-process against the work
it schedules, measured in the same run.

Trace (synthesized with TraceWriter, the recorder's format): ``--snapshots`` (1000) files of two dense float32 GGN-like
blocks, n = 520 and n = 90 (the shapes of the committed digits example: MLP 64-8-10), H = M M^T / 64 with M of
B K = 640 columns. Replay: the default policy (exact features at this n, paper Eq. 3/4 estimates, the choice) and one
MEASURED dense solve per block, 1 BLAS thread, on calibration/example-2core.json.

Printed: the wall time (TARGET: under 120 s), the work inside it (sum over blocks of the features, the estimates and
the measured solve, from the table's own MEASURED columns) and their ratio (the replay's own overhead: reading,
checksums, validation, bookkeeping), and the per-snapshot cost. The trace is written to a temporary folder (about
1.2 MB a snapshot) and removed.

    python bench/bench_replay_1000.py [--snapshots 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 120.0
SHAPES = (("layer:0", 520), ("layer:2", 90))
COLUMNS = 640


def write_trace(directory: Path, snapshots: int) -> float:
    """The synthetic trace; returns the seconds it took to write."""
    from qlsa_sim.traces.store import BlockData, TraceWriter

    rng = np.random.default_rng(0)
    t = time.perf_counter()
    w = TraceWriter(directory, meta={"identity": {"synthetic": "bench_replay_1000"}})
    for s in range(snapshots):
        blocks = []
        for name, n in SHAPES:
            M = rng.standard_normal((n, COLUMNS)) * (rng.random((n, COLUMNS)) < 0.3)
            blocks.append(BlockData(name, rng.standard_normal(n), matrix=(M @ M.T) / 64))
        w.write_snapshot(s, blocks, loss=1.0 / (1 + s), dtype="float32")
    return time.perf_counter() - t


def main(snapshots: int, keep: str | None) -> None:
    from qlsa_sim.cost.profile import load_profile
    from qlsa_sim.schedule.replay import ReplayConfig, replay_trace

    profile = load_profile(ROOT / "calibration" / "example-2core.json")
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(keep) if keep else Path(tmp) / "t1000"
        if not (trace / "manifest.json").exists():
            print(f"writing {snapshots} snapshots to {trace} ... {write_trace(trace, snapshots):.0f} s")
        t = time.perf_counter()
        df, failures = replay_trace(trace, profile, ReplayConfig(), progress=False)
        wall = time.perf_counter() - t
    assert not failures and len(df) == len(SHAPES) * snapshots, failures[:3]
    work = float(df["scheduling_measured_s"].sum() + df["solve_measured_s"].sum())
    feats = float(df["features_measured_s"].sum())
    print(f"replay of {snapshots} snapshots ({len(df)} blocks, n = {', '.join(str(n) for _, n in SHAPES)}): "
          f"wall {wall:.1f} s (target < {TARGET_S:.0f} s: {'met' if wall < TARGET_S else 'NOT met'}; "
          f"{wall / TARGET_S:.2f} of it)")
    rest = work - feats - df["solve_measured_s"].sum()
    print(f"  work scheduled: features {feats:.1f} s + estimates/choice {rest:.1f} s"
          f" + measured solves {df['solve_measured_s'].sum():.1f} s = {work:.1f} s; wall / work = {wall / work:.2f} "
          f"(replay's own overhead {wall - work:.1f} s, {1e3 * (wall - work) / snapshots:.1f} ms a snapshot); "
          f"{1e3 * wall / snapshots:.1f} ms a snapshot in all")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snapshots", type=int, default=1000)
    ap.add_argument("--keep", help="write (or reuse) the trace in this folder instead of a temporary one")
    a = ap.parse_args()
    main(a.snapshots, a.keep)
