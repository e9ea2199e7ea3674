"""What an audit entry says happened: the action codes and the actors that are not users."""

from __future__ import annotations

from enum import StrEnum

SYSTEM_ACTOR = "system"  # entries the platform writes about itself (start-up notes, resynchronisation)


class AuditAction(StrEnum):
    """Action codes stored in `audit_entries.action`; new codes may be added, none renamed."""

    LOGIN_SUCCESS = "login.success"
    LOGIN_FAILURE = "login.failure"
    LOGOUT = "logout"
    SESSION_REVOKE = "session.revoke"
    PASSWORD_CHANGE = "password.change"
    API_TOKEN_CREATE = "api_token.create"
    API_TOKEN_REVOKE = "api_token.revoke"
    LIVE_START = "live.start"
    LIVE_STOP = "live.stop"
    PLAYBACK_START = "playback.start"
    PLAYBACK_STOP = "playback.stop"
    EXPORT_CREATE = "export.create"
    EXPORT_DOWNLOAD = "export.download"
    PTZ = "ptz"
    SNAPSHOT = "snapshot"
    PERMISSION_CHANGE = "permission.change"
    SHARE_REQUEST = "share.request"
    SHARE_DECISION = "share.decision"
    USER_CHANGE = "user.change"
    DEVICE_CHANGE = "device.change"
    PRIVACY_MASK_CHANGE = "privacy_mask.change"
    AUDIT_EXPORT = "audit.export"
    # Written by the platform itself when it starts: entries found after the last checkpoint, and a chain
    # that no longer reaches (or matches) the anchor file.
    AUDIT_UNSIGNED_TAIL = "audit.unsigned_tail"
    AUDIT_ANCHOR_MISMATCH = "audit.anchor_mismatch"
