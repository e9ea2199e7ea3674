"""Reading an export package for verification: the .zip as handed over, or a directory it was unpacked into.

A stored (uncompressed) zip entry is read straight from the archive rather than through `zipfile`, whose CRC
check would refuse an altered file before its SHA-256 could be reported; a deflated entry (someone re-zipped
the package) is read normally, and a CRC failure is then reported as the entry being unreadable.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from clearsight.export.digests import chunks_of, digest_chunks
from clearsight.export.errors import PackageUnreadable

LOCAL_HEADER = struct.Struct("<4s22xHH")  # APPNOTE.TXT 4.3.7: signature … file name length, extra field length
LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
MAX_SMALL_FILE = 16 << 20  # manifest, signature and key are read whole; nothing legitimate is this large


class EntryUnreadable(Exception):
    """One entry of the package cannot be read; the message says why."""


class Package(Protocol):
    def names(self) -> list[str]:
        """Every entry, in archive order, duplicates included."""
        ...

    def read(self, name: str) -> bytes: ...

    def digest(self, name: str) -> tuple[int, str]:
        """(size, SHA-256 hex) of an entry."""
        ...

    def close(self) -> None: ...


class ZipPackage:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise PackageUnreadable(path, f"not a readable zip file ({exc})") from None
        self._file = path.open("rb")

    def names(self) -> list[str]:
        return [info.filename for info in self._zip.infolist()]

    def read(self, name: str) -> bytes:
        return b"".join(self._chunks(name, MAX_SMALL_FILE))

    def digest(self, name: str) -> tuple[int, str]:
        return digest_chunks(self._chunks(name, None))

    def _chunks(self, name: str, limit: int | None) -> Iterator[bytes]:
        info = self._zip.getinfo(name)
        if limit is not None and info.file_size > limit:
            raise EntryUnreadable(f"{info.file_size} bytes, more than a manifest can be")
        try:
            if info.compress_type == zipfile.ZIP_STORED:
                self._file.seek(info.header_offset)
                signature, name_length, extra_length = LOCAL_HEADER.unpack(self._file.read(LOCAL_HEADER.size))
                if signature != LOCAL_HEADER_SIGNATURE:
                    raise EntryUnreadable("its local header in the zip is damaged")
                self._file.seek(info.header_offset + LOCAL_HEADER.size + name_length + extra_length)
                yield from chunks_of(self._file, info.compress_size)
            else:
                with self._zip.open(info) as stream:
                    yield from chunks_of(stream)
        except (OSError, zipfile.BadZipFile, struct.error, NotImplementedError) as exc:
            raise EntryUnreadable(str(exc)) from None

    def close(self) -> None:
        self._file.close()
        self._zip.close()


class DirectoryPackage:
    """An unpacked package; a subdirectory shows as an entry "name/" (never part of a package)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._entries = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
        except OSError as exc:
            raise PackageUnreadable(path, f"cannot list the directory ({exc.strerror})") from None

    def names(self) -> list[str]:
        return list(self._entries)

    def read(self, name: str) -> bytes:
        return b"".join(self._chunks(name, MAX_SMALL_FILE))

    def digest(self, name: str) -> tuple[int, str]:
        return digest_chunks(self._chunks(name, None))

    def _chunks(self, name: str, limit: int | None) -> Iterator[bytes]:
        path = self.path / name
        try:
            if limit is not None and path.stat().st_size > limit:
                raise EntryUnreadable(f"{path.stat().st_size} bytes, more than a manifest can be")
            with path.open("rb") as stream:
                yield from chunks_of(stream)
        except OSError as exc:
            raise EntryUnreadable(exc.strerror or str(exc)) from None

    def close(self) -> None:
        return None


def open_package(path: Path) -> Package:
    """The package at `path`; raises `PackageUnreadable` when it is neither a zip nor a directory."""
    if path.is_dir():
        return DirectoryPackage(path)
    if not path.exists():
        raise PackageUnreadable(path, "no such file or directory")
    return ZipPackage(path)
