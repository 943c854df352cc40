"""Typed exceptions. The CLI turns each into a one-line message and a non-zero exit code in one place."""

from __future__ import annotations


class ServetraceError(Exception):
    """Base of every error servetrace reports to users."""

    exit_code = 1


class UsageError(ServetraceError):
    """An option or argument that cannot work as given."""

    exit_code = 2


class UnknownFormatError(ServetraceError):
    """The file's format was not recognised, or `--format` names no reader."""

    exit_code = 2


class SourceError(ServetraceError):
    """A source file is missing, unreadable or structurally wrong (bad header, bad mapping)."""


class MalformedRowError(ServetraceError):
    """A row that cannot become a request; raised only in strict mode, otherwise the row is a reject."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {reason}")
        self.file, self.line, self.reason = file, line, reason


class InvalidNameError(ServetraceError):
    """A trace name that is not a safe identifier."""

    exit_code = 2


class TraceExistsError(ServetraceError):
    """A trace of that name is already stored and replacing it was not asked for."""


class TraceNotFoundError(ServetraceError):
    """No trace of that name in the store."""


class StoreError(ServetraceError):
    """The store is missing, locked or inconsistent."""


class QueryError(ServetraceError):
    """A SQL query failed or was refused (for example, a statement that writes)."""


class ModelFileError(ServetraceError):
    """A workload model file that cannot be used: unknown version, a missing field, an impossible parameter."""

    exit_code = 2


class FitError(ServetraceError):
    """A workload model cannot be fitted to the trace as asked (too short, no requests, no such column)."""
