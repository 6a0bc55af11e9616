"""BERT-style encoder (masked LM) and GPT-style decoder (causal LM) in plain torch.

Architecture (Vaswani et al. 2017, arXiv:1706.03762, Sec. 3): token + learned position
embeddings, ``n_layers`` blocks of multi-head self-attention and a GELU MLP, and a linear LM
head. The two kinds differ as the originals do:

* ``bert``: bidirectional attention, post-LayerNorm residual blocks with a LayerNorm on the
  embeddings (Devlin et al. 2019, arXiv:1810.04805, which follows Vaswani et al.);
* ``gpt``: causal attention, pre-LayerNorm blocks with a final LayerNorm
  (Radford et al. 2019, GPT-2, Sec. 2.3).

Q, K, V and the output projection O are separate ``nn.Linear`` modules and the MLP has
``fc1``/``fc2``, so curvature blocks per projection, per head (rows of Q/K/V) and per MLP
matrix are plain parameter tensors or row ranges of them. The LM head is *not* tied to the
token embedding (the originals tie it) so that blocks are disjoint parameter sets.
Initialisation: weights N(0, 0.02^2), biases 0, LayerNorm (1, 0), as in BERT / GPT-2, drawn
from a seeded generator. Dropout is 0 by default (deterministic losses and Hessians).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from qlsa_sim.errors import InputError, UnknownNameError

MODEL_KINDS = ("bert", "gpt")


@dataclass(frozen=True)
class TransformerConfig:
    """Size of a transformer LM. Defaults: the seed paper's 4 layers, 4 heads, width 64."""

    vocab_size: int = 257          # ByteTokenizer: 256 bytes + [MASK]
    n_layers: int = 4
    n_heads: int = 4
    width: int = 64
    mlp_width: int = 256           # 4 x width, as in BERT / GPT-2
    context: int = 64              # tokens per sequence
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for f in ("vocab_size", "n_layers", "n_heads", "width", "mlp_width", "context"):
            v = getattr(self, f)
            if not isinstance(v, int) or v < 1:
                raise InputError(f"TransformerConfig.{f} must be a positive integer, got {v!r}")
        if self.width % self.n_heads:
            raise InputError(f"width {self.width} is not divisible by n_heads {self.n_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dropout must lie in [0, 1), got {self.dropout}")

    @property
    def head_dim(self) -> int:
        return self.width // self.n_heads

    def to_meta(self) -> dict:
        return asdict(self)


class LayerNorm(nn.Module):
    """LayerNorm (Ba et al. 2016, arXiv:1607.06450, Sec. 3) from elementary ops.

    ``(x - mean) / sqrt(var + eps) * weight + bias`` over the last dimension, biased variance,
    as ``nn.LayerNorm``. Written out because the fused ``F.layer_norm`` has a wrong
    second derivative in torch 2.13 under ``torch.func.hessian`` (jacfwd over jacrev) when its
    input and weight both vary: off by O(1) against finite differences (cf. pytorch issue
    #196700 on its nested forward-mode derivative). Elementary ops are differentiated correctly
    by every transform.
    """

    def __init__(self, width: int, dtype: torch.dtype, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(width, dtype=dtype))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xc = x - x.mean(-1, keepdim=True)
        var = (xc * xc).mean(-1, keepdim=True)
        return xc * torch.rsqrt(var + self.eps) * self.weight + self.bias


def _dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    # skipped entirely at p=0 so torch.func transforms never see a random op
    return F.dropout(x, p, training) if p > 0 and training else x


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate Q, K, V, O projections (Vaswani 2017, Eq. 1)."""

    def __init__(self, cfg: TransformerConfig, causal: bool, dtype: torch.dtype) -> None:
        super().__init__()
        d = cfg.width
        self.q = nn.Linear(d, d, dtype=dtype)
        self.k = nn.Linear(d, d, dtype=dtype)
        self.v = nn.Linear(d, d, dtype=dtype)
        self.o = nn.Linear(d, d, dtype=dtype)
        self.n_heads, self.head_dim, self.causal, self.p = cfg.n_heads, cfg.head_dim, causal, cfg.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        h, dh = self.n_heads, self.head_dim
        # head j uses output rows j*dh:(j+1)*dh of q/k/v (the per-head blocks rely on this)
        q = self.q(x).view(B, T, h, dh).transpose(1, 2)
        k = self.k(x).view(B, T, h, dh).transpose(1, 2)
        v = self.v(x).view(B, T, h, dh).transpose(1, 2)
        s = q @ k.transpose(-2, -1) / math.sqrt(dh)
        if self.causal:
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            s = s.masked_fill(mask, float("-inf"))
        a = _dropout(torch.softmax(s, dim=-1), self.p, self.training)
        y = (a @ v).transpose(1, 2).reshape(B, T, d)
        return self.o(y)


class MLP(nn.Module):
    """Position-wise feed-forward network fc2(GELU(fc1 x)) (Vaswani 2017, Eq. 2; GELU as BERT)."""

    def __init__(self, cfg: TransformerConfig, dtype: torch.dtype) -> None:
        super().__init__()
        self.fc1 = nn.Linear(cfg.width, cfg.mlp_width, dtype=dtype)
        self.fc2 = nn.Linear(cfg.mlp_width, cfg.width, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class TransformerLayer(nn.Module):
    """One residual block; ``pre_norm`` selects GPT-2 (pre-LN) or BERT (post-LN) placement."""

    def __init__(self, cfg: TransformerConfig, causal: bool, pre_norm: bool, dtype: torch.dtype) -> None:
        super().__init__()
        self.attn = SelfAttention(cfg, causal, dtype)
        self.ln1 = LayerNorm(cfg.width, dtype=dtype)
        self.mlp = MLP(cfg, dtype)
        self.ln2 = LayerNorm(cfg.width, dtype=dtype)
        self.pre_norm, self.p = pre_norm, cfg.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_norm:
            x = x + _dropout(self.attn(self.ln1(x)), self.p, self.training)
            return x + _dropout(self.mlp(self.ln2(x)), self.p, self.training)
        x = self.ln1(x + _dropout(self.attn(x), self.p, self.training))
        return self.ln2(x + _dropout(self.mlp(x), self.p, self.training))


class TransformerLM(nn.Module):
    """A BERT-style (``kind="bert"``) or GPT-style (``kind="gpt"``) language model.

    ``forward(tokens, positions=None)`` takes int64 tokens ``[B, T]`` and returns logits
    ``[B, T, vocab]``, or, given flat indices ``positions`` into the ``B*T`` tokens, the logits
    ``[len(positions), vocab]`` of those tokens only (the masked positions of a BERT batch).
    """

    def __init__(self, cfg: TransformerConfig, kind: str, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if kind not in MODEL_KINDS:
            raise UnknownNameError("transformer kind", kind, MODEL_KINDS)
        self.cfg, self.kind = cfg, kind
        causal = pre_norm = kind == "gpt"
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.width, dtype=dtype)
        self.pos_emb = nn.Embedding(cfg.context, cfg.width, dtype=dtype)
        # BERT normalises the embeddings; GPT-2 normalises the final hidden state
        self.emb_ln = None if pre_norm else LayerNorm(cfg.width, dtype=dtype)
        self.layers = nn.ModuleList(TransformerLayer(cfg, causal, pre_norm, dtype)
                                    for _ in range(cfg.n_layers))
        self.ln_f = LayerNorm(cfg.width, dtype=dtype) if pre_norm else None
        self.lm_head = nn.Linear(cfg.width, cfg.vocab_size, dtype=dtype)

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        B, T = tokens.shape
        if T > self.cfg.context:
            raise InputError(f"sequence length {T} exceeds the context length {self.cfg.context}")
        x = self.tok_emb(tokens) + self.pos_emb(torch.arange(T, device=tokens.device))
        if self.emb_ln is not None:
            x = self.emb_ln(x)
        x = _dropout(x, self.cfg.dropout, self.training)
        for layer in self.layers:
            x = layer(x)
        if self.ln_f is not None:
            x = self.ln_f(x)
        if positions is not None:
            x = x.reshape(B * T, -1).index_select(0, positions)
        return self.lm_head(x)


def build_transformer(kind: str, config: TransformerConfig | None = None, *, seed: int = 0,
                      dtype: torch.dtype = torch.float32) -> TransformerLM:
    """A ``TransformerLM`` initialised deterministically from ``seed`` (BERT/GPT-2 scheme)."""
    cfg = config or TransformerConfig()
    model = TransformerLM(cfg, kind, dtype)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            owner = model.get_submodule(name.rsplit(".", 1)[0])
            if isinstance(owner, LayerNorm):
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.normal_(0.0, 0.02, generator=gen)
    return model


def parameter_counts(model: TransformerLM) -> dict[str, int]:
    """Parameters per module that owns them (e.g. ``layers.0.attn.q``), plus ``total``.

    Each entry sums weight and bias; ``total`` equals ``sum(p.numel())`` over the model.
    """
    out: dict[str, int] = {}
    for name, p in model.named_parameters():
        prefix = name.rsplit(".", 1)[0]
        out[prefix] = out.get(prefix, 0) + p.numel()
    out["total"] = sum(p.numel() for p in model.parameters())
    return out


def expected_parameter_count(config: TransformerConfig, kind: str) -> int:
    """Closed-form total: V d + C d + L (4(d^2+d) + 2 d m + m + d + 4 d) + 2 d + d V + V.

    (V vocab, C context, d width, m MLP width, L layers; the ``2 d`` is BERT's embedding
    LayerNorm or GPT's final LayerNorm.) Used to check :func:`parameter_counts`.
    """
    if kind not in MODEL_KINDS:
        raise UnknownNameError("transformer kind", kind, MODEL_KINDS)
    V, C, d, m, L = (config.vocab_size, config.context, config.width, config.mlp_width,
                     config.n_layers)
    per_layer = 4 * (d * d + d) + (d * m + m) + (m * d + d) + 4 * d
    return V * d + C * d + L * per_layer + 2 * d + d * V + V
