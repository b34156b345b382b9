"""The agents' screens for contracts and services: the contracts section of the customer page, the
contract page (services, payer, transfer of ownership, representatives), the service page (state,
holds, add-ons, pending changes, history) and its action dialogs. A dialog shows the
consequences of the action (effective date, fees, what else happens) as the agent fills it in,
and only the confirm button changes anything. Controllers are thin: parse, call one service, render."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.customers.schemas import parse_version
from backoffice.db import storable_id
from backoffice.errors import ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.subscriptions import contracts, lifecycle, rules
from backoffice.subscriptions.models import ServiceKind
from backoffice.subscriptions.schemas import (
    ACTIONS,
    KINDS,
    parse_action,
    parse_contract,
    parse_payer_change,
    parse_representative,
    parse_service_order,
    parse_transfer,
)
from backoffice.web.forms import form_data
from backoffice.web.guards import CUSTOMER_READ, CUSTOMER_WRITE, SUPERVISOR_ONLY, roles
from backoffice.web.templating import is_fragment_request, page


def _seller(request: Request[Any, Any, Any]) -> str:
    return str(request.app.state.settings.seller_name)


def _lang(request: Request[Any, Any, Any]) -> str:
    return str(getattr(request.user, "language", "hu"))


# What the action buttons say (the history and the letters use lifecycle.ACTION_LABELS, nouns).
BUTTON_LABELS: dict[str, str] = {
    "activate": N_("Activate"),
    "suspend": N_("Suspend"),
    "resume": N_("Lift a hold"),
    "terminate": N_("Terminate"),
    "cancel": N_("Cancel the order"),
    "swap_sim": N_("Swap SIM"),
    "change_plan": N_("Change plan"),
    "add_addon": N_("Add an add-on"),
    "remove_addon": N_("Remove the add-on"),
}


# A contract's scheduled changes as its page lists them.
CONTRACT_CHANGE_LABELS: dict[str, str] = {
    "change_payer": N_("Change of payer"),
    "transfer": N_("Transfer of ownership"),
}


def _done(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    """After a change: HTMX reloads the page there, a plain form post follows a 303."""
    if request.headers.get("hx-request"):
        return Response(b"", status_code=204, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


# ---------------------------------------------------------------- the customer page's section


@get("/customers/{party_id:int}/contracts", opt=roles(CUSTOMER_READ), include_in_schema=False)
async def customer_contracts(party_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    """The contracts section of the customer page (loaded into it by HTMX), or a page of its own."""
    from backoffice.customers.services import get_party

    party = await get_party(db_session, party_id)
    summaries = await contracts.contracts_of_party(db_session, party_id, _lang(request))
    template = "subscriptions/_customer_contracts.html" if is_fragment_request(request) \
        else "subscriptions/customer_contracts.html"
    return page(template, party=party, summaries=summaries)


@get("/customers/{party_id:int}/contracts/new", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def new_contract(party_id: int, db_session: AsyncSession) -> Template:
    return await _contract_form(db_session, party_id, {"commitment_months": "0"}, {})


async def _contract_form(db_session: AsyncSession, party_id: int, values: dict[str, str],
                         errors: dict[str, Any], status: int = 200) -> Template:
    from backoffice.customers.services import billing_accounts_of, get_party

    party = await get_party(db_session, party_id)
    accounts = [a for a in await billing_accounts_of(db_session, party_id) if not a.is_closed]
    if not values.get("billing_account_id") and accounts:
        values = {**values, "billing_account_id": str(accounts[0].id)}
    return page("subscriptions/contract_form.html", status=status, party=party, accounts=accounts, values=values,
                errors=errors)


@post("/customers/{party_id:int}/contracts", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def create_contract(party_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    try:
        contract = await contracts.create_contract(db_session, request.user, party_id, parse_contract(data))
    except ValidationFailedError as exc:
        return await _contract_form(db_session, party_id, data, exc.errors, status=422)
    return Redirect(f"/contracts/{contract.id}", status_code=303)


# ---------------------------------------------------------------- the contract page


async def _contract_page(request: Request[Any, Any, Any], db_session: AsyncSession, contract_id: int, *,
                         status: int = 200, form: str = "", values: dict[str, str] | None = None,
                         errors: dict[str, Any] | None = None, banner: str = "") -> Template:
    view = await contracts.contract_view(db_session, contract_id, _lang(request))
    return page("subscriptions/contract.html", status=status, view=view, form=form, values=values or {},
                errors=errors or {}, banner=banner, notice=request.query_params.get("done", ""),
                view_labels=CONTRACT_CHANGE_LABELS)


@get("/contracts/{contract_id:int}", opt=roles(CUSTOMER_READ), include_in_schema=False)
async def contract_page(contract_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    return await _contract_page(request, db_session, contract_id)


async def _with_account_id(db_session: AsyncSession, data: dict[str, str], id_field: str) -> dict[str, str]:
    """Forms name an account by its number (100000123-001); the services take its id."""
    from sqlalchemy import select

    from backoffice.customers.models import BillingAccount

    number = (data.get("account_number") or "").strip()
    if data.get(id_field) or not number:
        return data
    account_id = await db_session.scalar(select(BillingAccount.id).where(BillingAccount.account_number == number))
    if account_id is None:
        raise ValidationFailedError("unknown_account", Msg(N_("There is no billing account with this number.")),
                                    field="account_number")
    return {**data, id_field: str(account_id)}


async def _contract_change(request: Request[Any, Any, Any], db_session: AsyncSession, contract_id: int,
                           form: str, change: Any, done: str, id_field: str = "") -> Response[Any]:
    """Run one contract-level change; on a refusal show the contract page with the form's errors."""
    data = await form_data(request)
    try:
        if id_field:
            data = await _with_account_id(db_session, data, id_field)
        await change(data)
    except ValidationFailedError as exc:
        errors = dict(exc.errors)
        if id_field == "new_billing_account_id" and id_field in errors:  # the form asks for the number
            errors.setdefault("account_number", errors.pop(id_field))
        return await _contract_page(request, db_session, contract_id, status=422, form=form, values=data,
                                    errors=errors)
    except (ConflictError, ForbiddenError) as exc:
        await db_session.rollback()
        return await _contract_page(request, db_session, contract_id, status=exc.status, form=form, values=data,
                                    errors=exc.errors, banner=str(exc.message))
    return Redirect(f"/contracts/{contract_id}?done={done}", status_code=303)


@post("/contracts/{contract_id:int}/payer", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def change_payer(contract_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    async def change(data: dict[str, str]) -> None:
        await contracts.change_payer(db_session, request.user, contract_id, parse_payer_change(data),
                                     parse_version(data), seller_name=_seller(request))
    return await _contract_change(request, db_session, contract_id, "payer", change, "change_payer",
                                  "billing_account_id")


@post("/contracts/{contract_id:int}/transfers", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def request_transfer(contract_id: int, request: Request[Any, Any, Any],
                           db_session: AsyncSession) -> Response[Any]:
    async def change(data: dict[str, str]) -> None:
        await contracts.request_transfer(db_session, request.user, contract_id, parse_transfer(data),
                                         parse_version(data))
    return await _contract_change(request, db_session, contract_id, "transfer", change, "transfer_requested",
                                  "new_billing_account_id")


@post("/transfers/{transfer_id:int}/decision", opt=roles(SUPERVISOR_ONLY), include_in_schema=False)
async def decide_transfer(transfer_id: int, request: Request[Any, Any, Any],
                          db_session: AsyncSession) -> Response[Any]:
    from backoffice.subscriptions.models import OwnershipTransfer

    transfer = await db_session.get(OwnershipTransfer, transfer_id) if storable_id(transfer_id) else None
    if transfer is None:
        raise NotFoundError("transfer_not_found", Msg(N_("There is no such transfer.")))
    contract_id = transfer.contract_id

    async def change(values: dict[str, str]) -> None:
        await contracts.decide_transfer(db_session, request.user, transfer_id, values.get("decision") == "approve",
                                        (values.get("note") or "")[:300], parse_version(values),
                                        seller_name=_seller(request))
    return await _contract_change(request, db_session, contract_id, "decision", change, "transfer_decided")


@post("/contracts/{contract_id:int}/representatives", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def add_representative(contract_id: int, request: Request[Any, Any, Any],
                             db_session: AsyncSession) -> Response[Any]:
    async def change(data: dict[str, str]) -> None:
        await contracts.add_representative(db_session, request.user, contract_id, parse_representative(data),
                                           seller_name=_seller(request))
    return await _contract_change(request, db_session, contract_id, "representative", change, "representative")


@post("/representatives/{rep_id:int}/end", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def end_representative(rep_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    from backoffice.subscriptions.models import ContractRepresentative

    rep = await db_session.get(ContractRepresentative, rep_id) if storable_id(rep_id) else None
    if rep is None:
        raise NotFoundError("representative_not_found", Msg(N_("There is no such representative.")))
    await contracts.end_representative(db_session, request.user, rep_id, seller_name=_seller(request))
    return Redirect(f"/contracts/{rep.contract_id}?done=representative_ended", status_code=303)


@post("/contract-changes/{pending_id:int}/withdraw", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def withdraw_contract_change(pending_id: int, request: Request[Any, Any, Any],
                                   db_session: AsyncSession) -> Response[Any]:
    from backoffice.subscriptions.models import PendingAction

    pending = await db_session.get(PendingAction, pending_id) if storable_id(pending_id) else None
    if pending is None or pending.contract_id is None:
        raise NotFoundError("pending_not_found", Msg(N_("There is no such scheduled change.")))
    contract_id = pending.contract_id
    await contracts.withdraw_contract_change(db_session, request.user, pending_id)
    return Redirect(f"/contracts/{contract_id}?done=withdrawn", status_code=303)


@get("/transfers", opt=roles(SUPERVISOR_ONLY), include_in_schema=False)
async def transfers_page(db_session: AsyncSession) -> Template:
    """The supervisor's queue of transfers of ownership awaiting approval."""
    pending = await contracts.transfers_awaiting(db_session)
    return page("subscriptions/transfers.html", transfers=pending)


# ---------------------------------------------------------------- ordering a service


def _order_defaults(kind: str, subscriber: Any) -> dict[str, str]:
    """A line is usually installed at the subscriber's address: it is filled in, to be corrected."""
    values = {"kind": kind}
    if kind != ServiceKind.SIM.value and subscriber.addresses:
        address = subscriber.addresses[0]
        values.update({"install_postal_code": address.postal_code, "install_locality": address.locality,
                       "install_street": address.street, "install_house_number": address.house_number,
                       "install_floor_door": address.floor_door or ""})
    return values


async def _order_form(request: Request[Any, Any, Any], db_session: AsyncSession, contract_id: int,
                      values: dict[str, str], errors: dict[str, Any], status: int = 200, banner: str = "") -> Template:
    from sqlalchemy import select

    from backoffice.subscriptions.models import Plan

    view = await contracts.contract_view(db_session, contract_id, _lang(request))
    kind = values.get("kind") if values.get("kind") in KINDS else ServiceKind.SIM.value
    plans = list(await db_session.scalars(select(Plan).where(Plan.kind == kind, Plan.active.is_(True))
                                          .order_by(Plan.sort_order)))
    options = [(p.code, _plan_label(p, _lang(request))) for p in plans]
    return page("subscriptions/order_form.html", status=status, view=view, kind=kind, kinds=KINDS,
                plan_options=options, values=values, errors=errors, banner=banner)


def _plan_label(plan: Any, language: str) -> str:
    from backoffice.i18n import gettext
    from backoffice.web.templating import huf

    fee = huf(rules.gross(plan.monthly_fee, plan.vat_rate))
    return f"{plan.name(language)} · {gettext(N_('%(amount)s a month'), amount=fee)}"


@get("/contracts/{contract_id:int}/services/new", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def new_service(contract_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    kind = request.query_params.get("kind") or ServiceKind.SIM.value
    kind = kind if kind in KINDS else ServiceKind.SIM.value
    from backoffice.customers.services import get_party

    contract = await contracts.get_contract(db_session, contract_id)
    subscriber = await get_party(db_session, contract.subscriber_id)  # with its addresses
    return await _order_form(request, db_session, contract_id, _order_defaults(kind, subscriber), {})


@post("/contracts/{contract_id:int}/services", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def order_service(contract_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    try:
        service = await contracts.order_service(db_session, request.user, contract_id, parse_service_order(data),
                                                seller_name=_seller(request))
    except ValidationFailedError as exc:
        return await _order_form(request, db_session, contract_id, data, exc.errors, status=422)
    except ConflictError as exc:
        await db_session.rollback()
        return await _order_form(request, db_session, contract_id, data, exc.errors, status=409,
                                 banner=str(exc.message))
    return Redirect(f"/services/{service.id}?done=order", status_code=303)


# ---------------------------------------------------------------- the service page and its actions


async def _service_page(request: Request[Any, Any, Any], db_session: AsyncSession, service_id: int, *,
                        status: int = 200, banner: str = "") -> Template:
    from backoffice.billing.invoices import invoices_of_fees  # billing builds on subscriptions

    view = await contracts.service_view(db_session, service_id, _lang(request))
    notice = request.query_params.get("done", "") if status == 200 else ""
    fee_invoices = await invoices_of_fees(db_session, [fee.id for fee in view.fees])
    return page("subscriptions/service.html", status=status, view=view, banner=banner, fee_invoices=fee_invoices,
                notice=notice if notice in lifecycle.ACTION_LABELS else "",
                hold_names=[view.reason_names.get(h.reason_code, h.reason_code) for h in view.holds],
                button_labels=BUTTON_LABELS, termination_names=view.termination_names, plan_names=view.plan_names,
                view_labels=lifecycle.ACTION_LABELS, actions=available_actions(view, getattr(request.user, "role", "")),
                gross=rules.gross)


@get("/services/{service_id:int}", opt=roles(CUSTOMER_READ), include_in_schema=False)
async def service_page(service_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    return await _service_page(request, db_session, service_id)


def available_actions(view: contracts.ServiceView, role: str) -> list[str]:
    """The action buttons the page offers: what the state machine allows in this state (the
    dialog and the service still check every other rule and say why when they refuse)."""
    if role not in CUSTOMER_WRITE:
        return []
    allowed = rules.allowed_actions(rules.ServiceState(view.service.state))
    out = []
    for action in ACTIONS:
        if rules.Action(action) not in allowed or action == "remove_addon":  # removal sits beside each add-on
            continue
        if action == "swap_sim" and view.service.kind != ServiceKind.SIM.value:
            continue
        if action == "resume" and not view.holds:
            continue
        out.append(action)
    return out


def _defaults(action: str, view: contracts.ServiceView) -> dict[str, str]:
    values = {"when": "now", "version": str(view.service.version)}
    if action == "terminate":
        values.update({"reason": "customer_request", "when": "month_end"})
    if action == "suspend":
        values["reason"] = "customer_request"
    if action == "resume" and view.holds:
        values["reason"] = view.holds[0].reason_code
    return values


async def _dialog(request: Request[Any, Any, Any], db_session: AsyncSession, service_id: int, action: str,
                  values: dict[str, str], errors: dict[str, Any], *, status: int = 200, banner: str = "",
                  preview: lifecycle.Preview | None = None, refusal: str = "") -> Template:
    view = await contracts.service_view(db_session, service_id, _lang(request), with_choices=True)
    if not values.get("version"):
        values = {**values, "version": str(view.service.version)}
    context = {"view": view, "action": action, "values": values, "errors": errors, "banner": banner,
               "preview": preview, "refusal": refusal, "role": getattr(request.user, "role", ""),
               "view_labels": lifecycle.ACTION_LABELS, **_dialog_options(view, _lang(request))}
    if is_fragment_request(request):
        return page("subscriptions/_action_dialog.html", status=status, **context)
    return page("subscriptions/action.html", status=status, **context)


async def _try_preview(db_session: AsyncSession, request: Request[Any, Any, Any], service_id: int, action: str,
                       values: dict[str, str]) -> tuple[lifecycle.Preview | None, str, dict[str, Any]]:
    """The consequences for the values so far, or why it cannot be done (nothing changes)."""
    try:
        data = parse_action(action, values)
        return await lifecycle.preview(db_session, request.user, service_id, data), "", {}
    except ValidationFailedError as exc:
        return None, "" if exc.code == "validation_failed" else str(exc.message), exc.errors
    except DomainError as exc:
        return None, str(exc.message), exc.errors


def _dialog_options(view: contracts.ServiceView, language: str) -> dict[str, list[tuple[str, str]]]:
    """The choices of the dialogs' selects, named in the agent's language."""
    from backoffice.i18n import gettext
    from backoffice.web.templating import huf

    def addon_label(addon: Any) -> str:
        price = huf(rules.gross(addon.price, addon.vat_rate))
        cost = gettext(N_("%(amount)s a month"), amount=price) if addon.recurring else price
        return f"{addon.name(language)} · {cost}"

    return {
        "suspension_options": [(r.code, r.name(language)) for r in view.suspension_reasons],
        "termination_options": [(r.code, r.name(language)) for r in view.termination_reasons],
        "hold_options": [(h.reason_code, view.reason_names.get(h.reason_code, h.reason_code)) for h in view.holds],
        "plan_options": [(p.code, _plan_label(p, language)) for p in view.plan_choices],
        "addon_options": [(a.code, addon_label(a)) for a in view.addon_choices],
    }


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise NotFoundError("no_such_action", Msg(N_("There is no such action.")))


@get("/services/{service_id:int}/actions/{action:str}", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def action_dialog(service_id: int, action: str, request: Request[Any, Any, Any],
                        db_session: AsyncSession) -> Template:
    """The dialog of one action, with its consequences for the default choices already shown."""
    _check_action(action)
    view = await contracts.service_view(db_session, service_id, _lang(request))
    values = _defaults(action, view) | {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    result, refusal, _errors = await _try_preview(db_session, request, service_id, action, values)
    return await _dialog(request, db_session, service_id, action, values, {}, preview=result, refusal=refusal)


@post("/services/{service_id:int}/preview/{action:str}", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def action_preview(service_id: int, action: str, request: Request[Any, Any, Any],
                         db_session: AsyncSession) -> Template:
    """The consequences box of a dialog, refreshed as the agent changes the fields."""
    _check_action(action)
    values = await form_data(request)
    await lifecycle.get_service(db_session, service_id)
    result, refusal, errors = await _try_preview(db_session, request, service_id, action, values)
    return page("subscriptions/_consequences.html", preview=result, refusal=refusal, errors=errors)


@post("/services/{service_id:int}/actions/{action:str}", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def perform_action(service_id: int, action: str, request: Request[Any, Any, Any],
                         db_session: AsyncSession) -> Response[Any]:
    _check_action(action)
    values = await form_data(request)
    try:
        data = parse_action(action, values)
        await lifecycle.perform(db_session, request.user, service_id, data, parse_version(values),
                                seller_name=_seller(request))
    except ValidationFailedError as exc:
        return await _dialog(request, db_session, service_id, action, values, exc.errors, status=422,
                             banner="" if exc.code == "validation_failed" else str(exc.message))
    except (ConflictError, ForbiddenError) as exc:
        await db_session.rollback()
        stale = exc.code == "stale_service"
        fresh = {k: v for k, v in values.items() if k != "version"} if stale else values
        return await _dialog(request, db_session, service_id, action, fresh, exc.errors, status=exc.status,
                             banner=str(exc.message))
    return _done(request, f"/services/{service_id}?done={action}")


@post("/pending/{pending_id:int}/withdraw", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def withdraw_pending(pending_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    from backoffice.subscriptions.models import PendingAction

    values = await form_data(request)
    pending = await db_session.get(PendingAction, pending_id) if storable_id(pending_id) else None
    if pending is None or pending.service_id is None:
        raise NotFoundError("pending_not_found", Msg(N_("There is no such scheduled change.")))
    service_id = pending.service_id
    try:
        await lifecycle.withdraw(db_session, request.user, pending_id, parse_version(values),
                                 seller_name=_seller(request))
    except ConflictError as exc:
        await db_session.rollback()
        return await _service_page(request, db_session, service_id, status=409, banner=str(exc.message))
    return _done(request, f"/services/{service_id}?done=withdraw")


ROUTES = [
    customer_contracts, new_contract, create_contract, contract_page, change_payer, request_transfer,
    decide_transfer, add_representative, end_representative, withdraw_contract_change, transfers_page,
    new_service, order_service, service_page, action_dialog, action_preview, perform_action, withdraw_pending,
]
