"""An ordered, case-insensitive SIP header list that understands compact forms (RFC 3261 §7.3.3)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# RFC 3261 §7.3.3 and §20: single-letter compact forms.
COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
}

# Canonical spellings, so that what we write looks like what every stack writes.
_CANONICAL: dict[str, str] = {
    name.lower(): name
    for name in (
        "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Max-Forwards", "Expires", "Content-Type",
        "Content-Length", "User-Agent", "Server", "Date", "Subject", "Route", "Record-Route",
        "WWW-Authenticate", "Authorization", "Proxy-Authenticate", "Proxy-Authorization", "Allow",
        "Supported", "Event", "Subscription-State", "Allow-Events", "Content-Encoding", "Accept",
        "Min-Expires", "Retry-After", "Warning", "Reason", "Require", "Unsupported", "Refer-To",
    )
}

# Headers whose values may be comma-joined lists on one line (RFC 3261 §7.3.1); only those we split.
_LIST_HEADERS = frozenset({"via", "contact", "route", "record-route", "allow", "supported"})


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name, expanding compact forms."""
    stripped = name.strip()
    lowered = stripped.lower()
    if len(lowered) == 1 and lowered in COMPACT_FORMS:
        return COMPACT_FORMS[lowered]
    return _CANONICAL.get(lowered, stripped)


def split_list_value(value: str) -> list[str]:
    """Split a comma-separated header value, ignoring commas inside quotes and angle brackets."""
    if "," not in value:  # the common case (one Via per line): skip the character scan
        stripped = value.strip()
        return [stripped] if stripped else []
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
        i += 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


class Headers:
    """Header fields in wire order. Lookups ignore case; names are stored canonically."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(canonical_name(n), v) for n, v in items]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical_name(name), value))

    def get(self, name: str, default: str | None = None) -> str | None:
        key = canonical_name(name).lower()
        for n, v in self._items:
            if n.lower() == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of a header, in order; list headers (Via, Contact, Route…) are split at commas."""
        key = canonical_name(name).lower()
        values: list[str] = []
        for n, v in self._items:
            if n.lower() == key:
                if key in _LIST_HEADERS:
                    values.extend(split_list_value(v))
                else:
                    values.append(v)
        return values

    def set(self, name: str, value: str) -> None:
        """Replace every occurrence of a header with a single value (at the first one's place)."""
        canonical = canonical_name(name)
        key = canonical.lower()
        out: list[tuple[str, str]] = []
        placed = False
        for n, v in self._items:
            if n.lower() == key:
                if not placed:
                    out.append((canonical, value))
                    placed = True
            else:
                out.append((n, v))
        if not placed:
            out.append((canonical, value))
        self._items = out

    def remove(self, name: str) -> None:
        key = canonical_name(name).lower()
        self._items = [(n, v) for n, v in self._items if n.lower() != key]

    def copy(self) -> Headers:
        clone = Headers()
        clone._items = list(self._items)
        return clone
