"""An API app on fakes with every role signed in, and the in-memory audit log it records to."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from clearsight.api import ApiConfig, create_app
from clearsight.api.ports import LoginGuard
from clearsight.audit import AuditRecorder, InMemoryAuditLog
from tests.api.fakes import FakeControl, FakeDatabase, FakeRegistry, FakeUser, FakeUsers
from tests.api.session import SECRET, TOKEN_TTL


def audit_api(audit: InMemoryAuditLog, *, login_guard: LoginGuard | None = None,
              recorder: AuditRecorder | None = None) -> FastAPI:
    users = FakeUsers()
    users.users["audit"] = FakeUser(5, "audit", "auditor")
    users.users["maint"] = FakeUser(6, "maint", "maintainer")
    return create_app(settings=ApiConfig(secret_key=SECRET, token_ttl=TOKEN_TTL), registry=FakeRegistry(),
                      users=users, control=FakeControl(), metrics_registry=CollectorRegistry(),
                      db_ping=FakeDatabase().ping, login_guard=login_guard, audit_log=recorder or audit,
                      audit_reader=audit, static_dir=None)
