"""BERT/GPT training tasks: determinism, masking, loss decrease, errors."""

from __future__ import annotations

import itertools

import pytest
import torch

from qlsa_sim.errors import DataError, InputError, UnknownNameError
from qlsa_sim.models.transformer import TransformerConfig
from qlsa_sim.train.text_tasks import TextBatch, make_text_task

TINY = TransformerConfig(n_layers=1, n_heads=2, width=16, mlp_width=64, context=16)
UNIGRAM_ENTROPY = 3.14  # nats per byte of the held-out default corpus (measured: 3.143)


def test_unknown_model_name():
    with pytest.raises(UnknownNameError, match="unknown model 'llama'; known: bert, gpt"):
        make_text_task("llama")


def test_unknown_partition():
    with pytest.raises(UnknownNameError, match="partition 'per-block'"):
        make_text_task("gpt", config=TINY, partition="per-block")


def test_missing_wikitext_dir_is_clear(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        make_text_task("bert", config=TINY, corpus_dir=str(tmp_path / "wikitext-2-raw"))


def test_wikitext_corpus_is_used_and_named(tmp_path):
    para = "The quick brown fox jumps over the lazy dog . " * 40
    (tmp_path / "wiki.train.raw").write_text(para, encoding="utf-8")
    (tmp_path / "wiki.valid.raw").write_text(para[:300], encoding="utf-8")
    task = make_text_task("gpt", config=TINY, corpus_dir=str(tmp_path), batch_size=4)
    assert "wiki.train.raw" in task.info.dataset and "wiki.valid.raw" in task.info.dataset
    b = next(task.batches())
    assert set(b.inputs.unique().tolist()) <= set(para.encode())
    assert task.info.config["train_tokens"] == len(para)


def test_too_short_heldout_text(tmp_path):
    (tmp_path / "wiki.train.raw").write_text("x" * 1000, encoding="utf-8")
    (tmp_path / "wiki.valid.raw").write_text("short", encoding="utf-8")
    with pytest.raises(DataError, match="held-out text.*5 tokens"):
        make_text_task("bert", config=TINY, corpus_dir=str(tmp_path))


@pytest.mark.parametrize("kind", ["bert", "gpt"])
def test_batches_are_seeded_and_reproducible(kind):
    a = make_text_task(kind, config=TINY, seed=3)
    b = make_text_task(kind, config=TINY, seed=3)
    c = make_text_task(kind, config=TINY, seed=4)
    for x, y, z in zip(itertools.islice(a.batches(), 3), b.batches(), c.batches()):
        assert isinstance(x, TextBatch)
        assert torch.equal(x.inputs, y.inputs) and torch.equal(x.targets, y.targets)
        assert torch.equal(x.positions, y.positions)
        assert not torch.equal(x.inputs, z.inputs)
    # a second call to batches() restarts the same stream (what a resumed recording relies on)
    assert torch.equal(next(a.batches()).inputs, next(b.batches()).inputs)


def test_gpt_targets_are_next_tokens():
    task = make_text_task("gpt", config=TINY, batch_size=4)
    b = next(task.batches())
    assert b.inputs.shape == (4, 16) and len(b.targets) == 64
    t = b.targets.reshape(4, 16)
    assert torch.equal(t[:, :-1], b.inputs[:, 1:])
    text = task.tokenizer.decode(torch.cat([b.inputs[0], t[0, -1:]]).numpy())
    assert len(text) > 0


def test_bert_masking_rates_80_10_10():
    task = make_text_task("bert", config=TINY, batch_size=512)
    b = next(task.batches())
    B, T = b.inputs.shape
    chosen = torch.zeros(B * T, dtype=torch.bool)
    chosen[b.positions] = True
    assert abs(chosen.double().mean().item() - 0.15) < 0.01
    got = b.inputs.reshape(-1)[b.positions]
    is_mask = got == task.tokenizer.mask_id
    kept = got == b.targets
    assert abs(is_mask.double().mean().item() - 0.8) < 0.03
    assert abs(kept.double().mean().item() - 0.1) < 0.03  # (+ random bytes equal by chance, ~0.1%)
    assert int((b.inputs.reshape(-1)[~chosen] == task.tokenizer.mask_id).sum()) == 0
    assert int(got[~is_mask].max()) < 256
    assert bool((chosen.reshape(B, T).any(dim=1)).all())  # every sequence has a loss position


def test_info_names_corpus_and_partition():
    task = make_text_task("bert", config=TINY, partition="per-head", layers=(0,), kinds=("q", "fc1"))
    info = task.info
    assert info.model == "bert" and info.dataset.startswith("pydoc_data.topics")
    assert info.config["architecture"]["n_heads"] == 2 and info.config["tokenizer"].startswith("byte-level")
    assert info.config["partition"]["scheme"] == "per-head"
    assert [b.name for b in task.blocks()] == [m["name"] for m in info.config["partition_blocks"]]
    assert {m["kind"] for m in info.config["partition_blocks"]} == {"q", "fc1"}
    assert info.config["parameters_total"] == sum(p.numel() for p in task.model.parameters())


@pytest.mark.parametrize("kind", ["bert", "gpt"])
def test_training_loss_decreases(kind):
    """Adam on the tiny config: training and held-out loss drop from ln(257) = 5.55 to below the
    corpus's byte-unigram entropy, i.e. the model uses context, not only byte frequencies."""
    torch.manual_seed(0)
    task = make_text_task(kind, config=TINY, batch_size=16)
    params = dict(task.model.named_parameters())
    before = task.evaluate(params)
    opt = torch.optim.Adam(task.model.parameters(), lr=1e-2)
    losses = []
    for batch in itertools.islice(task.batches(), 600):
        opt.zero_grad()
        loss = task.loss(params, batch)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    after = task.evaluate(params)
    last = sum(losses[-50:]) / 50
    assert before["test_loss"] > 5.4 and losses[0] > 5.4
    assert last < losses[0] - 2.0
    assert after["test_loss"] < UNIGRAM_ENTROPY - 0.3
    assert after["test_accuracy"] > before["test_accuracy"] + 0.25


@pytest.mark.parametrize("kind", ["bert", "gpt"])
def test_sgd_as_the_recorder_uses_decreases_loss(kind):
    task = make_text_task(kind, config=TINY, batch_size=16)
    params = dict(task.model.named_parameters())
    before = task.evaluate(params)["test_loss"]
    opt = torch.optim.SGD(task.model.parameters(), lr=0.5)
    for batch in itertools.islice(task.batches(), 150):
        opt.zero_grad()
        task.loss(params, batch).backward()
        opt.step()
    assert task.evaluate(params)["test_loss"] < before - 1.5


@pytest.mark.parametrize("kind", ["bert", "gpt"])
def test_batch_head_is_the_loss_of_the_first_sequences(kind):
    task = make_text_task(kind, config=TINY, batch_size=6, dtype=torch.float64)
    b = next(task.batches())
    h = b.head(2)
    assert torch.equal(h.inputs, b.inputs[:2])
    params = dict(task.model.named_parameters())
    logits = task.model(b.inputs[:2]).reshape(-1, task.config.vocab_size)
    ref = torch.nn.functional.cross_entropy(logits[h.positions], h.targets)
    assert torch.allclose(task.loss(params, h), ref)
    assert len(h.targets) == int((b.positions < 2 * 16).sum())
    with pytest.raises(InputError):
        b.head(7)


def test_tiny_gpt_trace_records_through_the_recorder(tmp_path):
    """Integration with the model-agnostic recorder (train/record.py) and the trace store."""
    import numpy as np

    from qlsa_sim.curvature.compute import CurvatureConfig
    from qlsa_sim.traces.store import TraceReader
    from qlsa_sim.train.record import RecordConfig, record_trace

    cfg = TransformerConfig(n_layers=1, n_heads=2, width=8, mlp_width=16, context=8)
    task = make_text_task("gpt", config=cfg, batch_size=2, partition="per-head", kinds=("q", "aux"))
    summary = record_trace(task, tmp_path / "trace", RecordConfig(steps=10, every=5, lr=0.5,
                                                                  curvature=CurvatureConfig(method="hvp")), progress=False)
    assert summary.snapshots_written == 3
    reader = TraceReader(tmp_path / "trace")
    assert reader.steps == [0, 5, 10]
    assert reader.blocks == [b.name for b in task.blocks()]
    assert "pydoc_data.topics" in str(reader.meta)
    snap = reader.snapshot(5, "layers.0.attn.q.weight[head 1]")
    assert snap.matrix.shape == (32, 32) and np.allclose(snap.matrix, snap.matrix.T)
    assert np.isfinite(snap.loss)
