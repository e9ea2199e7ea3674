"""`clearsight audit verify` and `clearsight audit export`: offline, with the settings `serve` uses.

Both only read. Exit codes of verify: 0 intact, 1 broken (the first broken entry is named), 2 cannot check
(no database, no audit tables, no signing key, an unreadable anchor file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from clearsight.audit.anchor import ANCHOR_FILE, InvalidAnchor, read_anchor
from clearsight.audit.checkpoints import Checkpoint
from clearsight.audit.export import ExportFormat, export_chunks
from clearsight.audit.models import AuditEntryRow
from clearsight.audit.search import AuditQuery, AuditSearch
from clearsight.audit.verify import VerifyReport, verify_chain
from clearsight.config import SIGNING_KEY_FILE, Settings
from clearsight.db import create_engine, session_factory
from clearsight.signing import SigningKeyError, load_or_create_signing_key

logger = logging.getLogger(__name__)

EXIT_INTACT = 0
EXIT_BROKEN = 1
EXIT_CANNOT_CHECK = 2
SHOWN_FINDINGS = 10  # findings printed after the first broken entry


class CannotCheck(Exception):
    """The log cannot be read at all (the message says why)."""


@dataclass(frozen=True, slots=True)
class ExportRequest:
    format: ExportFormat
    query: AuditQuery
    output: Path | None  # None: standard output


def verify_command(settings: Settings, out: TextIO, *, require_signed: bool = False, as_json: bool = False) -> int:
    """Verify the chain; prints the report to `out` and returns the exit code."""
    try:
        public_key = _platform_public_key(settings)
        anchor = _anchor(settings)
        _check_database_exists(settings)
        report = asyncio.run(_verify(settings, public_key, anchor, require_signed))
    except CannotCheck as exc:
        print(f"clearsight audit verify: {exc}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    out.write(json.dumps(_report_json(report), indent=2) + "\n" if as_json else _report_text(report))
    return EXIT_INTACT if report.intact else EXIT_BROKEN


def export_command(settings: Settings, request: ExportRequest, out: TextIO) -> int:
    """Write the matching entries to `request.output` (or `out`); returns the exit code."""
    try:
        _check_database_exists(settings)
        if request.output is None:
            asyncio.run(_export(settings, request, out))
        else:
            with request.output.open("w", encoding="utf-8", newline="") as stream:
                asyncio.run(_export(settings, request, stream))
    except CannotCheck as exc:
        print(f"clearsight audit export: {exc}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    return 0


def _platform_public_key(settings: Settings) -> bytes:
    key_path = settings.data_dir / SIGNING_KEY_FILE
    if not key_path.is_file():
        raise CannotCheck(f"no platform signing key at {key_path}: checkpoints cannot be checked")
    try:
        return load_or_create_signing_key(key_path).public_bytes
    except (SigningKeyError, ValueError, OSError) as exc:
        raise CannotCheck(f"cannot read the platform signing key {key_path}: {exc}") from exc


def _anchor(settings: Settings) -> Checkpoint | None:
    try:
        return read_anchor(settings.data_dir / ANCHOR_FILE)
    except InvalidAnchor as exc:
        raise CannotCheck(f"the anchor file is unreadable: {exc}") from exc


def _check_database_exists(settings: Settings) -> None:
    """Refuse a SQLite file that does not exist (opening it would create an empty one)."""
    parsed = make_url(settings.effective_database_url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_file():
        raise CannotCheck(f"no database at {parsed.database} (check --config / CLEARSIGHT_DATA_DIR)")


async def _verify(settings: Settings, public_key: bytes, anchor: Checkpoint | None,
                  require_signed: bool) -> VerifyReport:
    engine = await _open(settings)
    try:
        return await verify_chain(engine, public_key, anchor=anchor, require_signed=require_signed)
    except SQLAlchemyError as exc:
        raise CannotCheck(f"cannot read the audit log: {exc}") from exc
    finally:
        await engine.dispose()


async def _export(settings: Settings, request: ExportRequest, out: TextIO) -> None:
    engine = await _open(settings)
    try:
        entries = AuditSearch(session_factory(engine)).iter_entries(request.query)
        async for chunk in export_chunks(entries, request.format):
            out.write(chunk)
    except SQLAlchemyError as exc:
        raise CannotCheck(f"cannot read the audit log: {exc}") from exc
    finally:
        await engine.dispose()


async def _open(settings: Settings) -> AsyncEngine:
    """An engine on the platform's database that has the audit tables."""
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as connection:
            has_table = await connection.run_sync(lambda sync: inspect(sync).has_table(AuditEntryRow.__tablename__))
    except SQLAlchemyError as exc:
        await engine.dispose()
        raise CannotCheck(f"cannot connect to the database: {exc}") from exc
    if not has_table:
        await engine.dispose()
        raise CannotCheck("the database has no audit log yet (run `clearsight migrate` or `serve` first)")
    return engine


def _report_text(report: VerifyReport) -> str:
    lines = [f"audit chain: {report.entries} entries (head {report.head_seq}, {report.head_hash[:16]}…), "
             f"{report.checkpoints} checkpoints" + _last_checkpoint(report)]
    lines += [f"warning: {finding.describe()}" for finding in report.warnings]
    first = report.first_broken
    if first is None:
        lines.append("intact: every hash, link and checkpoint signature verified")
    else:
        lines.append(f"BROKEN: first broken entry {first.seq} ({first.kind}): {first.detail}")
        others = [finding for finding in report.errors if finding is not first]
        lines += [f"  also {finding.describe()}" for finding in others[:SHOWN_FINDINGS]]
        hidden = len(others) - SHOWN_FINDINGS + report.omitted
        if hidden > 0:
            lines.append(f"  ({hidden} more findings not shown)")
    return "\n".join(lines) + "\n"


def _last_checkpoint(report: VerifyReport) -> str:
    checkpoint = report.last_checkpoint
    if checkpoint is None:
        return ""
    signed_at = checkpoint.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"; last valid: {checkpoint.kind} at {checkpoint.seq} ({signed_at})"


def _report_json(report: VerifyReport) -> dict[str, object]:
    first = report.first_broken
    return {
        "intact": report.intact, "entries": report.entries, "checkpoints": report.checkpoints,
        "head_seq": report.head_seq, "head_hash": report.head_hash,
        "first_broken": None if first is None else {"seq": first.seq, "kind": str(first.kind), "detail": first.detail},
        "findings": [{"seq": f.seq, "kind": str(f.kind), "severity": str(f.severity), "detail": f.detail}
                     for f in report.findings],
        "omitted": report.omitted,
    }


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or time for --since/--until; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    """The `verify` and `export` subcommands of `clearsight audit`."""
    commands = parser.add_subparsers(dest="audit_command", required=True)
    config_help = "TOML settings file, as for serve (else CLEARSIGHT_CONFIG); CLEARSIGHT_* variables override it"
    verify = commands.add_parser(
        "verify", help="recompute the whole chain and check every checkpoint signature (exit 0 only when intact)",
        description="Recompute every entry's hash and link and check every checkpoint's signature with the "
        "platform key (<data_dir>/signing_key.pem), offline. Exit 0 when intact; 1 when broken, naming the first "
        "broken entry and what is wrong (hash mismatch, prev_hash mismatch, missing sequence, reordered, "
        "checkpoint signature invalid, entries missing after checkpoint, entries not written by the platform); "
        "2 when the log cannot be read.")
    verify.add_argument("--config", type=Path, help=config_help)
    verify.add_argument("--require-signed", action="store_true",
                        help="fail on entries no checkpoint signs yet (by default a warning: the running "
                        "platform signs them within seconds)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    export = commands.add_parser("export", help="write audit entries as CSV or JSON",
                                 description="Write the matching entries, oldest first, to standard output or "
                                 "--output. Times are ISO 8601; without an offset they are UTC.")
    export.add_argument("--config", type=Path, help=config_help)
    export.add_argument("--format", choices=[f.value for f in ExportFormat], required=True)
    export.add_argument("--since", type=parse_time, help="entries at or after this time")
    export.add_argument("--until", type=parse_time, help="entries before this time")
    export.add_argument("--actor", help="only this actor (user name)")
    export.add_argument("--action", help="only this action, e.g. login.failure")
    export.add_argument("--target", help="only this target, e.g. a channel's GB ID")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")


def run_audit(args: argparse.Namespace, settings: Settings) -> int:
    if args.audit_command == "verify":
        return verify_command(settings, sys.stdout, require_signed=args.require_signed, as_json=args.json)
    query = AuditQuery(actor=args.actor, action=args.action, target=args.target, since=args.since, until=args.until)
    return export_command(settings, ExportRequest(ExportFormat(args.format), query, args.output), sys.stdout)
