"""Turning requests away before they cost a transaction: what a `RequestGate` may decide.

The endpoint asks its gate about every new request (retransmissions of one already admitted go to its
transaction). A refusal is answered statelessly or not at all, so a flood creates no transaction, no task
and no timer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clearsight.sip.message import SipRequest
from clearsight.sip.transport import Peer


@dataclass(frozen=True, slots=True)
class Refusal:
    """Answer with `status` (and `headers`) without a transaction; `status` None: drop silently."""

    status: int | None
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


DROP = Refusal(None)

# None admits the request.
RequestGate = Callable[[SipRequest, Peer], Refusal | None]
