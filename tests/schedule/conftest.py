"""Fixtures shared by the replay-executor tests."""

import pandas as pd
import pytest

from qlsa_sim.cost.calibrate import profile_from_constants, save_profile
from qlsa_sim.schedule.parallel_replay import drop_timing_columns


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
