"""The demo end to end on a small MNIST-format data set the test writes (7x7 images, few steps), and the
README's statements about the demo checked against what the demo does."""

import re
from pathlib import Path

import numpy as np
import pytest

from qlsa_sim.commands.demo import add_parser
from qlsa_sim.data.idx import write_idx
from qlsa_sim.experiments.demo import run_demo
from qlsa_sim.traces.store import TraceReader

ROOT = Path(__file__).resolve().parents[2]


def _mnist_dir(d: Path, n_train: int = 256, n_test: int = 64) -> Path:
    rng = np.random.default_rng(0)
    d.mkdir()
    for split, k in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, k, dtype=np.uint8)
        images = (rng.integers(0, 60, (k, 28, 28)) + 20 * labels[:, None, None]).astype(np.uint8)
        write_idx(d / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", labels)
    return d


def _demo_defaults() -> dict:
    import argparse

    sub = argparse.ArgumentParser().add_subparsers()
    return vars(add_parser(sub).parse_args([]))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_demo_runs_and_states_the_architecture_it_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(tmp_path / "cache"))
    said = []
    out = run_demo(tmp_path / "root", data_dir=str(_mnist_dir(tmp_path / "idx")), image_size=7, steps=4, every=2,
                   progress=False, calibration_sizes=(32, 64, 128, 256), say=said.append)
    meta = TraceReader(out.trace).meta.identity["task"]["config"]
    assert out.architecture == "-".join(map(str, meta["sizes"])) == "49-16-10"
    assert any("MLP 49-16-10" in line for line in said)  # what it says while recording
    for o in (out.eq4, out.resources):
        assert o.decisions_csv.is_file() and o.speedup_md.is_file() and all(p.is_file() for p in o.crossover)
    assert "Verdicts use this table" in out.resources.speedup_md.read_text()
    assert "verdicts use the resource-model replay" in out.eq4.speedup_md.read_text()


def test_readme_states_the_demo_as_it_is():
    """README: the demo's network, image size and layer-1 block size follow from the demo's defaults."""
    text = " ".join((ROOT / "README.md").read_text().split())
    m = re.search(r"`make demo` trains the MLP (\d+)-16-10 .*? pooled to (\d+)x\2\b.*?layer-1 block is (\d+) x \3", text)
    assert m, "README no longer describes the demo's network in the checked form"
    width, side, block = map(int, m.groups())
    defaults = _demo_defaults()
    assert side == defaults["image_size"] and width == side * side
    assert block == (width + 1) * 16  # weights and biases of the first layer
    assert "12560 x 12560" in text and (28 * 28 + 1) * 16 == 12560
