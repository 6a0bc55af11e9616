"""Full-scale counting path: Qualtran bloqs, resources, growth with kappa, s and eps."""

from __future__ import annotations

import pytest

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.quantum.estimation.counting import block_encoding_counts, step_counts
from qlsa_sim.quantum.estimation.presets import get_preset
from qlsa_sim.quantum.estimation.registers import entry_bits_for, index_bits
from qlsa_sim.quantum.estimation.resources import QLSAResources, estimate_qlsa_resources


def test_step_counts_structure():
    # QROM over N*s entries: Toffoli-equivalents grow linearly in N*s (unary iteration, ~1 And per entry)
    a = step_counts(8, 16, 20)
    b = step_counts(8, 32, 20)
    c = step_counts(9, 16, 20)
    assert b.toffoli / a.toffoli == pytest.approx(2.0, rel=0.1)
    assert c.toffoli / a.toffoli == pytest.approx(2.0, rel=0.1)
    # the data QROM has ~6 lookups of N*s entries (entry oracle compute/uncompute, 2 index oracles x 2)
    assert 5.0 * 256 * 16 < a.toffoli < 7.0 * 256 * 16 + 500
    assert a.rotations >= 2 * 20  # 20 controlled Ry, each 2 Ry
    assert step_counts(8, 16, 20) is a  # cached on structure
    assert block_encoding_counts(8, 16, 20).toffoli < a.toffoli  # step = encoding + projector phase


def test_counts_grow_with_kappa_s_eps():
    base = estimate_qlsa_resources(4096, 64, 100.0, 1e-3)
    more_k = estimate_qlsa_resources(4096, 64, 1000.0, 1e-3)
    more_s = estimate_qlsa_resources(4096, 512, 100.0, 1e-3)
    more_e = estimate_qlsa_resources(4096, 64, 100.0, 1e-6)
    for attr in ("queries", "t_equivalent", "toffoli", "clifford", "depth"):
        assert getattr(more_k, attr) > getattr(base, attr)
        assert getattr(more_e, attr) > getattr(base, attr)
    assert more_s.queries == base.queries  # ideal encoding: kappa_eff = kappa, queries independent of s
    assert more_s.toffoli > 4 * base.toffoli  # gates per query grow with s (QROM over n*s entries)
    assert more_k.queries / base.queries > 5  # ~linear in kappa


def test_kappa_eff_from_matrix_information():
    r = estimate_qlsa_resources(1000, 10, 50.0, 1e-2, max_abs_entry=0.8, lambda_min=0.02)
    assert r.alpha == pytest.approx(8.0) and r.kappa_eff == pytest.approx(400.0)
    assert "s*max|A_ij|" in r.method
    ideal = estimate_qlsa_resources(1000, 10, 50.0, 1e-2)
    assert ideal.kappa_eff == 50.0 and "ideal" in ideal.method
    assert r.queries == pytest.approx(get_preset("jennings2023_v1").queries(400.0, 1e-2))
    via_max = estimate_qlsa_resources(1000, 10, 50.0, 1e-2, max_abs_entry=0.8, lambda_max=1.0)
    assert via_max.kappa_eff == pytest.approx(8.0 / (1.0 / 50.0))


def test_resources_conventions():
    r = estimate_qlsa_resources(12544, 7800, 5971.0, 1e-3)
    assert isinstance(r, QLSAResources) and hash(r) == hash(r)
    assert r.depth_is_upper_bound and r.modeled
    assert r.repetitions == pytest.approx(1.0 / r.success_probability)
    step = step_counts(index_bits(12544), 7800, r.entry_bits)
    assert r.depth == pytest.approx(r.queries_per_attempt * step.depth_bound)
    assert r.entry_bits == entry_bits_for(1e-3, r.queries_per_attempt)
    assert r.qubits > 2 * index_bits(12544)


def test_all_presets_estimate():
    from qlsa_sim.quantum.estimation.presets import preset_names

    qs = {p: estimate_qlsa_resources(500, 20, 30.0, 1e-3, p).queries for p in preset_names()}
    assert qs["costa2023_practical"] < qs["dalzell2024"] < qs["costa2022_bound"]
    assert all(v > 0 for v in qs.values())


@pytest.mark.parametrize(
    "args,kw,exc",
    [
        ((0, 1, 10.0, 1e-2), {}, InputError),
        ((10, 11, 10.0, 1e-2), {}, InputError),
        ((10, 0, 10.0, 1e-2), {}, InputError),
        ((10.5, 2, 10.0, 1e-2), {}, InputError),
        ((10, 2, 0.9, 1e-2), {}, InputError),
        ((10, 2, 10.0, 1.0), {}, InputError),
        ((10, 2, 10.0, 1e-2), {"max_abs_entry": 1.0}, InputError),  # needs lambda_min / lambda_max
        ((10, 2, 10.0, 1e-2), {"max_abs_entry": 0.1, "lambda_max": 5.0}, InputError),  # ||A|| > s max|A_ij|
        ((10, 2, 10.0, 1e-2), {"lambda_min": -1.0}, InputError),
        ((10, 2, 10.0, 1e-2, "nope"), {}, UnknownNameError),
    ],
)
def test_bad_inputs(args, kw, exc):
    with pytest.raises(exc):
        estimate_qlsa_resources(*args, **kw)


@pytest.mark.parametrize("n,s", [(1, 1), (2, 1), (7, 1), (2, 2), (3, 3), (100, 1)])
def test_tiny_and_diagonal_structures(n, s):
    r = estimate_qlsa_resources(n, s, 2.0, 0.1)
    assert r.toffoli > 0 and r.t_equivalent > 4 * r.toffoli and r.qubits >= 2 * index_bits(n) + 2
