"""Access rules: every route says which roles may use it; a route that says nothing is closed."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backoffice.staff.models import Role

AGENT, SUPERVISOR, RECORDS, ADMIN = Role.AGENT.value, Role.SUPERVISOR.value, Role.RECORDS.value, Role.ADMIN.value
ALL_STAFF = frozenset({AGENT, SUPERVISOR, RECORDS, ADMIN})
CUSTOMER_READ = frozenset({AGENT, SUPERVISOR, RECORDS})
CUSTOMER_WRITE = frozenset({AGENT, SUPERVISOR})
CONTACT_WRITE = frozenset({AGENT, SUPERVISOR, RECORDS})
ADMIN_ONLY = frozenset({ADMIN})
SUPERVISOR_ONLY = frozenset({SUPERVISOR})
# Everyone on the floor registers and reads documents; voiding an entry and printing the
# register are the records team's (and a supervisor's) business.
DOCUMENT_READ = frozenset({AGENT, SUPERVISOR, RECORDS})
DOCUMENT_WRITE = frozenset({AGENT, SUPERVISOR, RECORDS})
DOCUMENT_VOID = frozenset({SUPERVISOR, RECORDS})
REGISTER_REPORT = frozenset({SUPERVISOR, RECORDS})
# Invoices are read by everyone who reads customers; importing usage and running the bill run is
# the billing specialist's work, which a supervisor does here (administrators keep the catalogue
# and the staff, and read no customer's bills).
INVOICE_READ = frozenset({AGENT, SUPERVISOR, RECORDS})
BILLING_OPERATIONS = frozenset({SUPERVISOR})


def public() -> dict[str, Any]:
    return {"public": True}


def roles(allowed: frozenset[str]) -> dict[str, Any]:
    return {"roles": allowed}


async def access_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Async although it awaits nothing: litestar runs a plain function guard in its thread pool,
    a hand-off to another thread and back on every request."""
    if handler.opt.get("public"):
        return
    allowed = handler.opt.get("roles")
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Sign in first.")
    if not allowed or user.role not in allowed:
        raise PermissionDeniedException("Your role does not allow this.")
