"""Numbers per flag: every numeric flag refuses values outside its range at parse time, naming the flag and the
allowed range, before anything runs or is written (``commands/argtypes.py``)."""

from __future__ import annotations

import pytest

from qlsa_sim.commands.options import DATASETS, MODELS

POSITIONAL = {"replay": ["{trace}"], "evolution": ["{trace}"]}

CASES = [
    # calibrate
    ("calibrate", "--sizes", "-5", "[2, 65536]"), ("calibrate", "--sizes", "16", "at least 2 distinct"),
    ("calibrate", "--sizes", "16,1000000", "[2, 65536]"), ("calibrate", "--sizes", "16,abc", "got 'abc'"),
    ("calibrate", "--repeats", "0", "[1, 1000]"), ("calibrate", "--threads", "0", "[1, "),
    ("calibrate", "--threads", "100000", "[1, "), ("calibrate", "--precision", "0", "[1e-15, 1)"),
    ("calibrate", "--precision", "1", "[1e-15, 1)"), ("calibrate", "--precision", "nan", "[1e-15, 1)"),
    # estimate
    ("estimate", "--n", "0", "[1, 1099511627776]"), ("estimate", "--n", "2e12", "got '2e12'"),
    ("estimate", "--kappa", "0.5", "[1, 1e+16]"), ("estimate", "--kappa", "1e300", "[1, 1e+16]"),
    ("estimate", "--kappa", "inf", "[1, 1e+16]"), ("estimate", "--density", "0", "(0, 1]"),
    ("estimate", "--density", "1.5", "(0, 1]"), ("estimate", "--eps", "1e-300", "[1e-15, 1)"),
    ("estimate", "--eps", "1", "[1e-15, 1)"), ("estimate", "--eps", "nan", "[1e-15, 1)"),
    # validate
    ("validate", "--n", "0", "[1, 64]"), ("validate", "--n", "65", "[1, 64]"), ("validate", "--kappa", "inf", "1e+16"),
    ("validate", "--kappa", "0.9", "[1, 1e+16]"), ("validate", "--eps", "1e-300", "[1e-10, 1)"),
    ("validate", "--eps", "1e-12", "[1e-10, 1)"), ("validate", "--eps", "0", "[1e-10, 1)"), ("validate", "--seed", "-1", "[0, 4294967295]"),
    # sweep
    ("sweep", "--n", "0", "[1, "), ("sweep", "--kappa", "10,1e17", "[1, 1e+16]"), ("sweep", "--density", "2", "(0, 1]"),
    ("sweep", "--eps", "0", "[1e-15, 1)"), ("sweep", "--chunk", "0", "[1, 1000000]"),
    # record (task options shared with train)
    ("record", "--steps", "0", "[1, 100000000]"), ("record", "--every", "0", "[1, 100000000]"),
    ("record", "--lr", "0", "(0, inf)"), ("record", "--lr", "nan", "(0, inf)"),
    ("record", "--batch-size", "0", "[1, 1048576]"), ("record", "--image-size", "0", "[1, 4096]"),
    ("record", "--seed", "-1", "[0, 4294967295]"), ("record", "--memory-budget-gb", "0", "(0, "),
    ("record", "--memory-budget-gb", "1e9", "(0, "), ("record", "--hvp-chunk", "0", "[1, 1048576]"),
    ("record", "--curvature-batch", "0", "[1, 1048576]"), ("record", "--layers-count", "0", "[1, 256]"),
    ("record", "--heads", "0", "[1, 1024]"), ("record", "--width", "0", "[1, 65536]"),
    ("record", "--context", "0", "[1, 65536]"), ("record", "--block-layers", "0,-1", "[0, 255]"),
    ("record", "--block-layers", "1,1", "twice"), ("record", "--dtype", "float16", "known: float64, float32"),
    ("record", "--dataset", "cifar", "known: " + ", ".join(DATASETS)),
    ("record", "--model", "resnet", "known: " + ", ".join(MODELS)),
    # train
    ("train", "--max-steps", "0", "[1, 100000000]"), ("train", "--eval-every", "0", "[1, 100000000]"),
    ("train", "--target-accuracy", "0", "(0, 1]"), ("train", "--target-accuracy", "1.5", "(0, 1]"),
    ("train", "--target-loss", "-1", "[0, inf)"), ("train", "--lr", "-0.1", "(0, inf)"),
    ("train", "--momentum", "1", "[0, 1)"), ("train", "--newton-lr", "0", "(0, inf)"),
    ("train", "--reg-eps", "0", "(0, inf)"), ("train", "--prune-density", "0", "(0, 1]"),
    ("train", "--uncovered-scale", "-1", "[0, inf)"), ("train", "--precision", "2", "[1e-15, 1)"),
    ("train", "--seeds", "-1", "[0, 4294967295]"), ("train", "--seeds", "1,1", "twice"),
    ("train", "--quantum-model", "magic", "known: eq4, resources"),
    ("train", "--quantum-emulation", "hardware", "known: perturb, circuit"),
    # replay, evolution
    ("replay", "--reg-eps", "-1", "[0, inf)"), ("replay", "--density-tol", "nan", "[0, inf)"),
    ("replay", "--kappa-method", "fast", "known: auto, exact, lanczos"),
    ("replay", "--quantum-model", "magic", "known: eq4, resources"), ("replay", "--workers", "0", "[1, 4096]"),
    ("replay", "--scheduler-address", "nonsense", "PROTOCOL://HOST:PORT"),
    ("evolution", "--scheduler-address", "tcp://h:99999", "port in [1, 65535]"),
    ("evolution", "--reg-eps", "inf", "[0, inf)"), ("evolution", "--workers", "0", "[1, 4096]"),
    # reproduce, demo
    ("reproduce", "--seeds", "-1", "[0, 4294967295]"), ("reproduce", "--seeds", ",", "at least 1 distinct"),
    ("demo", "--image-size", "0", "[1, 4096]"), ("demo", "--steps", "0", "[1, 100000000]"),
    ("demo", "--every", "0", "[1, 100000000]"), ("demo", "--dataset", "cifar", "known: "),
]


@pytest.mark.parametrize("cmd,flag,value,allowed", CASES, ids=[f"{c[0]} {c[1]}={c[2]}" for c in CASES])
def test_out_of_range_number_is_refused_at_parse_time(cmd, flag, value, allowed, small_trace, tmp_path, refused):
    pos = [p.format(trace=small_trace) for p in POSITIONAL.get(cmd, [])]
    out = tmp_path / "out"
    extra = ["--root", out] if cmd == "demo" else ["--out", out]
    refused(cmd, *pos, f"{flag}={value}", *extra, needles=(f"argument {flag}", allowed), absent=[out])


def test_calibrate_sizes_need_a_large_enough_one(tmp_path, refused):
    refused("calibrate", "--sizes", "8,64", "--out", tmp_path / "c.json", "--quiet",
            needles=("--sizes", "largest size must be at least 65", "got 8,64"), absent=[tmp_path / "c.json"])


def test_argparse_own_errors_are_one_line(tmp_path, refused):
    refused("sweep", "--bogus", needles=("unrecognized arguments: --bogus",))
    refused("estimate", "--basis", "vibes", needles=("argument --basis", "invalid choice"))
    refused("calibrate", "--sizes", needles=("argument --sizes", "expected one argument"))
    refused("nonsense", needles=("argument command", "invalid choice"))


def test_names_shared_with_the_package_stay_in_step():
    from qlsa_sim.data.images import DATASET_NAMES
    from qlsa_sim.experiments.tasks import MODELS as TASK_MODELS

    assert DATASETS == DATASET_NAMES and MODELS == TASK_MODELS
