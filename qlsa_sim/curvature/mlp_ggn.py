"""Closed-form per-layer Hessian / GGN blocks of a ReLU MLP with mean cross-entropy loss.

For ``nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU`` ending in a Linear, with loss
L = (1/B) sum_b CE(z_b, y_b), the exact Hessian block of ONE Linear layer equals its
generalized Gauss-Newton (GGN) block: the logits z are piecewise linear in that layer's
parameters (ReLU has zero second derivative almost everywhere and the parameters enter only
once), so the second term sum_k dL/dz_k d^2 z_k / d theta^2 of the Hessian vanishes
(Schraudolph 2002, "Fast curvature matrix-vector products", Neural Comput. 14(7), Sec. 3;
Martens 2020, "New insights and perspectives on the natural gradient method", JMLR 21, Sec. 8).
It does not hold across layers (off-diagonal blocks), nor with smooth activations.

Kronecker form (Botev, Ritter & Barber 2017, "Practical Gauss-Newton optimisation for deep
learning", ICML, Eq. 11-14 / Martens & Grosse 2015, KFAC, Sec. 3, without their averaging
approximation). For a layer u = W a + b (W: out x in) and one sample b:

    H_z     = diag(p) - p p^T                    (softmax cross-entropy Hessian in the logits)
    D       = dz / du                            (K x out, through the later ReLUs and layers)
    C_b     = D^T H_z D = G_b G_b^T,  G_b = D^T S_b,  S_b = diag(sqrt p) - p sqrt(p)^T
    block   = (1/B) sum_b [[C_b (x) a a^T, C_b (x) a], [C_b (x) a^T, C_b]]

with the parameter vector ``concat(W.reshape(-1) (row-major), b)`` (n = out*in + out),
so entry ((o,i),(o',i')) of the weight part is (1/B) sum_b C_b[o,o'] a_b[i] a_b[i'].
(S_b S_b^T = diag p - p p^T because sum(p) = 1.)

The per-sample factor gives a tall factor M (n x B*K) with block = M M^T / B: column (b,k) is
``concat(kron(G_b[:,k], a_b), G_b[:,k])``. Storing (A, G) is smaller still.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from qlsa_sim.errors import InputError, MemoryBudgetError

_ALLOWED = (nn.Linear, nn.ReLU, nn.Flatten, nn.Identity)


@dataclass(frozen=True)
class LayerKron:
    """Per-sample Kronecker factors of one Linear layer's GGN (= exact Hessian) block.

    ``A`` (B x in): the layer inputs; ``G`` (B x out x K): per-sample output factors with
    C_b = G_b G_b^T (out x out); block = (1/B) sum_b [C_b (x) [a_b;1][a_b;1]^T] in the
    weight-then-bias layout described in the module docstring.
    """

    A: torch.Tensor
    G: torch.Tensor
    has_bias: bool

    @property
    def batch(self) -> int:
        return int(self.A.shape[0])

    @property
    def in_features(self) -> int:
        return int(self.A.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.G.shape[1])

    @property
    def n(self) -> int:
        return self.out_features * self.in_features + (self.out_features if self.has_bias else 0)

    @property
    def rank_bound(self) -> int:
        """rank(block) <= min(n, B (K - 1)): each S_b has rank K - 1 (S_b S_b^T 1 = 0). If it is below n,
        the block is singular (pass it as ``rank=`` to ``kappa_lanczos``)."""
        return min(self.n, self.batch * (int(self.G.shape[2]) - 1))

    @property
    def C(self) -> torch.Tensor:
        """Per-sample out x out cores C_b = G_b G_b^T, shape (B, out, out)."""
        return self.G @ self.G.transpose(1, 2)


def _linear_layers(model: nn.Module) -> list[int]:
    if not isinstance(model, nn.Sequential):
        raise InputError(f"expected an nn.Sequential MLP, got {type(model).__name__}")
    mods = list(model)
    for m in mods:
        if not isinstance(m, _ALLOWED):
            raise InputError(f"unsupported module {type(m).__name__} in MLP; only Linear, ReLU, "
                             "Flatten, Identity are allowed (closed form needs a piecewise-linear net)")
    lin = [i for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    if not lin or lin[-1] != max(i for i, m in enumerate(mods) if not isinstance(m, (nn.Identity,))):
        raise InputError("the MLP must end in an nn.Linear (logits) with no activation after it")
    return lin


def mlp_layer_kron(model: nn.Module, X: torch.Tensor, y: torch.Tensor, layer_index: int, *,
                   dtype: torch.dtype = torch.float64) -> LayerKron:
    """Kronecker factors (A, G) of Linear layer ``layer_index`` (counted from 0) at batch (X, y).

    Costs one forward pass and K vector-Jacobian products through the layers after it.
    The model is not modified; its parameters are cast to ``dtype`` on the fly.
    """
    lin = _linear_layers(model)
    if not 0 <= layer_index < len(lin):
        raise InputError(f"layer_index {layer_index} out of range: the MLP has {len(lin)} Linear layers")
    X = torch.as_tensor(X)
    y = torch.as_tensor(y)
    if X.ndim < 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise InputError(f"expected X of shape (B, features) and y of shape (B,), got {tuple(X.shape)} "
                         f"and {tuple(y.shape)}")
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise InputError(f"y must hold integer class labels, got dtype {y.dtype}")
    if not torch.isfinite(X).all():
        raise InputError("X contains NaN or Inf")
    mods = list(model)
    target = lin[layer_index]
    h = X.to(dtype)
    with torch.no_grad():
        for m in mods[:target]:
            h = _apply(m, h, dtype)
    a = h.reshape(h.shape[0], -1).detach()
    layer = mods[target]
    if a.shape[1] != layer.in_features:
        raise InputError(f"layer {layer_index} expects {layer.in_features} inputs, got {a.shape[1]}")
    with torch.no_grad():
        u0 = _apply(layer, a, dtype)
    K = mods[lin[-1]].out_features
    if int(y.min()) < 0 or int(y.max()) >= K:
        raise InputError(f"labels must lie in [0, {K}), got range [{int(y.min())}, {int(y.max())}]")
    u = u0.clone().requires_grad_(True)
    z = u
    for m in mods[target + 1:]:
        z = _apply(m, z, dtype)
    with torch.no_grad():
        p = torch.softmax(z.detach(), dim=1)                      # (B, K)
        sp = p.sqrt()
        S = torch.diag_embed(sp) - p[:, :, None] * sp[:, None, :]  # (B, K, K), S S^T = diag p - p p^T
    if z is u:                                                     # last layer: D = I
        G = S
    else:
        cols = [torch.autograd.grad(z, u, grad_outputs=S[:, :, k], retain_graph=k < K - 1)[0]
                for k in range(K)]
        G = torch.stack(cols, dim=2)                                # (B, out, K): G_b = D_b^T S_b
    return LayerKron(A=a, G=G.detach(), has_bias=layer.bias is not None)


def _apply(m: nn.Module, h: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(m, nn.Linear):
        b = None if m.bias is None else m.bias.detach().to(dtype)
        return torch.nn.functional.linear(h, m.weight.detach().to(dtype), b)
    if isinstance(m, nn.ReLU):
        return torch.relu(h)
    if isinstance(m, nn.Flatten):
        return m(h)
    return h


def factor_from_kron(k: LayerKron) -> torch.Tensor:
    """Tall factor M (n x B*K) with block = M M^T / B (column (b,k) = [kron(G_b[:,k], a_b); G_b[:,k]])."""
    B, out, K = k.G.shape
    Mw = torch.einsum("bok,bi->oibk", k.G, k.A).reshape(out * k.in_features, B * K)
    if not k.has_bias:
        return Mw.contiguous()
    Mb = k.G.permute(1, 0, 2).reshape(out, B * K)
    return torch.cat([Mw, Mb], dim=0)


def mlp_layer_ggn_factor(model: nn.Module, X: torch.Tensor, y: torch.Tensor, layer_index: int, *,
                         dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Factor M (n x B*K) of the layer block: block = M M^T / B (exact for a ReLU MLP, see module doc)."""
    return factor_from_kron(mlp_layer_kron(model, X, y, layer_index, dtype=dtype))


def gram_from_kron(k: LayerKron) -> torch.Tensor:
    """M^T M (B*K x B*K) in O(B^2 (K^2 out + in)) without forming M.

    Column (b,k) of M is [kron(g_bk, a_b); g_bk], so <col(b,k), col(b',k')> =
    (g_bk . g_b'k') (a_b . a_b' + [bias]).
    """
    B, out, K = k.G.shape
    GG = torch.einsum("bok,col->bkcl", k.G, k.G)                  # (B, K, B, K)
    AA = k.A @ k.A.T + (1.0 if k.has_bias else 0.0)                # (B, B)
    return (GG * AA[:, None, :, None]).reshape(B * K, B * K)


def dense_block_bytes(n: int, dtype: torch.dtype) -> int:
    """Bytes of a dense n x n block in ``dtype``."""
    return n * n * torch.empty((), dtype=dtype).element_size()


def mlp_layer_hessian_closed_form(model: nn.Module, X: torch.Tensor, y: torch.Tensor, layer_index: int, *,
                                  dtype: torch.dtype = torch.float64, coords: tuple[int, int] | None = None,
                                  memory_budget_bytes: float | None = None) -> torch.Tensor:
    """Dense exact Hessian block of Linear layer ``layer_index`` via the Kronecker form.

    ``coords=(start, stop)`` returns only the diagonal sub-block H[start:stop, start:stop]
    (a "row block" of the lead's BlockSpec), formed from the factor rows. A block over
    ``memory_budget_bytes`` raises MemoryBudgetError naming the budget and the size.
    Cost of the full block: ~ out(out+1)/2 GEMMs of in x B x in (about B*n^2 flops, 20 GFLOP at
    784-16-10 / B=128), written into one preallocated array; no n x n temporaries.
    """
    k = mlp_layer_kron(model, X, y, layer_index, dtype=dtype)
    n = k.n
    lo, hi = (0, n) if coords is None else (int(coords[0]), int(coords[1]))
    if not 0 <= lo < hi <= n:
        raise InputError(f"coords {coords} outside the block's range [0, {n}]")
    m = hi - lo
    need = dense_block_bytes(m, dtype)
    if memory_budget_bytes is not None and need > memory_budget_bytes:
        raise MemoryBudgetError(
            f"layer {layer_index} block (n={m}) needs {need / 2**30:.2f} GiB dense in {dtype}, over the "
            f"memory budget of {memory_budget_bytes / 2**30:.2f} GiB; use row blocks or the factor")
    if coords is not None and (lo, hi) != (0, n):
        M = factor_from_kron(k)[lo:hi]
        return (M @ M.T) / k.batch
    return block_from_kron(k)


#: The last dense block array of each (n, dtype), reused by the next capture when nothing refers to it any more
#: (a recording drops each block once written): its pages are already mapped, so a capture writes at memory speed
#: instead of faulting 1.26 GB in again (f64, n = 12560: 0.55 s against 0.8 s, and no huge-page compaction stalls
#: of 1-4 s; bench/bench_capture_floor.py). numpy's huge-page advice is kept for the first allocation (linalg/alloc.py).
_BLOCK_BUFFERS: dict[tuple[int, str], np.ndarray] = {}


def _block_buffer(n: int, dtype: np.dtype) -> np.ndarray:
    """An n x n array to capture a block into: the kept one if no one else holds it (or a view of it), else new."""
    key = (int(n), np.dtype(dtype).str)
    buf = _BLOCK_BUFFERS.get(key)
    if buf is not None and sys.getrefcount(buf) <= 3:  # the dict's, this name's and getrefcount's own argument
        return buf
    buf = np.empty((n, n), dtype=dtype)
    _BLOCK_BUFFERS[key] = buf
    return buf


def release_block_buffers() -> None:
    """Drop the kept capture arrays (their memory returns once no block refers to them)."""
    _BLOCK_BUFFERS.clear()


def _assemble_dense(A: np.ndarray, C: np.ndarray, has_bias: bool) -> np.ndarray:
    """(1/B) sum_b [C_b (x) a a^T, C_b (x) a; ., C_b], upper block row GEMMs + mirrored transposes.

    The result is exactly symmetric (bitwise), so symmetric masks stay symmetric.
    """
    B, nin = A.shape
    out = C.shape[1]
    nw = out * nin
    n = nw + (out if has_bias else 0)
    H = _block_buffer(n, A.dtype)
    At = np.ascontiguousarray(A.T)
    Cs = (C + C.transpose(0, 2, 1)) * (0.5 / B)   # exactly symmetric cores
    for o in range(out):
        r = slice(o * nin, (o + 1) * nin)
        Y = (Cs[:, o, o:, None] * A[:, None, :]).reshape(B, (out - o) * nin)
        np.matmul(At, Y, out=H[r, o * nin:nw])
        if has_bias:
            np.matmul(At, Cs[:, o, :], out=H[r, nw:])
    iu = np.triu_indices(nin, 1)
    for o in range(out):
        r = slice(o * nin, (o + 1) * nin)
        d = H[r, r]                          # GEMM rounding: make the diagonal block exactly symmetric
        d.T[iu] = d[iu]
        for o2 in range(o + 1, out):
            H[o2 * nin:(o2 + 1) * nin, r] = H[r, o2 * nin:(o2 + 1) * nin].T
    if has_bias:
        H[nw:, :nw] = H[:nw, nw:].T
        H[nw:, nw:] = Cs.sum(axis=0)
    return H


def block_from_kron(k: LayerKron) -> torch.Tensor:
    """Rebuild the dense block from stored Kronecker factors (A, G) (the fastest read path)."""
    if k.A.ndim != 2 or k.G.ndim != 3 or k.A.shape[0] != k.G.shape[0] or k.A.dtype != k.G.dtype:
        raise InputError(f"Kronecker factors do not match: A {tuple(k.A.shape)} {k.A.dtype}, "
                         f"G {tuple(k.G.shape)} {k.G.dtype}")
    return torch.from_numpy(_assemble_dense(k.A.numpy(), k.C.numpy(), k.has_bias))


def block_from_factor(M: torch.Tensor | np.ndarray, batch: int) -> torch.Tensor | np.ndarray:
    """Rebuild the dense block M M^T / B from a stored factor (the read path of a factored snapshot)."""
    if batch < 1:
        raise InputError(f"batch must be >= 1, got {batch}")
    return (M @ M.T) / batch
