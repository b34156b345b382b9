"""Administration of the contact-reason list agents choose from."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import audit
from backoffice.actors import Principal
from backoffice.customers.models import ContactReason
from backoffice.db import storable_id
from backoffice.errors import ConflictError, NotFoundError
from backoffice.i18n import N_, Msg
from backoffice.validation import Collector
from backoffice.web.forms import form_data
from backoffice.web.guards import ADMIN_ONLY, roles
from backoffice.web.templating import page

DEFAULT_REASONS = [
    ("billing_question", "Számlával kapcsolatos kérdés", "Bill question"),
    ("bill_complaint", "Számlapanasz", "Bill complaint"),
    ("new_service", "Új szolgáltatás igénylése", "New service order"),
    ("service_change", "Szolgáltatás módosítása", "Service change"),
    ("suspension", "Szüneteltetés, felfüggesztés", "Suspension"),
    ("termination", "Megszüntetés", "Termination"),
    ("technical_fault", "Műszaki hiba", "Technical fault"),
    ("lost_sim", "Elveszett / ellopott SIM", "Lost or stolen SIM"),
    ("personal_data", "Személyes adatok módosítása", "Personal data change"),
    ("payment", "Befizetés, fizetési mód", "Payment"),
    ("directory", "Tudakozó, címtár", "Directory inquiry"),
    ("information", "Általános tájékoztatás", "General information"),
    ("other", "Egyéb", "Other"),
]


async def all_reasons(session: AsyncSession) -> list[ContactReason]:
    return list(await session.scalars(select(ContactReason).order_by(ContactReason.sort_order, ContactReason.code)))


async def create_reason(session: AsyncSession, actor: Principal | None, data: dict[str, str]) -> ContactReason:
    c = Collector(data)
    code = c.text("code", required=True, max_length=40)
    if code and not code.replace("_", "").isalnum():
        c.fail("code", Msg(N_("A code is letters, digits and underscores.")))
    name_hu = c.text("name_hu", required=True, max_length=120)
    name_en = c.text("name_en", required=True, max_length=120)
    sort_order = c.integer("sort_order") or 100
    c.check()
    assert code and name_hu and name_en
    if await session.scalar(select(ContactReason.id).where(ContactReason.code == code.lower())):
        raise ConflictError("reason_exists", Msg(N_("This code is taken.")), field="code")
    reason = ContactReason(code=code.lower(), name_hu=name_hu, name_en=name_en, sort_order=sort_order, is_active=True)
    session.add(reason)
    await session.flush()
    await audit.record(session, actor, "contact_reason.create", "contact_reason", reason.id, None,
                       audit.snapshot(reason))
    return reason


async def set_reason_active(session: AsyncSession, actor: Principal, reason_id: int, active: bool) -> None:
    reason = await session.get(ContactReason, reason_id) if storable_id(reason_id) else None
    if reason is None:
        raise NotFoundError("reason_not_found", Msg(N_("There is no such reason.")))
    if reason.is_active != active:
        reason.is_active = active
        await audit.record(session, actor, "contact_reason.update", "contact_reason", reason.id,
                           {"is_active": not active}, {"is_active": active})


async def seed_default_reasons(session: AsyncSession) -> None:
    existing = set(await session.scalars(select(ContactReason.code)))
    for order, (code, hu, en) in enumerate(DEFAULT_REASONS):
        if code not in existing:
            session.add(ContactReason(code=code, name_hu=hu, name_en=en, sort_order=(order + 1) * 10, is_active=True))


@get("/admin/contact-reasons", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def reasons(db_session: AsyncSession) -> Template:
    return page("admin/reasons.html", reasons=await all_reasons(db_session), values={}, errors={})


@post("/admin/contact-reasons", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def add_reason(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    from backoffice.errors import DomainError

    data = await form_data(request)
    try:
        await create_reason(db_session, request.user, data)
    except DomainError as exc:
        return page("admin/reasons.html", status=exc.status, reasons=await all_reasons(db_session), values=data,
                    errors=exc.errors)
    return Redirect("/admin/contact-reasons", status_code=303)


@post("/admin/contact-reasons/{reason_id:int}", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def toggle_reason(reason_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Redirect:
    data = await form_data(request)
    await set_reason_active(db_session, request.user, reason_id, data.get("active") == "1")
    return Redirect("/admin/contact-reasons", status_code=303)


ROUTES = [reasons, add_reason, toggle_reason]
