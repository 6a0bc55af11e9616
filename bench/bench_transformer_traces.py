"""Record BERT and GPT traces at the paper's default size and report how their blocks evolve.

Issue 5's target: a few hundred steps of each at 4 layers, 4 heads, width 64, recorded within 30
minutes on 2 cores. Exact blocks cost one Hessian-vector product per coordinate, so the trace keeps
a subset: per-head Q blocks (1024 x 1024) of the first and last layer, on 2 sequences of the
batch. Prints wall times, block sizes, the loss at the first and last snapshot, and the
evolution verdicts (kappa, density, p%-sparsity over steps).

    python bench/bench_transformer_traces.py [--steps 300] [--every 100] [--out /tmp/qlsa-bench-text]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from qlsa_sim.cli import main  # noqa: E402
from qlsa_sim.traces.store import TraceReader  # noqa: E402


def run() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--out", default="/tmp/qlsa-bench-text")
    a = ap.parse_args()
    torch.set_num_threads(1)
    walls = {}
    for model in ("bert", "gpt"):
        out = f"{a.out}/{model}"
        t0 = time.perf_counter()
        rc = main(["record", "--model", model, "--steps", str(a.steps), "--every", str(a.every), "--lr", "0.1",
                   "--partition", "per-head", "--block-kinds", "q", "--block-layers", "0,3",
                   "--curvature-batch", "2", "--hessian-method", "hvp", "--hvp-chunk", "8",
                   "--out", out, "--overwrite", "--quiet"])
        walls[model] = time.perf_counter() - t0
        if rc:
            raise SystemExit(rc)
        r = TraceReader(out)
        first, last = r.snapshot(r.steps[0], r.blocks[0]), r.snapshot(r.steps[-1], r.blocks[0])
        print(f"{model}: {len(r.steps)} snapshots x {len(r.blocks)} blocks (n = "
              f"{sorted({row['n'] for row in r.rows})}) in {walls[model]:.0f} s; batch loss "
              f"{first.loss:.3f} -> {last.loss:.3f}; held-out loss {first.row['test_loss']:.3f} -> "
              f"{last.row['test_loss']:.3f}")
    total = sum(walls.values())
    print(f"total recording wall time {total:.0f} s = {total / 60:.1f} min (target: 30 min) -> "
          f"{'met' if total <= 1800 else 'NOT met'}")
    main(["evolution", f"{a.out}/bert", f"{a.out}/gpt", "--out", f"{a.out}/evolution", "--quiet"])


if __name__ == "__main__":
    run()
