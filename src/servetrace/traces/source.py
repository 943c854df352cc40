"""A source file: its compression, its first lines (for format detection), its hash."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import zstandard

from servetrace.errors import SourceError

HEAD_BYTES = 64 * 1024
PARQUET_MAGIC = b"PAR1"


def compression_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}.get(suffix)


@contextmanager
def open_decompressed(path: Path) -> Iterator[IO[bytes]]:
    """Open a file for binary reading, decompressing gzip or zstd on the fly."""
    kind = compression_of(path)
    with open(path, "rb") as raw:
        if kind == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                yield f  # type: ignore[misc]
        elif kind == "zstd":
            with zstandard.ZstdDecompressor().stream_reader(raw) as f:
                yield f
        else:
            yield raw


@dataclass
class Source:
    """A trace file to ingest."""

    path: Path
    head: bytes = field(default=b"", repr=False)
    label: str | None = None  # the name users gave, when `path` is a link to it

    @classmethod
    def open(cls, path: str | Path) -> Source:
        p = Path(path)
        if not p.is_file():
            raise SourceError(f"{p}: no such file")
        try:
            with open_decompressed(p) as f:
                head = f.read(HEAD_BYTES)
        except (OSError, EOFError, zstandard.ZstdError) as exc:
            raise SourceError(f"{p}: cannot read: {exc}") from exc
        return cls(p, head)

    @property
    def name(self) -> str:
        return self.label or str(self.path)

    def without_globs(self, work: Path) -> Source:
        """This file under a name with no glob characters (DuckDB and polars expand `*`, `?` and `[`)."""
        if not any(ch in str(self.path) for ch in "*?["):
            return self
        link = work / ("source" + "".join(s for s in self.path.suffixes[-2:] if s.isascii() and s[1:].isalnum()))
        link.symlink_to(self.path.resolve())
        return Source(link, self.head, self.name)

    @property
    def compression(self) -> str | None:
        return compression_of(self.path)

    @property
    def inner_suffix(self) -> str:
        """The suffix under any compression suffix: `.csv` for `x.csv.gz`."""
        p = self.path.with_suffix("") if self.compression else self.path
        return p.suffix.lower()

    @property
    def is_parquet(self) -> bool:
        return self.head[:4] == PARQUET_MAGIC

    def head_lines(self, n: int = 20) -> list[str]:
        """The first complete lines (CR/LF stripped), decoded leniently; empty for binary files."""
        if self.is_parquet:
            return []
        text = self.head.decode("utf-8", errors="replace")
        lines = text.splitlines()
        if len(self.head) == HEAD_BYTES and not text.endswith(("\n", "\r")):
            lines = lines[:-1]  # the last line may be cut
        return [ln.lstrip("\ufeff") for ln in lines[:n]]

    def sha256(self) -> str:
        h = hashlib.sha256()
        with open(self.path, "rb") as f:
            while chunk := f.read(8 << 20):
                h.update(chunk)
        return h.hexdigest()

    def plain_path(self, work: Path) -> Path:
        """A path to the uncompressed bytes, decompressing into `work` (streamed) when needed."""
        if self.compression is None:
            return self.path
        out = work / ("source" + self.inner_suffix)
        with open_decompressed(self.path) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 8 << 20)
        return out
