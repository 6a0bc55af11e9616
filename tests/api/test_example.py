"""The README's example script (bench/example_api.py) runs: estimate on three input forms, HybridNewton on a
tanh net in a plain loop."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "bench" / "example_api.py"

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


@pytest.mark.slow  # ~9 s cold (Qualtran counts of new register sizes, two surface-code searches); the docstring
# example of qlsa_sim/api.py runs in the default suite (tests/api/test_estimate_api.py)
def test_example_script_runs(capsys):
    ns = runpy.run_path(str(EXAMPLE), run_name="example")
    ns["estimate_one_matrix"](64)
    losses = ns["train_tanh_net"](5)
    out = capsys.readouterr().out
    assert "MODELED" in out and "same answer" in out and "encoding ideal" in out
    assert losses[-1] < losses[0]
