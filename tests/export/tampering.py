"""Ways to alter a package, as a forger or bit rot would."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

LOCAL_HEADER_SIZE = 30  # APPNOTE.TXT 4.3.7


def rezip(source: Path, target: Path, *, replace: dict[str, bytes] | None = None, drop: tuple[str, ...] = (),
          add: dict[str, bytes] | None = None) -> Path:
    """A copy of the package with entries replaced, dropped or added (stored, like the original)."""
    replace = replace or {}
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as copy:
        for name in original.namelist():
            if name not in drop:
                copy.writestr(name, replace.get(name, original.read(name)))
        for name, data in (add or {}).items():
            copy.writestr(name, data)
    return target


def flip_byte_in_entry(path: Path, name: str, position: float = 0.5) -> None:
    """Flip one byte inside a stored entry's data in place (its CRC in the zip no longer matches)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    with path.open("r+b") as stream:
        stream.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", stream.read(4))
        data_start = info.header_offset + LOCAL_HEADER_SIZE + name_length + extra_length
        offset = data_start + int(info.compress_size * position)
        stream.seek(offset)
        byte = stream.read(1)[0]
        stream.seek(offset)
        stream.write(bytes((byte ^ 0x01,)))


def unpack(path: Path, directory: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(directory)
    return directory
