"""Fixtures of the quantum tests: a private angle cache, so tests never touch ~/.cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_angle_cache(tmp_path_factory):
    old = os.environ.get("QLSA_SIM_CACHE_DIR")
    os.environ["QLSA_SIM_CACHE_DIR"] = str(tmp_path_factory.mktemp("qlsa-cache"))
    yield
    if old is None:
        os.environ.pop("QLSA_SIM_CACHE_DIR", None)
    else:
        os.environ["QLSA_SIM_CACHE_DIR"] = old
