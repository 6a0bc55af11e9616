"""``qlsa-sim train`` through ``main(argv)``: tables, per-block decisions, the simulated-circuit
emulation on small blocks, resume, and one-line errors."""

from pathlib import Path

import pandas as pd
import pytest

from qlsa_sim.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

PROFILE = str(Path(__file__).resolve().parents[2] / "calibration" / "example-2core.json")
BASE = ["train", "--dataset", "digits", "--image-size", "4", "--sizes", "16-6-10", "--lr", "0.5",
        "--newton-lr", "0.5", "--max-steps", "4", "--target-accuracy", "0.6", "--calibration", PROFILE, "--quiet"]


def test_train_writes_tables_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    argv = BASE + ["--methods", "sgd,newton-classical,hybrid", "--mlp-partition", "per-tensor",
                   "--quantum-emulation", "circuit", "--out", str(out)]
    assert main(argv) == 0
    table = pd.read_csv(out / "table.csv")
    assert list(table["label"]) == ["sgd", "newton-classical", "hybrid"] and table["id"].is_unique
    assert (table["steps_run"] == 4).all()
    assert table.loc[table["label"] == "sgd", "modeled_s_per_step"].item() == 0.0
    assert table.loc[table["label"] == "newton-classical", "quantum_fraction"].item() == 0.0
    blocks = pd.read_csv(out / "blocks.csv")
    assert set(blocks["label"]) == {"newton-classical", "hybrid"} and blocks["id"].is_unique
    hyb = blocks[blocks["label"] == "hybrid"]
    assert len(hyb) == 4 * 4  # 4 steps x (W1, b1, W2, b2)
    q = hyb[hyb["chosen_is_quantum"]]
    small = q[q["n"] <= 16]
    assert len(small) and (small["emulation"] == "circuit").all() and (small["rel_error"] < 0.01).all()
    assert (q[q["n"] > 16]["emulation"] == "perturb").all()
    assert (out / "convergence.png").stat().st_size > 0 and (out / "table.md").read_text().startswith("# mlp-digits")
    steps = pd.read_csv(out / "steps.csv")
    assert len(steps) == 3 * 4 and steps["id"].is_unique
    printed = capsys.readouterr().out
    assert "modeled" in printed and "hybrid" in printed
    # finished runs are read back, not re-run: identical table
    assert main(argv + ["--resume"]) == 0
    again = pd.read_csv(out / "table.csv")
    pd.testing.assert_frame_equal(again, table)


def test_train_errors_are_one_line(tmp_path, capsys):
    no_cal = [a for a in BASE if a not in ("--calibration", PROFILE)]
    assert main(no_cal + ["--methods", "hybrid", "--out", str(tmp_path)]) == 2
    assert "need a calibration profile" in capsys.readouterr().err
    assert main(BASE + ["--methods", "sgd,bfgs", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown method 'bfgs'" in err
    assert main(BASE + ["--methods", "hybrid", "--quantum-emulation", "hardware", "--out", str(tmp_path)]) == 2
    assert "--quantum-emulation" in capsys.readouterr().err
    assert main(BASE + ["--methods", "hybrid", "--calibration", str(tmp_path / "missing.json"),
                        "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


def test_train_gpt_covers_its_blocks_and_steps_the_rest(tmp_path):
    out = tmp_path / "gpt"
    argv = ["train", "--model", "gpt", "--layers-count", "1", "--heads", "1", "--width", "8", "--context", "8",
            "--batch-size", "4", "--curvature-batch", "1", "--block-kinds", "v", "--methods", "hybrid",
            "--max-steps", "3", "--calibration", PROFILE, "--out", str(out), "--quiet"]
    assert main(argv) == 0
    table, blocks = pd.read_csv(out / "table.csv"), pd.read_csv(out / "blocks.csv")
    assert set(blocks["block"]) == {"layers.0.attn.v.weight"} and len(blocks) == 3
    # the parameters outside the v block take -0.5 g (the default for text models), so the loss falls
    assert table["final_test_loss"].item() < table["initial_test_loss"].item() - 0.1


def test_train_without_a_target_says_so(tmp_path, capsys):
    """No --target-*: the runs are reported as 'no target given' (reached empty), not as failures."""
    argv = [a for a in BASE if a not in ("--target-accuracy", "0.6")]
    assert main(argv + ["--methods", "sgd", "--max-steps", "2", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "no target given" in printed and "reached" not in printed.split("no target given", 1)[1].splitlines()[1]
    table = pd.read_csv(tmp_path / "table.csv")
    assert table["reached"].isna().all() and table["steps_to_target"].isna().all()
    assert (table["stop_reason"] == "max_steps").all()
