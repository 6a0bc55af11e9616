"""Hardware profiles: the time one gate layer (or one gate, for count-based time) takes.

All times derived from these profiles are MODELED.  The seed paper assumes attosecond gates; the other
profiles put that assumption beside published physical and error-corrected figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from qlsa_sim.errors import UnknownNameError

DEFAULT_PROFILE: str = "attosecond"


@dataclass(frozen=True)
class HardwareProfile:
    """A named gate time (seconds per gate layer) with its source."""

    name: str
    gate_time_s: float
    description: str
    citation: str


_PROFILES: dict[str, HardwareProfile] = {
    p.name: p
    for p in (
        HardwareProfile(
            "attosecond",
            1e-18,
            "1 as per gate layer: the seed (Q-Newton) paper's assumption for its QLSA cost, Eq. 4",
            "seed paper (Q-Newton), quantum cost model Eq. 4 with attosecond gate time",
        ),
        HardwareProfile(
            "nanosecond-physical",
            25e-9,
            "25 ns per layer: physical superconducting gates (single-qubit 25 ns, CZ 12 ns), no error "
            "correction; physical gates span ~1e-9..1e-7 s (trapped ions are slower, ~1e-5 s)",
            "Arute et al., Nature 574, 505 (2019), 'Quantum supremacy using a programmable "
            "superconducting processor', gate durations",
        ),
        HardwareProfile(
            "logical-ec",
            1e-6,
            "1 us per logical layer: one surface-code cycle per logical gate layer (optimistic; lattice "
            "surgery needs ~d cycles per logical operation)",
            "Gidney & Ekera, Quantum 5, 433 (2021), arXiv:1905.09749: 1 us surface-code cycle; Fowler et "
            "al., PRA 86, 032324 (2012)",
        ),
        HardwareProfile(
            "logical-ec-d25",
            25e-6,
            "25 us per logical layer: d = 25 surface-code cycles of 1 us per logical operation",
            "Gidney & Ekera, Quantum 5, 433 (2021), arXiv:1905.09749 (cycle 1 us, distance ~25-27)",
        ),
    )
}


def profile_names() -> tuple[str, ...]:
    """Names of all profiles, default first."""
    rest = sorted(n for n in _PROFILES if n != DEFAULT_PROFILE)
    return (DEFAULT_PROFILE, *rest)


def get_profile(name: str) -> HardwareProfile:
    """The profile called ``name``; UnknownNameError("hardware profile", ...) otherwise."""
    if isinstance(name, HardwareProfile):
        return name
    try:
        return _PROFILES[name]
    except (KeyError, TypeError):
        raise UnknownNameError("hardware profile", str(name), profile_names()) from None
