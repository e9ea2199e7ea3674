"""The anchor: the newest checkpoint, also kept in a file beside the database (`<data_dir>/audit-anchor.json`).

Whoever can write to the database can delete the tail of the chain *and* the checkpoints that signed it;
what remains then looks like a log that simply ends earlier. The anchor file is outside the database (on
another machine than a PostgreSQL server), so `clearsight audit verify` can tell that entries up to the
anchor's sequence number once existed. It is written after every checkpoint commit (temporary file, then
rename), and is signed like the checkpoint it copies.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path

from clearsight.audit.checkpoints import Checkpoint, CheckpointKind
from clearsight.audit.entry import format_time

logger = logging.getLogger(__name__)

ANCHOR_FILE = "audit-anchor.json"


class InvalidAnchor(Exception):
    """The anchor file exists but cannot be read as a checkpoint."""


def write_anchor(path: Path, checkpoint: Checkpoint) -> None:
    """Replace the anchor file atomically (blocking: call it in a thread)."""
    document = {"seq": checkpoint.seq, "hash": checkpoint.hash, "kind": str(checkpoint.kind),
                "signed_at": format_time(checkpoint.signed_at), "key_fingerprint": checkpoint.key_fingerprint,
                "signature": checkpoint.signature}
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_anchor(path: Path) -> Checkpoint | None:
    """The anchored checkpoint, or None when there is no anchor file (blocking)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        kind: CheckpointKind | str
        try:
            kind = CheckpointKind(document["kind"])
        except ValueError:
            kind = str(document["kind"])
        return Checkpoint(int(document["seq"]), str(document["hash"]), kind,
                          datetime.fromisoformat(str(document["signed_at"]).replace("Z", "+00:00")),
                          str(document["key_fingerprint"]), str(document["signature"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidAnchor(f"{path}: {exc}") from exc
