"""Transformer curvature blocks against torch.func.hessian of the FULL parameter vector (float64)."""

from __future__ import annotations

import pytest
import torch

from qlsa_sim.curvature.blocks import BlockSpec, block_gradient, block_hessian, flat_block
from qlsa_sim.curvature.transformer_blocks import block_kinds, partition_transformer
from qlsa_sim.errors import InputError, MemoryBudgetError, UnknownNameError
from qlsa_sim.models.transformer import TransformerConfig, build_transformer
from qlsa_sim.train.text_tasks import make_text_task

TINY = TransformerConfig(n_layers=1, n_heads=2, width=8, mlp_width=32, context=8)


def _point(task, seed: int = 0) -> dict[str, torch.Tensor]:
    """Parameters away from the N(0, 0.02) init, where attention Hessians are ~1e-8."""
    gen = torch.Generator().manual_seed(seed)
    return {n: (p.detach() + 0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
            for n, p in task.model.named_parameters()}


def _full_index(params: dict[str, torch.Tensor], block: BlockSpec) -> torch.Tensor:
    """Indices of the block's coordinates in the full vector (named_parameters order)."""
    offsets, off = {}, 0
    for n, p in params.items():
        offsets[n] = off
        off += p.numel()
    idx = torch.cat([torch.arange(offsets[n], offsets[n] + params[n].numel()) for n in block.params])
    stop = block.full_size if block.stop is None else block.stop
    return idx[block.start:stop]


@pytest.fixture(scope="module", params=["bert", "gpt"])
def full_case(request):
    torch.manual_seed(0)
    task = make_text_task(request.param, config=TINY, batch_size=2, dtype=torch.float64,
                          partition="per-head", include_embeddings=True, max_block=100)
    params = _point(task)
    batch = next(task.batches())
    names = list(params)
    shapes = [params[n].shape for n in names]
    sizes = [params[n].numel() for n in names]

    def f(x):
        return task.loss({n: t.reshape(s) for n, t, s in zip(names, torch.split(x, sizes), shapes)}, batch)

    x0 = torch.cat([params[n].reshape(-1) for n in names])
    H = torch.func.hessian(f)(x0)
    g = torch.func.grad(f)(x0)
    return task, params, batch, H, g


def test_every_per_head_block_matches_full_hessian(full_case):
    task, params, batch, H, g = full_case
    loss_fn = lambda p: task.loss(p, batch)
    kinds = {b["kind"] for b in task.partition_meta["blocks"]}
    assert kinds == set(block_kinds("per-head"))  # q k v o fc1 fc2 aux embed head all covered
    assert any("[rows" in b.name for b in task.blocks())  # row blocks of fc1/fc2/embed/head
    scale = H.abs().max()
    for b in task.blocks():
        idx = _full_index(params, b)
        ref = H[idx][:, idx]
        Hb = block_hessian(loss_fn, params, b, method="hvp", chunk=64)
        assert Hb.shape == (b.n, b.n)
        assert torch.allclose(Hb, ref, rtol=1e-9, atol=1e-12 * float(scale)), b.name
        if not b.name.startswith("embed"):  # rows of tokens absent from the batch are 0
            assert float(ref.abs().max()) > 0, b.name  # a non-trivial block
        assert torch.allclose(block_gradient(loss_fn, params, b), g[idx], rtol=1e-10, atol=1e-14)
        if "aux" in b.name:  # LayerNorm weights + upstream biases: the recorder's default method too
            Hh = block_hessian(loss_fn, params, b, method="hessian")
            assert torch.allclose(Hh, ref, rtol=1e-9, atol=1e-12 * float(scale)), b.name


@pytest.mark.parametrize("scheme,max_block", [("per-projection", None), ("rows", 300)])
def test_other_schemes_match_full_hessian(full_case, scheme, max_block):
    task, params, batch, H, _ = full_case
    blocks, meta = partition_transformer(task.model, scheme=scheme, max_block=max_block)
    assert meta["scheme"] == scheme and len(blocks) == meta["n_blocks"]
    loss_fn = lambda p: task.loss(p, batch)
    pick = [b for b in blocks if b.name.endswith(("q.weight", "mlp.fc2.weight", "aux"))] \
        if scheme == "per-projection" else blocks[:2]  # rows: blocks spanning several tensors
    assert pick
    for b in pick:
        idx = _full_index(params, b)
        Hb = block_hessian(loss_fn, params, b, method="hvp")
        assert torch.allclose(Hb, H[idx][:, idx], rtol=1e-9, atol=1e-12 * float(H.abs().max())), b.name
    if scheme == "rows":
        assert len(blocks[0].params) > 1 and blocks[0].n == 300


def test_per_head_blocks_are_exactly_the_q_rows_of_each_head():
    cfg = TransformerConfig(n_layers=2, n_heads=4, width=16, mlp_width=32, context=8)
    model = build_transformer("gpt", cfg)
    blocks, meta = partition_transformer(model, scheme="per-head", kinds=("q",))
    params = dict(model.named_parameters())
    dh = cfg.head_dim
    assert len(blocks) == cfg.n_layers * cfg.n_heads
    for b, m in zip(blocks, meta["blocks"]):
        W = params[b.params[0]]
        i, j = m["layer"], m["head"]
        assert b.params == (f"layers.{i}.attn.q.weight",) and m["kind"] == "q"
        assert (b.start, b.stop, b.n) == (j * dh * 16, (j + 1) * dh * 16, dh * 16)
        assert torch.equal(flat_block(params, b)[b.start:b.stop], W[j * dh:(j + 1) * dh].reshape(-1))
    # the heads of one layer tile its Q rows exactly once
    for i in range(cfg.n_layers):
        spans = sorted((b.start, b.stop) for b, m in zip(blocks, meta["blocks"]) if m["layer"] == i)
        assert spans[0][0] == 0 and spans[-1][1] == 16 * 16
        assert all(a[1] == c[0] for a, c in zip(spans, spans[1:]))


def test_per_head_block_is_the_sub_block_of_its_projection():
    task = make_text_task("bert", config=TINY, batch_size=2, dtype=torch.float64)
    params, batch = _point(task, 1), next(task.batches())
    loss_fn = lambda p: task.loss(p, batch)
    proj, _ = partition_transformer(task.model, kinds=("k",))
    heads, _ = partition_transformer(task.model, scheme="per-head", kinds=("k",))
    Hp = block_hessian(loss_fn, params, proj[0], method="hvp")
    for h in heads:
        Hh = block_hessian(loss_fn, params, h, method="hvp")
        assert torch.allclose(Hh, Hp[h.start:h.stop, h.start:h.stop], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kind", ["bert", "gpt"])
@pytest.mark.parametrize("scheme", ["per-projection", "per-head", "rows"])
def test_partition_covers_every_coordinate_once(kind, scheme):
    model = build_transformer(kind, TINY)
    blocks, meta = partition_transformer(model, scheme=scheme, include_embeddings=True, max_block=50)
    count = {n: torch.zeros(p.numel(), dtype=torch.int64) for n, p in model.named_parameters()}
    for b in blocks:
        assert b.n <= 50
        sizes = [int(torch.Size(s).numel()) for s in b.shapes]
        marks = torch.zeros(sum(sizes), dtype=torch.int64)
        marks[b.start:b.stop] = 1
        for n, part in zip(b.params, torch.split(marks, sizes)):
            count[n] += part
    assert all(bool((c == 1).all()) for c in count.values())
    assert meta["excluded_params"] == []
    assert meta["covered_coordinates"] == meta["total_parameters"] == sum(p.numel() for p in model.parameters())


def test_embeddings_excluded_by_default_and_recorded():
    model = build_transformer("bert", TINY)
    blocks, meta = partition_transformer(model)
    assert not any(b.name.startswith(("embed", "head")) for b in blocks)
    assert set(meta["excluded_params"]) == {"tok_emb.weight", "pos_emb.weight", "emb_ln.weight",
                                           "emb_ln.bias", "lm_head.weight", "lm_head.bias"}
    assert meta["include_embeddings"] is False
    # default size: each projection is one 4096 block, MLP matrices 4 row blocks of 4096
    big = build_transformer("gpt")
    blocks, meta = partition_transformer(big)
    sizes = {m["name"]: m["n"] for m in meta["blocks"]}
    assert sizes["layers.0.attn.q.weight"] == 4096 and sizes["layers.3.aux"] == 832
    assert sum(1 for n in sizes if n.startswith("layers.0.mlp.fc1.weight[rows")) == 4
    assert max(sizes.values()) == 4096 and len(blocks) == 4 * (4 + 8 + 1)


def test_block_over_memory_budget():
    big = build_transformer("gpt")
    with pytest.raises(MemoryBudgetError, match="fc1.*n=16384.*over the memory budget"):
        partition_transformer(big, max_block=None, dtype=torch.float64, budget_bytes=2 ** 30)
    partition_transformer(big, max_block=None, dtype=torch.float32, budget_bytes=2 ** 30)  # fits: 1 GiB
    with pytest.raises(MemoryBudgetError):
        make_text_task("bert", max_block=None, memory_budget_gb=0.5)


def test_bad_partition_arguments():
    model = build_transformer("gpt", TINY)
    with pytest.raises(UnknownNameError, match="partition scheme 'blocks'"):
        partition_transformer(model, scheme="blocks")
    with pytest.raises(UnknownNameError, match="block kind 'layer'"):
        partition_transformer(model, kinds=("layer",))
    with pytest.raises(InputError, match="layer 3 out of range"):
        partition_transformer(model, layers=(3,))
    with pytest.raises(InputError, match="max_block"):
        partition_transformer(model, max_block=0)
