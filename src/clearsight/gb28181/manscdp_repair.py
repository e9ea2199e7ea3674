"""Last-resort repair of almost-XML MANSCDP bodies that real devices send.

Used only after a strict parse failed. Repairs what loses no information:

* characters XML 1.0 forbids (NUL and other control characters) are removed;
* a ``&`` that starts no entity or character reference is escaped;
* a ``<`` that starts no tag, comment, CDATA section or processing instruction is escaped
  (NVRs put binary garbage containing ``<`` into ``<Address>``);
* a close tag that matches no open element is dropped (a stray ``</Item>``);
* a close tag for an outer element closes the inner ones left open;
* anything after the root element's end is dropped;
* processing instructions after the prolog (a second ``<?xml ...?>``) are dropped.

A document whose root never closes is *not* repaired: that is a truncated body whose missing part
cannot be invented, and the caller must treat it as lost.

The scan is a single left-to-right pass (each ``<`` is examined once, each match stops at the next
``<`` or ``>``) with a bounded element stack, so hostile input cannot make it quadratic.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)

MAX_REPAIR_DEPTH = 64  # MANSCDP bodies nest a handful of levels; deeper is not a body worth repairing

_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BARE_AMPERSAND = re.compile(r"&(?!(?:[A-Za-z_][\w.-]*|#[0-9]+|#x[0-9A-Fa-f]+);)")
_MARKUP = re.compile(
    r"<(?:"
    r"(?P<comment>!--.*?-->)"
    r"|(?P<cdata>!\[CDATA\[.*?\]\]>)"
    r"|(?P<pi>\?[^<>]*\?>)"
    r"|(?P<close>/)?(?P<name>[A-Za-z_][\w.:-]*)(?P<attrs>(?:\s[^<>]*?)?)(?P<empty>/)?>"
    r")",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Repair:
    """The repaired text and what was changed (for the log line)."""

    text: str
    changes: tuple[str, ...]


class _Balancer:
    """Re-emits markup with a balanced element stack."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.stack: list[str] = []
        self.changes: list[str] = []
        self.root_closed = False

    def text(self, segment: str) -> None:
        if self.stack:
            self.out.append(segment)
        elif segment.strip():
            self.changes.append("dropped text outside the root element")

    def open(self, name: str, markup: str) -> bool:
        if len(self.stack) >= MAX_REPAIR_DEPTH:
            return False
        self.stack.append(name)
        self.out.append(markup)
        return True

    def close(self, name: str, markup: str) -> None:
        if name not in self.stack:
            self.changes.append(f"dropped stray </{name}>")
            return
        while self.stack[-1] != name:
            inner = self.stack.pop()
            self.changes.append(f"closed <{inner}> before </{name}>")
            self.out.append(f"</{inner}>")
        self.stack.pop()
        self.out.append(markup)
        self.root_closed = not self.stack


def repair_xml(text: str) -> Repair | None:
    """A well-formed-looking version of ``text``, or None when it cannot be repaired."""
    changes: list[str] = []
    cleaned = _INVALID_XML_CHARS.sub("", text)
    if cleaned != text:
        changes.append("removed control characters")
    escaped = _BARE_AMPERSAND.sub("&amp;", cleaned)
    if escaped != cleaned:
        changes.append("escaped bare '&'")
    balancer = _Balancer()
    pos = 0
    while not balancer.root_closed:
        lt = escaped.find("<", pos)
        if lt < 0:
            break
        balancer.text(escaped[pos:lt])
        match = _MARKUP.match(escaped, lt)
        if match is None:
            balancer.text("&lt;")
            changes.append("escaped bare '<'")
            pos = lt + 1
            continue
        pos = match.end()
        markup = match.group(0)
        if match.group("pi") is not None:
            changes.append("dropped processing instruction")
        elif match.group("comment") is not None or match.group("cdata") is not None:
            balancer.out.append(markup)
        elif match.group("close"):
            balancer.close(match.group("name"), markup)
        elif match.group("empty"):
            balancer.out.append(markup)
        elif not balancer.open(match.group("name"), markup):
            return None
    if not balancer.root_closed:
        return None  # truncated (or no element at all)
    rest = escaped[pos:]
    if rest.strip():
        changes.append("dropped content after the root element")
    changes.extend(balancer.changes)
    return Repair(text="".join(balancer.out), changes=tuple(dict.fromkeys(changes)))
