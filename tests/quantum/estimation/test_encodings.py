"""Encoding registry, fixed sparse-access query count, dense / factor counting bloqs, Jennings readings."""

from __future__ import annotations

import math

import pytest

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.quantum.estimation.counting import dense_step_counts, factor_step_counts, step_counts
from qlsa_sim.quantum.estimation.encodings import ENCODINGS, MatrixInfo, applicable_encodings, encoding_choice
from qlsa_sim.quantum.estimation.presets import get_preset
from qlsa_sim.quantum.estimation.registers import phase_bits_for, rotation_synthesis_t
from qlsa_sim.quantum.estimation.resources import (
    estimate_for_encoding,
    estimate_qlsa_resources,
    qlsa_resources_all_encodings,
    rank_by_total_gates,
)


def _qualtran(bloq):
    from qualtran.resource_counting import QECGatesCost, get_cost_value

    return get_cost_value(bloq, QECGatesCost())


# --------------------------------------------------------------------------- counting bug: 6 lookups per query


@pytest.mark.parametrize("n,s,b", [(8, 16, 20), (8, 13, 9), (5, 1, 6), (14, 9800, 30)])
def test_sparse_query_equals_documented_formula(n, s, b):
    # bloqs.py docstring: Toffoli = 6 (N s - 2) + 2 U(s) + 2 n; bare T = 2 T_U(s); rotations = 2 b + 2 R_U(s) + 1
    from qualtran.bloqs.state_preparation.prepare_uniform_superposition import PrepareUniformSuperposition

    big_l = 2**n * s
    if s > 1:
        u = _qualtran(PrepareUniformSuperposition(s))
        tof_u, t_u, rot_u = u.toffoli + u.and_bloq + u.cswap, u.t, u.rotation
    else:
        tof_u = t_u = rot_u = 0
    step = step_counts(n, s, b)
    assert step.toffoli == 6 * (big_l - 2) + 2 * tof_u + 2 * n
    assert step.t_count == 2 * t_u == 0
    assert step.rotations == 2 * b + 2 * rot_u + 1
    assert step.t_all == 4 * step.toffoli  # t_all: every Toffoli-class gate as 4 T


def test_paper_scale_query_record():
    # n = 12560 -> 14 index bits (N = 16384), s = 9800, b = 30: the number quoted in the bloqs docstring
    assert step_counts(14, 9800, 30).toffoli == 963_379_280


def test_call_graphs_add_equal_bloqs():
    from qualtran.bloqs.data_loading import QROM

    from qlsa_sim.quantum.estimation.bloqs import SignedEntryOracle, _calls

    q = QROM.build_from_bitsize((64,), (5,))
    assert q.adjoint() is q  # why a dict literal collapsed
    assert _calls((q, 1), (q.adjoint(), 1)) == {q: 2}
    graph = SignedEntryOracle(4, 4, 5).build_call_graph(None)
    assert sum(v for k, v in graph.items() if isinstance(k, QROM)) == 2


# --------------------------------------------------------------------------- dense / factor bloqs


def test_multiplexed_state_prep_matches_qualtran_state_prep():
    # select_bitsize = 0: Qualtran's StatePreparationViaRotations minus its phase layer (one PRGA over 2^m
    # angles); Qualtran's symbolic amplitude part is one PRGA over 2^m angles where the tree has 2^m - 1 in
    # m levels, so the Toffoli counts agree to within m (b - 2) + 2 m (one adder and ~2 And per level).
    from qualtran.bloqs.state_preparation import StatePreparationViaRotations
    from qualtran.bloqs.state_preparation.state_preparation_via_rotation import PRGAViaPhaseGradient
    from qualtran.symbolics import HasLength, Shaped

    from qlsa_sim.quantum.estimation.bloqs import MultiplexedStatePreparation

    m, b = 6, 12
    ours = _qualtran(MultiplexedStatePreparation(0, m, b))
    theirs = _qualtran(StatePreparationViaRotations(phase_bitsize=b, state_coefficients=HasLength(2**m)))
    phase = _qualtran(PRGAViaPhaseGradient(selection_bitsize=m, phase_bitsize=b, rom_values=Shaped((2**m,)),
                                           control_bitsize=1))

    def tof(g):
        return g.toffoli + g.and_bloq + g.cswap

    assert abs(tof(ours) - (tof(theirs) - tof(phase))) <= m * (b - 2) + 2 * m
    assert ours.rotation == 0  # phase-gradient rotations: no arbitrary-angle rotation


@pytest.mark.parametrize("nb", [4, 10, 14])
def test_dense_query_counts_by_hand(nb):
    # per level q of a tree over 2^sel x 2^q angles: QROM twice (2 (2^(sel+q) - 2 + 1) And), adder b - 2
    b = 20
    n_big = 2**nb
    lookups = sum(2 * (2**q - 1) for q in range(nb)) + sum(2 * (n_big * 2**q - 1) for q in range(nb))
    adders = 2 * nb * (b - 2)
    step = dense_step_counts(nb, b)
    assert step.toffoli == lookups + adders + 2 * (nb - 1)  # + projector phase: 2 MultiControlX on nb controls
    assert step.rotations == 1  # only the projector's Rz
    assert 2 * n_big * (n_big - 1) <= step.toffoli <= 2 * n_big * n_big + 2 * nb * b + 2 * n_big


def test_qroam_trades_qubits_for_toffolis():
    qrom, qroam = dense_step_counts(14, 30, "qrom"), dense_step_counts(14, 30, "qroam")
    assert qroam.t_all < qrom.t_all / 100
    assert qroam.qubits > 100 * qrom.qubits


def test_factor_counts_scale_with_rank():
    small, big = factor_step_counts(14, 6, 30), factor_step_counts(14, 8, 30)
    # lookups ~ 4 N r (two multiplexed row preparations of N x r angles, each computed and uncomputed)
    assert 3.5 < big.toffoli / small.toffoli < 4.1
    assert 4 * 2**14 * (2**8 - 1) <= big.toffoli
    no_shift = factor_step_counts(14, 8, 30, has_shift=False)
    assert no_shift.rotations == big.rotations - 2  # the LCU's PREPARE and its inverse
    assert no_shift.toffoli < big.toffoli  # controlled swaps and one more control per lookup


# --------------------------------------------------------------------------- MatrixInfo and the registry


def _paper_info(**kw) -> MatrixInfo:
    base = dict(n=12560, sigma_min=1.0, sigma_max=1e4, nnz_per_row=9800, max_abs_entry=50e4 / 9800,
                frobenius_norm=1.5e4)
    base.update(kw)
    return MatrixInfo(**base)


def test_registry_alphas():
    info = _paper_info(factor_rank=64, factor_frobenius_sq=7e3, factor_scale=2.0, shift=1.0)
    got = {c.name: c for c in applicable_encodings(info)}
    assert tuple(got) == ENCODINGS
    assert got["sparse"].alpha == pytest.approx(50e4)  # s max|A_ij|
    assert got["dense"].alpha == got["dense_qroam"].alpha == 1.5e4  # ||A||_F
    assert got["factor"].alpha == pytest.approx(2.0 * 7e3 + 1.0)  # scale ||M||_F^2 + shift
    for c in got.values():
        assert c.kappa_eff == pytest.approx(c.alpha / info.sigma_min) and c.alpha_over_norm >= 1.0
    only_dense = MatrixInfo(n=100, sigma_min=0.1, sigma_max=1.0, frobenius_norm=3.0)
    assert [c.name for c in applicable_encodings(only_dense)] == ["dense", "dense_qroam"]
    with pytest.raises(InputError, match="does not apply"):
        encoding_choice("sparse", only_dense)
    with pytest.raises(UnknownNameError):
        encoding_choice("hhl", only_dense)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(n=0, sigma_min=1.0, sigma_max=2.0), "n"),
        (dict(n=4, sigma_min=3.0, sigma_max=2.0), "exceeds sigma_max"),
        (dict(n=4, sigma_min=0.0, sigma_max=2.0), "sigma_min"),
        (dict(n=4, sigma_min=1.0, sigma_max=2.0, nnz_per_row=5), "exceeds n"),
        (dict(n=4, sigma_min=1.0, sigma_max=2.0, nnz_per_row=2, max_abs_entry=0.5), "s\\*max"),
        (dict(n=4, sigma_min=1.0, sigma_max=2.0, frobenius_norm=1.0), "frobenius_norm"),
        (dict(n=4, sigma_min=1.0, sigma_max=2.0, frobenius_norm=5.0), "frobenius_norm"),
        (dict(n=4, sigma_min=1.0, sigma_max=2.0, factor_rank=2), "all of"),
        (dict(n=4, sigma_min=0.5, sigma_max=2.0, factor_rank=2, factor_frobenius_sq=2.0, factor_scale=1.0,
              shift=1.0), "below shift"),
        (dict(n=4, sigma_min=1.0, sigma_max=5.0, factor_rank=2, factor_frobenius_sq=2.0, factor_scale=1.0,
              shift=1.0), "exceeds scale"),
        (dict(n=4, sigma_min=1.0, sigma_max=2.0, factor_rank=2, factor_frobenius_sq=2.0, factor_scale=1.0,
              shift=-1.0), "shift"),
        (dict(n=4, sigma_min=float("nan"), sigma_max=2.0), "sigma_min"),
        (dict(n=4, sigma_min=1.0, sigma_max=2.0, factor_rank=2, factor_frobenius_sq=2.0, factor_scale=1.0,
              shift=0.0), "singular"),
    ],
)
def test_matrix_info_validation(kw, match):
    with pytest.raises(InputError, match=match):
        MatrixInfo(**kw)


def test_bits_budget():
    # phase bits: levels * queries * pi * 2^-(b+1) <= eps / 4, and one bit fewer would not do
    for eps, q, lev in [(1e-2, 1e6, 28), (1e-3, 50.0, 4), (0.1, 1.0, 1)]:
        b = phase_bits_for(eps, q, lev)
        assert lev * q * math.pi * 2.0 ** -(b + 1) <= eps / 4
        assert b == 3 or lev * q * math.pi * 2.0 ** -b > eps / 4
    assert rotation_synthesis_t(1e-10) == math.ceil(3 * math.log2(1e10)) == 100


def test_all_encodings_and_ranking():
    info = _paper_info(n=4096, nnz_per_row=2000, max_abs_entry=20.0 / 2000 * 1e4 / 10, frobenius_norm=1.5e4,
                       sigma_max=1e4)
    rs = qlsa_resources_all_encodings(info, 1e-2)
    assert [r.encoding for r in rs] == ["sparse", "dense", "dense_qroam"]
    ranked = rank_by_total_gates(rs)
    assert [r.total_gates for r in ranked] == sorted(r.total_gates for r in rs)
    assert [r.t_equivalent for r in rank_by_total_gates(rs, "t_equivalent")] == sorted(r.t_equivalent for r in rs)
    for r in rs:
        assert r.kappa == pytest.approx(1e4) and r.kappa_eff == pytest.approx(r.alpha / 1.0)
        assert r.t_equivalent == pytest.approx(r.t_count + 4 * r.toffoli + r.t_per_rotation * r.rotations)
        assert r.logical_qubits == r.qubits > 0 and r.measurements > 0 and r.modeled
        assert r.encoding in r.method
    with pytest.raises(InputError, match="key"):
        rank_by_total_gates(rs, "depth")
    with pytest.raises(InputError, match="no block encoding"):
        qlsa_resources_all_encodings(MatrixInfo(n=4, sigma_min=1.0, sigma_max=2.0), 1e-2)


def test_estimate_with_encoding_argument():
    legacy = estimate_qlsa_resources(1000, 10, 50.0, 1e-2, max_abs_entry=0.8, lambda_min=0.02)
    sparse = estimate_qlsa_resources(1000, 10, 50.0, 1e-2, max_abs_entry=0.8, lambda_min=0.02, encoding="sparse")
    assert legacy.encoding == sparse.encoding == "sparse"
    assert sparse.queries == pytest.approx(legacy.queries) and sparse.toffoli == pytest.approx(legacy.toffoli)
    dense = estimate_qlsa_resources(1000, 10, 50.0, 1e-2, lambda_min=0.02, encoding="dense", frobenius_norm=2.5)
    assert dense.alpha == 2.5 and dense.kappa_eff == pytest.approx(125.0) and dense.encoding == "dense"
    assert dense.queries == pytest.approx(get_preset("jennings2023_v1").queries(125.0, 1e-2))
    info = MatrixInfo(n=1000, sigma_min=0.02, sigma_max=1.0, nnz_per_row=10, frobenius_norm=2.5)
    assert estimate_for_encoding(info, 1e-2, encoding="dense") == dense
    with pytest.raises(InputError, match="lambda_min or lambda_max"):
        estimate_qlsa_resources(1000, 10, 50.0, 1e-2, encoding="dense", frobenius_norm=2.5)
    with pytest.raises(InputError, match="does not match kappa"):
        estimate_qlsa_resources(1000, 10, 50.0, 1e-2, lambda_min=0.1, lambda_max=1.0, encoding="dense",
                                frobenius_norm=2.5)
    with pytest.raises(InputError, match="does not apply"):
        estimate_qlsa_resources(1000, 10, 50.0, 1e-2, lambda_min=0.02, encoding="factor")


def test_dense_beats_sparse_at_paper_like_point():
    # ||A||_F ~ 1.5 ||A||_2 and s max|A_ij| ~ 50 ||A||_2: kappa_eff 33x smaller, per-query cost similar
    rs = {r.encoding: r for r in qlsa_resources_all_encodings(_paper_info(), 1e-2)}
    assert rs["sparse"].kappa_eff / rs["dense"].kappa_eff == pytest.approx(50 / 1.5)
    assert rs["dense"].t_equivalent < rs["sparse"].t_equivalent / 10
    assert rs["dense_qroam"].t_equivalent < rs["dense"].t_equivalent / 100


# --------------------------------------------------------------------------- Jennings readings


def test_jennings_split_reading_by_hand():
    # Theorem 1 at cond(A) = 100, alpha/||A|| = 5 (kappa_eff = 500), eps = 0.01, term by term:
    k, a, e = 100.0, 5.0, 0.01
    big_l = math.log(203.0)  # ln(2k + 3)
    t1 = (1741 * a * math.e / 500) * math.sqrt(k * k + 1) * ((133 / 125 + 4 / (25 * k ** (1 / 3))) * math.pi * big_l + 1)
    t2 = (351 / 50) * big_l**2 * (math.log(451 * big_l**2 / e) + 1)
    t3 = a * k * math.log(32 / e)
    split = (t1 + t2 + t3) / (0.39 - 0.201 * e)
    assert split == pytest.approx(253950.468339, rel=1e-9)  # the number itself, for the record
    p = get_preset("jennings2023_v1_alpha_split")
    assert p.alpha_split and p.queries_for(100.0, 500.0, 0.01) == pytest.approx(split, rel=1e-12)
    merged = get_preset("jennings2023_v1").queries_for(100.0, 500.0, 0.01)
    assert merged == pytest.approx(get_preset("jennings2023_v1").queries(500.0, 0.01), rel=1e-15)
    assert merged == pytest.approx(323169.221224, rel=1e-9)
    # through the estimator: s max|A_ij| = 5, sigma_max = 1, sigma_min = 0.01
    r = estimate_qlsa_resources(1000, 10, 100.0, 0.01, "jennings2023_v1_alpha_split", max_abs_entry=0.5,
                                lambda_max=1.0)
    assert r.kappa_eff == pytest.approx(500.0) and r.queries == pytest.approx(split, rel=1e-12)
    assert "alpha split" in r.method


def test_merged_reading_bounds_the_split_one():
    split, merged = get_preset("jennings2023_v1_alpha_split"), get_preset("jennings2023_v1")
    for k in (4.0, 30.0, 1e3, 1e5):
        for a in (1.0, 1.5, 10.0, 50.0):
            for e in (1e-6, 1e-2, 0.2):
                s, m = split.queries_for(k, a * k, e), merged.queries_for(k, a * k, e)
                assert s <= m * (1 + 1e-12)
                if a == 1.0:
                    assert s == pytest.approx(m, rel=1e-12)
    with pytest.raises(InputError, match="below kappa"):
        split.queries_for(100.0, 50.0, 0.01)
