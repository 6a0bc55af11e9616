"""Physical (surface-code) cost of a QLSA solve from its logical counts (MODELED): "what quantum computer
would Q-Newton need?".

Every physical figure here comes from Qualtran 0.7's ``qualtran.surface_code`` models; this module only
chooses inputs, runs Qualtran's searches and reads the answers back.  Nothing here is measured.

Input: :class:`LogicalCounts` (Toffoli, T excluding Toffolis, arbitrary rotations, Clifford, measurements,
logical qubits).  It does not depend on the QLSA code; the cost layer builds it from ``QLSAResources``.

Profiles (``kind``):

* ``'surface-code'`` -- :class:`PhysicalProfile`: physical error rate ``p``, surface-code cycle time, total
  failure budget, a model and a number of magic-state factories, each parameter with its citation.
* ``'idealized-logical'`` -- :class:`IdealizedProfile`: a fixed time per LOGICAL gate and nothing else
  (the seed paper's 1 as gate).  Not a physical machine: no qubits, no error correction.

Pipeline of :func:`physical_estimate` on a surface-code profile:

1. Rotation synthesis (both models): Qualtran ``beverland_et_al_model.n_discrete_logical_gates`` with
   ``BeverlandEtAlRotationCost`` (``ceil(0.53 log2(1/eps_rot) + 5.3)`` T per rotation; Beverland et al.
   2022, arXiv:2211.07629, App. D, Eq. D4 / Kliuchnikov et al. 2022, arXiv:2203.10064).  Synthesis gets
   ``eps_syn = budget/3`` split evenly over the rotations (Beverland et al. App. D; Qualtran's
   ``minimum_time_steps`` / ``t_states`` docstring: "One third is prescribed to be used for rotation
   synthesis"), or ``rotations x LogicalCounts.rotation_error`` if that is given; ``eps_syn = 0`` without
   rotations.  The rest of the budget, ``budget - eps_syn``, goes to the physical model (distillation +
   data).  Qualtran's own dashboard (``surface_code/ui.py``) passes the WHOLE budget on after synthesis;
   we do not, so the three parts add up to at most the budget.
2a. ``model='gidney-fowler'``: Qualtran ``get_ccz2t_costs_from_grid_search``'s search, run by
   :func:`~qlsa_sim.quantum.estimation.gf_search.gf_grid_search` (the same answer, tested; each grid component
   evaluated once) (Gidney & Fowler, Quantum 3, 135 (2019), arXiv:1812.01238: catalyzed CCZ->2T factory
   ``CCZ2TFactory``, ``SimpleDataBlock`` with 50 %
   routing overhead, ``QECScheme.make_gidney_fowler``: ``p_L = 0.1 (p/0.01)^((d+1)/2)`` per cycle), minimising
   qubit-hours (Qualtran's default cost).  Grid: Qualtran's default factory grid
   ``iter_ccz2t_factories(n_factories=k)`` (level-1 distance 5..23, level-2 l1+2..39, odd) and data distances
   7..59 (``iter_simple_data_blocks(7, 61)``; Qualtran's default stops at 33, which would reject long
   computations at p = 1e-3 by the grid edge alone).  ``k`` (factories in parallel, ``MultiFactory``) is a
   profile parameter, default 1 as in Qualtran's default grid.
2b. ``model='beverland'``: Qualtran's ``PhysicalCostModel`` with the components Qualtran attributes to
   Beverland et al. 2022 (``PhysicalCostModel.make_beverland_et_al``): ``QECScheme.make_beverland_et_al``
   (``p_L = 0.03 (p/0.01)^((d+1)/2)``), single-level 15-to-1 T factories ``FifteenToOne`` (Litinski,
   Quantum 3, 205 (2019), arXiv:1905.06903, the four Table 1 protocols Qualtran's tests reproduce:
   (d_X, d_Z, d_m) = (7,3,3), (9,3,3), (11,5,5), (17,7,7)), and Litinski's fast data block ``FastDataBlock``
   (A Game of Surface Codes, arXiv:1808.02892, Fig. 13b; the ``2Q + sqrt(8Q) + 1`` tiles Beverland et al.
   use).  Searched here over factory protocol x data distance 3..59, minimising physical qubits x cycles,
   with ``k = ceil(factory cycles / data-block cycles)`` factories (Qualtran ``n_cycles`` of each), the
   fewest that keep the data block from waiting for T states.  NOT used: Qualtran's
   ``beverland_et_al_model.minimum_time_steps`` / ``code_distance`` (they count logical time steps, which
   ``PhysicalCostModel`` does not) and Beverland's multi-level factories (not in Qualtran 0.7).
3. Figures: ``PhysicalCostModel.n_cycles / n_phys_qubits / error / duration_hr``, the factory's
   ``n_physical_qubits`` and ``factory_error``, the data block's ``n_physical_qubits`` and ``data_error``.
   Qualtran's models have no reaction-time limit and treat Clifford gates and measurements as free; the
   Clifford and measurement counts are carried but do not change any figure.

Wall time is ``cycle time x n_cycles`` and ``n_cycles`` does not depend on the cycle time in either model
(Qualtran ``PhysicalCostModel.duration_hr``; the Gidney-Fowler cost qubit-hours scales with it uniformly), so
:func:`max_cycle_time_for` solves ``time = target`` exactly and checks the answer by re-estimating.

Infeasible points (no factory / distance in the grid meets the budget, ``p`` at or above the scheme's 1 %
threshold, rotation synthesis alone exhausting the budget, a count overflowing Qualtran's floats) come back
as ``feasible=False`` with ``reason`` and ``None`` physical fields; :func:`physical_estimate` never raises
on valid input.  Results are cached (``functools.lru_cache``, and on disk: ``core/cache.py``, so a later process
needs no Qualtran import) on the integer-rounded counts and the profile parameters: a cold Gidney-Fowler estimate
takes ~5 ms (:func:`gf_grid_search`, Qualtran's grid search with each factory and data block evaluated once;
Qualtran's own loop takes ~0.15 s), a cold Beverland estimate ~0.5 s (Qualtran simulates each 15-to-1 protocol's
density matrix with cirq), a cached one microseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from qlsa_sim.core.cache import DiskCache, code_identity
from qlsa_sim.errors import InputError
from qlsa_sim.quantum.estimation.gf_search import gf_grid_search
from qlsa_sim.quantum.estimation.physical_profiles import (
    DEFAULT_PHYSICAL_PROFILE,
    IdealizedProfile,
    Profile,
    custom_profile,
    finite_nonneg,
    get_physical_profile,
)

if TYPE_CHECKING:  # pragma: no cover
    from qualtran.resource_counting import GateCounts

# Grids (see module docstring).  Data distances are odd; Qualtran's own GF default is range(7, 35, 2).
GF_DATA_D_START, GF_DATA_D_STOP = 7, 61
BEVERLAND_DATA_D_START, BEVERLAND_DATA_D_STOP = 3, 61
# Litinski 2019 (arXiv:1905.06903) Table 1 single-level 15-to-1 protocols (d_X, d_Z, d_m), as reproduced
# in qualtran/surface_code/fifteen_to_one_factory_test.py::PAPER_RESULTS.
LITINSKI_15TO1: tuple[tuple[int, int, int], ...] = ((7, 3, 3), (9, 3, 3), (11, 5, 5), (17, 7, 7))
# Both Qualtran QEC schemes use error_rate_threshold = 0.01 (QECScheme.make_gidney_fowler / make_beverland_et_al).
_THRESHOLD_NOTE = "the scheme's threshold p* = 0.01 (qualtran QECScheme)"


# --------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class LogicalCounts:
    """Logical cost of one computation (MODELED upstream).  Hashable.

    ``toffoli`` = Toffoli-like gates (Toffoli, And, CSwap); ``t`` = T gates NOT counting Toffolis;
    ``rotations`` = arbitrary-angle single-qubit rotations; ``clifford``, ``measurements`` = carried only
    (free in Qualtran's surface-code models); ``logical_qubits`` = algorithm qubits (routing is added by the
    data block).  ``rotation_error`` = synthesis error per rotation; ``None`` -> budget/3 over all rotations.
    ``sequential_gates`` = logical gates executed one after another, used only by idealized profiles;
    ``None`` -> every counted gate in sequence (:attr:`logical_gates`).
    """

    toffoli: float
    t: float
    rotations: float
    clifford: float
    measurements: float
    logical_qubits: int
    rotation_error: float | None = None
    sequential_gates: float | None = None

    def __post_init__(self) -> None:
        for name in ("toffoli", "t", "rotations", "clifford", "measurements"):
            object.__setattr__(self, name, finite_nonneg(name, getattr(self, name)))
        q = self.logical_qubits
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not float(q).is_integer() or q < 1:
            raise InputError(f"logical_qubits must be an integer >= 1, got {q!r}")
        object.__setattr__(self, "logical_qubits", int(q))
        if self.rotation_error is not None:
            r = finite_nonneg("rotation_error", self.rotation_error)
            if not 0.0 < r < 1.0:
                raise InputError(f"rotation_error must lie in (0, 1), got {self.rotation_error!r}")
            object.__setattr__(self, "rotation_error", r)
        if self.sequential_gates is not None:
            object.__setattr__(self, "sequential_gates", finite_nonneg("sequential_gates", self.sequential_gates))

    @property
    def logical_gates(self) -> float:
        """Toffoli + T + rotations + Clifford + measurements (each one logical gate)."""
        return self.toffoli + self.t + self.rotations + self.clifford + self.measurements

    def rounded(self) -> tuple[int, int, int, int, int]:
        """``(toffoli, t, rotations, clifford, measurements)`` rounded up to integers (Qualtran counts)."""
        return tuple(math.ceil(v) for v in (self.toffoli, self.t, self.rotations, self.clifford,
                                                  self.measurements))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------- output


@dataclass(frozen=True)
class PhysicalEstimate:
    """Modeled physical cost of one computation on one profile.

    On an infeasible point ``feasible`` is False, ``reason`` says why and every physical figure is None.
    ``error_*`` are Qualtran's reported parts: data-block storage, magic-state distillation, and the
    rotation-synthesis share; ``failure_probability`` is their sum.  ``factory_distances`` are
    (level-1, level-2) for CCZ2T, (d_X, d_Z, d_m) for 15-to-1.  ``n_ccz`` / ``n_t`` are the magic states
    after synthesis as Qualtran counts them (``GateCounts.total_t_and_ccz_count``).
    """

    profile: str
    kind: str
    model: str
    feasible: bool
    reason: str
    wall_time_s: float | None
    physical_qubits: int | None = None
    data_qubits: int | None = None
    factory_qubits: int | None = None
    code_distance: int | None = None
    n_factories: int | None = None
    factory: str | None = None
    factory_distances: tuple[int, ...] | None = None
    n_cycles: int | None = None
    failure_probability: float | None = None
    error_data: float | None = None
    error_distillation: float | None = None
    error_rotation_synthesis: float | None = None
    t_per_rotation: int | None = None
    n_ccz: int | None = None
    n_t: int | None = None
    phys_error: float | None = None
    cycle_time_s: float | None = None
    error_budget: float | None = None
    gate_time_s: float | None = None
    method: str = ""
    modeled: bool = True

    def row(self, prefix: str = "physical_") -> dict:
        """The figures a table row carries (profile, feasible or why not, qubits, distance, factories, wall time),
        keys prefixed with ``prefix``; None where infeasible."""
        return {f"{prefix}profile": self.profile, f"{prefix}feasible": self.feasible,
                f"{prefix}qubits": self.physical_qubits, f"{prefix}code_distance": self.code_distance,
                f"{prefix}factories": self.n_factories, f"{prefix}wall_s": self.wall_time_s,
                f"{prefix}reason": self.reason}


# --------------------------------------------------------------------------------------------- Qualtran


def _synthesis(
    counts: tuple[int, int, int, int, int], qubits: int, eps_syn: float
) -> tuple[GateCounts, int | None]:
    """Rotations -> T gates: qualtran ``n_discrete_logical_gates`` with ``BeverlandEtAlRotationCost``."""
    from qualtran.resource_counting import GateCounts
    from qualtran.surface_code import AlgorithmSummary, BeverlandEtAlRotationCost
    from qualtran.surface_code.beverland_et_al_model import n_discrete_logical_gates

    tof, t, rot, cliff, meas = counts
    alg = AlgorithmSummary(
        n_algo_qubits=qubits,
        n_logical_gates=GateCounts(toffoli=tof, t=t, rotation=rot, clifford=cliff, measurement=meas),
    )
    gates = n_discrete_logical_gates(eps_syn=eps_syn, alg=alg, rotation_model=BeverlandEtAlRotationCost)
    t_per = int(BeverlandEtAlRotationCost.rotation_cost(eps_syn / rot).t) if rot > 0 else None
    return gates, t_per


def _infeasible(reason: str, method: str, **extra: object) -> dict:
    return dict(feasible=False, reason=reason, method=method, **extra)


def _gf_grid(n_factories: int):
    from qualtran.surface_code import iter_ccz2t_factories, iter_simple_data_blocks

    return (
        tuple(iter_ccz2t_factories(n_factories=n_factories)),
        tuple(iter_simple_data_blocks(GF_DATA_D_START, GF_DATA_D_STOP)),
    )


def _gidney_fowler(
    gates: GateCounts, qubits: int, p: float, cycle_us: float, budget: float, n_factories: int
) -> dict:
    from qualtran.surface_code import (
        AlgorithmSummary,
        LogicalErrorModel,
        MultiFactory,
        PhysicalCostModel,
        PhysicalParameters,
        QECScheme,
    )

    method = (
        "qualtran get_ccz2t_costs_from_grid_search's search (CCZ2TFactory x SimpleDataBlock, "
        "QECScheme.make_gidney_fowler, "
        f"min qubit-hours; {n_factories} factor{'y' if n_factories == 1 else 'ies'}; data d "
        f"{GF_DATA_D_START}..{GF_DATA_D_STOP - 2}) + PhysicalCostModel breakdown"
    )
    qec = QECScheme.make_gidney_fowler()
    if p >= qec.error_rate_threshold:
        return _infeasible(f"phys_error {p:g} is at or above {_THRESHOLD_NOTE}: logical errors do not fall with "
                           "the code distance", method)
    factories, blocks = _gf_grid(n_factories)
    em = LogicalErrorModel(qec_scheme=qec, physical_error=p)
    try:
        cost, factory, block = gf_grid_search(gates, qubits, p, cycle_us, budget, factories, blocks)
    except ValueError:  # as Qualtran's search: "No valid factories found!"
        best = min(f.factory_error(n_logical_gates=gates, logical_error_model=em) for f in factories)
        cc = gates.total_t_and_ccz_count()
        if best > budget:
            return _infeasible(
                f"magic-state distillation: the best CCZ->2T factory in the grid fails with probability {best:.3g} "
                f"over {float(cc['n_ccz']):.3g} CCZ + {float(cc['n_t']):.3g} T states, above the distillation+data "
                f"budget {budget:.3g} at p = {p:g} (two-level Gidney-Fowler factory error floor; needs a lower p)",
                method,
            )
        return _infeasible(
            f"data block: no data distance <= {GF_DATA_D_STOP - 2} keeps storage + distillation error within "
            f"{budget:.3g} at p = {p:g}",
            method,
        )
    model = PhysicalCostModel(
        physical_params=PhysicalParameters(physical_error=p, cycle_time_us=cycle_us),
        data_block=block,
        factory=factory,
        qec_scheme=qec,
    )
    algo = AlgorithmSummary(n_algo_qubits=qubits, n_logical_gates=gates)
    n_cycles = int(model.n_cycles(algo))
    base = factory.base_factory if isinstance(factory, MultiFactory) else factory
    return {
        "feasible": True,
        "reason": "",
        "method": method,
        "wall_time_s": float(cost.duration_hr) * 3600.0,
        "physical_qubits": int(cost.footprint),
        "data_qubits": int(block.n_physical_qubits(n_algo_qubits=qubits)),
        "factory_qubits": int(factory.n_physical_qubits()),
        "code_distance": int(block.data_d),
        "n_factories": int(factory.n_factories) if isinstance(factory, MultiFactory) else 1,
        "factory": f"CCZ2TFactory (Gidney-Fowler catalyzed CCZ->2T, l1 d={base.distillation_l1_d}, "
                f"l2 d={base.distillation_l2_d})",
        "factory_distances": (int(base.distillation_l1_d), int(base.distillation_l2_d)),
        "n_cycles": n_cycles,
        "error_distillation": float(factory.factory_error(n_logical_gates=gates, logical_error_model=em)),
        "error_data": float(block.data_error(n_algo_qubits=qubits, n_cycles=n_cycles, logical_error_model=em)),
        "model_error": float(cost.failure_prob),
    }


def _fifteen_to_one_valid(factory, em) -> bool:
    """Whether qualtran's density-matrix model of this 15-to-1 protocol is a valid channel at this p.

    Near threshold some of its channel probabilities exceed 1 (cirq raises) or go negative (NaN / complex
    output); such a protocol is skipped, not reported.
    """
    import warnings

    import numpy as np

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            p_fail, p_out = factory.p_fail(em), factory.p_out(em)
    except (ValueError, TypeError, ZeroDivisionError):
        return False
    return all(isinstance(v, float) and math.isfinite(v) for v in (p_fail, p_out)) and 0.0 <= p_fail < 1.0 \
        and 0.0 <= p_out <= 1.0


def _beverland_search(gates: GateCounts, qubits: int, p: float, cycle_us: float, budget: float):
    """Best ``(cost, d, (dx,dz,dm), k, model)`` of the Beverland-component grid, or a diagnostic string."""
    from qualtran.surface_code import (
        AlgorithmSummary,
        FastDataBlock,
        FifteenToOne,
        LogicalErrorModel,
        MultiFactory,
        PhysicalCostModel,
        PhysicalParameters,
        QECScheme,
    )

    qec = QECScheme.make_beverland_et_al()
    em = LogicalErrorModel(qec_scheme=qec, physical_error=p)
    params = PhysicalParameters(physical_error=p, cycle_time_us=cycle_us)
    algo = AlgorithmSummary(n_algo_qubits=qubits, n_logical_gates=gates)
    best = None
    best_factory_error = math.inf
    for ds in LITINSKI_15TO1:
        base = FifteenToOne(*ds)
        if not _fifteen_to_one_valid(base, em):
            continue
        f_err = float(base.factory_error(n_logical_gates=gates, logical_error_model=em))
        best_factory_error = min(best_factory_error, f_err)
        if not f_err <= budget:
            continue
        f_cycles = base.n_cycles(n_logical_gates=gates, logical_error_model=em)
        for d in range(BEVERLAND_DATA_D_START, BEVERLAND_DATA_D_STOP, 2):
            block = FastDataBlock(data_d=d)
            d_cycles = block.n_cycles(n_logical_gates=gates, logical_error_model=em)
            k = max(1, math.ceil(f_cycles / d_cycles)) if d_cycles > 0 else 1
            model = PhysicalCostModel(
                physical_params=params, data_block=block, factory=MultiFactory(base, k), qec_scheme=qec
            )
            if not model.error(algo) <= budget:
                continue
            cost = model.n_phys_qubits(algo) * model.n_cycles(algo)
            if best is None or cost < best[0]:
                best = (cost, d, ds, k, model)
    return best if best is not None else best_factory_error


def _beverland(gates: GateCounts, qubits: int, p: float, cycle_us: float, budget: float) -> dict:
    from qualtran.surface_code import AlgorithmSummary

    method = (
        "qualtran PhysicalCostModel with Beverland et al. components (QECScheme.make_beverland_et_al, "
        "FifteenToOne x Litinski Table 1, FastDataBlock d "
        f"{BEVERLAND_DATA_D_START}..{BEVERLAND_DATA_D_STOP - 2}, MultiFactory), min qubits x cycles"
    )
    from qualtran.surface_code import QECScheme

    if p >= QECScheme.make_beverland_et_al().error_rate_threshold:
        return _infeasible(f"phys_error {p:g} is at or above {_THRESHOLD_NOTE}: logical errors do not fall with "
                           "the code distance", method)
    found = _beverland_search(gates, qubits, p, cycle_us, budget)
    if not isinstance(found, tuple):
        if math.isinf(found):
            return _infeasible(f"no 15-to-1 protocol of Litinski Table 1 has a valid noise model at p = {p:g} "
                               "(qualtran FifteenToOne channel probabilities exceed 1)", method)
        if found > budget:
            return _infeasible(
                f"magic-state distillation: the best single-level 15-to-1 factory (Litinski Table 1, the only "
                f"T factories in qualtran 0.7) fails with probability {found:.3g} over "
                f"{float(gates.total_t_count()):.3g} T states, above the distillation+data budget {budget:.3g} "
                f"at p = {p:g} (multi-level factories, as in Beverland et al., are not modeled)",
                method,
            )
        return _infeasible(
            f"data block: no data distance <= {BEVERLAND_DATA_D_STOP - 2} keeps storage + distillation error "
            f"within {budget:.3g} at p = {p:g}",
            method,
        )
    _, d, ds, k, model = found
    algo = AlgorithmSummary(n_algo_qubits=qubits, n_logical_gates=gates)
    em = model.logical_error_model
    n_cycles = int(model.n_cycles(algo))
    return {
        "feasible": True,
        "reason": "",
        "method": method,
        "wall_time_s": float(model.duration_hr(algo)) * 3600.0,
        "physical_qubits": int(model.n_phys_qubits(algo)),
        "data_qubits": int(model.data_block.n_physical_qubits(n_algo_qubits=qubits)),
        "factory_qubits": int(model.factory.n_physical_qubits()),
        "code_distance": int(d),
        "n_factories": int(k),
        "factory": f"FifteenToOne (Litinski single-level 15-to-1, d_X={ds[0]}, d_Z={ds[1]}, d_m={ds[2]})",
        "factory_distances": tuple(int(x) for x in ds),
        "n_cycles": n_cycles,
        "error_distillation": float(model.factory.factory_error(n_logical_gates=gates, logical_error_model=em)),
        "error_data": float(model.data_block.data_error(n_algo_qubits=qubits, n_cycles=n_cycles,
                                                      logical_error_model=em)),
        "model_error": float(model.error(algo)),
    }


PHYSICAL_CACHE = DiskCache("physical")
_SOURCES = ("physical.py", "gf_search.py")


@lru_cache(maxsize=1)
def physical_identity() -> dict:
    """What every cached physical estimate also depends on: the package versions and a digest of this code."""
    return code_identity(Path(__file__).resolve().parent, _SOURCES)


@lru_cache(maxsize=4096)
def _surface_estimate(*args: object) -> dict:
    """:func:`_compute_surface_estimate` cached in memory, and on disk (``core/cache.py``, keyed by every argument
    and :func:`physical_identity`), so a later process answers without importing Qualtran."""
    key = {"physical": "surface_estimate", "args": [list(a) if isinstance(a, tuple) else a for a in args],
           **physical_identity()}
    hit = PHYSICAL_CACHE.get(key)
    if isinstance(hit, dict) and isinstance(hit.get("feasible"), bool):
        if isinstance(hit.get("factory_distances"), list):
            hit["factory_distances"] = tuple(hit["factory_distances"])
        return hit
    out = _compute_surface_estimate(*args)
    PHYSICAL_CACHE.put(key, out)  # a value JSON cannot hold exactly (inf, NaN) stays in memory only
    return out


def _compute_surface_estimate(
    model: str,
    counts: tuple[int, int, int, int, int],
    qubits: int,
    rotation_error: float | None,
    p: float,
    cycle_us: float,
    budget: float,
    n_factories: int,
) -> dict:
    """Core of :func:`physical_estimate` on a surface-code profile: rotation synthesis, then the model's search."""
    rot = counts[2]
    eps_syn = (budget / 3.0 if rot > 0 else 0.0) if rotation_error is None else rot * rotation_error
    split = ("budget/3 to rotation synthesis (Beverland et al. App. D)" if rotation_error is None
             else f"rotation_error {rotation_error:g} x {rot} rotations to synthesis")
    if rot > 0 and not eps_syn < budget:
        return _infeasible(
            f"rotation synthesis alone ({rot} rotations x {rotation_error:g}) uses {eps_syn:.3g} of the error "
            f"budget {budget:g}",
            f"rotation synthesis: {split}",
        )
    try:
        gates, t_per = _synthesis(counts, qubits, eps_syn)
    except (OverflowError, ZeroDivisionError, ValueError) as exc:  # e.g. log2 of an underflowed eps
        return _infeasible(f"rotation synthesis outside qualtran's float range ({exc})", f"rotation synthesis: {split}")
    cc = gates.total_t_and_ccz_count()
    extra = {"t_per_rotation": t_per, "n_ccz": int(cc["n_ccz"]), "n_t": int(cc["n_t"]),
             "error_rotation_synthesis": float(eps_syn)}
    try:
        if model == "gidney-fowler":
            out = _gidney_fowler(gates, qubits, p, cycle_us, budget - eps_syn, n_factories)
        else:
            out = _beverland(gates, qubits, p, cycle_us, budget - eps_syn)
    except (OverflowError, ZeroDivisionError) as exc:  # counts beyond Qualtran's float arithmetic
        return _infeasible(f"counts overflow qualtran's floating-point model ({exc})", f"qualtran {model} model")
    out["method"] = f"{out['method']}; rotations: {split}, qualtran BeverlandEtAlRotationCost"
    out.update(extra if out["feasible"] else {k: v for k, v in extra.items() if k != "error_rotation_synthesis"})
    if out["feasible"]:
        out["failure_probability"] = out.pop("model_error") + float(eps_syn)
    return out


# --------------------------------------------------------------------------------------------- public


def physical_estimate(counts: LogicalCounts, profile: Profile | str = DEFAULT_PHYSICAL_PROFILE) -> PhysicalEstimate:
    """Modeled physical cost of ``counts`` on ``profile`` (a profile or a built-in name); see module docstring.

    Never raises on valid input: an infeasible point is returned with ``feasible=False`` and ``reason``.
    Raises InputError if ``counts`` is not a LogicalCounts, UnknownNameError on an unknown profile name.
    """
    if not isinstance(counts, LogicalCounts):
        raise InputError(f"counts must be a LogicalCounts, got {type(counts).__name__}")
    prof = get_physical_profile(profile)
    if isinstance(prof, IdealizedProfile):
        n = counts.logical_gates if counts.sequential_gates is None else counts.sequential_gates
        which = "all counted logical gates" if counts.sequential_gates is None else "sequential_gates"
        return PhysicalEstimate(
            profile=prof.name,
            kind=prof.kind,
            model="idealized",
            feasible=True,
            reason="idealized logical machine (not a physical device): no error correction, no physical qubits",
            wall_time_s=float(n) * prof.gate_time_s,
            gate_time_s=prof.gate_time_s,
            method=f"wall time = {which} ({n:.6g}) x {prof.gate_time_s:g} s per logical gate",
        )
    out = dict(
        _surface_estimate(
            prof.model,
            counts.rounded(),
            counts.logical_qubits,
            counts.rotation_error,
            prof.phys_error,
            prof.cycle_time_us,
            prof.error_budget,
            prof.n_factories,
        )
    )
    out.setdefault("wall_time_s", None)
    return PhysicalEstimate(
        profile=prof.name,
        kind=prof.kind,
        model=prof.model,
        phys_error=prof.phys_error,
        cycle_time_s=prof.cycle_time_s,
        error_budget=prof.error_budget,
        **out,
    )


def _check_target(seconds_target: float) -> float:
    s = finite_nonneg("seconds_target", seconds_target)
    if not s > 0.0:
        raise InputError(f"seconds_target must be > 0, got {seconds_target!r}")
    return s


def max_cycle_time_for(
    seconds_target: float,
    counts: LogicalCounts,
    phys_error: float,
    error_budget: float,
    *,
    model: str = "gidney-fowler",
    n_factories: int = 1,
) -> float | None:
    """Largest surface-code cycle time (s) at ``phys_error`` whose modeled wall time is <= ``seconds_target``.

    None when no cycle time works (the point is infeasible at this ``phys_error``, whatever the cycle).
    Solved exactly as ``target / n_cycles`` (n_cycles does not depend on the cycle time) and checked by
    re-estimating at the answer; should the grid search's choice ever change with the cycle time (a
    floating-point tie of the qubit-hour cost), it falls back to bisection to 1e-9 relative.
    """
    target = _check_target(seconds_target)

    def at(cycle_s: float) -> PhysicalEstimate:
        return physical_estimate(
            counts, custom_profile(cycle_s, phys_error, error_budget, model=model, n_factories=n_factories)
        )

    ref = at(1e-6)
    if not ref.feasible or ref.n_cycles is None:
        return None
    if ref.n_cycles == 0:  # nothing to distil or store: any cycle time meets the target
        return math.inf
    cycle = target / ref.n_cycles
    est = at(cycle)
    if est.feasible and est.wall_time_s is not None and abs(est.wall_time_s - target) <= 1e-9 * target:
        return cycle
    lo, hi = 0.0, 2.0 * cycle  # pragma: no cover - only on a cost tie flipped by rounding
    for _ in range(200):  # pragma: no cover
        mid = 0.5 * (lo + hi)
        e = at(mid)
        if e.feasible and e.wall_time_s is not None and e.wall_time_s <= target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-9 * hi:
            break
    return lo if lo > 0.0 else None  # pragma: no cover


def max_logical_gate_time_for(seconds_target: float, n_sequential_gates: float) -> float:
    """Largest time per logical gate (s) such that ``n_sequential_gates`` gates take <= ``seconds_target``."""
    target = _check_target(seconds_target)
    n = finite_nonneg("n_sequential_gates", n_sequential_gates)
    if not n > 0.0:
        raise InputError(f"n_sequential_gates must be > 0, got {n_sequential_gates!r}")
    return target / n
