"""Hardware profiles and time = depth x gate time x repetitions (+ optional components)."""

from __future__ import annotations

import math

import pytest

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.quantum.estimation.hardware import DEFAULT_PROFILE, get_profile, profile_names
from qlsa_sim.quantum.estimation.resources import estimate_qlsa_resources
from qlsa_sim.quantum.estimation.timing import qlsa_time, tomography_copies


def test_profiles():
    assert DEFAULT_PROFILE == "attosecond" and profile_names()[0] == "attosecond"
    assert get_profile("attosecond").gate_time_s == 1e-18
    assert 1e-9 <= get_profile("nanosecond-physical").gate_time_s <= 1e-7
    assert 1e-7 <= get_profile("logical-ec").gate_time_s <= 1e-4
    for name in profile_names():
        assert get_profile(name).citation
    with pytest.raises(UnknownNameError, match="hardware profile"):
        get_profile("picosecond")


def test_time_formulas():
    r = estimate_qlsa_resources(1024, 32, 100.0, 1e-3)
    t = qlsa_time(r)
    assert t.seconds == pytest.approx(r.depth * 1e-18 * r.repetitions) and t.modeled
    assert t.components == (("qlsa", t.seconds),) and t.profile == "attosecond" and t.basis == "gates"
    tc = qlsa_time(r, "logical-ec", basis="gates")
    assert tc.seconds == pytest.approx((r.clifford + r.t_count + 4 * r.toffoli + r.rotations) * 1e-6)
    slow = qlsa_time(r, get_profile("nanosecond-physical"))
    assert slow.seconds / t.seconds == pytest.approx(25e-9 / 1e-18)


def test_optional_components():
    r = estimate_qlsa_resources(1024, 32, 100.0, 1e-3)
    base = qlsa_time(r).seconds
    sp = qlsa_time(r, include_state_prep=True)
    assert dict(sp.components)["state_prep"] == pytest.approx(r.state_prep_depth * 1e-18 * r.state_prep_calls)
    full = qlsa_time(r, include_state_prep=True, include_readout=True, readout_precision=0.1)
    copies = math.ceil(36 * 1024 * math.log(1024) / 0.01)  # Kerenidis-Prakash: 36 n ln n / delta^2
    assert tomography_copies(1024, 0.1) == copies
    per_copy = base + sp.component("state_prep")
    assert full.component("readout") == pytest.approx((copies - 1) * per_copy)
    assert full.seconds == pytest.approx(copies * per_copy)
    assert [c for c, _ in full.components] == ["qlsa", "state_prep", "readout"]


def test_bad_time_inputs():
    r = estimate_qlsa_resources(16, 2, 10.0, 1e-2)
    with pytest.raises(InputError):
        qlsa_time(r, basis="width")
    with pytest.raises(InputError):
        qlsa_time(r, include_readout=True, readout_precision=0.0)
    with pytest.raises(UnknownNameError):
        qlsa_time(r, "warp")


def test_bases_differ_as_documented():
    r = estimate_qlsa_resources(1024, 32, 100.0, 1e-3)
    gates = qlsa_time(r, "logical-ec", basis="gates")
    nonc = qlsa_time(r, "logical-ec", basis="non-clifford", include_state_prep=True)
    # non-clifford: T-equivalent (bare T + 4 per Toffoli + Ross-Selinger T per rotation) x gate time
    t_eq = r.t_count + 4 * r.toffoli + r.t_per_rotation * r.rotations
    assert r.t_equivalent == pytest.approx(t_eq)
    assert nonc.component("qlsa") == pytest.approx(t_eq * 1e-6) and nonc.basis == "non-clifford"
    assert nonc.component("state_prep") == pytest.approx(r.state_prep_t_equivalent * 1e-6 * r.state_prep_calls)
    # sparse-access lookups: b CNOTs per stored entry against one And, so Cliffords dominate the gate total
    assert r.clifford > 5 * r.toffoli
    assert nonc.component("qlsa") < gates.seconds / 2


def test_deprecated_bases_are_gates():
    r = estimate_qlsa_resources(1024, 32, 100.0, 1e-3)
    g = qlsa_time(r, include_state_prep=True)
    for alias in ("depth", "count"):
        t = qlsa_time(r, basis=alias, include_state_prep=True)
        assert t.basis == "gates" and t.seconds == g.seconds
    # the old depth basis: depth of one attempt x attempts, identical to the gate total by construction
    assert r.depth * r.repetitions == pytest.approx(r.total_gates)
