"""Calibration profiles: typed in memory, a schema on disk; round trips; every bad field named in one line."""

import json

import pytest

from qlsa_sim.cost.models import QuantumResourceModel
from qlsa_sim.cost.profile import load_profile, profile_from_constants, profile_from_json, save_profile
from qlsa_sim.errors import CalibrationError


def _profile():
    return profile_from_constants(cholesky=(1e-11, 1e-5), lu=(2e-11, 1e-5), cg=(1e-10, 1e-4), woodbury=(5e-11, 1e-4),
                                  q1=1e-15, q2=1e-12)


def _raw():
    return json.loads(json.dumps(_profile().to_json()))


def test_profile_round_trip(tmp_path):
    p = _profile()
    q = load_profile(save_profile(p, tmp_path / "c" / "p.json"))
    assert q.classical == p.classical and q.eq4 == p.eq4 and q.resources == p.resources
    assert [m.solver for m in q.classical_models] == ["cholesky", "lu", "cg", "woodbury"]
    assert q.path.endswith("p.json") and not q.measured and "not measured" in q.source


@pytest.mark.parametrize("section,field", [("classical.solvers.cholesky", "c1"), ("quantum", "q2"),
                                           ("quantum", "resource_model"), ("quantum.resource_model", "preset")])
def test_profile_missing_field_is_named(tmp_path, section, field):
    raw = _raw()
    d = raw
    for key in section.split("."):
        d = d[key]
    del d[field]
    (tmp_path / "p.json").write_text(json.dumps(raw))
    with pytest.raises(CalibrationError, match=rf"p.json.*{section.split('.')[-1]}.*{field}.*missing"):
        load_profile(tmp_path / "p.json")


@pytest.mark.parametrize("path,value,match", [
    (("classical", "solvers", "cholesky", "c1"), "fast", "c1"),
    (("classical", "solvers", "cholesky", "c1"), -1.0, "c1"),
    (("classical", "solvers", "lu", "c2"), float("inf"), "c2"),
    (("quantum", "q1"), float("nan"), "q1"),
    (("quantum", "q2"), -1e-9, "q2"),
    (("quantum", "resource_model", "preset"), "nope", "unknown QLSA preset 'nope'"),
    (("quantum", "resource_model", "hardware"), "quantum-toaster", "unknown hardware profile"),
    (("quantum", "resource_model", "precision"), 1.5, "precision"),
    (("classical", "solvers", "cg"), 3, "cg"),
    (("classical", "solvers", "cg", "rtol"), 0.0, "rtol"),
    (("classical", "solvers"), {"lu": {"c1": 1e-11, "c2": 0.0}}, "cholesky"),
])
def test_profile_bad_values_are_refused_with_the_field_named(path, value, match):
    raw = _raw()
    d = raw
    for key in path[:-1]:
        d = d[key]
    d[path[-1]] = value
    with pytest.raises(CalibrationError, match=match) as e:
        profile_from_json(raw, path="x.json")
    assert str(e.value).startswith("x.json: ") and "\n" not in str(e.value)


def test_profile_missing_file_bad_json_and_unknown_solver(tmp_path):
    with pytest.raises(CalibrationError, match="not found.*calibrate"):
        load_profile(tmp_path / "none.json")
    (tmp_path / "b.json").write_text("{")
    with pytest.raises(CalibrationError, match="b.json.*JSON"):
        load_profile(tmp_path / "b.json")
    raw = _raw()
    raw["classical"]["solvers"]["qr"] = {"a": 1.0, "b": 0.0}
    with pytest.raises(CalibrationError, match="qr"):
        profile_from_json(raw, path="x.json")
    with pytest.raises(CalibrationError, match="format"):
        profile_from_json({**raw, "format": "other/1"}, path="x.json")


def test_format_1_files_still_load():
    raw = _raw()
    rm = raw["quantum"]["resource_model"]
    rm["profile"] = rm.pop("hardware")
    raw["format"] = "qlsa-sim-calibration/1"
    assert profile_from_json(raw).resources.hardware == "attosecond"


def test_precision_and_readout_variants_keep_the_original():
    p = _profile()
    q = p.with_precision(1e-3)
    assert q.eq4.model.precision == q.resources.precision == 1e-3 and p.resources.precision == 1e-2
    assert q.eq4.model.q1 == p.eq4.model.q1 and p.with_precision(None) is p
    r = p.with_readout()
    assert r.resources.include_readout and not p.resources.include_readout
    assert r.identity()["sha256"] != p.identity()["sha256"]  # runs made with it are told apart on resume
    assert isinstance(p.quantum_model("resources"), QuantumResourceModel)
    assert p.quantum_model("eq4") is p.eq4.model
