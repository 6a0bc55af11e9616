"""Language-model training tasks (BERT-style masked LM, GPT-style causal LM) on a text corpus.

Implements the TrainingTask protocol (``train/task.py``) so the model-agnostic recorder can
train and snapshot them. Corpus: a WikiText directory (``wiki.train.raw`` for training,
``wiki.valid.raw`` held out) or, by default, CPython's ``pydoc_data.topics`` (first 90% of
the characters for training, last 10% held out). Tokens: :class:`ByteTokenizer`.

Batches are random windows of the training tokens drawn from ``torch.Generator(seed)``; BERT
batches are masked as in Devlin et al. 2019 (arXiv:1810.04805, Sec. 3.1 "Task #1"): 15% of the
positions are chosen, of which 80% become [MASK], 10% a random byte and 10% stay unchanged,
with the same generator, so ``batches()`` is reproducible and a resumed run sees the same
stream. The loss is the mean cross-entropy over the chosen positions (BERT) or over all
next-token predictions (GPT).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from qlsa_sim.curvature.blocks import BlockSpec
from qlsa_sim.curvature.transformer_blocks import PARTITION_SCHEMES, partition_transformer
from qlsa_sim.data.text import default_corpus, read_wikitext_dir
from qlsa_sim.data.tokenizer import ByteTokenizer
from qlsa_sim.errors import DataError, InputError, UnknownNameError
from qlsa_sim.models.transformer import MODEL_KINDS, TransformerConfig, build_transformer, parameter_counts
from qlsa_sim.train.task import TaskInfo

MASK_PROB, MASK_TOKEN_FRAC, RANDOM_TOKEN_FRAC = 0.15, 0.8, 0.1  # Devlin et al. 2019, Sec. 3.1
DEFAULT_HOLDOUT = 0.1


@dataclass(frozen=True)
class TextBatch:
    """Model inputs ``[B, T]``, the flat positions (into ``B*T``) that carry a loss, and their targets."""

    inputs: torch.Tensor
    positions: torch.Tensor
    targets: torch.Tensor

    def head(self, n: int) -> TextBatch:
        """The first ``n`` sequences (with their loss positions), e.g. a smaller curvature batch:
        an exact block costs one Hessian-vector product per coordinate, each linear in tokens."""
        B, T = self.inputs.shape
        if not 1 <= n <= B:
            raise InputError(f"need 1 <= n <= {B} sequences, got {n}")
        keep = self.positions < n * T
        return TextBatch(self.inputs[:n], self.positions[keep], self.targets[keep])


def load_text_corpus(corpus_dir: str | None = None) -> tuple[str, str, str]:
    """(train text, held-out text, corpus name). WikiText train/valid, else pydoc_data.topics 90/10."""
    if corpus_dir is not None:
        train, name_tr = read_wikitext_dir(corpus_dir, "train")
        valid, name_va = read_wikitext_dir(corpus_dir, "valid")
        return train, valid, f"{name_tr}; held out: {name_va}"
    text, name = default_corpus()
    cut = int(len(text) * (1 - DEFAULT_HOLDOUT))
    return text[:cut], text[cut:], f"{name}; first 90% train, last 10% held out"


def mask_tokens(windows: torch.Tensor, gen: torch.Generator, tok: ByteTokenizer) -> TextBatch:
    """BERT masking of ``windows`` [B, T] with generator ``gen`` (Devlin et al. 2019, Sec. 3.1).

    Every sequence gets at least one chosen position (a random one if the 15% draw chose none).
    """
    B, T = windows.shape
    chosen = torch.rand(B, T, generator=gen) < MASK_PROB
    fallback = torch.randint(0, T, (B,), generator=gen)
    none = ~chosen.any(dim=1)
    chosen[none, fallback[none]] = True
    r = torch.rand(B, T, generator=gen)
    random_bytes = torch.randint(0, tok.n_bytes, (B, T), generator=gen)
    inputs = windows.clone()
    to_mask = chosen & (r < MASK_TOKEN_FRAC)
    to_rand = chosen & (r >= MASK_TOKEN_FRAC) & (r < MASK_TOKEN_FRAC + RANDOM_TOKEN_FRAC)
    inputs[to_mask] = tok.mask_id
    inputs[to_rand] = random_bytes[to_rand]
    positions = chosen.reshape(-1).nonzero().reshape(-1)
    return TextBatch(inputs, positions, windows.reshape(-1)[positions])


class TextTask:
    """A BERT or GPT model, its corpus and block partition (a TrainingTask)."""

    def __init__(self, model: str, *, corpus_dir: str | None = None,
                 config: TransformerConfig | None = None, batch_size: int = 16, seed: int = 0,
                 partition: str = "per-projection", include_embeddings: bool = False,
                 max_block: int | None = 4096, dtype: torch.dtype = torch.float32,
                 layers: Sequence[int] | None = None, kinds: Sequence[str] | None = None,
                 memory_budget_gb: float = 8.0, eval_batches: int = 4) -> None:
        if model not in MODEL_KINDS:
            raise UnknownNameError("model", model, MODEL_KINDS)
        if partition not in PARTITION_SCHEMES:
            raise UnknownNameError("partition", partition, PARTITION_SCHEMES)
        if batch_size < 1 or eval_batches < 1:
            raise InputError(f"batch_size and eval_batches must be >= 1, got {batch_size}, {eval_batches}")
        self.tokenizer = ByteTokenizer()
        self.config = config or TransformerConfig(vocab_size=self.tokenizer.vocab_size)
        if self.config.vocab_size < self.tokenizer.vocab_size:
            raise InputError(f"vocab_size {self.config.vocab_size} is below the tokenizer's "
                             f"{self.tokenizer.vocab_size}")
        self.kind, self.batch_size, self.seed, self.dtype = model, batch_size, seed, dtype
        train, valid, corpus_name = load_text_corpus(corpus_dir)
        self._train = torch.from_numpy(self.tokenizer.encode(train))
        self._valid = torch.from_numpy(self.tokenizer.encode(valid))
        self._span = self.config.context + (1 if model == "gpt" else 0)  # GPT needs the next token
        for label, ids in (("training", self._train), ("held-out", self._valid)):
            if len(ids) <= self._span:
                raise DataError(f"the {label} text of {corpus_name} has {len(ids)} tokens, fewer than "
                                f"one window of {self._span + 1}")
        self.model = build_transformer(model, self.config, seed=seed, dtype=dtype)
        self._blocks, self.partition_meta = partition_transformer(
            self.model, scheme=partition, include_embeddings=include_embeddings,
            max_block=max_block, layers=layers, kinds=kinds, dtype=torch.float64,
            budget_bytes=memory_budget_gb * 2 ** 30)
        self._eval = self._eval_batches(eval_batches)
        counts = parameter_counts(self.model)
        objective = ("masked LM, 15% of positions (80% [MASK] / 10% random / 10% kept), "
                     "mean cross-entropy over them" if model == "bert"
                     else "causal LM, mean next-token cross-entropy")
        self.info = TaskInfo(model, corpus_name, {
            "architecture": self.config.to_meta(), "objective": objective,
            "tokenizer": self.tokenizer.name, "batch_size": batch_size, "seed": seed,
            "train_tokens": len(self._train), "heldout_tokens": len(self._valid),
            "eval_sequences": eval_batches * batch_size,
            "parameters_total": counts["total"], "parameters_per_module": counts,
            "partition": {k: v for k, v in self.partition_meta.items() if k != "blocks"},
            "partition_blocks": self.partition_meta["blocks"]})

    # -- data -------------------------------------------------------------------------------
    def _make_batch(self, windows: torch.Tensor, gen: torch.Generator) -> TextBatch:
        if self.kind == "bert":
            return mask_tokens(windows, gen, self.tokenizer)
        T = self.config.context
        B = windows.shape[0]
        return TextBatch(windows[:, :T], torch.arange(B * T), windows[:, 1:].reshape(-1))

    def batches(self) -> Iterator[TextBatch]:
        """Endless seeded stream of random training windows (masked for BERT)."""
        gen = torch.Generator().manual_seed(self.seed)
        offsets = torch.arange(self._span)
        while True:
            starts = torch.randint(0, len(self._train) - self._span + 1, (self.batch_size,), generator=gen)
            yield self._make_batch(self._train[starts[:, None] + offsets], gen)

    def _eval_batches(self, n: int) -> list[TextBatch]:
        gen = torch.Generator().manual_seed(self.seed + 1)
        count = n * self.batch_size
        starts = torch.linspace(0, len(self._valid) - self._span, count).long()  # evenly spread
        windows = self._valid[starts[:, None] + torch.arange(self._span)]
        return [self._make_batch(windows[i:i + self.batch_size], gen)
                for i in range(0, count, self.batch_size)]

    # -- protocol ---------------------------------------------------------------------------
    def _logits(self, params: Mapping[str, torch.Tensor], batch: TextBatch) -> torch.Tensor:
        return torch.func.functional_call(self.model, dict(params), (batch.inputs, batch.positions))

    def loss(self, params: Mapping[str, torch.Tensor], batch: TextBatch) -> torch.Tensor:
        """Mean cross-entropy over the batch's loss positions."""
        return F.cross_entropy(self._logits(params, batch), batch.targets)

    def blocks(self) -> list[BlockSpec]:
        return list(self._blocks)

    @torch.no_grad()
    def evaluate(self, params: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """Held-out mean cross-entropy and accuracy (masked-token for BERT, next-token for GPT)."""
        total, correct, count = 0.0, 0, 0
        for b in self._eval:
            logits = self._logits(params, b)
            total += float(F.cross_entropy(logits, b.targets, reduction="sum"))
            correct += int((logits.argmax(1) == b.targets).sum())
            count += len(b.targets)
        return {"test_loss": total / count, "test_accuracy": correct / count}


def make_text_task(model: str, *, corpus_dir: str | None = None, config: TransformerConfig | None = None,
                   batch_size: int = 16, seed: int = 0, partition: str = "per-projection",
                   include_embeddings: bool = False, max_block: int | None = 4096,
                   dtype: torch.dtype = torch.float32, layers: Sequence[int] | None = None,
                   kinds: Sequence[str] | None = None, memory_budget_gb: float = 8.0) -> TextTask:
    """A BERT (``"bert"``) or GPT (``"gpt"``) TrainingTask; see :class:`TextTask`.

    ``partition`` is one of ``per-projection``, ``per-head``, ``rows``
    (``curvature/transformer_blocks.py``); ``layers``/``kinds`` select a subset of blocks.
    Block sizes are checked against ``memory_budget_gb`` as dense float64 matrices (the
    recorder computes blocks in float64).
    """
    return TextTask(model, corpus_dir=corpus_dir, config=config, batch_size=batch_size, seed=seed,
                    partition=partition, include_embeddings=include_embeddings, max_block=max_block,
                    dtype=dtype, layers=layers, kinds=kinds, memory_budget_gb=memory_budget_gb)
