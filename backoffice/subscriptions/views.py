"""Screens of the subscriptions domain: the catalogue (read by staff; plans, allowed plan changes,
add-ons, suspension and termination reasons and one-off fees created and edited by
administrators), the number pool, the customer's contracts, the contract page (payer, transfer,
representatives), the service page with its history, pending changes and action dialogs that
show the consequences (fees, dates) before the agent confirms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.customers.schemas import parse_version
from backoffice.errors import ConflictError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.subscriptions import lifecycle_views, rules, services
from backoffice.subscriptions.models import NumberKind, NumberStatus, ServiceKind
from backoffice.subscriptions.schemas import (
    ALLOWANCE_FIELDS,
    KINDS,
    LIFT_CONDITIONS,
    MAX_VOLUNTARY_DAYS,
    MONEY_FIELDS,
    PLAN_KIND_FIELDS,
    SUSPENSION_BILLING,
    SUSPENSION_ROLES,
    USAGE_PRICE_FIELDS,
    VOICE_ROUNDINGS,
    parse_addon,
    parse_fee,
    parse_new_plan,
    parse_plan,
    parse_plan_change,
    parse_suspension_reason,
    parse_termination_reason,
)
from backoffice.web.forms import form_data
from backoffice.web.guards import ADMIN_ONLY, ALL_STAFF, CUSTOMER_READ, roles
from backoffice.web.templating import is_fragment_request, page


@get("/catalogue", opt=roles(ALL_STAFF), include_in_schema=False)
async def catalogue_page(db_session: AsyncSession) -> Template:
    view = await services.catalogue_view(db_session)
    return page("subscriptions/catalogue.html", view=view, kinds=[k.value for k in ServiceKind], gross=rules.gross)


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


# ---------------------------------------------------------------- the administrator's catalogue
#
# Every form keeps what was typed on a refusal (422, the message beside the field) and shows the
# saved values on a stale form (409). Plans and add-ons carry their version; the reasons and fees
# carry a fingerprint of the values the form was opened with (see services.fingerprint).

ADMIN = "/admin/catalogue"
_PLAN_HIDDEN = (*ALLOWANCE_FIELDS, "voice_rounding", *USAGE_PRICE_FIELDS)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _plan_values(plan: Any) -> dict[str, str]:
    values = {name: _text(getattr(plan, name)) for name in services.PLAN_AUDIT_FIELDS}
    values.update({"portal_selectable": "1" if plan.portal_selectable else "",
                   "active": "1" if plan.active else "", "version": str(plan.version)})
    return values


def _new_plan_values(kind: str) -> dict[str, str]:
    """A blank plan of `kind`: nothing included, no usage prices, 27 % VAT, offered."""
    values = {name: "0.00" for name in (*MONEY_FIELDS, *USAGE_PRICE_FIELDS)}
    values.update({name: "0" for name in ALLOWANCE_FIELDS})
    values.update({"kind": kind, "monthly_fee": "", "vat_rate": "27.00", "voice_rounding": VOICE_ROUNDINGS[0],
                   "active": "1"})
    return values


def _plan_form_context(kind: str) -> dict[str, Any]:
    uses = PLAN_KIND_FIELDS.get(kind, frozenset())
    return {"kind": kind, "uses": uses, "hidden_fields": [name for name in _PLAN_HIDDEN if name not in uses],
            "kinds": KINDS, "voice_roundings": VOICE_ROUNDINGS}


async def _plan_page(db_session: AsyncSession, plan: Any, *, status: int = 200, values: dict[str, str] | None = None,
                     errors: dict[str, Any] | None = None, conflict: str | None = None,
                     change_values: dict[str, str] | None = None,
                     change_errors: dict[str, Any] | None = None) -> Template:
    context: dict[str, Any] = {
        "plan": plan, "values": values if values is not None else _plan_values(plan), "errors": errors or {},
        "action": f"{ADMIN}/plans/{plan.id}", **_plan_form_context(plan.kind),
        **await _plan_changes_context(db_session, plan, change_values, change_errors)}
    if conflict:
        context["conflict"] = conflict
    return page("subscriptions/plan_form.html", status=status, **context)


async def _plan_changes_context(db_session: AsyncSession, plan: Any, values: dict[str, str] | None = None,
                                errors: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"plan": plan, "changes": await services.plan_changes(db_session, plan),
            "targets": await services.plan_change_targets(db_session, plan),
            "change_values": values or {"mode": "by_fee"}, "change_errors": errors or {}}


@get(f"{ADMIN}/plans/new", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def new_plan(request: Request[Any, Any, Any]) -> Template:
    asked = request.query_params.get("kind")
    kind = asked if asked in KINDS else KINDS[0]
    return page("subscriptions/plan_form.html", plan=None, values=_new_plan_values(kind), errors={},
                action=f"{ADMIN}/plans", **_plan_form_context(kind))


@post(f"{ADMIN}/plans", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def create_plan(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    try:
        plan = await services.create_plan(db_session, request.user, parse_new_plan(data))
    except ValidationFailedError as exc:
        kind = data["kind"] if data.get("kind") in KINDS else KINDS[0]
        return page("subscriptions/plan_form.html", status=422, plan=None, values=data, errors=exc.errors,
                    action=f"{ADMIN}/plans", **_plan_form_context(kind))
    # On to the plan's own page, where the plans it may change to are set.
    return Redirect(f"{ADMIN}/plans/{plan.id}/edit#changes", status_code=303)


@get(f"{ADMIN}/plans/{{plan_id:int}}/edit", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def edit_plan(plan_id: int, db_session: AsyncSession) -> Template:
    plan = await services.get_plan(db_session, plan_id)
    return await _plan_page(db_session, plan)


@post(f"{ADMIN}/plans/{{plan_id:int}}", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def update_plan(plan_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    plan = await services.get_plan(db_session, plan_id)
    try:
        await services.update_plan(db_session, request.user, plan_id, parse_plan(data, plan.kind),
                                   parse_version(data))
    except ValidationFailedError as exc:
        return await _plan_page(db_session, plan, status=422, values=data, errors=exc.errors)
    except ConflictError as exc:
        await db_session.rollback()
        plan = await services.get_plan(db_session, plan_id)
        return await _plan_page(db_session, plan, status=409, conflict=str(exc.message))
    return Redirect("/catalogue#plans", status_code=303)


async def _plan_changes_answer(request: Request[Any, Any, Any], db_session: AsyncSession, plan_id: int,
                               status: int = 200, values: dict[str, str] | None = None,
                               errors: dict[str, Any] | None = None) -> Response[Any]:
    """HTMX swaps the section in place; without it, back to the page (or the page with the errors)."""
    plan = await services.get_plan(db_session, plan_id)
    if is_fragment_request(request):
        return page("subscriptions/_plan_changes.html", status=status,
                    **await _plan_changes_context(db_session, plan, values, errors))
    if status >= 400:
        return await _plan_page(db_session, plan, status=status, change_values=values, change_errors=errors)
    return Redirect(f"{ADMIN}/plans/{plan_id}/edit#changes", status_code=303)


@post(f"{ADMIN}/plans/{{plan_id:int}}/changes", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def add_plan_change(plan_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    try:
        await services.set_plan_change(db_session, request.user, plan_id, parse_plan_change(data))
    except (ValidationFailedError, ConflictError) as exc:
        await db_session.rollback()
        return await _plan_changes_answer(request, db_session, plan_id, exc.status, data, exc.errors)
    return await _plan_changes_answer(request, db_session, plan_id)


@post(f"{ADMIN}/plans/{{plan_id:int}}/changes/{{rule_id:int}}/remove", opt=roles(ADMIN_ONLY),
      include_in_schema=False)
async def remove_plan_change(plan_id: int, rule_id: int, request: Request[Any, Any, Any],
                             db_session: AsyncSession) -> Response[Any]:
    try:
        await services.remove_plan_change(db_session, request.user, plan_id, rule_id)
    except NotFoundError as exc:
        await db_session.rollback()
        await services.get_plan(db_session, plan_id)  # no such plan: a 404 page
        return await _plan_changes_answer(request, db_session, plan_id, 409, None, {"changes": exc.message})
    return await _plan_changes_answer(request, db_session, plan_id)


def _addon_values(addon: Any) -> dict[str, str]:
    values = {"name_hu": addon.name_hu, "name_en": addon.name_en, "price": str(addon.price),
              "vat_rate": str(addon.vat_rate), "recurring": "1" if addon.recurring else "",
              "portal": "1" if addon.portal else "", "active": "1" if addon.active else "",
              "plan_codes": ", ".join(addon.plan_codes or []), "exclusive_group": addon.exclusive_group or "",
              "requires": ", ".join(addon.requires), "conflicts": ", ".join(addon.conflicts),
              "version": str(addon.version)}
    values.update({f"kind_{kind}": "1" for kind in addon.kinds})
    return values


@get(f"{ADMIN}/addons/new", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def new_addon() -> Template:
    values = {"vat_rate": "27.00", "recurring": "1", "active": "1"}
    return page("subscriptions/addon_form.html", addon=None, values=values, errors={}, kinds=KINDS,
                action=f"{ADMIN}/addons")


@post(f"{ADMIN}/addons", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def create_addon(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    try:
        await services.create_addon(db_session, request.user, parse_addon(data, new=True))
    except ValidationFailedError as exc:
        return page("subscriptions/addon_form.html", status=422, addon=None, values=data, errors=exc.errors,
                    kinds=KINDS, action=f"{ADMIN}/addons")
    return Redirect("/catalogue#addons", status_code=303)


@get(f"{ADMIN}/addons/{{addon_id:int}}/edit", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def edit_addon(addon_id: int, db_session: AsyncSession) -> Template:
    addon = await services.get_addon(db_session, addon_id)
    return page("subscriptions/addon_form.html", addon=addon, values=_addon_values(addon), errors={}, kinds=KINDS,
                action=f"{ADMIN}/addons/{addon.id}")


@post(f"{ADMIN}/addons/{{addon_id:int}}", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def update_addon(addon_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    addon = await services.get_addon(db_session, addon_id)
    action = f"{ADMIN}/addons/{addon.id}"
    try:
        await services.update_addon(db_session, request.user, addon_id, parse_addon(data), parse_version(data))
    except ValidationFailedError as exc:
        return page("subscriptions/addon_form.html", status=422, addon=addon, values=data, errors=exc.errors,
                    kinds=KINDS, action=action)
    except ConflictError as exc:
        await db_session.rollback()
        addon = await services.get_addon(db_session, addon_id)
        return page("subscriptions/addon_form.html", status=409, addon=addon, values=_addon_values(addon),
                    errors={}, kinds=KINDS, action=action, conflict=str(exc.message))
    return Redirect("/catalogue#addons", status_code=303)


# ------------------------------------------------ reasons and fees: one pattern, three kinds of row


@dataclass(frozen=True)
class _Entry:
    """One kind of unversioned catalogue row and how its screens read and write it."""

    slug: str  # the URL segment
    anchor: str  # where on the catalogue page it is listed
    template: str
    fields: list[str]
    get: Callable[[AsyncSession, int], Awaitable[Any]]
    parse: Callable[..., Any]
    create: Callable[[AsyncSession, Any, Any], Awaitable[Any]]
    update: Callable[[AsyncSession, Any, int, Any, str | None], Awaitable[Any]]
    values: Callable[[Any], dict[str, str]]
    blank: dict[str, str]


def _flag_value(value: bool) -> str:
    return "1" if value else ""


def _suspension_values(reason: Any) -> dict[str, str]:
    settings = reason.settings or {}
    values = {"name_hu": reason.name_hu, "name_en": reason.name_en, "billing": reason.billing,
              "fee_on_suspend": _text(reason.fee_on_suspend), "fee_on_resume": _text(reason.fee_on_resume),
              "max_days_in_12_months": _text(settings.get("max_days_in_12_months")),
              "lift_condition": _text(settings.get("lift_condition")),
              "immediate": _flag_value(bool(settings.get("immediate"))),
              "partial": _flag_value(bool(settings.get("partial")))}
    for name in ("voluntary", "portal", "lifts_on_swap", "active"):
        values[name] = _flag_value(getattr(reason, name))
    values.update({f"place_{role}": "1" for role in reason.place_roles})
    values.update({f"lift_{role}": "1" for role in reason.lift_roles})
    return values


def _termination_values(reason: Any) -> dict[str, str]:
    return {"name_hu": reason.name_hu, "name_en": reason.name_en, "notice_days": str(reason.notice_days),
            "portal": _flag_value(reason.portal), "early_termination_fee": _flag_value(reason.early_termination_fee),
            "active": _flag_value(reason.active)}


def _fee_values(fee: Any) -> dict[str, str]:
    return {"name_hu": fee.name_hu, "name_en": fee.name_en, "amount": str(fee.amount),
            "vat_rate": str(fee.vat_rate), "active": _flag_value(fee.active)}


ENTRIES = {
    "suspension-reasons": _Entry(
        "suspension-reasons", "suspension-reasons", "subscriptions/suspension_reason_form.html",
        services.SUSPENSION_REASON_FIELDS, services.get_suspension_reason, parse_suspension_reason,
        services.create_suspension_reason, services.update_suspension_reason, _suspension_values,
        {"billing": "full", "place_agent": "1", "place_supervisor": "1", "lift_agent": "1",
         "lift_supervisor": "1", "active": "1"}),
    "termination-reasons": _Entry(
        "termination-reasons", "termination-reasons", "subscriptions/termination_reason_form.html",
        services.TERMINATION_REASON_FIELDS, services.get_termination_reason, parse_termination_reason,
        services.create_termination_reason, services.update_termination_reason, _termination_values,
        {"notice_days": "0", "early_termination_fee": "1", "active": "1"}),
    "fees": _Entry(
        "fees", "fees", "subscriptions/fee_form.html", services.FEE_FIELDS, services.get_fee, parse_fee,
        services.create_fee, services.update_fee, _fee_values, {"vat_rate": "27.00", "active": "1"}),
}


async def _entry_page(db_session: AsyncSession, entry: _Entry, row: Any, *, status: int = 200,
                      values: dict[str, str] | None = None, errors: dict[str, Any] | None = None,
                      conflict: str | None = None) -> Template:
    if values is None:
        values = entry.values(row) if row is not None else dict(entry.blank)
        if row is not None:
            values["fingerprint"] = services.fingerprint(row, entry.fields)
    context: dict[str, Any] = {"row": row, "values": values, "errors": errors or {},
                               "action": f"{ADMIN}/{entry.slug}" + (f"/{row.id}" if row is not None else ""),
                               "cancel": f"/catalogue#{entry.anchor}"}
    if entry.slug == "suspension-reasons":
        view = await services.catalogue_view(db_session)
        context.update(roles=SUSPENSION_ROLES, billings=SUSPENSION_BILLING, fees=view.fees,
                       lift_conditions=LIFT_CONDITIONS, max_days=MAX_VOLUNTARY_DAYS)
    if conflict:
        context["conflict"] = conflict
    return page(entry.template, status=status, **context)


def _entry(slug: str) -> _Entry:
    entry = ENTRIES.get(slug)
    if entry is None:
        raise NotFoundError("not_found", Msg(N_("There is no such catalogue entry.")))
    return entry


@get(f"{ADMIN}/{{slug:str}}/new", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def new_entry(slug: str, db_session: AsyncSession) -> Template:
    return await _entry_page(db_session, _entry(slug), None)


@post(f"{ADMIN}/{{slug:str}}", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def create_entry(slug: str, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    entry = _entry(slug)
    data = await form_data(request)
    try:
        await entry.create(db_session, request.user, entry.parse(data, new=True))
    except ValidationFailedError as exc:
        await db_session.rollback()
        return await _entry_page(db_session, entry, None, status=422, values=data, errors=exc.errors)
    return Redirect(f"/catalogue#{entry.anchor}", status_code=303)


@get(f"{ADMIN}/{{slug:str}}/{{row_id:int}}/edit", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def edit_entry(slug: str, row_id: int, db_session: AsyncSession) -> Template:
    entry = _entry(slug)
    return await _entry_page(db_session, entry, await entry.get(db_session, row_id))


@post(f"{ADMIN}/{{slug:str}}/{{row_id:int}}", opt=roles(ADMIN_ONLY), include_in_schema=False)
async def update_entry(slug: str, row_id: int, request: Request[Any, Any, Any],
                       db_session: AsyncSession) -> Response[Any]:
    entry = _entry(slug)
    await entry.get(db_session, row_id)  # no such row: 404 before reading the form
    data = await form_data(request)
    try:
        await entry.update(db_session, request.user, row_id, entry.parse(data), data.get("fingerprint") or None)
    except ValidationFailedError as exc:
        await db_session.rollback()
        return await _entry_page(db_session, entry, await entry.get(db_session, row_id), status=422, values=data,
                                 errors=exc.errors)
    except ConflictError as exc:
        await db_session.rollback()
        return await _entry_page(db_session, entry, await entry.get(db_session, row_id), status=409,
                                 conflict=str(exc.message))
    return Redirect(f"/catalogue#{entry.anchor}", status_code=303)


ROUTES = [catalogue_page, numbers_page, new_plan, create_plan, edit_plan, update_plan, add_plan_change,
          remove_plan_change, new_addon, create_addon, edit_addon, update_addon, new_entry, create_entry,
          edit_entry, update_entry, *lifecycle_views.ROUTES]
