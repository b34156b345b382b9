"""Screens of the subscriptions domain: the catalogue (read by staff, plans and add-ons edited by
administrators), the number pool, the customer's contracts, the contract page (payer, transfer,
representatives), the service page with its history, pending changes and action dialogs that
show the consequences (fees, dates) before the agent confirms."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.customers.schemas import parse_version
from backoffice.errors import ConflictError, ValidationFailedError
from backoffice.subscriptions import lifecycle_views, services
from backoffice.subscriptions.models import NumberKind, NumberStatus, ServiceKind
from backoffice.subscriptions.schemas import KINDS, parse_addon, parse_plan
from backoffice.web.forms import form_data
from backoffice.web.guards import ADMIN_ONLY, ALL_STAFF, CUSTOMER_READ, roles
from backoffice.web.templating import is_fragment_request, page


def gross(net: Decimal, vat_rate: Decimal) -> Decimal:
    """What the customer pays a month: net plus VAT, to whole forints."""
    return (net * (1 + vat_rate / 100)).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


@get("/catalogue", opt=roles(ALL_STAFF), include_in_schema=False)
async def catalogue_page(db_session: AsyncSession) -> Template:
    view = await services.catalogue_view(db_session)
    return page("subscriptions/catalogue.html", view=view, kinds=[k.value for k in ServiceKind], gross=gross)


@get("/numbers", opt=roles(CUSTOMER_READ), include_in_schema=False)
async def numbers_page(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    params = dict(request.query_params)
    prefix = str(params.get("prefix", ""))[:20]
    status = params.get("status") or None
    if status not in {None, "free", *(s.value for s in NumberStatus)}:
        status = None
    kind = params.get("kind") or None
    if kind not in {None, *(k.value for k in NumberKind)}:
        kind = None
    rows = await services.search_numbers(db_session, prefix, kind=kind, status=status, limit=100)
    counts = await services.pool_counts(db_session)
    context: dict[str, Any] = {"rows": rows, "counts": counts, "values": {"prefix": prefix, "status": status or "",
                                                          "kind": kind or ""},
               "statuses": ["free", *(s.value for s in NumberStatus)], "number_kinds": [k.value for k in NumberKind]}
    if is_fragment_request(request):
        return page("subscriptions/_number_rows.html", **context)
    return page("subscriptions/numbers.html", **context)


def _plan_values(plan: Any) -> dict[str, str]:
    values = {name: "" if (v := getattr(plan, name)) is None else str(v) for name in services.PLAN_AUDIT_FIELDS}
    values.update({"portal_selectable": "1" if plan.portal_selectable else "",
                   "active": "1" if plan.active else "", "version": str(plan.version)})
    return values


@get("/admin/catalogue/plans/{plan_id:int}/edit", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def edit_plan(plan_id: int, db_session: AsyncSession) -> Template:
    plan = await services.get_plan(db_session, plan_id)
    return page("subscriptions/plan_form.html", plan=plan, values=_plan_values(plan), errors={})


@post("/admin/catalogue/plans/{plan_id:int}", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def update_plan(plan_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    plan = await services.get_plan(db_session, plan_id)
    try:
        await services.update_plan(db_session, request.user, plan_id, parse_plan(data), parse_version(data))
    except ValidationFailedError as exc:
        return page("subscriptions/plan_form.html", status=422, plan=plan, values=data, errors=exc.errors)
    except ConflictError as exc:
        await db_session.rollback()
        plan = await services.get_plan(db_session, plan_id)
        return page("subscriptions/plan_form.html", status=409, plan=plan, values=_plan_values(plan), errors={},
                    conflict=str(exc.message))
    return Redirect("/catalogue#plans", status_code=303)


def _addon_values(addon: Any) -> dict[str, str]:
    values = {"name_hu": addon.name_hu, "name_en": addon.name_en, "price": str(addon.price),
              "vat_rate": str(addon.vat_rate), "recurring": "1" if addon.recurring else "",
              "portal": "1" if addon.portal else "", "active": "1" if addon.active else "",
              "plan_codes": ", ".join(addon.plan_codes or []), "exclusive_group": addon.exclusive_group or "",
              "requires": ", ".join(addon.requires), "conflicts": ", ".join(addon.conflicts),
              "version": str(addon.version)}
    values.update({f"kind_{kind}": "1" for kind in addon.kinds})
    return values


@get("/admin/catalogue/addons/{addon_id:int}/edit", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def edit_addon(addon_id: int, db_session: AsyncSession) -> Template:
    addon = await services.get_addon(db_session, addon_id)
    return page("subscriptions/addon_form.html", addon=addon, values=_addon_values(addon), errors={}, kinds=KINDS)


@post("/admin/catalogue/addons/{addon_id:int}", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def update_addon(addon_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    addon = await services.get_addon(db_session, addon_id)
    try:
        await services.update_addon(db_session, request.user, addon_id, parse_addon(data), parse_version(data))
    except ValidationFailedError as exc:
        return page("subscriptions/addon_form.html", status=422, addon=addon, values=data, errors=exc.errors,
                    kinds=KINDS)
    except ConflictError as exc:
        await db_session.rollback()
        addon = await services.get_addon(db_session, addon_id)
        return page("subscriptions/addon_form.html", status=409, addon=addon, values=_addon_values(addon),
                    errors={}, kinds=KINDS, conflict=str(exc.message))
    return Redirect("/catalogue#addons", status_code=303)


ROUTES = [catalogue_page, numbers_page, edit_plan, update_plan, edit_addon, update_addon, *lifecycle_views.ROUTES]
