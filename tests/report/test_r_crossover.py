"""The crossover map of a resource-model replay draws each block at the condition number its QLSA cost
follows (kappa_eff of its sparse-access encoding), so a marker sits on the side of the break-even line
that the block's own decision says."""

from pathlib import Path

import numpy as np
import pytest

from qlsa_sim.cost.calibrate import load_profile
from qlsa_sim.cost.models import QuantumResourceModel
from qlsa_sim.linalg.features import FeatureConfig, prepare_block
from qlsa_sim.quantum.estimation.resources import estimate_qlsa_resources
from qlsa_sim.report import replay_report
from qlsa_sim.schedule.replay import ReplayConfig, replay
from qlsa_sim.traces.store import TraceReader

ROOT = Path(__file__).resolve().parents[2]


def test_effective_kappa_is_the_one_the_estimator_uses():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((40, 40))
    _, f = prepare_block(M @ M.T / 40, FeatureConfig(reg_eps=0.05))
    res = estimate_qlsa_resources(**QuantumResourceModel.encoded_matrix(f), eps=0.01)
    assert QuantumResourceModel.effective_kappa(f) == pytest.approx(res.kappa_eff, rel=1e-12)
    assert QuantumResourceModel.effective_kappa(f) >= f.kappa  # alpha = s max|A_ij| >= ||A||


def test_resource_map_draws_blocks_at_kappa_eff(tmp_path, monkeypatch):
    drawn = {}
    real = replay_report.plot_crossover

    def spy(quantum, rivals, n, points, out_stem, **kw):
        drawn.update(points=points.copy(), label=kw["kappa_label"], quantum=quantum, rivals=dict(rivals))
        return real(quantum, rivals, n, points, out_stem, **kw)

    monkeypatch.setattr(replay_report, "plot_crossover", spy)
    profile = load_profile(ROOT / "calibration" / "example-2core.json")
    dec = replay(TraceReader(ROOT / "hessian_traces" / "example-digits"), profile,
                 ReplayConfig(quantum_model="resources"), progress=False)
    replay_report.write_replay_report(dec, profile, tmp_path, quantum_model="resources", trace_label="example")
    pts = drawn["points"]
    assert drawn["label"].startswith("kappa_eff") and (pts["kappa"] >= dec["kappa"] * (1 - 1e-12)).all()
    assert (pts["kappa"] > 1.5 * dec["kappa"]).any()  # the encoding's alpha matters on these blocks
    # at the drawn kappa_eff the grid's QLSA time is close to the block's own modeled time (the rest: the grid's
    # s = d n against the block's max nonzeros per row); at kappa itself it would be 10-100x too cheap
    for (_, r), k in zip(dec.iterrows(), pts["kappa"]):
        at_eff = drawn["quantum"](int(r["n"]), float(k), float(r["density"])) / r["quantum_s"]
        at_kappa = drawn["quantum"](int(r["n"]), float(r["kappa"]), float(r["density"])) / r["quantum_s"]
        assert 0.4 < at_eff <= 1.0 and at_kappa < 0.1
    assert (tmp_path / "crossover.png").stat().st_size > 0
