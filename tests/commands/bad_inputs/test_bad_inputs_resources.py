"""Resources: requests beyond a stated fraction of RAM, or beyond what simulation supports, are refused up
front with the estimate (``core/resources.py``, ``quantum/circuits/simulate.py``); nothing is allocated or
written. ``QLSA_SIM_MEMORY_FRACTION`` makes the memory limit tiny, so these tests do not depend on the machine."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def tiny_memory(monkeypatch):
    monkeypatch.setenv("QLSA_SIM_MEMORY_FRACTION", "1e-9")  # a few bytes per GiB of RAM


def test_calibrate_sizes_beyond_memory(tiny_memory, tmp_path, refused):
    refused("calibrate", "--sizes", "16,2048", "--out", tmp_path / "c.json", "--quiet",
            needles=("calibrate --sizes 2048", "would need about 512 MiB of memory and about", "the limit is"),
            # 512 MiB: the memory ladder's largest rung
            absent=[tmp_path / "c.json"])


def test_replay_and_evolution_of_blocks_beyond_memory(tiny_memory, small_trace, profile_path, tmp_path, refused):
    refused("replay", small_trace, "--calibration", profile_path, "--out", tmp_path / "o", "--quiet",
            needles=("largest block n = 6", "of memory"), absent=[tmp_path / "o"])
    refused("evolution", small_trace, "--out", tmp_path / "e", "--quiet", needles=("largest block n = 6",),
            absent=[tmp_path / "e"])


def test_matrix_beyond_memory_is_refused_from_its_header(tiny_memory, tmp_path, refused):
    path = tmp_path / "m.npy"
    np.save(path, np.eye(64))
    refused("estimate", "--matrix", path, needles=(str(path), "n = 64", "of memory"))


def test_record_block_beyond_the_budget_writes_nothing(tmp_path, refused):
    refused("record", "--dataset", "digits", "--sizes", "64-4000-10", "--memory-budget-gb", "1", "--out",
            tmp_path / "t", "--quiet", needles=("block 'layer:0'", "memory budget"), absent=[tmp_path / "t"])


def test_train_newton_block_beyond_the_budget(profile_path, tmp_path, refused):
    refused("train", "--dataset", "digits", "--sizes", "64-4000-10", "--memory-budget-gb", "1", "--methods",
            "hybrid", "--calibration", profile_path, "--out", tmp_path / "tr", "--quiet",
            needles=("memory budget",), absent=[tmp_path / "tr"])


@pytest.mark.parametrize("argv,needles", [
    (["--n", "4", "--kappa", "1e4"], ("needs an inversion polynomial of degree", "supports degree <= 1200", "about")),
    (["--n", "4", "--kappa", "100", "--eps", "1e-10"], ("degree", "supports degree <= 1200")),
    (["--n", "4", "--kappa", "1e16"], ("degree",)),
])
def test_validate_beyond_simulation(argv, needles, tmp_path, refused):
    refused("validate", *argv, "--qasm", tmp_path / "c.qasm", needles=needles, absent=[tmp_path / "c.qasm"])


def test_validate_matrices_beyond_simulation(tmp_path, refused):
    big = tmp_path / "big.npy"
    np.save(big, np.eye(65))
    refused("validate", "--matrix", big, needles=(str(big), "n = 65", "more than the 64 validate can simulate"))
    ill = tmp_path / "ill.npy"
    np.save(ill, np.diag([1.0, 1e-5]))
    refused("validate", "--matrix", ill, needles=(str(ill), "kappa_eff = 1e+05", "degree"))


def test_sweep_grid_beyond_its_limit(tmp_path, refused):
    ns = ",".join(str(i) for i in range(1, 1001))
    ks = ",".join(str(1 + i) for i in range(200))
    refused("sweep", "--n", ns, "--kappa", ks, "--density", "0.5,1", "--out", tmp_path / "s.csv",
            needles=("3600000 points", "1000000"), absent=[tmp_path / "s.csv"])
