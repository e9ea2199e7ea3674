"""The append-only audit log: a SHA-256 hash chain of entries with Ed25519-signed checkpoints."""

from clearsight.audit.actions import SYSTEM_ACTOR, AuditAction
from clearsight.audit.checkpoints import Checkpoint, CheckpointKind, CheckpointPolicy
from clearsight.audit.entry import GENESIS_HASH, AuditEntry, AuditEvent, JsonObject, JsonValue
from clearsight.audit.errors import AuditError, AuditUnavailable, InvalidAuditEvent
from clearsight.audit.log import AuditLog
from clearsight.audit.memory import InMemoryAuditLog
from clearsight.audit.recorder import AuditReader, AuditRecorder
from clearsight.audit.search import AuditPage, AuditQuery, AuditSearch
from clearsight.audit.verify import Finding, FindingKind, Severity, VerifyReport, verify_chain

__all__ = [
    "GENESIS_HASH",
    "SYSTEM_ACTOR",
    "AuditAction",
    "AuditEntry",
    "AuditError",
    "AuditEvent",
    "AuditLog",
    "AuditPage",
    "AuditQuery",
    "AuditReader",
    "AuditRecorder",
    "AuditSearch",
    "AuditUnavailable",
    "Checkpoint",
    "CheckpointKind",
    "CheckpointPolicy",
    "Finding",
    "FindingKind",
    "InMemoryAuditLog",
    "InvalidAuditEvent",
    "JsonObject",
    "JsonValue",
    "Severity",
    "VerifyReport",
    "verify_chain",
]
