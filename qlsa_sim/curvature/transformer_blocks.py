"""Partitions of a transformer's parameters into holdable curvature blocks.

Schemes (each block is a :class:`~qlsa_sim.curvature.blocks.BlockSpec`, so
``block_hessian`` computes it exactly by Hessian-vector products):

* ``per-projection``: per layer, one block per weight matrix Q, K, V, O, fc1, fc2, plus one
  ``aux`` block holding the layer's biases and LayerNorm parameters;
* ``per-head``: as ``per-projection`` but Q, K and V are split by attention head: head ``j``
  owns output rows ``j*dh:(j+1)*dh`` of the (out x in, row-major) weight, i.e. the coordinate
  range ``[j*dh*width, (j+1)*dh*width)`` of the flattened matrix. O's head structure lies in
  its columns (not contiguous), so O stays one block;
* ``rows``: per layer, all of the layer's parameters concatenated and cut into row blocks.

Any block larger than ``max_block`` coordinates is cut into contiguous row blocks
(``split_rows``); ``max_block=None`` never cuts. With ``include_embeddings`` the token and
position embeddings (+ BERT's embedding LayerNorm) form an ``embed`` group and the LM head
(+ GPT's final LayerNorm) a ``head`` group, both as row blocks; otherwise they are left out
and listed as excluded in the metadata. Every block is checked against the memory budget
(dense n x n in ``dtype``); one over it raises MemoryBudgetError.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from qlsa_sim.curvature.blocks import BlockSpec, check_memory_budget, split_rows
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.models.transformer import TransformerLM

PARTITION_SCHEMES = ("per-projection", "per-head", "rows")
_LAYER_KINDS = {"per-projection": ("q", "k", "v", "o", "fc1", "fc2", "aux"),
                "per-head": ("q", "k", "v", "o", "fc1", "fc2", "aux"),
                "rows": ("layer",)}
_WEIGHTS = {"q": "attn.q.weight", "k": "attn.k.weight", "v": "attn.v.weight",
            "o": "attn.o.weight", "fc1": "mlp.fc1.weight", "fc2": "mlp.fc2.weight"}


def block_kinds(scheme: str) -> tuple[str, ...]:
    """Block kinds a scheme produces (``embed`` and ``head`` come with ``include_embeddings``)."""
    if scheme not in PARTITION_SCHEMES:
        raise UnknownNameError("partition scheme", scheme, PARTITION_SCHEMES)
    return _LAYER_KINDS[scheme] + ("embed", "head")


def _spec(name: str, params: Sequence[str], shapes: dict[str, tuple[int, ...]]) -> BlockSpec:
    return BlockSpec(name, tuple(params), tuple(shapes[p] for p in params))


def _cut(block: BlockSpec, max_block: int | None) -> list[BlockSpec]:
    return [block] if max_block is None or block.n <= max_block else split_rows(block, max_block)


def partition_transformer(model: TransformerLM, *, scheme: str = "per-projection",
                          include_embeddings: bool = False, max_block: int | None = 4096,
                          layers: Sequence[int] | None = None, kinds: Sequence[str] | None = None,
                          dtype: torch.dtype = torch.float32, budget_bytes: float = 2 ** 30,
                          ) -> tuple[list[BlockSpec], dict]:
    """Blocks of ``model`` under ``scheme`` and a metadata dict describing the partition.

    ``layers`` (default all) and ``kinds`` (default all of the scheme's) select a subset, e.g.
    ``kinds=("q", "fc1")``; total cost of exact blocks is proportional to the number of
    covered coordinates, so subsets keep snapshots affordable. The metadata lists, per block,
    its kind, layer, head and size, and the parameters left out.
    """
    if not isinstance(model, TransformerLM):
        raise InputError(f"expected a TransformerLM, got {type(model).__name__}")
    known = block_kinds(scheme)
    if max_block is not None and max_block < 1:
        raise InputError(f"max_block must be >= 1 or None, got {max_block}")
    cfg = model.cfg
    all_layers = list(range(cfg.n_layers))
    sel_layers = all_layers if layers is None else [int(i) for i in layers]
    for i in sel_layers:
        if i not in all_layers:
            raise InputError(f"layer {i} out of range 0..{cfg.n_layers - 1}")
    sel_kinds = list(known) if kinds is None else list(kinds)
    for k in sel_kinds:
        if k not in known:
            raise UnknownNameError("block kind", k, known)
    if not include_embeddings:
        sel_kinds = [k for k in sel_kinds if k not in ("embed", "head")]

    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    entries = [e for i in sel_layers for e in _layer_entries(model, i, scheme, sel_kinds, shapes, max_block)]
    groups = {"embed": [n for n in shapes if n.split(".")[0] in ("tok_emb", "pos_emb", "emb_ln")],
              "head": [n for n in shapes if n.split(".")[0] in ("lm_head", "ln_f")]}
    for kind, names in groups.items():
        if kind in sel_kinds:
            for b in _cut(_spec(kind, names, shapes), max_block):
                entries.append((b, kind, None, None))

    for b, *_ in entries:
        check_memory_budget(b, dtype=dtype, budget_bytes=budget_bytes)

    covered = {p for b, *_ in entries for p in b.params}
    meta = {
        "scheme": scheme, "max_block": max_block, "include_embeddings": include_embeddings,
        "layers": sel_layers, "kinds": sel_kinds, "dtype": str(dtype).replace("torch.", ""),
        "budget_bytes": budget_bytes, "n_blocks": len(entries),
        "covered_coordinates": sum(b.n for b, *_ in entries),
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "excluded_params": [n for n in shapes if n not in covered],
        "blocks": [{"name": b.name, "kind": k, "layer": li, "head": h, "n": b.n}
                   for b, k, li, h in entries],
    }
    return [b for b, *_ in entries], meta


def _layer_entries(model: TransformerLM, i: int, scheme: str, sel_kinds: Sequence[str], shapes: dict,
                   max_block: int | None) -> list[tuple[BlockSpec, str, int | None, int | None]]:
    """The (block, kind, layer, head) entries of layer ``i`` under ``scheme``."""
    cfg = model.cfg
    dh, d = cfg.head_dim, cfg.width
    pre = f"layers.{i}."
    layer_params = [n for n in shapes if n.startswith(pre)]
    if scheme == "rows":
        if "layer" not in sel_kinds:
            return []
        return [(b, "layer", i, None) for b in _cut(_spec(f"layers.{i}", layer_params, shapes), max_block)]
    entries: list[tuple[BlockSpec, str, int | None, int | None]] = []
    for kind in ("q", "k", "v", "o", "fc1", "fc2"):
        if kind not in sel_kinds:
            continue
        pname = pre + _WEIGHTS[kind]
        if scheme == "per-head" and kind in ("q", "k", "v"):
            for j in range(cfg.n_heads):
                b = BlockSpec(f"{pname}[head {j}]", (pname,), (shapes[pname],), j * dh * d, (j + 1) * dh * d)
                entries += [(piece, kind, i, j) for piece in _cut(b, max_block)]
        else:
            entries += [(b, kind, i, None) for b in _cut(_spec(pname, [pname], shapes), max_block)]
    if "aux" in sel_kinds:
        weights = {pre + w for w in _WEIGHTS.values()}
        aux = [n for n in layer_params if n not in weights]
        entries += [(b, "aux", i, None) for b in _cut(_spec(f"{pre}aux", aux, shapes), max_block)]
    return entries
