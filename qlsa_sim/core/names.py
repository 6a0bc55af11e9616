"""The toolkit's closed vocabularies, each defined once: solvers, curvature kinds, storages, cost models,
scheduling modes, emulations. Members are ``StrEnum`` values, so they compare equal to their plain strings;
:func:`parse` checks user text against a vocabulary and returns the plain string (so configs, rows and
checkpoints hold only builtin types), or raises a one-line UnknownNameError.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from qlsa_sim.errors import UnknownNameError

E = TypeVar("E", bound=StrEnum)


class Solver(StrEnum):
    """Classical block solvers (``linalg/solvers.py``)."""

    CHOLESKY = "cholesky"
    LU = "lu"
    CG = "cg"
    WOODBURY = "woodbury"


class CurvatureKind(StrEnum):
    """What a curvature block holds (``curvature/compute.py``)."""

    EXACT = "exact"
    GGN = "ggn"
    FISHER = "fisher"


class Storage(StrEnum):
    """How a block is stored in a trace: the dense matrix, or a factor M with H = scale M M^T."""

    DENSE = "dense"
    FACTOR = "factor"


class HessianMethod(StrEnum):
    """How an exact block is computed: closed form where it is exact, ``torch.func.hessian``, batched HVPs."""

    AUTO = "auto"
    HESSIAN = "hessian"
    HVP = "hvp"


class QuantumModel(StrEnum):
    """How a QLSA solve is priced: paper Eq. 4 (fitted) or the resource estimator directly."""

    EQ4 = "eq4"
    RESOURCES = "resources"


class Mode(StrEnum):
    """Which solvers the scheduler may pick: all, classical only, or the QLSA only."""

    HYBRID = "hybrid"
    CLASSICAL = "classical"
    QUANTUM = "quantum"


class Emulation(StrEnum):
    """How live training produces a quantum decision's solution (``train/hybrid_newton.py``)."""

    PERTURB = "perturb"
    CIRCUIT = "circuit"


class CircuitEncoding(StrEnum):
    """Block encodings built as qiskit circuits for simulation at small n (``quantum/circuits``)."""

    DILATION = "dilation"
    PAULI_LCU = "pauli_lcu"
    SPARSE = "sparse"


class TraceDtype(StrEnum):
    """Storage dtype of trace arrays."""

    FLOAT64 = "float64"
    FLOAT32 = "float32"


def parse(enum: type[E], value: object, what: str) -> str:
    """``value`` (a member of ``enum`` or its string) as the plain string; UnknownNameError naming ``what``
    otherwise."""
    try:
        return enum(value).value
    except ValueError:
        raise UnknownNameError(what, str(value), tuple(m.value for m in enum)) from None


def names(enum: type[StrEnum]) -> tuple[str, ...]:
    """The string values of ``enum``, in definition order."""
    return tuple(m.value for m in enum)
