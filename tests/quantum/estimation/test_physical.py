"""Physical (surface-code) estimates: equal to Qualtran's models called directly on the same counts."""

from __future__ import annotations

import math

import pytest

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.quantum.estimation import physical as ph
from qlsa_sim.quantum.estimation import physical_profiles as pp
from qlsa_sim.quantum.estimation.gf_search import gf_grid_search
from qlsa_sim.quantum.estimation.physical import (
    LogicalCounts,
    max_cycle_time_for,
    max_logical_gate_time_for,
    physical_estimate,
)
from qlsa_sim.quantum.estimation.physical_profiles import (
    IdealizedProfile,
    PhysicalProfile,
    custom_profile,
    get_physical_profile,
    physical_profile_names,
)

# Paper-scale QLSA solve (the report's example) and a small computation the 15-to-1 factories can afford.
PAPER = LogicalCounts(toffoli=3e11, t=1e9, rotations=5e9, clifford=1e13, measurements=1e11, logical_qubits=200)
SMALL = LogicalCounts(toffoli=1e6, t=1e5, rotations=1e4, clifford=1e8, measurements=1e6, logical_qubits=100)
PHYSICAL_FIELDS = (
    "wall_time_s", "physical_qubits", "data_qubits", "factory_qubits", "code_distance", "n_factories", "factory",
    "factory_distances", "n_cycles", "failure_probability", "error_data", "error_distillation",
    "error_rotation_synthesis",
)


def _qualtran_gates(counts: LogicalCounts, eps_syn: float):
    """Rotation synthesis straight from Qualtran (Beverland et al. rotation cost)."""
    from qualtran.resource_counting import GateCounts
    from qualtran.surface_code import AlgorithmSummary, BeverlandEtAlRotationCost
    from qualtran.surface_code.beverland_et_al_model import n_discrete_logical_gates

    tof, t, rot, cl, me = (math.ceil(v) for v in (counts.toffoli, counts.t, counts.rotations, counts.clifford,
                                                       counts.measurements))
    alg = AlgorithmSummary(n_algo_qubits=counts.logical_qubits,
                           n_logical_gates=GateCounts(toffoli=tof, t=t, rotation=rot, clifford=cl, measurement=me))
    return n_discrete_logical_gates(eps_syn=eps_syn, alg=alg, rotation_model=BeverlandEtAlRotationCost)


@pytest.mark.parametrize("n_factories", [1, 4])
def test_gidney_fowler_equals_qualtran_direct(n_factories):
    from qualtran.surface_code import (
        LogicalErrorModel,
        MultiFactory,
        QECScheme,
        get_ccz2t_costs_from_grid_search,
        iter_ccz2t_factories,
        iter_simple_data_blocks,
    )

    prof = get_physical_profile("surface-p1e-4-1us")
    if n_factories != 1:
        prof = custom_profile(prof.cycle_time_s, prof.phys_error, prof.error_budget, n_factories=n_factories)
    est = physical_estimate(PAPER, prof)
    assert est.feasible and est.reason == "" and est.kind == "surface-code" and est.modeled

    eps_syn = prof.error_budget / 3
    gates = _qualtran_gates(PAPER, eps_syn)
    cost, factory, block = get_ccz2t_costs_from_grid_search(
        n_logical_gates=gates,
        n_algo_qubits=200,
        phys_err=1e-4,
        error_budget=prof.error_budget - eps_syn,
        cycle_time_us=1.0,
        factory_iter=tuple(iter_ccz2t_factories(n_factories=n_factories)),
        data_block_iter=tuple(iter_simple_data_blocks(7, 61)),
    )
    base = factory.base_factory if isinstance(factory, MultiFactory) else factory
    assert est.physical_qubits == cost.footprint
    assert est.wall_time_s == pytest.approx(cost.duration_hr * 3600, rel=1e-12)
    assert est.code_distance == block.data_d
    assert est.factory_distances == (base.distillation_l1_d, base.distillation_l2_d)
    assert est.n_factories == n_factories
    assert est.factory_qubits == factory.n_physical_qubits() == n_factories * base.n_physical_qubits()
    assert est.data_qubits + est.factory_qubits == est.physical_qubits
    em = LogicalErrorModel(qec_scheme=QECScheme.make_gidney_fowler(), physical_error=1e-4)
    assert est.error_distillation == pytest.approx(factory.factory_error(n_logical_gates=gates, logical_error_model=em))
    assert est.error_data + est.error_distillation == pytest.approx(cost.failure_prob, rel=1e-12)
    assert est.error_rotation_synthesis == pytest.approx(eps_syn)
    assert est.failure_probability == pytest.approx(cost.failure_prob + eps_syn) and est.failure_probability <= 0.01
    assert est.n_cycles * 1e-6 == pytest.approx(est.wall_time_s, rel=1e-12)
    # 5e9 rotations at eps = (0.01/3)/5e9: ceil(0.53 log2(1/eps) + 5.3) = 27 T each (Beverland Eq. D4)
    assert est.t_per_rotation == 27 and est.n_t == 10**9 + 27 * 5 * 10**9 and est.n_ccz == 3 * 10**11


def test_beverland_equals_brute_force_over_qualtran_models():
    from qualtran.surface_code import (
        AlgorithmSummary,
        FastDataBlock,
        FifteenToOne,
        LogicalErrorModel,
        MultiFactory,
        PhysicalCostModel,
        PhysicalParameters,
        QECScheme,
    )

    prof = get_physical_profile("beverland-p1e-4-400ns")
    assert (prof.phys_error, prof.cycle_time_us) == pytest.approx((1e-4, 0.4))  # Qualtran's Beverland parameters
    est = physical_estimate(SMALL, prof)
    assert est.feasible, est.reason

    eps_syn = prof.error_budget / 3
    budget = prof.error_budget - eps_syn
    gates = _qualtran_gates(SMALL, eps_syn)
    algo = AlgorithmSummary(n_algo_qubits=100, n_logical_gates=gates)
    qec = QECScheme.make_beverland_et_al()
    em = LogicalErrorModel(qec_scheme=qec, physical_error=1e-4)
    best = None
    for ds in ((7, 3, 3), (9, 3, 3), (11, 5, 5), (17, 7, 7)):
        for d in range(3, 61, 2):
            f, b = FifteenToOne(*ds), FastDataBlock(data_d=d)
            k = max(1, math.ceil(f.n_cycles(gates, em) / b.n_cycles(gates, em)))
            m = PhysicalCostModel(physical_params=PhysicalParameters(1e-4, prof.cycle_time_us), data_block=b,
                                  factory=MultiFactory(f, k), qec_scheme=qec)
            if f.factory_error(gates, em) <= budget and m.error(algo) <= budget:
                c = m.n_phys_qubits(algo) * m.n_cycles(algo)
                if best is None or c < best[0]:
                    best = (c, ds, d, k, m)
    _, ds, d, k, m = best
    assert (est.factory_distances, est.code_distance, est.n_factories) == (ds, d, k)
    assert est.physical_qubits == m.n_phys_qubits(algo)
    assert est.n_cycles == m.n_cycles(algo)
    assert est.wall_time_s == pytest.approx(m.duration_hr(algo) * 3600, rel=1e-12)
    assert est.error_data + est.error_distillation == pytest.approx(m.error(algo), rel=1e-12)
    assert est.failure_probability <= prof.error_budget


def _assert_infeasible(est, *words):
    assert est.feasible is False and est.reason
    for w in words:
        assert w in est.reason
    for f in PHYSICAL_FIELDS:
        assert getattr(est, f) is None, f


def test_infeasible_points_are_reported_not_raised():
    from qualtran.surface_code import get_ccz2t_costs_from_grid_search

    # p = 1e-3: Gidney-Fowler's two-level factory cannot distil 3e11 CCZ within the budget.
    est = physical_estimate(PAPER, "surface-p1e-3-1us")
    _assert_infeasible(est, "distillation", "p = 0.001")
    with pytest.raises(ValueError, match="No valid factories"):  # Qualtran agrees, even with the whole budget
        get_ccz2t_costs_from_grid_search(n_logical_gates=_qualtran_gates(PAPER, 0.01 / 3), n_algo_qubits=200,
                                         phys_err=1e-3, error_budget=0.01)
    _assert_infeasible(physical_estimate(PAPER, "beverland-p1e-4-400ns"), "15-to-1")
    # at / above threshold, gigantic counts, rotation synthesis exhausting the budget
    _assert_infeasible(physical_estimate(SMALL, custom_profile(1e-6, 0.02, 0.01)), "threshold")
    _assert_infeasible(physical_estimate(SMALL, custom_profile(1e-6, 0.02, 0.01, model="beverland")), "threshold")
    # just below threshold Qualtran's 15-to-1 noise model breaks down (probabilities > 1, NaN): still no raise
    _assert_infeasible(physical_estimate(PAPER, custom_profile(1e-6, 0.009, 0.01, model="beverland")))
    for tof in (1e20, 1e300):
        huge = LogicalCounts(toffoli=tof, t=0, rotations=1e12, clifford=0, measurements=0, logical_qubits=10**6)
        _assert_infeasible(physical_estimate(huge, "surface-p1e-4-1us"))
    greedy = LogicalCounts(toffoli=10, t=0, rotations=100, clifford=0, measurements=0, logical_qubits=5,
                           rotation_error=1e-3)
    _assert_infeasible(physical_estimate(greedy, "surface-p1e-4-1us"), "rotation synthesis")


def test_huge_but_feasible_counts():
    big = LogicalCounts(toffoli=1e15, t=1e12, rotations=1e12, clifford=1e17, measurements=1e15, logical_qubits=2000)
    est = physical_estimate(big, "surface-p1e-4-1us")
    assert est.feasible and est.failure_probability <= 0.01
    assert est.wall_time_s > 1e9 and est.physical_qubits > 0


def test_rotation_error_is_used_per_rotation():
    c = LogicalCounts(toffoli=1e6, t=0, rotations=1e4, clifford=0, measurements=0, logical_qubits=50,
                      rotation_error=1e-10)
    est = physical_estimate(c, "surface-p1e-4-1us")
    assert est.feasible
    assert est.error_rotation_synthesis == pytest.approx(1e-10 * 1e4)
    assert est.t_per_rotation == math.ceil(0.53 * math.log2(1e10) + 5.3)


def test_idealized_profile():
    prof = get_physical_profile("idealized-attosecond")
    assert isinstance(prof, IdealizedProfile) and prof.kind == "idealized-logical" and prof.gate_time_s == 1e-18
    est = physical_estimate(PAPER, prof)
    assert est.kind == "idealized-logical" and est.feasible and "idealized" in est.reason
    assert est.wall_time_s == pytest.approx(PAPER.logical_gates * 1e-18)
    assert all(getattr(est, f) is None for f in PHYSICAL_FIELDS if f != "wall_time_s")
    seq = LogicalCounts(toffoli=1, t=1, rotations=1, clifford=1, measurements=1, logical_qubits=1, sequential_gates=1e6)
    assert physical_estimate(seq, prof).wall_time_s == pytest.approx(1e-12)


def test_wall_time_proportional_to_cycle_time():
    a = physical_estimate(PAPER, custom_profile(1e-6, 1e-4, 0.01))
    b = physical_estimate(PAPER, custom_profile(3.7e-7, 1e-4, 0.01))
    assert (a.n_cycles, a.physical_qubits, a.code_distance) == (b.n_cycles, b.physical_qubits, b.code_distance)
    assert b.wall_time_s / a.wall_time_s == pytest.approx(0.37, rel=1e-12)


@pytest.mark.parametrize(
    "target, counts, model", [(86400.0, PAPER, "gidney-fowler"), (3.0e7, PAPER, "gidney-fowler"),
                              (3600.0, SMALL, "beverland")]
)
def test_max_cycle_time_solves_time_equals_target(target, counts, model):
    c = max_cycle_time_for(target, counts, 1e-4, 0.01, model=model)
    assert c is not None and c > 0
    at = physical_estimate(counts, custom_profile(c, 1e-4, 0.01, model=model))
    assert at.wall_time_s == pytest.approx(target, rel=1e-6)
    assert physical_estimate(counts, custom_profile(c * (1 + 1e-5), 1e-4, 0.01, model=model)).wall_time_s > target


def test_max_cycle_time_none_when_infeasible_and_validation():
    assert max_cycle_time_for(86400.0, PAPER, 1e-3, 0.01) is None
    zero = LogicalCounts(toffoli=0, t=0, rotations=0, clifford=0, measurements=0, logical_qubits=1)
    assert max_cycle_time_for(1.0, zero, 1e-4, 0.01) == math.inf  # no magic states: any cycle time works
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(InputError):
            max_cycle_time_for(bad, PAPER, 1e-4, 0.01)
    with pytest.raises(InputError):
        max_cycle_time_for(10.0, PAPER, 0.7, 0.01)


def test_max_logical_gate_time():
    assert max_logical_gate_time_for(1.0, 4e12) == pytest.approx(2.5e-13)
    for args in ((0.0, 1.0), (1.0, 0.0), (math.inf, 1.0), (1.0, -3.0)):
        with pytest.raises(InputError):
            max_logical_gate_time_for(*args)


KEYS = ("phys_error", "cycle_time_s", "error_budget", "factory", "n_factories", "data_block", "qec_scheme",
        "rotation_cost")


def test_profiles_carry_citations():
    from qualtran.surface_code import PhysicalParameters

    names = physical_profile_names()
    assert names[0] == pp.DEFAULT_PHYSICAL_PROFILE and len(set(names)) == len(names)
    assert {"idealized-attosecond", "surface-p1e-3-1us", "surface-p1e-4-1us", "surface-p1e-4-100ns"} <= set(names)
    for name in names:
        prof = get_physical_profile(name)
        assert prof.name == name and prof.description and prof.kind in pp.KINDS
        keys = ("gate_time_s",) if isinstance(prof, IdealizedProfile) else KEYS
        for k in keys:
            assert len(prof.citation(k)) > 20, (name, k)
    gf = get_physical_profile("surface-p1e-3-1us")
    assert (gf.phys_error, gf.cycle_time_us) == (PhysicalParameters.make_gidney_fowler().physical_error, 1.0)
    assert "1812.01238" in gf.citation("factory") and "1905.09749" in gf.citation("cycle_time_s")
    assert get_physical_profile("surface-p1e-4-100ns").cycle_time_s == 100e-9
    assert "2211.07629" in get_physical_profile("surface-p1e-4-100ns").citation("cycle_time_s")
    assert get_physical_profile(gf) is gf
    with pytest.raises(UnknownNameError, match="physical profile"):
        get_physical_profile("quantum-supremacy")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"phys_error": 0.0}, {"phys_error": 0.5}, {"phys_error": -1e-3}, {"phys_error": math.nan},
        {"cycle_time_s": 0.0}, {"cycle_time_s": -1e-6}, {"cycle_time_s": math.inf},
        {"error_budget": 0.0}, {"error_budget": 1.0}, {"error_budget": math.nan}, {"error_budget": "x"},
        {"n_factories": 0}, {"n_factories": 2.5}, {"model": "beverland", "n_factories": 2},
    ],
)
def test_custom_profile_validates(kwargs):
    args = {"cycle_time_s": 1e-6, "phys_error": 1e-3, "error_budget": 0.01}
    args.update(kwargs)
    with pytest.raises(InputError):
        custom_profile(**args)


def test_custom_profile_ok_and_unknown_model():
    p = custom_profile(2e-7, 5e-4, 0.05, n_factories=3)
    assert isinstance(p, PhysicalProfile) and p.kind == "surface-code" and p.n_factories == 3
    assert p.citation("phys_error").startswith("user-supplied") and "1812.01238" in p.citation("factory")
    with pytest.raises(UnknownNameError, match="surface-code model"):
        custom_profile(1e-6, 1e-3, 0.01, model="color-code")


@pytest.mark.parametrize(
    "kwargs",
    [{"toffoli": -1.0}, {"t": math.nan}, {"rotations": math.inf}, {"logical_qubits": 0},
     {"logical_qubits": 1.5}, {"logical_qubits": True}, {"rotation_error": 0.0}, {"rotation_error": 1.0},
     {"sequential_gates": -2.0}, {"clifford": "many"}],
)
def test_logical_counts_validate(kwargs):
    args = {"toffoli": 1.0, "t": 1.0, "rotations": 1.0, "clifford": 1.0, "measurements": 1.0, "logical_qubits": 3}
    args.update(kwargs)
    with pytest.raises(InputError):
        LogicalCounts(**args)


def test_bad_arguments_and_cache():
    with pytest.raises(InputError):
        physical_estimate({"toffoli": 1}, "surface-p1e-4-1us")  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError):
        physical_estimate(SMALL, "no-such-machine")
    before = ph._surface_estimate.cache_info().hits
    a = physical_estimate(SMALL, "surface-p1e-4-1us")
    b = physical_estimate(LogicalCounts(toffoli=999_999.2, t=1e5, rotations=1e4, clifford=1e8, measurements=1e6,
                                        logical_qubits=100), "surface-p1e-4-1us")  # rounds up to the same counts
    assert a == b and ph._surface_estimate.cache_info().hits >= before + 1



@pytest.mark.parametrize("profile", ["surface-p1e-4-1us", "surface-p1e-3-1us", "beverland-p1e-4-400ns"])
def test_physical_estimates_come_from_disk_in_a_later_process(profile, tmp_path, monkeypatch):
    """A later process (memory cache cleared) reads the estimate back from disk, equal to the computed one,
    infeasible points and their reasons included, without running Qualtran's models; another code or package
    version is another key."""
    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(tmp_path))
    ph._surface_estimate.cache_clear()
    ref = physical_estimate(PAPER, profile)
    assert len(list((tmp_path / "physical").iterdir())) == 1
    ph._surface_estimate.cache_clear()
    monkeypatch.setattr(ph, "_compute_surface_estimate", lambda *a: pytest.fail("recomputed"))
    assert physical_estimate(PAPER, profile) == ref
    ph._surface_estimate.cache_clear()
    monkeypatch.setattr(ph, "physical_identity", lambda: {"qualtran": "0.0", "qlsa_sim": "x", "source": "y"})
    with pytest.raises(pytest.fail.Exception):
        physical_estimate(PAPER, profile)
    ph._surface_estimate.cache_clear()


def test_profiles_take_qualtrans_parameters_and_keep_them_on_disk(tmp_path, monkeypatch):
    """The built-in surface-code profiles carry Qualtran's PhysicalParameters (p and cycle time), read from
    Qualtran once and then from disk: a later process builds them with Qualtran's surface_code unimportable."""
    import sys

    from qualtran.surface_code import PhysicalParameters as Made

    monkeypatch.setenv("QLSA_SIM_CACHE_DIR", str(tmp_path))
    pp.qualtran_parameters.cache_clear()
    got = pp.qualtran_parameters()
    made = {"gidney-fowler": Made.make_gidney_fowler(),
            "gidney-fowler-optimistic": Made.make_gidney_fowler(optimistic_err_rate=True),
            "beverland": Made.make_beverland_et_al("superconducting"),
            "beverland-optimistic": Made.make_beverland_et_al("superconducting", optimistic_err_rate=True)}
    assert {k: (v.physical_error, v.cycle_time_us) for k, v in got.items()} == \
        {k: (m.physical_error, m.cycle_time_us) for k, m in made.items()}
    assert get_physical_profile("surface-p1e-4-1us").phys_error == made["gidney-fowler-optimistic"].physical_error
    pp.qualtran_parameters.cache_clear()
    monkeypatch.setitem(sys.modules, "qualtran.surface_code", None)  # importing it now raises ImportError
    assert pp.qualtran_parameters() == got
    pp.qualtran_parameters.cache_clear()


# Counts from tiny to beyond the p = 1e-3 distillation floor; rotations 0 and many; 1 and several factories.
GRID_CASES = [
    (LogicalCounts(toffoli=10, t=3, rotations=0, clifford=50, measurements=5, logical_qubits=4), 1e-3, 1.0, 1),
    (SMALL, 1e-3, 1.0, 1),
    (SMALL, 1e-4, 0.4, 3),
    (PAPER, 1e-4, 1.0, 1),
    (PAPER, 1e-4, 1.0, 4),
    (PAPER, 5e-4, 2.0, 1),
    (PAPER, 1e-3, 1.0, 1),   # infeasible: no factory meets the budget
    (LogicalCounts(toffoli=4e13, t=0, rotations=1e12, clifford=0, measurements=0, logical_qubits=40_000), 1e-4, 1.0, 2),
]


@pytest.mark.parametrize("counts,p,cycle_us,k", GRID_CASES)
def test_fast_grid_search_equals_qualtran_grid_search(counts, p, cycle_us, k):
    """``gf_grid_search`` (each factory and data block evaluated once) returns exactly Qualtran's
    ``get_ccz2t_costs_from_grid_search`` answer on the grid ``physical_estimate`` searches."""
    from qualtran.surface_code import get_ccz2t_costs_from_grid_search

    budget = 0.01 - 0.01 / 3
    gates = _qualtran_gates(counts, 0.01 / 3 if counts.rotations else 0.0)
    factories, blocks = ph._gf_grid(k)
    args = dict(n_logical_gates=gates, n_algo_qubits=counts.logical_qubits, phys_err=p, error_budget=budget,
                cycle_time_us=cycle_us, factory_iter=factories, data_block_iter=blocks)
    try:
        ref = get_ccz2t_costs_from_grid_search(**args)
    except ValueError:
        with pytest.raises(ValueError, match="No valid factories"):
            gf_grid_search(gates, counts.logical_qubits, p, cycle_us, budget, factories, blocks)
        return
    got = gf_grid_search(gates, counts.logical_qubits, p, cycle_us, budget, factories, blocks)
    assert got[1] == ref[1] and got[2] == ref[2]  # the same factory and data block (attrs equality)
    assert (got[0].failure_prob, got[0].footprint, got[0].duration_hr) == \
        (ref[0].failure_prob, ref[0].footprint, ref[0].duration_hr)  # bit for bit


def test_profile_names_are_checked_without_qualtran():
    """A parent process that only dispatches a sweep validates the profile name without importing Qualtran; the
    names listed are exactly the profiles built."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from qlsa_sim.quantum.estimation.physical_profiles import check_physical_profile, physical_profile_names\n"
            "for n in physical_profile_names(): check_physical_profile(n)\n"
            "assert 'qualtran' not in sys.modules, 'qualtran imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert {get_physical_profile(n).name for n in physical_profile_names()} == set(physical_profile_names())
    assert pp.surface_code_profile_names() == tuple(n for n in physical_profile_names()
                                                    if get_physical_profile(n).kind == "surface-code")
    with pytest.raises(UnknownNameError, match="physical profile"):
        pp.check_physical_profile("surface-p1e-9-1as")
    pp.check_physical_profile(custom_profile(1e-6, 1e-4, 0.01))  # a profile object passes as it is
