"""SHA-256 of files and streams, with their sizes, read in chunks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

CHUNK_SIZE = 1 << 20


def chunks_of(stream: IO[bytes], limit: int | None = None) -> Iterable[bytes]:
    """The stream's bytes in chunks, at most `limit` of them."""
    remaining = limit
    while remaining is None or remaining > 0:
        chunk = stream.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def digest_chunks(chunks: Iterable[bytes]) -> tuple[int, str]:
    """(size, SHA-256 hex) of the concatenated chunks."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def file_digest(path: Path) -> tuple[int, str]:
    with path.open("rb") as stream:
        return digest_chunks(chunks_of(stream))
