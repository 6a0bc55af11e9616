"""Turn modeled QLSA resources into modeled wall-clock time on a hardware profile.

``qlsa_time`` multiplies a gate count by the profile's gate time.  Two bases, which differ on purpose:

* ``"gates"`` (default) -- every gate in sequence, no parallelism: ``QLSAResources.total_gates`` (Clifford
  + T + rotations, each Toffoli-class gate as its 4 T) x gate time.  An upper bound on the time.
* ``"non-clifford"`` -- the fault-tolerant convention in which Clifford gates are free (absorbed into
  lattice surgery / Pauli-frame tracking) and time is set by magic-state consumption, one T state per
  gate time: ``QLSAResources.t_equivalent`` (bare T + 4 per Toffoli-class gate + Ross-Selinger T per
  rotation) x gate time (Gidney & Ekera 2021 / Gidney & Fowler 2019, arXiv:1812.01238, Sec. 2: run time
  set by the Toffoli/T-state rate; Beverland et al. 2022, arXiv:2211.07629, Sec. IV: logical time
  counted in non-Clifford (T, rotation, CCZ) layers).  Lower than ``gates`` whenever Cliffords dominate
  (QROM lookups: ``b`` CNOTs per stored entry against one ``And``), higher when rotations dominate.

Deprecated aliases (accepted for calibration files on disk; they give the ``gates`` time): ``"depth"``
(depth of one attempt x attempts, where the depth was bounded by the attempt's gate count, i.e. the
gate total: identical to ``gates`` by construction; Qualtran 0.7 has no depth cost to do better, only a
T-depth-free ``QECGatesCost``) and ``"count"`` (the gate total).  ``QuantumTime.basis`` reports the
canonical name.
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

BASES = ("gates", "non-clifford")
BASIS_ALIASES = {"depth": "gates", "count": "gates"}  # deprecated: see module docstring


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


def canonical_basis(basis: str) -> str:
    """``basis`` with the deprecated aliases resolved; InputError if unknown."""
    b = BASIS_ALIASES.get(basis, basis) if isinstance(basis, str) else basis
    if b not in BASES:
        raise InputError(f"basis must be one of {', '.join(BASES)} (deprecated: depth, count), got {basis!r}")
    return b


def qlsa_time(
    res: QLSAResources,
    profile: HardwareProfile | str = DEFAULT_PROFILE,
    *,
    basis: str = "gates",
    include_state_prep: bool = False,
    include_readout: bool = False,
    readout_precision: float = 1e-2,
) -> QuantumTime:
    """Modeled time of the QLSA solve described by ``res`` on ``profile`` (see module docstring)."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if not isinstance(prof, HardwareProfile):
        raise InputError(f"profile must be a HardwareProfile or a profile name, got {profile!r}")
    basis = canonical_basis(basis)
    g = prof.gate_time_s
    if basis == "gates":
        q = res.total_gates * g
        sp = res.state_prep_gates * g * res.state_prep_calls
    else:
        q = res.t_equivalent * g
        sp = res.state_prep_t_equivalent * g * res.state_prep_calls
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
