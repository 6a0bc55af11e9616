"""BERT-/GPT-style models: configuration, parameter counts, attention masks."""

from __future__ import annotations

import pytest
import torch

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.models.transformer import TransformerConfig, build_transformer, expected_parameter_count, parameter_counts

TINY = TransformerConfig(n_layers=2, n_heads=2, width=8, mlp_width=32, context=8)


@pytest.mark.parametrize("kind", ["bert", "gpt"])
@pytest.mark.parametrize("cfg", [TINY, TransformerConfig()])
def test_parameter_counts_match_closed_form(kind, cfg):
    model = build_transformer(kind, cfg)
    counts = parameter_counts(model)
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["total"] == expected_parameter_count(cfg, kind)
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]
    d, m = cfg.width, cfg.mlp_width
    assert counts["layers.0.attn.q"] == d * d + d
    assert counts["layers.0.mlp.fc1"] == d * m + m
    assert counts["lm_head"] == d * cfg.vocab_size + cfg.vocab_size


def test_default_size_is_the_papers():
    cfg = TransformerConfig()
    assert (cfg.n_layers, cfg.n_heads, cfg.width, cfg.dropout) == (4, 4, 64, 0.0)
    # 4 layers x (4*(64^2+64) + 2*64*256 + 256 + 64 + 4*64) + embeddings + head
    assert expected_parameter_count(cfg, "gpt") == 257 * 64 + 64 * 64 + 4 * 49_984 + 128 + 64 * 257 + 257


@pytest.mark.parametrize("bad", [dict(width=10, n_heads=4), dict(n_layers=0), dict(dropout=1.0),
                                 dict(context=-3)])
def test_bad_config(bad):
    with pytest.raises(InputError):
        TransformerConfig(**bad)


def test_unknown_kind():
    with pytest.raises(UnknownNameError, match="'t5'.*bert, gpt"):
        build_transformer("t5", TINY)


def test_same_seed_same_weights_and_init_scheme():
    a, b = build_transformer("gpt", TINY, seed=3), build_transformer("gpt", TINY, seed=3)
    c = build_transformer("gpt", TINY, seed=4)
    for (n, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q)
        if n.endswith("attn.q.weight"):
            assert not torch.equal(p, r)
            assert 0.01 < float(p.detach().std()) < 0.03
        if n.endswith("attn.q.bias"):
            assert torch.count_nonzero(p) == 0


def _perturbed(kind: str) -> torch.nn.Module:
    model = build_transformer(kind, TINY, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return model


def test_gpt_is_causal_bert_is_not():
    x = torch.randint(0, 256, (2, 8), generator=torch.Generator().manual_seed(1))
    y = x.clone()
    y[:, 5] = (y[:, 5] + 7) % 256  # change token 5
    gpt, bert = _perturbed("gpt"), _perturbed("bert")
    lg_x, lg_y = gpt(x), gpt(y)
    assert torch.allclose(lg_x[:, :5], lg_y[:, :5], atol=0, rtol=0)  # past positions untouched
    assert not torch.allclose(lg_x[:, 5:], lg_y[:, 5:])
    lb_x, lb_y = bert(x), bert(y)
    assert not torch.allclose(lb_x[:, :5], lb_y[:, :5])               # bidirectional


def test_positions_select_flat_logits():
    model = _perturbed("bert")
    x = torch.randint(0, 256, (3, 8), generator=torch.Generator().manual_seed(2))
    pos = torch.tensor([0, 9, 23])
    full = model(x).reshape(24, -1)
    assert torch.allclose(model(x, pos), full[pos])


def test_too_long_sequence():
    with pytest.raises(InputError, match="context length 8"):
        build_transformer("gpt", TINY)(torch.zeros(1, 9, dtype=torch.long))


def test_layernorm_matches_torch_and_has_correct_hessian():
    """Our elementary-op LayerNorm equals F.layer_norm, and torch.func.hessian of a loss through
    it matches central finite differences of the gradient (F.layer_norm's does not in torch 2.13)."""
    from qlsa_sim.models.transformer import LayerNorm
    gen = torch.Generator().manual_seed(0)
    ln = LayerNorm(4, torch.float64)
    x = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    w, b = torch.randn(4, generator=gen, dtype=torch.float64), torch.randn(4, generator=gen, dtype=torch.float64)
    out = torch.func.functional_call(ln, {"weight": w, "bias": b}, (x,))
    assert torch.allclose(out, torch.nn.functional.layer_norm(x, (4,), w, b), rtol=1e-12, atol=1e-12)
    c = torch.randn(5, 4, generator=gen, dtype=torch.float64)

    def f(v):
        y = torch.func.functional_call(ln, {"weight": v[20:24], "bias": v[24:]}, (v[:20].reshape(5, 4),))
        return (torch.sin(y) * c).sum()

    v0 = torch.cat([x.reshape(-1), w, b])
    H = torch.func.hessian(f)(v0)
    g, eps = torch.func.grad(f), 1e-6
    fd = torch.stack([(g(v0 + eps * e) - g(v0 - eps * e)) / (2 * eps)
                      for e in torch.eye(28, dtype=torch.float64)])
    assert torch.allclose(H, fd, atol=1e-7)
    assert float(H[20:24, :20].abs().max()) > 0.1  # the weight/input cross terms are non-trivial
