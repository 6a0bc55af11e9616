"""The inverse question: break-even gate time solves 'quantum time = classical time'; the workload's target speedup
by bisection against the analytic answer; the report on the example trace."""

import math
from pathlib import Path

import numpy as np
import pytest

from qlsa_sim.cost.models import QuantumResourceModel
from qlsa_sim.cost.profile import load_profile
from qlsa_sim.experiments.breakeven import best_classical_s, block_break_even, break_even_sentence, workload_break_even
from qlsa_sim.linalg.features import FeatureConfig, prepare_block
from qlsa_sim.quantum.estimation.physical import physical_estimate
from qlsa_sim.quantum.estimation.physical_profiles import custom_profile
from qlsa_sim.quantum.estimation.resources import logical_counts

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile(ROOT / "calibration" / "example-2core.json")


@pytest.fixture(scope="module")
def block():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((48, 48))
    return prepare_block(M @ M.T / 48, FeatureConfig(reg_eps=1e-2))[1]


def test_break_even_gate_time_solves_quantum_equals_classical(block):
    row = block_break_even(PROFILE, block, phys_errors=(1e-4,))
    _, c = best_classical_s(PROFILE, block)
    at = QuantumResourceModel(encoding="cheapest", gate_time_s=row["max_gate_time_s"]).estimate(block)
    assert at.seconds == pytest.approx(c, rel=1e-6)
    ro = QuantumResourceModel(gate_time_s=row["max_gate_time_readout_s"], include_readout=True).estimate(block)
    assert ro.seconds == pytest.approx(c, rel=1e-6)
    # the surface code at the break-even cycle time takes exactly the classical time
    cyc = row["max_cycle_time_s_p0.0001"]
    res = QuantumResourceModel().estimate(block).resources
    phys = physical_estimate(logical_counts(res), custom_profile(cyc, 1e-4, 1e-2))
    assert phys.feasible and phys.wall_time_s == pytest.approx(c, rel=1e-6)
    assert phys.physical_qubits == row["physical_qubits_p0.0001"]


def test_workload_break_even_against_the_analytic_answer():
    # two blocks: C = (1, 3) s, G = (1e6, 1e7) gates; 10x needs sum min(G t, C) <= 0.4 s: both quantum, t = 0.4/1.1e7
    w = workload_break_even([1.0, 3.0], [1e6, 1e7], speedup=10.0)
    assert w.max_time_s == pytest.approx(0.4 / 1.1e7, rel=1e-6)
    # a block that cannot go quantum (infeasible) stays classical: its 1 s alone exceeds 0.4 s
    assert workload_break_even([1.0, 3.0], [None, 1e7], speedup=10.0).max_time_s is None
    # Amdahl: shared measured work of 1 s over a 4 s classical solve leaves (4 + 1)/10 - 1 < 0
    amdahl = workload_break_even([1.0, 3.0], [1e6, 1e7], speedup=10.0, shared_s=1.0)
    assert amdahl.max_time_s is None and "unreachable" in amdahl.reason
    lower = workload_break_even([1.0, 3.0], [1e6, 1e7], speedup=2.0, shared_s=1.0)
    assert lower.max_time_s == pytest.approx((5.0 / 2 - 1.0) / 1.1e7, rel=1e-6)


def test_sentence_names_the_solver_and_the_machine(block):
    import pandas as pd

    rows = pd.DataFrame([block_break_even(PROFILE, block, phys_errors=(1e-4,))])
    text, figs = break_even_sentence("the test block", rows, speedup=10.0)
    solver, _ = best_classical_s(PROFILE, block)
    assert text.startswith(f"To reach the paper's 10x on the test block against the best classical solver ({solver})")
    assert "physical qubits" in text and "[modeled]" in text
    assert figs["gate"].max_time_s == pytest.approx(rows["max_gate_time_s"].iloc[0] / 10, rel=1e-6)


@pytest.mark.slow
def test_breakeven_command_on_the_example_trace(tmp_path, capsys):
    from qlsa_sim.cli import main

    assert main(["breakeven", str(ROOT / "hessian_traces" / "example-digits"), "--calibration",
                 str(ROOT / "calibration" / "example-2core.json"), "--out", str(tmp_path), "--quiet"]) == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"blocks.csv", "breakeven.md", "maps.csv", "maps.png", "maps.svg"}
    assert "To reach the paper's 10x" in (tmp_path / "breakeven.md").read_text()
    assert not math.isnan(float(__import__("pandas").read_csv(tmp_path / "blocks.csv")["max_gate_time_s"].max()))


def test_scheduling_split_shares_the_gram_woodbury_reuses():
    import pandas as pd

    from qlsa_sim.experiments.breakeven_outputs import scheduling_split

    d = pd.DataFrame({"scheduling_measured_s": [2.0, 0.1, 0.5], "gram_measured_s": [1.5, 0.0, 0.3],
                      "best_classical": ["woodbury", "cholesky", "cg"]})
    assert scheduling_split(d) == pytest.approx((1.5, 1.1))  # only the Gram behind a Woodbury choice is shared
    assert scheduling_split(d.drop(columns="gram_measured_s")) == pytest.approx((0.0, 2.6))
    assert scheduling_split(pd.DataFrame({"x": [1.0]})) == (0.0, 0.0)
