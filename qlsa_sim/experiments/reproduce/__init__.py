"""``qlsa-sim reproduce``: the Q-Newton paper's experiments re-run and judged (see ``main.py``)."""

from qlsa_sim.experiments.reproduce.main import reproduce
from qlsa_sim.experiments.reproduce.settings import (
                                                     SCALES,
                                                     CalibrationSettings,
                                                     DNNSettings,
                                                     GPTSettings,
                                                     ReproduceConfig,
                                                     ReproduceOutputs,
                                                     scale_settings,
)

__all__ = ["SCALES", "CalibrationSettings", "DNNSettings", "GPTSettings", "ReproduceConfig", "ReproduceOutputs",
           "reproduce", "scale_settings"]
