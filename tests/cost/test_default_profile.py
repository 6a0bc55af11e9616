"""The built-in default calibration profile is the committed example, shipped as package data, and says what it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qlsa_sim.cost.defaults import (
    DEFAULT_PROFILE_MESSAGE,
    DEFAULT_PROFILE_NAME,
    DEFAULT_PROFILE_ORIGIN,
    DefaultProfileWarning,
    default_profile,
)
from qlsa_sim.cost.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "qlsa_sim" / "cost" / "data" / "default_profile.json"


def test_default_profile_is_the_committed_example():
    example = ROOT / "calibration" / f"{DEFAULT_PROFILE_NAME}.json"
    assert json.loads(DATA.read_text()) == json.loads(example.read_text())
    assert default_profile() == load_profile(example)


def test_its_message_matches_the_file():
    raw = json.loads(DATA.read_text())
    machine = raw["machine"]
    assert f"{machine['cpu_count']}-core {machine['cpu']}" in DEFAULT_PROFILE_ORIGIN
    assert raw["created"][:10] in DEFAULT_PROFILE_ORIGIN
    assert "qlsa-sim calibrate" in DEFAULT_PROFILE_MESSAGE and "\n" not in DEFAULT_PROFILE_MESSAGE
    with pytest.warns(DefaultProfileWarning, match=DEFAULT_PROFILE_NAME):
        default_profile(warn=True)


def test_it_is_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = cfg["tool"]["setuptools"]["package-data"]["qlsa_sim.cost"]
    assert any(DATA.match(f"qlsa_sim/cost/{g}") for g in globs)
