"""The crossover map of a resource-model replay draws each block at the condition number its QLSA cost
follows (kappa_eff of its sparse-access encoding), so a marker sits on the side of the break-even line
that the block's own decision says; it maps every block size of the trace."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qlsa_sim.cost.models import effective_kappa, encoded_matrix, seconds_fn
from qlsa_sim.cost.profile import load_profile
from qlsa_sim.errors import InputError
from qlsa_sim.experiments import replay_outputs
from qlsa_sim.experiments.crossover import (
    break_even_kappa,
    break_even_kappa_of_block,
    crossover_grids,
    ratio_grid,
    with_kappa,
)
from qlsa_sim.linalg.features import FeatureConfig, matrix_features, prepare_block
from qlsa_sim.quantum.estimation.resources import estimate_qlsa_resources
from qlsa_sim.schedule.pipeline import SchedulePolicy
from qlsa_sim.schedule.replay import ReplayConfig, replay

ROOT = Path(__file__).resolve().parents[2]


def test_effective_kappa_is_the_one_the_estimator_uses():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((40, 40))
    _, f = prepare_block(M @ M.T / 40, FeatureConfig(reg_eps=0.05))
    res = estimate_qlsa_resources(**encoded_matrix(f), eps=0.01)
    assert effective_kappa(f) == pytest.approx(res.kappa_eff, rel=1e-12)
    assert effective_kappa(f) >= f.kappa  # alpha = s max|A_ij| >= ||A||


def test_resource_map_draws_blocks_at_kappa_eff(tmp_path, monkeypatch):
    drawn = {}
    real = replay_outputs.plot_crossover

    def spy(maps, kappas, dens, points, out_stem, **kw):
        drawn.update(points=points.copy(), label=kw["kappa_label"], sizes=[n for n, _ in maps],
                     grids=dict(maps[-1][1]))
        return real(maps, kappas, dens, points, out_stem, **kw)

    monkeypatch.setattr(replay_outputs, "plot_crossover", spy)
    from dataclasses import replace

    base = load_profile(ROOT / "calibration" / "example-2core.json")  # sparse access: alpha = s max|A_ij|
    profile = replace(base, resources=replace(base.resources, encoding="sparse"))
    dec = replay(ROOT / "hessian_traces" / "example-digits", profile,
                 ReplayConfig(SchedulePolicy(quantum_model="resources")), progress=False)
    replay_outputs.write_replay_report(dec, profile, tmp_path, quantum_model="resources", trace_label="example")
    pts = drawn["points"]
    assert drawn["label"].startswith("kappa_eff") and (pts["kappa"] >= dec["kappa"] * (1 - 1e-12)).all()
    assert (pts["kappa"] > 1.5 * dec["kappa"]).any()  # the encoding's alpha matters on these blocks
    assert set(drawn["grids"]) >= {"cholesky", "lu", "best classical"}
    assert drawn["sizes"] == sorted(set(dec["n"])) and len(drawn["sizes"]) > 1  # every block size, not the largest
    # at the drawn kappa_eff the grid's QLSA time is close to the block's own modeled time (the rest: the grid's
    # s = d n against the block's max nonzeros per row); at kappa itself it would be 10-100x too cheap
    quantum = seconds_fn(profile.quantum_model("resources"))
    for (_, r), k in zip(dec.iterrows(), pts["kappa"]):
        at_eff = quantum(int(r["n"]), float(k), float(r["density"])) / r["quantum_modeled_s"]
        at_kappa = quantum(int(r["n"]), float(r["kappa"]), float(r["density"])) / r["quantum_modeled_s"]
        assert 0.4 < at_eff <= 1.0 and at_kappa < 0.1
    assert (tmp_path / "crossover.png").stat().st_size > 0
    caption = (tmp_path / "crossover.caption.md").read_text()
    assert "Blue: the QLSA is cheaper; red: the classical solver is cheaper" in caption and "kappa_eff" in caption


def test_grids_against_the_cost_models_point_by_point():
    profile = load_profile(ROOT / "calibration" / "example-2core.json")
    quantum = seconds_fn(profile.quantum_model("eq4"))
    lu = seconds_fn(profile.classical_model("lu"))
    grids, kappas, dens = crossover_grids(quantum, [("lu", lu)], 512, resolution=5)
    (label, g), = grids
    assert label == "lu" and g.shape == (5, 5)
    assert g[2, 3] == pytest.approx(np.log10(quantum(512, kappas[3], dens[2]) / lu(512, kappas[3], dens[2])))
    calls = []

    def counted(n, k, d):
        calls.append((n, k, d))
        return quantum(n, k, d)

    both, _, _ = crossover_grids(counted, [("lu", lu), ("lu again", lu)], 512, resolution=5)
    assert len(calls) == 25  # the QLSA's seconds once per grid point, shared by every rival
    np.testing.assert_array_equal(both[1][1], ratio_grid(quantum, lu, 512, kappas, dens))
    # break-even kappa: the QLSA is cheaper below it, not above (on its grid of 321 points per 16 decades)
    be = break_even_kappa(lambda n, k, d: 1e-3 * k, lambda n, k, d: 1.0, 100, 0.5)
    assert 1e3 <= be <= 1e3 * 10 ** (16 / 320)


def test_blocks_are_drawn_at_the_kappa_eff_of_their_chosen_encoding(tmp_path, monkeypatch):
    drawn = {}
    real = replay_outputs.plot_crossover

    def spy(maps, kappas, dens, points, out_stem, **kw):
        drawn.update(points=points.copy())
        return real(maps, kappas, dens, points, out_stem, **kw)

    monkeypatch.setattr(replay_outputs, "plot_crossover", spy)
    profile = load_profile(ROOT / "calibration" / "example-2core.json")
    assert profile.resources.encoding == "cheapest"
    dec = replay(ROOT / "hessian_traces" / "example-digits", profile,
                 ReplayConfig(SchedulePolicy(quantum_model="resources")), progress=False)
    replay_outputs.write_replay_report(dec, profile, tmp_path, quantum_model="resources", trace_label="example")
    np.testing.assert_array_equal(drawn["points"]["kappa"], dec["quantum_kappa_eff"])
    assert set(dec["quantum_encoding"]) <= {"sparse", "dense", "dense_qroam", "factor", "factor_qroam"}


def test_resource_replays_list_every_encoding_and_mark_the_one_decided(tmp_path):
    """encodings.csv: every encoding the block allows, priced by the resource model; the cheapest is the decision's."""
    from qlsa_sim.cost.profile import load_profile
    from qlsa_sim.experiments.replay_outputs import encoding_table
    from qlsa_sim.linalg.features import FeatureConfig
    from qlsa_sim.schedule.pipeline import SchedulePolicy
    from qlsa_sim.schedule.replay import ReplayConfig, replay

    root = Path(__file__).resolve().parents[2]
    profile = load_profile(root / "calibration" / "example-2core.json")
    df = replay(root / "hessian_traces" / "example-digits", profile,
                ReplayConfig(SchedulePolicy(FeatureConfig(psd=True), "resources"), measure_classical=False),
                progress=False)
    enc = encoding_table(df, profile)
    assert enc["id"].is_unique and set(enc["encoding"]) >= {"sparse", "dense"}
    for r in df.to_dict("records"):
        rows = enc[(enc["step"] == r["step"]) & (enc["block"] == r["block"])]
        best = rows[rows["cheapest"]].iloc[0]
        assert best["encoding"] == r["quantum_encoding"] and best["quantum_modeled_s"] == r["quantum_modeled_s"]
        assert (rows["quantum_modeled_s"] >= best["quantum_modeled_s"]).all()
        dense = rows[rows["encoding"] == "dense"].iloc[0]  # alpha = ||A||_F
        assert dense["alpha"] == pytest.approx(r["frobenius_norm"], rel=1e-12)


def test_physical_note_gives_the_largest_blocks_range_or_why_infeasible():
    from qlsa_sim.experiments.replay_outputs import physical_note

    rows = pd.DataFrame({"n": [10, 500, 500], "physical_profile": "surface-p1e-4-1us",
                         "physical_feasible": [True, True, True], "physical_wall_s": [1.0, 3.156e7, 6.312e7],
                         "physical_qubits": [10, 2e6, 3e6], "physical_reason": [None, None, None]})
    note = physical_note(rows)
    assert "n = 500 block takes 3.16e+07 to 6.31e+07 s (1 to 2 years) on 2e+06 to 3e+06 physical qubits" in note
    rows["physical_feasible"] = False
    rows["physical_reason"] = "no factory meets the budget"
    assert "is infeasible: no factory meets the budget" in physical_note(rows)
    assert physical_note(rows.drop(columns=["physical_profile"])) == ""


def _factor_block(eps: float = 0.02, n: int = 24, r: int = 5):
    rng = np.random.default_rng(3)
    M = rng.standard_normal((n, r))
    f = matrix_features(None, FeatureConfig(reg_eps=eps, exact_max_n=4), factor=M, factor_scale=0.5)
    assert f.factor_rank == r and f.density_method == "sampled"  # the factor path (features from the Gram)
    return M, f


@pytest.mark.parametrize("kappa", [1.5, 40.0, 3e4])
def test_with_kappa_on_a_factor_block_is_the_block_with_another_shift(kappa):
    """A factor block at another kappa is 0.5 M M^T + eps' I: its spectrum, Frobenius norm and largest entry equal
    those of that matrix built densely (float64 eigvalsh), and the factor stays for Woodbury and the factor
    encoding."""
    M, f = _factor_block()
    g = with_kappa(f, kappa)
    A = 0.5 * M @ M.T + g.reg_eps * np.eye(M.shape[0])
    lam = np.linalg.eigvalsh(A)
    assert lam[-1] / lam[0] == pytest.approx(kappa, rel=1e-8)
    assert (g.kappa, g.lambda_min, g.lambda_max) == pytest.approx((kappa, lam[0], lam[-1]), rel=1e-8)
    assert g.frobenius_norm == pytest.approx(np.linalg.norm(A), rel=1e-10)
    assert g.max_abs_entry == pytest.approx(np.abs(A).max(), rel=1e-12)
    assert (g.factor_rank, g.factor_frobenius_sq, g.factor_scale) == (f.factor_rank, f.factor_frobenius_sq,
                                                                      f.factor_scale)
    assert (g.n, g.nnz, g.max_nnz_per_row) == (f.n, f.nnz, f.max_nnz_per_row)


def test_with_kappa_on_a_dense_block_keeps_its_entries_and_drops_no_factor_it_lacks():
    rng = np.random.default_rng(4)
    B = rng.standard_normal((30, 30))
    _, f = prepare_block(B @ B.T / 30, FeatureConfig(reg_eps=0.05))
    g = with_kappa(f, 500.0)
    assert (g.kappa, g.lambda_max, g.lambda_min) == pytest.approx((500.0, f.lambda_max, f.lambda_max / 500.0))
    assert (g.frobenius_norm, g.max_abs_entry, g.reg_eps, g.factor_rank) == (f.frobenius_norm, f.max_abs_entry,
                                                                            f.reg_eps, None)


def test_break_even_on_a_factor_block_weighs_woodbury():
    """The classical side of the break-even kappa is its best solver on the block: on a block stored as a factor
    that includes Woodbury (flat in kappa), which a dense copy of the block cannot use."""
    from qlsa_sim.cost.models import ClassicalFlopModel

    _, f = _factor_block()

    class Linear:  # a QLSA whose time grows with kappa: 1e-3 s per unit
        def estimate(self, g):
            return type("E", (), {"seconds": 1e-3 * g.kappa})()

    woodbury = ClassicalFlopModel(a=0.0, b=0.2, solver="woodbury")  # 0.2 s at every kappa
    cg = ClassicalFlopModel(a=0.0, b=2.0, solver="cg")              # 2 s at every kappa
    assert break_even_kappa_of_block(f, Linear(), [cg, woodbury]) == pytest.approx(200.0, rel=0.15)
    dense = replace(f, factor_rank=None, factor_frobenius_sq=None, factor_scale=None)
    assert break_even_kappa_of_block(dense, Linear(), [cg, woodbury]) == pytest.approx(2000.0, rel=0.15)
    # the classical side priced as MEASURED (here 1.7x its model): the QLSA stays cheaper up to 1.7x the kappa
    assert break_even_kappa_of_block(f, Linear(), [cg, woodbury], classical_scale=1.7) == pytest.approx(340.0,
                                                                                                         rel=0.15)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="classical_scale"):
            break_even_kappa_of_block(f, Linear(), [cg, woodbury], classical_scale=bad)


@pytest.mark.parametrize("ranks", [(None, 6), (None, None)])
def test_crossover_draws_woodbury_only_where_a_factor_is_stored_and_says_how_it_is_priced(ranks, monkeypatch):
    """One row of panels per block size: Woodbury is a rival only at a size stored as a factor, and the caption
    then says the grid prices it with its own Gram (the decisions reuse the features' Gram)."""
    drawn = {}
    monkeypatch.setattr(replay_outputs, "plot_crossover",
                        lambda maps, kappas, dens, points, out_stem, **kw: drawn.update(maps=maps, **kw) or [])
    decisions = pd.DataFrame({"n": [20, 40], "kappa": [10.0, 100.0], "density": [0.5, 1.0], "step": [0, 0],
                              "factor_rank": [np.nan if r is None else r for r in ranks]})
    profile = load_profile(ROOT / "calibration/example-2core.json")
    replay_outputs.write_crossover(decisions, profile, "unused", quantum_model="eq4", trace_label="t")
    labels = {n: [label for label, _ in grids] for n, grids in drawn["maps"]}
    assert ("woodbury" in labels[40]) == (ranks[1] is not None) and "woodbury" not in labels[20]
    assert ("computing its own Gram" in drawn["caption"]) == (ranks[1] is not None)
