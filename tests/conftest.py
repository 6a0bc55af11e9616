"""Shared fixtures. Thread counts are pinned so timings and results are repeatable; QSVT angles are cached in a
private folder, so tests never touch ~/.cache."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pandas as pd
import pytest

from qlsa_sim.cost.profile import profile_from_constants, save_profile
from qlsa_sim.schedule.replay import drop_timing_columns


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session", autouse=True)
def _private_angle_cache(tmp_path_factory):
    old = os.environ.get("QLSA_SIM_CACHE_DIR")
    os.environ["QLSA_SIM_CACHE_DIR"] = str(tmp_path_factory.mktemp("qlsa-cache"))
    yield
    if old is None:
        os.environ.pop("QLSA_SIM_CACHE_DIR", None)
    else:
        os.environ["QLSA_SIM_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory):
    """A hand-made profile (Eq. 3 Cholesky/LU, Eq. 4 QLSA), saved as JSON."""
    return save_profile(profile_from_constants(cholesky=(1e-11, 1e-5), lu=(2e-11, 1e-5), q1=1e-15, q2=1e-12),
                        tmp_path_factory.mktemp("calib") / "p.json")


@pytest.fixture
def same():
    """Assert two decision tables are equal apart from their measured-time columns."""
    def check(a: pd.DataFrame, b: pd.DataFrame) -> None:
        pd.testing.assert_frame_equal(drop_timing_columns(a), drop_timing_columns(b))
    return check
