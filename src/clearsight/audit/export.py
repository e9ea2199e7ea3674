"""Audit entries as CSV or JSON, produced as a stream of text chunks (for files and HTTP responses alike).

JSON is exact: an array of entry objects whose fields hash back to `hash` (`audit.entry`). CSV is for
spreadsheets: `details` is its JSON text, and a cell that a spreadsheet would run as a formula (starting
with = + - @, tab or CR; OWASP's CSV injection advice) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from enum import StrEnum

from clearsight.audit.entry import AuditEntry, canonical_json, format_time

CSV_COLUMNS = ("seq", "at", "actor", "action", "target", "client", "grant", "reason", "details", "prev_hash", "hash")
ROWS_PER_CHUNK = 500
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


MEDIA_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8", ExportFormat.JSON: "application/json"}


def export_chunks(entries: AsyncIterator[AuditEntry], format_: ExportFormat) -> AsyncIterator[str]:
    return csv_chunks(entries) if format_ is ExportFormat.CSV else json_chunks(entries)


async def csv_chunks(entries: AsyncIterator[AuditEntry]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180 line ends
    writer.writerow(CSV_COLUMNS)
    rows = 0
    async for entry in entries:
        writer.writerow([entry.seq, format_time(entry.at), _cell(entry.actor), entry.action, _cell(entry.target),
                         _cell(entry.client), _cell(entry.grant), _cell(entry.reason),
                         canonical_json(entry.details), entry.prev_hash, entry.hash])
        rows += 1
        if rows % ROWS_PER_CHUNK == 0:
            yield _take(buffer)
    yield _take(buffer)


async def json_chunks(entries: AsyncIterator[AuditEntry]) -> AsyncIterator[str]:
    parts = ["["]
    first = True
    async for entry in entries:
        parts.append(("\n" if first else ",\n") + json.dumps(entry.as_json(), ensure_ascii=False, sort_keys=True))
        first = False
        if len(parts) >= ROWS_PER_CHUNK:
            yield "".join(parts)
            parts = []
    parts.append("]\n" if first else "\n]\n")
    yield "".join(parts)


def _cell(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
