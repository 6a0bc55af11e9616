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
    assert t.components == (("qlsa", t.seconds),) and t.profile == "attosecond" and t.basis == "depth"
    tc = qlsa_time(r, "logical-ec", basis="count")
    assert tc.seconds == pytest.approx((r.t_count + r.clifford + r.rotations) * 1e-6)
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
