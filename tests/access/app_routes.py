"""The app's routes and their dependencies, as the generated authorization matrices walk them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

from clearsight.api.security import RoleRequirement
from clearsight.audit import InMemoryAuditLog
from tests.audit.api_app import audit_api


def app_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute | None]]:
    """(method, path, route) of every route; WebSockets as method "WS" (route None), HEAD left out."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            continue
        assert context.path is not None
        for method in sorted(context.methods or {"WS"}):
            if method != "HEAD":
                yield method, context.path, route if isinstance(route, APIRoute) else None


def dependency_calls(dependant: Dependant) -> Iterator[Any]:
    """Every dependency callable of a route, at any depth."""
    for sub in dependant.dependencies:
        yield sub.call
        yield from dependency_calls(sub)


def roles_of(route: APIRoute) -> frozenset[str] | None:
    """The roles a route admits (None: any)."""
    requirements = [c.roles for c in dependency_calls(route.dependant) if isinstance(c, RoleRequirement)]
    return frozenset(str(r) for r in frozenset.intersection(*requirements)) if requirements else None


ROUTES = list(app_routes(audit_api(InMemoryAuditLog())))
