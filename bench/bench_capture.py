"""Capture of the 12560 x 12560 layer-1 block of the 784-16-10 ReLU MLP (batch 128, 1 thread).

Closed form (Kronecker form of the GGN, qlsa_sim.curvature.mlp_ggn) vs torch.func.hessian of the
same block (weight and bias of layer 1, n = 16*784 + 16), in float64 and float32.

Each measurement runs in its own subprocess so peak memory can be read from
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the kernel's high-water mark of the resident set,
which sees torch allocations, unlike tracemalloc). Reported per method:
  cold s   first capture in a fresh process (includes first-touch page faults of the output),
  warm s   best of two more captures in the same process (steady state of a training loop,
           where each step captures a new block into memory the process already holds),
  peak MB  ru_maxrss after the first capture minus the resident set just before it.
Targets (issue 4): closed form >= 5x faster and <= half the peak memory of torch.func.hessian.

Data: the first 128 Fashion-MNIST training images (/usr/share/datasets/fashion-mnist, Debian
package dataset-fashion-mnist), scaled to [0, 1]; random MNIST-shaped inputs if absent.

    python bench/bench_capture.py
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

FMNIST = Path("/usr/share/datasets/fashion-mnist")
BATCH = 128


def _rss_kb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _inputs():
    import numpy as np
    import torch

    if (FMNIST / "train-images-idx3-ubyte.gz").exists():
        from qlsa_sim.data.idx import read_idx
        X = read_idx(FMNIST / "train-images-idx3-ubyte.gz")[:BATCH].reshape(BATCH, -1).astype(np.float64) / 255.0
        y = read_idx(FMNIST / "train-labels-idx1-ubyte.gz")[:BATCH].astype(np.int64)
        src = "Fashion-MNIST train[:128]"
    else:
        rng = np.random.default_rng(0)
        X, y = rng.random((BATCH, 784)), rng.integers(0, 10, BATCH)
        src = "random MNIST-shaped inputs"
    return torch.from_numpy(X), torch.from_numpy(y), src


def _hessian_fn(model, X, y, dtype):
    """torch.func.hessian of the mean cross-entropy w.r.t. concat(W1.reshape(-1), b1)."""
    import torch
    import torch.nn.functional as F

    lin = model[0]
    W0, b0 = lin.weight.detach().to(dtype), lin.bias.detach().to(dtype)
    rest = [(m.weight.detach().to(dtype), m.bias.detach().to(dtype)) if isinstance(m, torch.nn.Linear) else None
            for m in list(model)[1:]]
    nw = W0.numel()
    Xd = X.to(dtype)

    def f(theta):
        h = F.linear(Xd, theta[:nw].reshape(W0.shape), theta[nw:])
        for r in rest:
            h = torch.relu(h) if r is None else F.linear(h, *r)
        return F.cross_entropy(h, y)

    theta = torch.cat([W0.reshape(-1), b0])
    return lambda: torch.func.hessian(f)(theta)


def worker(method: str, dtype_name: str) -> None:
    import resource

    import torch
    from threadpoolctl import threadpool_limits

    from qlsa_sim.curvature.mlp_ggn import mlp_layer_ggn_factor, mlp_layer_hessian_closed_form, mlp_layer_kron
    from qlsa_sim.models.mlp import MLPConfig, build_mlp

    torch.set_num_threads(1)
    dtype = {"float64": torch.float64, "float32": torch.float32}[dtype_name]
    model = build_mlp(MLPConfig((784, 16, 10)), seed=0)
    X, y, src = _inputs()
    if method == "closed-form":
        run = lambda: mlp_layer_hessian_closed_form(model, X, y, 0, dtype=dtype)  # noqa: E731
    elif method == "factor":
        run = lambda: mlp_layer_ggn_factor(model, X, y, 0, dtype=dtype)  # noqa: E731
    elif method == "kron":
        run = lambda: mlp_layer_kron(model, X, y, 0, dtype=dtype)  # noqa: E731
    else:
        run = _hessian_fn(model, X, y, dtype)
    out: dict = {"method": method, "dtype": dtype_name, "data": src}
    with threadpool_limits(1):
        rss0 = _rss_kb()
        t = time.perf_counter()
        H = run()
        out["cold_s"] = time.perf_counter() - t
        out["peak_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024.0
        out["result_mb"] = (H.numel() * H.element_size() if hasattr(H, "numel") else 0) / 2**20
        if method == "torch.func.hessian":
            ref = mlp_layer_hessian_closed_form(model, X, y, 0, dtype=dtype)
            out["max_rel_diff_vs_closed_form"] = float((H - ref).abs().max() / ref.abs().max())
            out["n"] = int(H.shape[0])
            del ref
        del H
        warm = []
        for _ in range(2):
            t = time.perf_counter()
            H = run()
            warm.append(time.perf_counter() - t)
            del H
        out["warm_s"] = min(warm)
    print(json.dumps(out))


def main() -> None:
    rows = []
    for dtype_name in ("float64", "float32"):
        for method in ("closed-form", "torch.func.hessian", "factor", "kron"):
            p = subprocess.run([sys.executable, __file__, "--worker", method, dtype_name], capture_output=True,
                               text=True, check=False)
            if p.returncode != 0:
                print(p.stderr, file=sys.stderr)
                raise SystemExit(f"worker {method} {dtype_name} failed")
            rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
    print(f"layer-1 block of the 784-16-10 MLP, batch {BATCH}, data: {rows[0]['data']}; 1 thread; "
          "peak = ru_maxrss - RSS before the call (subprocess per row)")
    print(f"{'method':<20} {'dtype':<8} {'cold s':>8} {'warm s':>8} {'peak MB':>9} {'result MB':>10}")
    for r in rows:
        print(f"{r['method']:<20} {r['dtype']:<8} {r['cold_s']:8.3f} {r['warm_s']:8.3f} {r['peak_mb']:9.0f} "
              f"{r['result_mb']:10.0f}")
    for dtype_name in ("float64", "float32"):
        c = next(r for r in rows if r["method"] == "closed-form" and r["dtype"] == dtype_name)
        h = next(r for r in rows if r["method"] == "torch.func.hessian" and r["dtype"] == dtype_name)
        sp_c, sp_w = h["cold_s"] / c["cold_s"], h["warm_s"] / c["warm_s"]
        mem = c["peak_mb"] / h["peak_mb"]
        print(f"{dtype_name}: n = {h['n']}; speed-up warm {sp_w:.1f}x (target >= 5x: "
              f"{'met' if sp_w >= 5 else 'NOT met'}), cold {sp_c:.1f}x; peak memory ratio {mem:.2f} (target <= 0.5: "
              f"{'met' if mem <= 0.5 else 'NOT met'}); max |closed - func.hessian| / max |H| = "
              f"{h['max_rel_diff_vs_closed_form']:.1e}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
