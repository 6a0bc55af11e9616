"""Bytes per snapshot of the 12560 x 12560 layer-1 block: dense vs factored (1 thread).

Stores one block of the 784-16-10 MLP (batch 128, Fashion-MNIST) as
  - dense float64 / float32 ``.npz`` (np.savez; float32 also np.savez_compressed),
  - the GGN factor M (n x B*K, block = M M^T / B) in float64 / float32, plus JSON metadata,
  - the Kronecker factors A (B x in) and G (B x out x K) in float64, plus JSON metadata,
and prints file bytes, ratio to the dense float32 file, write and read+rebuild seconds, and the
rebuild error max|H_rebuilt - H| / max|H| against the float64 closed form. Files are written to a
temporary directory and removed. Metadata is stored as UTF-8 bytes (no pickle).

    python bench/bench_storage.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from bench_capture import _inputs  # noqa: E402

from qlsa_sim.curvature.mlp_ggn import LayerKron, block_from_kron, factor_from_kron, mlp_layer_kron  # noqa: E402
from qlsa_sim.models.mlp import MLPConfig, build_mlp  # noqa: E402


def _meta(**kw) -> np.ndarray:
    return np.frombuffer(json.dumps(kw).encode(), dtype=np.uint8)


def main() -> None:
    torch.set_num_threads(1)
    with threadpool_limits(1), tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        model = build_mlp(MLPConfig((784, 16, 10)), seed=0)
        X, y, src = _inputs()
        k = mlp_layer_kron(model, X, y, 0)
        H = block_from_kron(k).numpy()
        n, B = H.shape[0], k.batch
        hmax = float(np.abs(H).max())
        layout = "concat(W.reshape(-1), b); block = M M^T / batch"
        rows = []

        def record(name, path, t_write, read):
            t = time.perf_counter()
            R = read()
            t_read = time.perf_counter() - t
            err = float(np.abs(R.astype(np.float64, copy=False) - H).max()) / hmax
            rows.append((name, path.stat().st_size, t_write, t_read, err))
            path.unlink()

        for dt in (np.float64, np.float32):
            p = d / f"dense_{dt.__name__}.npz"
            t = time.perf_counter()
            np.savez(p, H=H.astype(dt, copy=False), meta=_meta(n=n, dtype=dt.__name__, layout=layout))
            record(f"dense {dt.__name__} npz", p, time.perf_counter() - t,
                   lambda p=p: np.load(p, allow_pickle=False)["H"])
        p = d / "dense_float32_z.npz"
        t = time.perf_counter()
        np.savez_compressed(p, H=H.astype(np.float32), meta=_meta(n=n, dtype="float32", layout=layout))
        record("dense float32 npz-zlib", p, time.perf_counter() - t, lambda: np.load(p, allow_pickle=False)["H"])

        M64 = factor_from_kron(k).numpy()
        for dt in (np.float64, np.float32):
            p = d / f"factor_{dt.__name__}.npz"
            t = time.perf_counter()
            np.savez(p, M=M64.astype(dt, copy=False), meta=_meta(n=n, batch=B, dtype=dt.__name__, layout=layout))
            tw = time.perf_counter() - t

            def read(p=p):
                z = np.load(p, allow_pickle=False)
                meta = json.loads(bytes(z["meta"]).decode())
                M = z["M"]
                return (M @ M.T) / meta["batch"]
            record(f"factor M {dt.__name__} npz", p, tw, read)

        p = d / "kron_float64.npz"
        t = time.perf_counter()
        np.savez(p, A=k.A.numpy(), G=k.G.numpy(),
                 meta=_meta(n=n, batch=B, has_bias=k.has_bias, layout="C_b = G_b G_b^T; block = (1/B) sum_b "
                            "[C_b (x) aa^T, C_b (x) a; ., C_b]"))
        tw = time.perf_counter() - t

        def read_kron():
            z = np.load(p, allow_pickle=False)
            meta = json.loads(bytes(z["meta"]).decode())
            kk = LayerKron(A=torch.from_numpy(z["A"]), G=torch.from_numpy(z["G"]), has_bias=meta["has_bias"])
            return block_from_kron(kk).numpy()
        record("kron factors A,G f64", p, tw, read_kron)

    ref = next(r for r in rows if r[0] == "dense float32 npz")[1]
    print(f"one snapshot of the layer-1 block: n = {n}, batch {B}, {src}; factor M is {n} x {M64.shape[1]}; 1 thread")
    print(f"{'format':<24} {'bytes':>14} {'MB':>9} {'dense f32 / this':>16} {'write s':>8} {'read+rebuild s':>14} "
          f"{'rebuild err':>11}")
    for name, size, tw, tr, err in rows:
        print(f"{name:<24} {size:14d} {size / 2**20:9.2f} {ref / size:16.1f} {tw:8.2f} {tr:14.2f} {err:11.1e}")


if __name__ == "__main__":
    main()
