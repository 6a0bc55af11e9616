"""Cost of exact transformer curvature blocks at the default size (4 layers, 4 heads, width 64).

Run: ``python bench/bench_transformer_blocks.py [--probe 16] [--quick]``

Prints, for the BERT- and GPT-style models (byte tokenizer, context 64):
* parameter counts per module and in total;
* the blocks of the ``per-projection`` and ``per-head`` partitions and their sizes;
* baseline: one training step (forward + backward) on the default batch (16 x 64 tokens);
* measured: seconds per block coordinate of ``block_hessian(method="hvp")`` in float64 (the
  recorder's dtype) for one block of every kind, on ``--probe`` coordinates of it, at batch 16
  and batch 2, and its ratio to the training step;
* measured: one complete per-head Q block (n=1024) at batch 2, against its extrapolation;
* extrapolated (labelled): seconds for all blocks of one snapshot = sum over blocks of
  n_block x (seconds per coordinate of that kind), since an exact block costs one
  Hessian-vector product per coordinate (Pearlmutter 1994).
BLAS and torch are pinned to one thread.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch
from threadpoolctl import threadpool_limits

from qlsa_sim.curvature.blocks import BlockSpec, block_hessian, named_params
from qlsa_sim.curvature.transformer_blocks import partition_transformer
from qlsa_sim.models.transformer import parameter_counts
from qlsa_sim.train.text_tasks import make_text_task

KINDS = ("q", "k", "v", "o", "fc1", "fc2", "aux", "embed", "head")


def _time(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def per_coordinate_seconds(task, batch, probe: int, chunk: int) -> dict[str, float]:
    """float64 seconds per coordinate (one HVP) for the first block of every kind."""
    blocks, meta = partition_transformer(task.model, include_embeddings=True)
    params = named_params(task.model, torch.float64)
    loss_fn = lambda p: task.loss(p, batch)  # noqa: E731
    out = {}
    for kind in KINDS:
        b = next(b for b, m in zip(blocks, meta["blocks"]) if m["kind"] == kind)
        sub = BlockSpec(b.name, b.params, b.shapes, b.start, b.start + probe)
        out[kind] = _time(lambda: block_hessian(loss_fn, params, sub, method="hvp", chunk=chunk)) / probe
    return out


def snapshot_estimate(meta: dict, sec_per_coord: dict[str, float]) -> float:
    """Extrapolated seconds for every block of a partition (modeled from measured rates)."""
    return sum(m["n"] * sec_per_coord[m["kind"]] for m in meta["blocks"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probe", type=int, default=16, help="coordinates timed per block kind")
    ap.add_argument("--chunk", type=int, default=8, help="HVPs per vmap call")
    ap.add_argument("--quick", action="store_true", help="skip the complete-block and chunk runs")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        for kind in ("bert", "gpt"):
            task = make_text_task(kind)  # default: 4 layers, 4 heads, width 64, context 64, batch 16
            cfg = task.config
            counts = parameter_counts(task.model)
            print(f"\n=== {kind.upper()}  {cfg}  corpus: {task.info.dataset}")
            layer0 = {k: v for k, v in counts.items() if k.startswith("layers.0.")}
            other = {k: v for k, v in counts.items() if not k.startswith("layers.")}
            print("parameters, layer 0 (each layer the same):", layer0)
            print("parameters, outside layers:", other)
            print(f"parameters, total: {counts['total']}")
            for scheme in ("per-projection", "per-head"):
                for emb in (False, True):
                    _, meta = partition_transformer(task.model, scheme=scheme, include_embeddings=emb)
                    sizes: dict[str, set] = {}
                    for m in meta["blocks"]:
                        sizes.setdefault(m["kind"], set()).add(m["n"])
                    print(f"partition {scheme:14s} embeddings={'in ' if emb else 'out'}: "
                          f"{meta['n_blocks']:3d} blocks, {meta['covered_coordinates']:6d} coordinates; "
                          f"n by kind {dict((k, sorted(v)) for k, v in sizes.items())}")

            big = next(task.batches())
            params32 = dict(task.model.named_parameters())
            step32 = _time(lambda: task.loss(params32, big).backward(), repeat=3)
            p64 = {k: v.clone().requires_grad_(True) for k, v in named_params(task.model, torch.float64).items()}
            step64 = _time(lambda: task.loss(p64, big).backward(), repeat=3)
            print(f"baseline (measured): training step fwd+bwd, batch 16x64: {step32 * 1e3:.1f} ms f32, "
                  f"{step64 * 1e3:.1f} ms f64")

            small = make_text_task(kind, batch_size=2)
            small_batch = next(small.batches())
            step_small = _time(lambda: small.loss(p64, small_batch).backward(), repeat=3)
            rates = {}
            for label, t, b in (("batch 16x64", task, big), ("batch 2x64", small, small_batch)):
                spc = per_coordinate_seconds(t, b, args.probe, args.chunk)
                rates[label] = spc
                base = step64 if label.startswith("batch 16") else step_small
                print(f"measured, {label}, f64, chunk {args.chunk}: s per coordinate (= per HVP) "
                      + ", ".join(f"{k} {v:.3f}" for k, v in spc.items())
                      + f"; HVP / training step (f64) = {sum(spc.values()) / len(spc) / base:.1f}x")
                for scheme in ("per-projection", "per-head"):
                    for emb in (False, True):
                        _, meta = partition_transformer(t.model, scheme=scheme, include_embeddings=emb)
                        est = snapshot_estimate(meta, spc)
                        one = max(m["n"] for m in meta["blocks"] if m["kind"] == "q") * spc["q"]
                        print(f"  extrapolated, {label}: all {meta['n_blocks']} blocks of {scheme} "
                              f"(embeddings {'in' if emb else 'out'}): {est:8.0f} s = {est / 3600:5.2f} h "
                              f"per snapshot; one Q block {one:6.1f} s")

            if not args.quick:
                params_small = named_params(small.model, torch.float64)
                heads, _ = partition_transformer(small.model, scheme="per-head", kinds=("q",), layers=(0,))
                t_full = _time(lambda: block_hessian(lambda p: small.loss(p, small_batch), params_small,
                                                     heads[0], method="hvp", chunk=args.chunk))
                pred = heads[0].n * rates["batch 2x64"]["q"]
                print(f"measured, batch 2x64: complete block {heads[0].name} (n={heads[0].n}) "
                      f"{t_full:.1f} s; extrapolated from the probe {pred:.1f} s (ratio {t_full / pred:.2f})")
                if kind == "gpt":
                    b0 = next(b for b in task.blocks() if b.name.endswith("attn.q.weight"))
                    sub = BlockSpec(b0.name, b0.params, b0.shapes, 0, 64)
                    p = named_params(task.model, torch.float64)
                    for chunk in (8, 64):
                        t = _time(lambda: block_hessian(lambda q: task.loss(q, big), p, sub,
                                                        method="hvp", chunk=chunk))
                        print(f"measured, batch 16x64, 64 coordinates of Q: chunk {chunk:3d}: {t:.1f} s "
                              f"({t / 64:.3f} s per HVP)")
                    t = _time(lambda: block_hessian(lambda q: task.loss(q, big), p, sub, method="hessian"))
                    print(f"measured, batch 16x64, 64 coordinates of Q: method=hessian "
                          f"(torch.func.hessian): {t:.1f} s")
        print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
