"""Physical machine profiles for :func:`~qlsa_sim.quantum.estimation.physical.physical_estimate` (MODELED).

``'surface-code'`` -- :class:`PhysicalProfile`: physical error rate ``p``, surface-code cycle time, total failure
budget, a model (Gidney-Fowler or Beverland et al., as Qualtran implements them) and a number of magic-state
factories, each parameter with its citation. ``'idealized-logical'`` -- :class:`IdealizedProfile`: a fixed time
per LOGICAL gate and nothing else (the seed paper's 1 as gate); not a physical machine. The built-in profiles, their
names, lookup, and :func:`custom_profile` for a machine given by its parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from qlsa_sim.core.cache import DiskCache, code_identity
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.quantum.estimation.hardware import get_profile as _get_gate_time_profile

KINDS = ("idealized-logical", "surface-code")
MODELS = ("gidney-fowler", "beverland")
# The built-in profiles' names, each written once (the builders below take theirs from here), so that names can be
# listed and checked without importing Qualtran, whose parameters the profiles themselves are built from.
_IDEALIZED_NAMES = ("idealized-attosecond",)
_GF_NAMES = ("surface-p1e-3-1us", "surface-p1e-4-1us", "surface-p1e-4-100ns")
_BEV_NAMES = ("beverland-p1e-3-400ns", "beverland-p1e-4-400ns")
DEFAULT_PHYSICAL_PROFILE = _GF_NAMES[0]

_CITE_QUALTRAN_GF_BUDGET = (
    "qualtran 0.7 gidney_fowler_model.get_ccz2t_costs_from_grid_search default error_budget=1e-2 (also the "
    "budget of Qualtran's reproduction of the Gidney-Fowler spreadsheet, gidney_fowler_model_test."
    "test_vs_spreadsheet, arXiv:1812.01238)"
)
_CITE_GF_FACTORY = (
    "Gidney & Fowler, 'Efficient magic state factories with a catalyzed |CCZ> to 2|T> transformation', "
    "Quantum 3, 135 (2019), arXiv:1812.01238: qualtran CCZ2TFactory, grid iter_ccz2t_factories (l1 5..23, "
    "l2 l1+2..39), searched by get_ccz2t_costs_from_grid_search"
)
_CITE_GF_DATA = (
    "Gidney & Fowler 2019, arXiv:1812.01238: qualtran SimpleDataBlock (1 tile per logical qubit + 50 % routing "
    "overhead), data distance searched over 7..59"
)
_CITE_GF_QEC = (
    "qualtran QECScheme.make_gidney_fowler: p_L = 0.1 (p / 0.01)^((d+1)/2) per cycle (Fowler & Gidney 2018, "
    "arXiv:1808.06709, Sec. XV)"
)
_CITE_ROT = (
    "qualtran BeverlandEtAlRotationCost = ceil(0.53 log2(1/eps) + 5.3) T per rotation (Beverland et al. 2022, "
    "arXiv:2211.07629, App. D, Eqs. D3-D4 as cited by qualtran; Kliuchnikov et al. 2022, arXiv:2203.10064), "
    "eps = (budget/3)/rotations via beverland_et_al_model.n_discrete_logical_gates"
)
_CITE_BEV_FACTORY = (
    "Litinski, 'Magic State Distillation: Not as Costly as You Think', Quantum 3, 205 (2019), arXiv:1905.06903, "
    "Table 1 single-level 15-to-1 protocols (7,3,3), (9,3,3), (11,5,5), (17,7,7): qualtran FifteenToOne"
)
_CITE_BEV_DATA = (
    "Litinski, 'A Game of Surface Codes', Quantum 3, 128 (2019), arXiv:1808.02892, Fig. 13b fast block: "
    "qualtran FastDataBlock (2Q + sqrt(8Q) + 1 tiles, one magic state per d cycles), distance searched 3..59"
)
_CITE_BEV_QEC = (
    "Beverland et al., 'Assessing requirements to scale to practical quantum advantage', arXiv:2211.07629 "
    "(2022): qualtran QECScheme.make_beverland_et_al, p_L = 0.03 (p / 0.01)^((d+1)/2)"
)


def finite_nonneg(name: str, v: object) -> float:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(x) or x < 0.0:
        raise InputError(f"{name} must be finite and >= 0, got {v!r}")
    return x


# --------------------------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class PhysicalProfile:
    """A surface-code machine: ``phys_error``, ``cycle_time_s``, ``error_budget`` (total failure
    probability), ``model`` ('gidney-fowler' | 'beverland'), ``n_factories`` (Gidney-Fowler only; the
    Beverland search chooses its own), and ``citations`` = ((parameter, source), ...)."""

    name: str
    phys_error: float
    cycle_time_s: float
    error_budget: float
    model: str
    description: str
    citations: tuple[tuple[str, str], ...]
    n_factories: int = 1
    kind: str = "surface-code"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"profile name must be a non-empty string, got {self.name!r}")
        p = finite_nonneg("phys_error", self.phys_error)
        if not 0.0 < p < 0.5:
            raise InputError(f"phys_error must lie in (0, 0.5), got {self.phys_error!r}")
        c = finite_nonneg("cycle_time_s", self.cycle_time_s)
        if not c > 0.0:
            raise InputError(f"cycle_time_s must be > 0, got {self.cycle_time_s!r}")
        b = finite_nonneg("error_budget", self.error_budget)
        if not 0.0 < b < 1.0:
            raise InputError(f"error_budget must lie in (0, 1), got {self.error_budget!r}")
        if self.model not in MODELS:
            raise UnknownNameError("surface-code model", str(self.model), MODELS)
        k = self.n_factories
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InputError(f"n_factories must be an integer >= 1, got {k!r}")
        if self.model == "beverland" and k != 1:
            raise InputError("the 'beverland' model chooses its own number of factories; leave n_factories = 1")
        if self.kind != "surface-code":
            raise InputError(f"a PhysicalProfile has kind 'surface-code', got {self.kind!r}")
        object.__setattr__(self, "phys_error", p)
        object.__setattr__(self, "cycle_time_s", c)
        object.__setattr__(self, "error_budget", b)

    @property
    def cycle_time_us(self) -> float:
        """Cycle time in microseconds, Qualtran's unit."""
        return self.cycle_time_s * 1e6

    def citation(self, parameter: str) -> str:
        return dict(self.citations).get(parameter, "")


@dataclass(frozen=True)
class IdealizedProfile:
    """An IDEALIZED logical machine: every logical gate takes ``gate_time_s``; no physical qubits, no error
    correction, no failure.  Not a physical device (kind 'idealized-logical')."""

    name: str
    gate_time_s: float
    description: str
    citations: tuple[tuple[str, str], ...]
    kind: str = "idealized-logical"

    def __post_init__(self) -> None:
        g = finite_nonneg("gate_time_s", self.gate_time_s)
        if not g > 0.0:
            raise InputError(f"gate_time_s must be > 0, got {self.gate_time_s!r}")
        if self.kind != "idealized-logical":
            raise InputError(f"an IdealizedProfile has kind 'idealized-logical', got {self.kind!r}")
        object.__setattr__(self, "gate_time_s", g)

    def citation(self, parameter: str) -> str:
        return dict(self.citations).get(parameter, "")


Profile = PhysicalProfile | IdealizedProfile


def _gf_citations(p_src: str, cycle_src: str) -> tuple[tuple[str, str], ...]:
    return (
        ("phys_error", p_src),
        ("cycle_time_s", cycle_src),
        ("error_budget", _CITE_QUALTRAN_GF_BUDGET),
        ("factory", _CITE_GF_FACTORY),
        ("n_factories", "1 factory: qualtran's default grid iter_ccz2t_factories(n_factories=1)"),
        ("data_block", _CITE_GF_DATA),
        ("qec_scheme", _CITE_GF_QEC),
        ("rotation_cost", _CITE_ROT),
    )


def _bev_citations(p_src: str, cycle_src: str) -> tuple[tuple[str, str], ...]:
    return (
        ("phys_error", p_src),
        ("cycle_time_s", cycle_src),
        ("error_budget", _CITE_QUALTRAN_GF_BUDGET + "; kept equal across profiles for comparison"),
        ("factory", _CITE_BEV_FACTORY),
        ("n_factories", ("fewest factories keeping pace with the data block: ceil(factory cycles / data cycles), "
                        "both from qualtran n_cycles")),
        ("data_block", _CITE_BEV_DATA),
        ("qec_scheme", _CITE_BEV_QEC),
        ("rotation_cost", _CITE_ROT),
    )


def _builtin_profiles() -> dict[str, Profile]:
    atto = _get_gate_time_profile("attosecond")
    idealized = IdealizedProfile(
        _IDEALIZED_NAMES[0],
        atto.gate_time_s,
        "IDEALIZED logical machine: 1 as per logical gate (the seed paper's assumption), no error correction, "
        "no physical qubits -- not a physical device",
        (("gate_time_s", atto.citation + " (qlsa_sim hardware profile 'attosecond')"),),
    )
    return {p.name: p for p in (idealized, *_gidney_fowler_profiles(), *_beverland_profiles())}


@dataclass(frozen=True)
class QualtranParameters:
    """The two numbers of a Qualtran ``PhysicalParameters`` the built-in profiles use."""

    physical_error: float
    cycle_time_us: float


_PARAMETER_CACHE = DiskCache("qualtran-parameters")
_MAKERS = ("gidney-fowler", "gidney-fowler-optimistic", "beverland", "beverland-optimistic")


@lru_cache(maxsize=1)
def qualtran_parameters() -> dict[str, QualtranParameters]:
    """Qualtran's ``PhysicalParameters.make_gidney_fowler`` and ``make_beverland_et_al('superconducting')``, each
    realistic and with ``optimistic_err_rate=True``: read from Qualtran once per Qualtran version and source of
    this module, and kept on disk (``core/cache.py``), so a later process builds the profiles without Qualtran."""
    key = {"parameters": list(_MAKERS), **code_identity(Path(__file__).resolve().parent, ("physical_profiles.py",))}
    hit = _PARAMETER_CACHE.get(key)
    if isinstance(hit, dict) and sorted(hit) == sorted(_MAKERS):
        try:
            return {k: QualtranParameters(float(hit[k][0]), float(hit[k][1])) for k in _MAKERS}
        except (TypeError, ValueError, IndexError):
            pass  # an entry of another shape: read Qualtran again
    from qualtran.surface_code import PhysicalParameters as Made

    made = (Made.make_gidney_fowler(), Made.make_gidney_fowler(optimistic_err_rate=True),
            Made.make_beverland_et_al("superconducting"),
            Made.make_beverland_et_al("superconducting", optimistic_err_rate=True))
    out = {k: QualtranParameters(float(m.physical_error), float(m.cycle_time_us)) for k, m in zip(_MAKERS, made)}
    _PARAMETER_CACHE.put(key, {k: [v.physical_error, v.cycle_time_us] for k, v in out.items()})
    return out


def _gidney_fowler_profiles() -> list[PhysicalProfile]:
    params = qualtran_parameters()
    gf, gf_opt = params["gidney-fowler"], params["gidney-fowler-optimistic"]
    gf_src = (
        "Gidney & Fowler, Quantum 3, 135 (2019), arXiv:1812.01238, as encoded in qualtran "
        "PhysicalParameters.make_gidney_fowler{opt} (p = {p:g}, cycle 1 us)"
    )
    g_e = (
        "1 us surface-code cycle: Gidney & Ekera, 'How to factor 2048 bit RSA integers in 8 hours using 20 million "
        "noisy qubits', Quantum 5, 433 (2021), arXiv:1905.09749 (p = 1e-3, 1 us cycle, 10 us reaction time); "
        "Fowler et al., PRA 86, 032324 (2012), arXiv:1208.0928 (surface code); qualtran "
        "PhysicalParameters.make_gidney_fowler (cycle_time_us = 1.0)"
    )
    return [
        PhysicalProfile(
            _GF_NAMES[0],
            gf.physical_error,
            gf.cycle_time_us * 1e-6,
            1e-2,
            "gidney-fowler",
            "superconducting surface code, p = 1e-3, 1 us cycle, Gidney-Fowler CCZ->2T factory (1 factory)",
            _gf_citations(gf_src.format(opt="()", p=gf.physical_error), g_e),
        ),
        PhysicalProfile(
            _GF_NAMES[1],
            gf_opt.physical_error,
            gf_opt.cycle_time_us * 1e-6,
            1e-2,
            "gidney-fowler",
            "superconducting surface code, p = 1e-4 (optimistic), 1 us cycle, Gidney-Fowler CCZ->2T factory",
            _gf_citations(gf_src.format(opt="(optimistic_err_rate=True)", p=gf_opt.physical_error), g_e),
        ),
        PhysicalProfile(
            _GF_NAMES[2],
            gf_opt.physical_error,
            100e-9,
            1e-2,
            "gidney-fowler",
            "OPTIMISTIC what-if: p = 1e-4 with a 100 ns cycle (10x faster than the 1 us of Gidney & Ekera; 4x faster "
            "than Beverland et al.'s 400 ns superconducting cycle), Gidney-Fowler CCZ->2T factory",
            _gf_citations(
                gf_src.format(opt="(optimistic_err_rate=True)", p=gf_opt.physical_error),
                "100 ns = one measurement of Beverland et al.'s superconducting qubits (arXiv:2211.07629, "
                "qubit_gate_ns_e4: 100 ns measurement, 50 ns gates), i.e. a cycle no slower than a single "
                "syndrome measurement -- an optimistic bound, not a published cycle time",
            ),
        ),
    ]


def _beverland_profiles() -> list[PhysicalProfile]:
    params = qualtran_parameters()
    bev, bev_opt = params["beverland"], params["beverland-optimistic"]
    bev_src = (
        "Beverland et al. 2022, arXiv:2211.07629, superconducting ('{tag}', {kind} error rate: 50 ns gates, 100 ns "
        "measurement, p = {p:g}; Azure QRE qubit_gate_ns_{tag2}), as encoded in qualtran "
        "PhysicalParameters.make_beverland_et_al('superconducting'{opt})"
    )
    bev_cycle = (
        "qualtran PhysicalParameters.make_beverland_et_al('superconducting'): cycle = 4 t_gate + 2 t_meas = "
        "4 x 50 ns + 2 x 100 ns = 400 ns (Beverland et al. 2022, arXiv:2211.07629, gate-based surface-code cycle)"
    )
    return [
        PhysicalProfile(
            _BEV_NAMES[0],
            bev.physical_error,
            bev.cycle_time_us * 1e-6,
            1e-2,
            "beverland",
            "superconducting (realistic) after Beverland et al. 2022: p = 1e-3, 400 ns cycle, Litinski 15-to-1 "
            "factories and fast data block in qualtran's PhysicalCostModel",
            _bev_citations(
                bev_src.format(tag="realistic", kind="realistic", p=bev.physical_error, tag2="e3", opt=""), bev_cycle
            ),
        ),
        PhysicalProfile(
            _BEV_NAMES[1],
            bev_opt.physical_error,
            bev_opt.cycle_time_us * 1e-6,
            1e-2,
            "beverland",
            "superconducting (optimistic) after Beverland et al. 2022: p = 1e-4, 400 ns cycle, Litinski 15-to-1 "
            "factories and fast data block in qualtran's PhysicalCostModel",
            _bev_citations(
                bev_src.format(tag="optimistic", kind="optimistic", p=bev_opt.physical_error, tag2="e4",
                               opt=", optimistic_err_rate=True"),
                bev_cycle,
            ),
        ),
    ]


@lru_cache(maxsize=1)
def _profiles() -> dict[str, Profile]:
    built = _builtin_profiles()
    if sorted(built) != sorted(physical_profile_names()):  # pragma: no cover - a builder lost its name constant
        raise RuntimeError(f"built-in profiles {sorted(built)} differ from their names {physical_profile_names()}")
    return built


def physical_profile_names() -> tuple[str, ...]:
    """Names of the built-in physical and idealized profiles, default first (no Qualtran import)."""
    rest = sorted(n for n in (*_IDEALIZED_NAMES, *_GF_NAMES, *_BEV_NAMES) if n != DEFAULT_PHYSICAL_PROFILE)
    return (DEFAULT_PHYSICAL_PROFILE, *rest)


def surface_code_profile_names() -> tuple[str, ...]:
    """Names of the built-in surface-code (physical) profiles."""
    return tuple(n for n in physical_profile_names() if n not in _IDEALIZED_NAMES)


def check_physical_profile(name: str | Profile) -> None:
    """UnknownNameError unless ``name`` is a profile object or a built-in profile's name; builds nothing (so a
    parent process that only dispatches work need not import Qualtran)."""
    if not isinstance(name, (PhysicalProfile, IdealizedProfile)) and name not in physical_profile_names():
        raise UnknownNameError("physical profile", str(name), physical_profile_names())


def get_physical_profile(name: str | Profile) -> Profile:
    """The built-in profile called ``name`` (a profile object is returned as is); UnknownNameError otherwise."""
    if isinstance(name, (PhysicalProfile, IdealizedProfile)):
        return name
    try:
        return _profiles()[name]  # type: ignore[index]
    except (KeyError, TypeError):
        raise UnknownNameError("physical profile", str(name), physical_profile_names()) from None


def custom_profile(
    cycle_time_s: float,
    phys_error: float,
    error_budget: float,
    *,
    model: str = "gidney-fowler",
    n_factories: int = 1,
    name: str | None = None,
) -> PhysicalProfile:
    """A user-specified surface-code profile (the CLI's --cycle-time/--phys-error/--error-budget).

    Raises InputError unless ``0 < phys_error < 0.5``, ``cycle_time_s > 0``, ``0 < error_budget < 1`` and
    ``n_factories >= 1``; UnknownNameError on an unknown ``model``.  The factory, data-block, QEC-scheme and
    rotation-cost citations are those of the chosen model.
    """
    user = "user-supplied (custom profile)"
    base = _gf_citations(user, user) if model == "gidney-fowler" else _bev_citations(user, user)
    cites = tuple((k, user if k in ("phys_error", "cycle_time_s", "error_budget") else v) for k, v in base)
    if model == "gidney-fowler" and n_factories != 1:
        cites = tuple((k, f"{n_factories} factories in parallel (user-supplied; qualtran MultiFactory)")
                      if k == "n_factories" else (k, v) for k, v in cites)
    prof = PhysicalProfile("custom", phys_error, cycle_time_s, error_budget, model, "custom", cites,
                           n_factories=n_factories)  # validates before the numbers are formatted
    p, c, b = prof.phys_error, prof.cycle_time_s, prof.error_budget
    return replace(
        prof,
        name=name or f"custom-{model}-p{p:g}-cycle{c:g}s-budget{b:g}" + (f"-{n_factories}f" if n_factories > 1 else ""),
        description=f"custom surface-code profile ({model}): p = {p:g}, cycle {c:g} s, budget {b:g}, "
                    f"{n_factories} factor{'y' if n_factories == 1 else 'ies'}",
    )
