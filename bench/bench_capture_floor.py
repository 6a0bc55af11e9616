"""Hessian capture against its physical floor (issue 14, goal 5): the dense layer-1 block of the 784-16-10 ReLU MLP
(n = 12560, batch 128; ``curvature/mlp_ggn.mlp_layer_hessian_closed_form``), float64 and float32, 1 thread.

Floor = the closed form's flops at this machine's GEMM rate + writing the n x n block once, both measured in the same
run:
  flops       sum over the 16 output rows o of the upper block row's GEMMs: 2 in B (out - o) in (+ the bias column
              2 in B out) = 2.15e10 for in = 784, B = 128, out = 16;
  GEMM rate   the best of a square 2048 GEMM (np.matmul, the same BLAS) in that dtype;
  write       filling a fresh n x n array once (``np.empty(...).fill``): warm = best of 3 in one process (memory the
              process has had before: what every capture of a recording after its first meets), cold = the first
              allocation of a fresh process (page faults, the kernel's huge-page compaction).
Capture: warm = best of 3 captures in one process after a first one (each into the memory of the last, which
``curvature/mlp_ggn.py`` reuses once no one holds it: a recording drops each block once written); cold = the first
capture of a fresh process.
TARGET: capture <= 2 x floor (warm: the steady state of a recording; cold printed beside it).

    python bench/bench_capture_floor.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

ROOT = Path(__file__).resolve().parents[1]
B, NIN, OUT = 128, 784, 16
N = OUT * NIN + OUT
TARGET = 2.0


def closed_form_flops() -> float:
    return float(sum(2 * NIN * B * (OUT - o) * NIN + 2 * NIN * B * OUT for o in range(OUT)))


def _best(fn, k: int = 3) -> float:
    best = float("inf")
    for _ in range(k):
        t = time.perf_counter()
        r = fn()
        best = min(best, time.perf_counter() - t)
        del r
    return best


def worker(what: str, dtype_name: str) -> None:
    """One figure in this (fresh) process, printed as JSON."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    npdt = np.dtype(dtype_name)
    with threadpool_limits(1):
        if what in ("fill-cold", "fill-warm"):
            def fill():
                H = np.empty((N, N), dtype=npdt)
                H.fill(1.0)
                return H
            if what == "fill-warm":
                fill()  # the process has had such memory before
            out = _best(fill, 1 if what == "fill-cold" else 3)
        elif what == "gemm":
            S = np.random.default_rng(0).standard_normal((2048, 2048)).astype(npdt)
            out = 2 * 2048 ** 3 / _best(lambda: S @ S)
        else:
            sys.path.insert(0, str(Path(__file__).parent))
            from bench_capture import _inputs

            from qlsa_sim.curvature.mlp_ggn import mlp_layer_hessian_closed_form
            from qlsa_sim.models.mlp import MLPConfig, build_mlp

            model = build_mlp(MLPConfig((784, 16, 10)), seed=0)
            X, y, _ = _inputs()
            dt = {"float64": torch.float64, "float32": torch.float32}[dtype_name]
            run = lambda: mlp_layer_hessian_closed_form(model, X, y, 0, dtype=dt)  # noqa: E731
            if what == "capture-warm":
                run()  # the first capture of the process
            out = _best(run, 1 if what == "capture-cold" else 3)
    print(json.dumps({"value": out}))


def figure(what: str, dtype_name: str) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    p = subprocess.run([sys.executable, __file__, "--worker", what, dtype_name], capture_output=True, text=True,
                       env=env, check=True)
    return float(json.loads(p.stdout.strip().splitlines()[-1])["value"])


def main() -> None:
    flops = closed_form_flops()
    print(f"layer-1 block of 784-16-10, batch {B}: n = {N}; closed form {flops:.3g} flops; 1 thread")
    for dtype_name in ("float64", "float32"):
        rate = figure("gemm", dtype_name)
        fw, fc = figure("fill-warm", dtype_name), figure("fill-cold", dtype_name)
        cw, cc = figure("capture-warm", dtype_name), figure("capture-cold", dtype_name)
        floor_w, floor_c = flops / rate + fw, flops / rate + fc
        gb = N * N * (8 if dtype_name == "float64" else 4) / 1e9
        print(f"{dtype_name}: GEMM {rate / 1e9:.0f} GFLOP/s -> {flops / rate:.3f} s; writing {gb:.2f} GB once "
              f"{fw:.3f} s warm, {fc:.3f} s cold")
        print(f"  warm: capture {cw:.3f} s, floor {floor_w:.3f} s, ratio {cw / floor_w:.2f} "
              f"(target <= {TARGET:g}: {'met' if cw / floor_w <= TARGET else 'NOT met'}); cold: capture {cc:.3f} s, "
              f"floor {floor_c:.3f} s, ratio {cc / floor_c:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
