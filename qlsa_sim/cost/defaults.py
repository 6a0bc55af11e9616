"""The built-in calibration profile, used when none is given (e.g. ``HybridNewton(model)``).

``qlsa_sim/cost/data/default_profile.json`` is a copy of the committed ``calibration/example-2core.json``:
classical timings and memory bandwidth MEASURED on the machine named inside it (a 2-core Intel Xeon VM,
2026-12-02) and the quantum
models fitted to the MODELED resource estimator. Its classical constants describe that machine, not yours:
calibrate yours with ``qlsa-sim calibrate`` and pass the profile.
"""

from __future__ import annotations

import warnings
from importlib import resources

from qlsa_sim.cost.profile import CalibrationProfile, load_profile

DEFAULT_PROFILE_NAME = "example-2core"
DEFAULT_PROFILE_ORIGIN = "measured on a 2-core Intel(R) Xeon(R) Processor VM on 2026-12-02"
DEFAULT_PROFILE_MESSAGE = (
    f"no calibration profile given: using the built-in default {DEFAULT_PROFILE_NAME} {DEFAULT_PROFILE_ORIGIN}; "
    "calibrate your machine with `qlsa-sim calibrate` and pass profile=..."
)


class DefaultProfileWarning(UserWarning):
    """The built-in calibration profile stands in for one of this machine."""


def default_profile(*, warn: bool = False) -> CalibrationProfile:
    """The built-in calibration profile (see the module docstring); with ``warn``, one warning line saying so."""
    if warn:
        warnings.warn(DEFAULT_PROFILE_MESSAGE, DefaultProfileWarning, stacklevel=3)
    with resources.as_file(resources.files("qlsa_sim.cost").joinpath("data", "default_profile.json")) as path:
        return load_profile(path)
