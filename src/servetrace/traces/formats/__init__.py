"""Trace format readers behind a registry: one reader per file, detected from the file's first lines."""

from __future__ import annotations

from servetrace.errors import UnknownFormatError
from servetrace.traces.formats.base import Reader, ReadOptions, Staged
from servetrace.traces.source import Source

_REGISTRY: dict[str, type[Reader]] = {}


def register(cls: type[Reader]) -> type[Reader]:
    if cls.name in _REGISTRY:
        raise ValueError(f"format {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def known_formats() -> dict[str, str]:
    _load_builtin()
    return {name: cls.description for name, cls in sorted(_REGISTRY.items())}


def get_reader(name: str) -> type[Reader]:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {', '.join(sorted(_REGISTRY))}") from None


def detect(source: Source) -> type[Reader]:
    """The reader whose sniffing accepts the file; generic formats never claim a file by themselves."""
    _load_builtin()
    for cls in _REGISTRY.values():
        if cls.sniff(source):
            return cls
    first = source.head_lines(1)
    shown = repr(first[0][:80]) if first else "(binary or empty)"
    raise UnknownFormatError(
        f"{source.name}: unrecognised trace format (first line {shown}); known formats: "
        f"{', '.join(sorted(_REGISTRY))}; for other files use --format generic --map arrival=COL,..."
    )


def _load_builtin() -> None:
    """Import every built-in reader (each registers itself); a module imported on its own does not count."""
    from servetrace.traces.formats import (  # noqa: F401
        azure_llm,
        azure_lmm,
        burstgpt,
        generic,
        mooncake,
        native,
        qwen,
    )


__all__ = ["ReadOptions", "Reader", "Staged", "detect", "get_reader", "known_formats", "register"]
