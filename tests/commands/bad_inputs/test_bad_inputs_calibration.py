"""Bad calibration profiles: every field's type and range, finite numbers, known names, and the file itself
(refused by the schema of ``cost/profile.py`` before any work), plus property tests of the validator."""

from __future__ import annotations

import copy
import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qlsa_sim.cost.profile import profile_from_constants, profile_from_json
from qlsa_sim.errors import CalibrationError


def _set(path: str, value):
    def mutate(p: dict) -> None:
        *head, last = path.split(".")
        node = p
        for k in head:
            node = node[k]
        node[last] = value
    return mutate


def _delete(path: str):
    def mutate(p: dict) -> None:
        *head, last = path.split(".")
        node = p
        for k in head:
            node = node[k]
        del node[last]
    return mutate


BAD = [
    ("q1 NaN", _set("quantum.q1", math.nan), "quantum.q1"),
    ("q1 negative", _set("quantum.q1", -1e-9), "quantum.q1"),
    ("q2 infinite", _set("quantum.q2", math.inf), "quantum.q2"),
    ("q1 a numeric string", _set("quantum.q1", "1e-9"), "quantum.q1"),
    ("q1 a word", _set("quantum.q1", "fast"), "quantum.q1"),
    ("q1 a bool", _set("quantum.q1", True), "quantum.q1"),
    ("c2 negative", _set("classical.solvers.cholesky.c2", -1.0), "c2"),
    ("c2 a string", _set("classical.solvers.cholesky.c2", "abc"), "c2"),
    ("c1 null", _set("classical.solvers.cholesky.c1", None), "c1"),
    ("c1 missing", _delete("classical.solvers.cholesky.c1"), "c1"),
    ("unknown preset", _set("quantum.resource_model.preset", "magic"), "unknown QLSA preset 'magic'"),
    ("unknown hardware", _set("quantum.resource_model.hardware", "warp"), "unknown hardware profile 'warp'"),
    ("unknown basis", _set("quantum.resource_model.basis", "vibes"), "basis"),
    ("precision 0", _set("quantum.resource_model.precision", 0.0), "precision"),
    ("precision 2", _set("quantum.resource_model.precision", 2.0), "precision"),
    ("solver entry a list", _set("classical.solvers.cholesky", [1, 2]), "classical.solvers.cholesky"),
    ("solver entry a number", _set("classical.solvers.lu", 3), "classical.solvers.lu"),
    ("unknown solver", _set("classical.solvers.qr", {"c1": 1.0, "c2": 1.0}), "classical.solvers"),
    ("no cholesky", _delete("classical.solvers.cholesky"), "cholesky"),
    ("solvers a list", _set("classical.solvers", []), "classical.solvers"),
    ("quantum null", _set("quantum", None), "quantum"),
    ("threads 0", _set("classical.threads", 0), "classical.threads"),
    ("threads a bool", _set("classical.threads", True), "classical.threads"),
    ("r2 above 1", _set("quantum.r2", 1.5), "r2"),
    ("unknown format", _set("format", "qlsa-sim-calibration/9"), "format"),
]


def _sweep(cal, out):
    return ["sweep", "--n", "16", "--kappa", "10", "--density", "1", "--presets", "qsvt", "--profiles", "attosecond",
            "--calibration", cal, "--out", out, "--quiet"]


@pytest.mark.parametrize("name,mutate,field", BAD, ids=[b[0] for b in BAD])
def test_bad_profile_field_is_refused(name, mutate, field, good_profile, tmp_path, refused):
    prof = copy.deepcopy(good_profile)
    mutate(prof)
    cal = tmp_path / "bad.json"
    cal.write_text(json.dumps(prof, allow_nan=True))
    refused(*_sweep(cal, tmp_path / "out" / "sweep.csv"), needles=(str(cal), field), absent=[tmp_path / "out"])


@pytest.mark.parametrize("kind", ["empty", "not json", "a list", "a folder", "dev zero", "missing"])
def test_bad_profile_file_is_refused(kind, tmp_path, refused):
    cal = tmp_path / "cal.json"
    if kind == "empty":
        cal.write_text("")
    elif kind == "not json":
        cal.write_text("{q1: 1")
    elif kind == "a list":
        cal.write_text("[]")
    elif kind == "a folder":
        cal.mkdir()
    elif kind == "dev zero":
        os.symlink("/dev/zero", cal)
    refused(*_sweep(cal, tmp_path / "o.csv"), needles=(str(cal),), absent=[tmp_path / "o.csv"])


def test_train_and_reproduce_check_the_calibration_before_any_run(good_profile, tmp_path, refused):
    prof = copy.deepcopy(good_profile)
    prof["quantum"]["q1"] = "nan"
    cal = tmp_path / "nan.json"
    cal.write_text(json.dumps(prof))
    refused("train", "--dataset", "digits", "--sizes", "64-8-10", "--methods", "hybrid", "--calibration", cal,
            "--out", tmp_path / "tr", "--quiet", needles=(str(cal), "quantum.q1"), absent=[tmp_path / "tr"])
    refused("reproduce", "--scale", "smoke", "--calibration", cal, "--out", tmp_path / "rep", "--quiet",
            needles=(str(cal), "quantum.q1"), absent=[tmp_path / "rep"])


# ------------------------------------------------------------------------------------------ properties
finite_pos = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
NUMERIC_FIELDS = ["quantum.q1", "quantum.q2", "classical.solvers.cholesky.c1", "classical.solvers.cholesky.c2",
                  "classical.solvers.lu.c1", "classical.solvers.lu.c2", "quantum.resource_model.precision",
                  "classical.threads", "classical.repeats"]
junk = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                 st.sampled_from([math.nan, math.inf, -math.inf, -1.0, -1e-300, "1e-9", "nan"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(c1=finite_pos, c2=finite_pos, q1=finite_pos, q2=finite_pos)
def test_valid_profiles_round_trip(c1, c2, q1, q2):
    p = profile_from_constants(cholesky=(c1, c2), lu=(2 * c1, c2), q1=q1, q2=q2)
    back = profile_from_json(json.loads(json.dumps(p.to_json())))
    assert back.classical_model("cholesky").c1 == c1 and back.classical_model("cholesky").c2 == c2
    assert back.eq4.model.q1 == q1 and back.eq4.model.q2 == q2


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(NUMERIC_FIELDS), value=junk)
def test_any_bad_numeric_field_is_one_calibration_error(field, value):
    raw = profile_from_constants(cholesky=(1e-11, 1e-5), lu=(2e-11, 1e-5), q1=1e-15, q2=1e-12).to_json()
    _set(field, value)(raw)
    with pytest.raises(CalibrationError) as e:
        profile_from_json(raw, path="p.json")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("p.json: ") and field.rsplit(".", 1)[1] in msg


@settings(max_examples=100, deadline=None)
@given(raw=st.recursive(st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=4)),
                        lambda kids: st.one_of(st.lists(kids, max_size=3),
                                               st.dictionaries(st.text(max_size=6), kids, max_size=3)),
                        max_leaves=12))
def test_arbitrary_json_is_accepted_or_one_calibration_error(raw):
    for candidate in (raw, {"format": "qlsa-sim-calibration/2", "classical": raw, "quantum": raw}):
        with pytest.raises(CalibrationError):
            profile_from_json(candidate, path="x.json")
