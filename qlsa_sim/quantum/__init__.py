"""quantum subpackage: QLSA query presets, hardware profiles, full-scale resource counts and time.

Light re-exports only (no qiskit / Qualtran import here).  Circuits live in ``block_encoding``,
``qsvt``, ``circuits``, ``simulate`` (qiskit, qiskit-aer, pyqsp); counting bloqs in ``bloqs`` (Qualtran),
imported lazily by ``counting``.
"""

from qlsa_sim.quantum.hardware import DEFAULT_PROFILE, HardwareProfile, get_profile, profile_names
from qlsa_sim.quantum.presets import DEFAULT_PRESET, QueryPreset, get_preset, preset_names
from qlsa_sim.quantum.resources import QLSAResources, estimate_qlsa_resources
from qlsa_sim.quantum.timing import QuantumTime, qlsa_time

__all__ = [
    "DEFAULT_PRESET",
    "DEFAULT_PROFILE",
    "HardwareProfile",
    "QLSAResources",
    "QueryPreset",
    "QuantumTime",
    "estimate_qlsa_resources",
    "get_preset",
    "get_profile",
    "preset_names",
    "profile_names",
    "qlsa_time",
]
