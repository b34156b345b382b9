"""Administration screens: staff accounts, the audit log and the contact-reason list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import audit
from backoffice.customers import admin as reasons_admin
from backoffice.errors import DomainError
from backoffice.staff import services
from backoffice.staff.models import Role
from backoffice.validation import Collector
from backoffice.web.forms import form_data
from backoffice.web.guards import ADMIN_ONLY, roles
from backoffice.web.templating import BUDAPEST, page

ROLES = [r.value for r in Role]


@get("/admin/users", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def users(db_session: AsyncSession) -> Template:
    return page("admin/users.html", users=await services.list_users(db_session), roles=ROLES,
                values={"role": "agent"}, errors={})


@post("/admin/users", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def create_user(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    try:
        await services.create_user(
            db_session, request.user, data.get("username", ""), data.get("role", ""), data.get("password", ""),
            data.get("full_name", ""),
        )
    except DomainError as exc:
        data.pop("password", None)
        return page("admin/users.html", status=exc.status, users=await services.list_users(db_session),
                    roles=ROLES, values=data, errors=exc.errors or {"username": exc.message})
    return Redirect("/admin/users", status_code=303)


@post("/admin/users/{user_id:int}", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def change_user(user_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    c = Collector(data)
    version = c.integer("version")
    action = data.get("action")
    try:
        c.check()
        if action == "disable":
            await services.change_user(db_session, request.user, user_id, is_active=False, expected_version=version)
        elif action == "enable":
            await services.change_user(db_session, request.user, user_id, is_active=True, expected_version=version)
        else:
            await services.change_user(db_session, request.user, user_id, role=data.get("role", ""),
                                       expected_version=version)
    except DomainError as exc:
        return page("admin/users.html", status=exc.status, users=await services.list_users(db_session),
                    roles=ROLES, values={"role": "agent"}, errors={}, row_error=(user_id, str(exc.message)))
    return Redirect("/admin/users", status_code=303)


@get("/admin/audit", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def audit_log(
    request: Request[Any, Any, Any], db_session: AsyncSession,
    actor: str = "", action: str = "", entity_type: str = "", entity_id: str = "",
    since: str = "", until: str = "", page_no: int = 1,
) -> Template:
    values = {"actor": actor, "action": action, "entity_type": entity_type, "entity_id": entity_id,
              "since": since, "until": until}
    c = Collector(values)
    filters = {name: c.text(name, max_length=64) for name in ("actor", "action", "entity_type", "entity_id")}
    since_day = c.date("since")
    until_day = c.date("until")
    page_no = max(1, min(page_no, 10_000))
    entries: list[audit.AuditEntry] = []
    if not c.errors:
        entries = await audit.search_entries(
            db_session, **filters, since=_day_start(since_day), until=_day_start(until_day, plus=1),
            limit=101, offset=(page_no - 1) * 100,
        )
    return page("admin/audit.html", status=422 if c.errors else 200, entries=entries[:100],
                has_more=len(entries) > 100, values=values, errors=c.errors, page_no=page_no)


def _day_start(day: dt.date | None, plus: int = 0) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day + dt.timedelta(days=plus), dt.time(), tzinfo=BUDAPEST)


ROUTES = [users, create_user, change_user, audit_log, *reasons_admin.ROUTES]
