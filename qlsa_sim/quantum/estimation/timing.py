"""Turn modeled QLSA resources into modeled wall-clock time on a hardware profile.

``qlsa_time`` = (depth of one attempt x gate-layer time x expected attempts) with ``basis="depth"``, or
(total gate count over all attempts x gate time) with ``basis="count"`` (no parallelism at all).
Optional components beyond the seed paper's model, each switchable and listed in ``components``:

* ``state_prep`` -- preparing ``|b>`` once per attempt (Qualtran ``StatePreparationViaRotations``,
  arbitrary ``2^n``-amplitude real state; Low, Kliuchnikov, Schaeffer 2018, arXiv:1812.00954).
* ``readout`` -- reading ``x`` out by vector-state tomography: ``N = 36 n ln n / delta^2`` copies give an
  estimate within ``delta`` in l2 norm with high probability (Kerenidis & Prakash, "A quantum interior
  point method for LPs and SDPs", ACM TQC 2020, arXiv:1808.09266, Thm 4.3 / Alg. 4.1).  The component
  is the time of the ``N - 1`` extra copies (each a full QLSA solve, plus state preparation if included).

Every figure is MODELED; ``QuantumTime.components`` says which parts a figure includes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qlsa_sim.errors import InputError
from qlsa_sim.quantum.estimation.hardware import DEFAULT_PROFILE, HardwareProfile, get_profile
from qlsa_sim.quantum.estimation.resources import QLSAResources

BASES = ("depth", "count")


@dataclass(frozen=True)
class QuantumTime:
    """Modeled seconds with a breakdown, e.g. (("qlsa", s), ("state_prep", s), ("readout", s))."""

    seconds: float
    components: tuple[tuple[str, float], ...]
    basis: str
    profile: str
    modeled: bool = True

    def component(self, name: str) -> float:
        return dict(self.components).get(name, 0.0)


def tomography_copies(n: int, precision: float) -> float:
    """Copies of ``|x>`` for l2 tomography to ``precision``: ``36 n ln n / delta^2`` (arXiv:1808.09266)."""
    if not math.isfinite(precision) or not 0.0 < precision < 1.0:
        raise InputError(f"readout_precision must lie in (0, 1), got {precision!r}")
    return max(1.0, math.ceil(36.0 * max(n * math.log(n), 1.0) / precision**2))


def qlsa_time(
    res: QLSAResources,
    profile: HardwareProfile | str = DEFAULT_PROFILE,
    *,
    basis: str = "depth",
    include_state_prep: bool = False,
    include_readout: bool = False,
    readout_precision: float = 1e-2,
) -> QuantumTime:
    """Modeled time of the QLSA solve described by ``res`` on ``profile`` (see module docstring)."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if not isinstance(prof, HardwareProfile):
        raise InputError(f"profile must be a HardwareProfile or a profile name, got {profile!r}")
    if basis not in BASES:
        raise InputError(f"basis must be one of {', '.join(BASES)}, got {basis!r}")
    g = prof.gate_time_s
    if basis == "depth":
        q = res.depth * g * res.repetitions
        sp = res.state_prep_depth * g * res.state_prep_calls
    else:
        q = res.total_gates * g
        sp = res.state_prep_gates * g * res.state_prep_calls
    comps: list[tuple[str, float]] = [("qlsa", q)]
    if include_state_prep:
        comps.append(("state_prep", sp))
    if include_readout:
        copies = tomography_copies(res.n, readout_precision)
        per_copy = q + (sp if include_state_prep else 0.0)
        comps.append(("readout", (copies - 1.0) * per_copy))
    return QuantumTime(
        seconds=float(sum(v for _, v in comps)),
        components=tuple(comps),
        basis=basis,
        profile=prof.name,
    )
