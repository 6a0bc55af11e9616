"""Error types. Every error a user can cause derives from :class:`QlsaSimError`.

The CLI turns these into a one-line message and a non-zero exit code; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class QlsaSimError(Exception):
    """Base class of errors caused by input, data or configuration (not by a bug)."""


class DataError(QlsaSimError):
    """A data set is missing, unreadable or malformed."""


class TraceError(QlsaSimError):
    """A trace directory, manifest or snapshot file is missing, corrupt or inconsistent."""


class CalibrationError(QlsaSimError):
    """A calibration profile is missing, malformed or lacks fields."""


class InputError(QlsaSimError, ValueError):
    """An argument is invalid: wrong shape, non-finite, non-symmetric, out of range."""


class UnknownNameError(QlsaSimError, KeyError):
    """A name (model, data set, preset, profile, solver) is not known."""

    def __init__(self, kind: str, name: str, known: list[str] | tuple[str, ...]) -> None:
        self.kind, self.name, self.known = kind, name, tuple(known)
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(self.known) or '(none)'}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class MemoryBudgetError(QlsaSimError):
    """A requested block would not fit the configured memory budget."""
