"""JSON API for contracts, services and their lifecycle under /api/v1 (the same services as the screens)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import ValidationException
from litestar.params import Parameter
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import clock
from backoffice.customers import services as customers
from backoffice.db import storable_id
from backoffice.errors import ConflictError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.subscriptions import contracts, lifecycle
from backoffice.subscriptions.models import (
    Contract,
    ContractRepresentative,
    OwnershipTransfer,
    PendingAction,
    Service,
)
from backoffice.subscriptions.schemas import (
    ACTIONS,
    parse_action,
    parse_contract,
    parse_payer_change,
    parse_representative,
    parse_service_order,
    parse_transfer,
)
from backoffice.validation import Collector
from backoffice.web.errors import problem
from backoffice.web.guards import AGENT, CUSTOMER_READ, CUSTOMER_WRITE, SUPERVISOR, SUPERVISOR_ONLY, roles

# Who sees a SIM's PUK: the floor staff who read it out to a locked-out subscriber.
SEES_PUK = frozenset({AGENT, SUPERVISOR})

ActionName = Annotated[str, Parameter(description="One of: " + ", ".join(ACTIONS))]

# ---------------------------------------------------------------- request bodies
#
# Text is text; numbers may come as JSON numbers or as digits in a string (as a form sends them);
# flags as JSON booleans. Any other JSON type is a 422 naming the field (see `_body_problem`).


@dataclass
class ContractBody:
    billing_account_id: int | str | None = None
    commitment_months: int | str | None = None  # 0, 12 or 24
    payer_consent: str | None = None  # registry number of the payer's signed consent, when another party pays


@dataclass
class ServiceOrderBody:
    kind: str | None = None  # sim | fixed_line | cable_tv | internet
    plan_code: str | None = None
    number: str | None = None  # a number from the pool; empty takes the next free one
    iccid: str | None = None
    imsi: str | None = None
    puk: str | int | None = None
    access_technology: str | None = None  # internet: dsl | cable | fibre
    cpe_mac: str | None = None
    set_top_boxes: list[str] | str | None = None  # cable TV: serial numbers
    install_postal_code: str | int | None = None
    install_locality: str | None = None
    install_street: str | None = None
    install_house_number: str | int | None = None
    install_floor_door: str | None = None


@dataclass
class ActionBody:
    """One lifecycle action's parameters; each action reads its own (the rest are ignored)."""

    when: str | None = None  # now | month_end | date
    date: str | None = None  # YYYY-MM-DD, with when=date
    reason: str | None = None  # suspend, resume, terminate: the reason's code
    end_date: str | None = None  # a voluntary suspension: the day the service works again
    imei: str | None = None  # suspend (lost or stolen): the handset's IMEI
    arrangement: bool | str | None = None  # resume a dunning hold: a payment arrangement was agreed
    iccid: str | None = None  # swap_sim: the new card
    imsi: str | None = None
    puk: str | int | None = None
    plan_code: str | None = None  # change_plan
    addon_code: str | None = None  # add_addon, remove_addon
    note: str | None = None
    version: int | None = None  # the service's version as the client saw it: a stale one is a 409


@dataclass
class PayerBody:
    billing_account_id: int | str | None = None
    effective_date: str | None = None
    consent: str | None = None
    version: int | None = None  # the contract's version


@dataclass
class TransferBody:
    new_subscriber: str | int | None = None  # the new subscriber's customer number
    new_billing_account_id: int | str | None = None
    effective_date: str | None = None
    old_party_document: str | None = None  # registry numbers of both parties' signed declarations
    new_party_document: str | None = None
    version: int | None = None  # the contract's version


@dataclass
class DecisionBody:
    note: str | None = None
    version: int | None = None  # the transfer's version


@dataclass
class RepresentativeBody:
    customer_number: str | int | None = None
    scope: str | None = None
    document: str | None = None  # registry number of the power of attorney
    start_date: str | None = None


@dataclass
class WithdrawBody:
    version: int | None = None  # the service's version


def _values(body: Any) -> dict[str, str]:
    """A body as the shared parsers read a form: text values, flags as "true" or nothing, lists
    joined by commas."""
    out: dict[str, str] = {}
    for f in fields(body):
        value = getattr(body, f.name)
        if value is None or f.name == "version":
            continue
        if isinstance(value, bool):
            out[f.name] = "true" if value else ""
        elif isinstance(value, list):
            out[f.name] = ", ".join(value)
        else:
            out[f.name] = str(value)
    return out


def _version(value: int | None) -> int | None:
    if value is not None and not (0 <= value < 2**63):
        raise ValidationFailedError("validation_failed", Msg(N_("Some fields need correcting.")),
                                    errors={"version": Msg(N_("This number is out of range."))})
    return value


# ---------------------------------------------------------------- what the API answers


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _day(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _fee(code: str, name: str, net: Decimal, vat_rate: Decimal, gross: Decimal) -> dict[str, Any]:
    return {"code": code, "name": name, "net": _money(net), "vat_rate": _money(vat_rate),
            "vat": _money(gross - net), "gross": _money(gross)}


def fee_line_out(fee: lifecycle.FeeLine, language: str) -> dict[str, Any]:
    return _fee(fee.code, fee.name(language), fee.amount, fee.vat_rate, fee.gross)


def preview_out(preview: lifecycle.Preview, language: str) -> dict[str, Any]:
    return {
        "action": preview.action,
        "effective_date": preview.effective_date.isoformat(),
        "scheduled": preview.scheduled,
        "next_state": preview.next_state,
        "fees": [fee_line_out(f, language) for f in preview.fees],
        "fees_gross": _money(preview.fees_gross),
        "notes": [str(note) for note in preview.notes],
        "details": preview.details,
    }


def _label(action: str) -> str:
    """An action's name for people; a contract's scheduled transfer reads as the transfer itself."""
    msgid = lifecycle.ACTION_LABELS.get("transfer_in" if action == "transfer" else action)
    return str(Msg(msgid)) if msgid else action


def pending_out(pending: PendingAction) -> dict[str, Any]:
    return {
        "id": pending.id, "action": pending.action, "label": _label(pending.action),
        "effective_date": pending.effective_date.isoformat(), "status": pending.status,
        "params": pending.params, "withdrawable": not pending.params.get("auto"),
        "created_by": pending.created_by, "created_at": _day(pending.created_at),
        "service_id": pending.service_id, "contract_id": pending.contract_id,
    }


def service_out(view: contracts.ServiceView, role: str, language: str) -> dict[str, Any]:
    service, sim = view.service, view.sim
    sim_out = None
    if sim is not None:
        sim_out = {"iccid": sim.iccid, "imsi": sim.imsi, "issued_on": sim.issued_on.isoformat()}
        if role in SEES_PUK:
            sim_out["puk"] = sim.puk
    return {
        "id": service.id,
        "kind": service.kind,
        "state": service.state,
        "version": service.version,
        "number": service.number,
        "contract": {"id": view.contract.id, "number": view.contract.number, "status": view.contract.status,
                     "commitment_months": view.contract.commitment_months,
                     "commitment_end": _day(view.contract.commitment_end)},
        "subscriber": {"id": view.subscriber.id, "customer_number": view.subscriber.customer_number,
                       "display_name": view.subscriber.display_name},
        "payer": {"billing_account_id": view.payer.id, "account_number": view.payer.account_number,
                  "payer_id": view.payer.payer_id},
        "plan": {"code": view.plan.code, "name": view.plan.name(language), "monthly_fee": _money(view.plan.monthly_fee),
                 "vat_rate": _money(view.plan.vat_rate)},
        "ordered_on": service.ordered_on.isoformat(),
        "activated_on": _day(service.activated_on),
        "ended_on": _day(service.ended_on),
        "sim": sim_out,
        "install_address": service.install_address() or None,
        "access_technology": service.access_technology,
        "cpe_mac": service.cpe_mac,
        "set_top_boxes": list(service.set_top_boxes or []),
        "holds": [{"id": h.id, "reason": h.reason_code, "reason_name": view.reason_names.get(h.reason_code,
                                                                                              h.reason_code),
                   "start_date": h.start_date.isoformat(), "planned_end": _day(h.planned_end), "imei": h.imei,
                   "note": h.note, "placed_by": h.placed_by} for h in view.holds],
        "addons": [{"code": a.code, "name": a.name(language), "start_date": row.start_date.isoformat(),
                    "end_date": _day(row.end_date), "recurring": a.recurring, "price": _money(a.price),
                    "vat_rate": _money(a.vat_rate)} for row, a in view.addons],
        "pending": [pending_out(p) for p in view.pending],
        "history": [{"id": e.id, "at": e.at.isoformat(), "effective_date": e.effective_date.isoformat(),
                     "action": e.action, "label": _label(e.action),
                     "actor": e.actor_name, "details": e.details, "document_id": e.document_id}
                    for e in view.events],
        "fees": [{**_fee(f.code, f.name_hu if language == "hu" else f.name_en, f.amount, f.vat_rate,
                         lifecycle.FeeLine(f.code, f.name_hu, f.name_en, f.amount, f.vat_rate).gross),
                  "incurred_on": f.incurred_on.isoformat(), "event_id": f.event_id} for f in view.fees],
        "plan_choices": [p.code for p in view.plan_choices],
        "addon_choices": [a.code for a in view.addon_choices],
    }


def service_row_out(row: contracts.ServiceRow) -> dict[str, Any]:
    s = row.service
    return {"id": s.id, "kind": s.kind, "state": s.state, "number": s.number,
            "install_address": s.install_address() or None, "plan_name": row.plan_name, "holds": row.holds,
            "version": s.version}


def _contract_head(contract: Contract) -> dict[str, Any]:
    return {
        "id": contract.id, "number": contract.number, "status": contract.status,
        "subscriber_id": contract.subscriber_id, "billing_account_id": contract.billing_account_id,
        "commitment_months": contract.commitment_months, "commitment_end": _day(contract.commitment_end),
        "start_date": contract.start_date.isoformat(), "end_date": _day(contract.end_date),
        "predecessor_id": contract.predecessor_id, "version": contract.version,
    }


def transfer_out(t: OwnershipTransfer) -> dict[str, Any]:
    return {
        "id": t.id, "contract_id": t.contract_id, "new_subscriber_id": t.new_subscriber_id,
        "new_billing_account_id": t.new_billing_account_id, "effective_date": t.effective_date.isoformat(),
        "status": t.status, "requested_by": t.requested_by, "requested_at": _day(t.requested_at),
        "decided_by": t.decided_by, "decided_at": _day(t.decided_at), "decision_note": t.decision_note,
        "new_contract_id": t.new_contract_id, "version": t.version,
    }


def representative_out(rep: ContractRepresentative, party: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rep.id, "contract_id": rep.contract_id, "party_id": rep.party_id,
                           "scope": rep.scope, "start_date": rep.start_date.isoformat(),
                           "end_date": _day(rep.end_date), "document_id": rep.document_id}
    if party is not None:
        out["customer_number"], out["display_name"] = party.customer_number, party.display_name
    return out


def contract_out(view: contracts.ContractView) -> dict[str, Any]:
    out = _contract_head(view.contract)
    out.update({
        "subscriber": {"id": view.subscriber.id, "customer_number": view.subscriber.customer_number,
                       "display_name": view.subscriber.display_name},
        "payer": {"billing_account_id": view.payer.id, "account_number": view.payer.account_number,
                  "payer_id": view.payer.payer_id},
        "payer_history": [{"billing_account_id": i.billing_account_id, "account_number": number,
                           "start_date": i.start_date.isoformat(), "end_date": _day(i.end_date),
                           "consent_document_id": i.consent_document_id} for i, number in view.payers],
        "representatives": [representative_out(rep, party) for rep, party in view.representatives],
        "services": [service_row_out(row) for row in view.services],
        "pending": [pending_out(p) for p in view.pending],
        "transfers": [transfer_out(t) for t in view.transfers],
        "successor_id": view.successor.id if view.successor else None,
    })
    return out


def outcome_out(outcome: lifecycle.Outcome, language: str) -> dict[str, Any]:
    service = outcome.service
    return {
        "action": outcome.preview.action,
        "effective_date": outcome.preview.effective_date.isoformat(),
        "scheduled": outcome.preview.scheduled,
        "event_id": outcome.event.id if outcome.event is not None else None,
        "pending_id": outcome.pending.id if outcome.pending is not None else None,
        "document": outcome.document.registry_number if outcome.document is not None else None,
        "service": {"id": service.id, "state": service.state, "version": service.version},
        "preview": preview_out(outcome.preview, language),
    }


# ---------------------------------------------------------------- errors


def _conflict_problem(request: Request[Any, Any, Any], exc: ConflictError) -> Response[Any]:
    """A 409 that carries the current state of what the client tried to change, when it is known."""
    extra = {"current": exc.current} if isinstance(exc.current, dict) else {}
    return problem(exc.status, exc.code, str(exc.message), exc.errors or None, **extra)


def _body_problem(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """A body that decodes but has a field of the wrong JSON type is bad input (422, per field);
    one that is not JSON, or not an object, is a bad request (400)."""
    errors: dict[str, Any] = {}
    for item in exc.extra or []:
        # "data" is the body as a whole (an array or a string where an object belongs).
        if isinstance(item, dict) and item.get("key") not in (None, "", "data") and item.get("source") == "body":
            errors[str(item["key"])] = Msg(N_("This field has the wrong type: %(detail)s"),
                                           detail=str(item.get("message", "")))
    if errors:
        return problem(422, "validation_failed", str(Msg(N_("Some fields need correcting."))), errors)
    return problem(400, "bad_request", str(Msg(N_("The request is not well formed."))))


async def _current_of(request: Request[Any, Any, Any], session: AsyncSession, obj: Any) -> dict[str, Any] | None:
    """The row a stale request tried to change, read afresh (the failed write rolled the session back)."""
    identity = sa_inspect(obj).identity
    if not identity:
        return None
    await session.rollback()
    user = request.user
    if isinstance(obj, Service):
        view = await contracts.service_view(session, int(identity[0]), user.language, with_choices=True)
        return service_out(view, user.role, user.language)
    if isinstance(obj, Contract):
        return contract_out(await contracts.contract_view(session, int(identity[0]), user.language))
    if isinstance(obj, OwnershipTransfer):
        transfer = await session.get(OwnershipTransfer, identity[0])
        return transfer_out(transfer) if transfer is not None else None
    return None


@asynccontextmanager
async def _showing_current(request: Request[Any, Any, Any], session: AsyncSession) -> AsyncIterator[None]:
    try:
        yield
    except ConflictError as exc:
        if exc.current is not None and not isinstance(exc.current, dict):
            exc.current = await _current_of(request, session, exc.current)
        raise


def _seller(request: Request[Any, Any, Any]) -> str:
    return str(request.app.state.settings.seller_name)


# ---------------------------------------------------------------- the controller


class SubscriptionsApi(Controller):
    path = "/api/v1"
    tags = ["subscriptions"]
    exception_handlers = {ConflictError: _conflict_problem, ValidationException: _body_problem}

    # -------------------------------------------------------- contracts

    @get("/customers/{party_id:int}/contracts", opt=roles(CUSTOMER_READ))
    async def customer_contracts(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, party_id: int
    ) -> list[dict[str, Any]]:
        """The customer's contracts, newest first, each with its services (state, plan, holds)."""
        await customers.get_party(db_session, party_id)
        return [{**_contract_head(s.contract), "account_number": s.account_number,
                 "services": [service_row_out(row) for row in s.services]}
                for s in await contracts.contracts_of_party(db_session, party_id, request.user.language)]

    @post("/customers/{party_id:int}/contracts", opt=roles(CUSTOMER_WRITE))
    async def create_contract(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, party_id: int, data: ContractBody
    ) -> dict[str, Any]:
        """Open a contract: `billing_account_id` (the payer), `commitment_months` (0, 12 or 24) and,
        when another customer pays, `payer_consent` (the registry number of their signed consent)."""
        contract = await contracts.create_contract(db_session, request.user, party_id, parse_contract(_values(data)))
        return contract_out(await contracts.contract_view(db_session, contract.id, request.user.language))

    @get("/contracts/{contract_id:int}", opt=roles(CUSTOMER_READ))
    async def contract(self, request: Request[Any, Any, Any], db_session: AsyncSession,
                       contract_id: int) -> dict[str, Any]:
        """One contract: subscriber, payer and payer history, representatives, services, scheduled
        changes, transfers of ownership, and the contract it continues or that continues it."""
        return contract_out(await contracts.contract_view(db_session, contract_id, request.user.language))

    @post("/contracts/{contract_id:int}/services", opt=roles(CUSTOMER_WRITE))
    async def order_service(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, contract_id: int, data: ServiceOrderBody
    ) -> dict[str, Any]:
        """Order a service (state `ordered`): `kind`, `plan_code`, and for a SIM `iccid`, `imsi`,
        `puk` (and optionally a `number` from the pool); for the other kinds the installation
        address, an internet service's `access_technology` and `cpe_mac`, a cable TV's
        `set_top_boxes`. Activate it with the `activate` action."""
        service = await contracts.order_service(db_session, request.user, contract_id,
                                                parse_service_order(_values(data)), seller_name=_seller(request))
        user = request.user
        return service_out(await contracts.service_view(db_session, service.id, user.language, with_choices=True),
                           user.role, user.language)

    @post("/contracts/{contract_id:int}/payer", opt=roles(CUSTOMER_WRITE), status_code=200)
    async def change_payer(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, contract_id: int, data: PayerBody
    ) -> dict[str, Any]:
        """Move the contract's charges to `billing_account_id` from `effective_date` (today: at
        once; later: scheduled). Another customer's account needs their signed `consent`."""
        async with _showing_current(request, db_session):
            await contracts.change_payer(db_session, request.user, contract_id, parse_payer_change(_values(data)),
                                         _version(data.version), seller_name=_seller(request))
        return contract_out(await contracts.contract_view(db_session, contract_id, request.user.language))

    @post("/contracts/{contract_id:int}/transfers", opt=roles(CUSTOMER_WRITE))
    async def request_transfer(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, contract_id: int, data: TransferBody
    ) -> dict[str, Any]:
        """Ask for a transfer of ownership to `new_subscriber` (customer number) paying from
        `new_billing_account_id`, from `effective_date`, with the registry numbers of both
        parties' signed declarations. A supervisor approves or rejects it."""
        async with _showing_current(request, db_session):
            transfer = await contracts.request_transfer(db_session, request.user, contract_id,
                                                        parse_transfer(_values(data)), _version(data.version))
        return transfer_out(transfer)

    @post("/transfers/{transfer_id:int}/approve", opt=roles(SUPERVISOR_ONLY), status_code=200)
    async def approve_transfer(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, transfer_id: int,
        data: DecisionBody | None = None,
    ) -> dict[str, Any]:
        """Approve a transfer (supervisors only, as the service also checks): carried out at once
        when its date has come, else scheduled; the old contract ends and a new linked one takes
        its services."""
        return await self._decide(request, db_session, transfer_id, True, data or DecisionBody())

    @post("/transfers/{transfer_id:int}/reject", opt=roles(SUPERVISOR_ONLY), status_code=200)
    async def reject_transfer(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, transfer_id: int,
        data: DecisionBody | None = None,
    ) -> dict[str, Any]:
        """Reject a transfer (supervisors only), with a `note` saying why."""
        return await self._decide(request, db_session, transfer_id, False, data or DecisionBody())

    async def _decide(self, request: Request[Any, Any, Any], db_session: AsyncSession, transfer_id: int,
                      approve: bool, data: DecisionBody) -> dict[str, Any]:
        c = Collector(_values(data))
        note = c.text("note", max_length=300)
        c.check()
        async with _showing_current(request, db_session):
            transfer = await contracts.decide_transfer(db_session, request.user, transfer_id, approve, note or "",
                                                       _version(data.version), seller_name=_seller(request))
        return transfer_out(transfer)

    @post("/contracts/{contract_id:int}/representatives", opt=roles(CUSTOMER_WRITE))
    async def add_representative(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, contract_id: int, data: RepresentativeBody
    ) -> dict[str, Any]:
        """Authorise a customer (`customer_number`) to act for the subscriber from `start_date`
        (today when left out), within `scope`, backed by a registered `document`."""
        rep = await contracts.add_representative(db_session, request.user, contract_id,
                                                 parse_representative(_values(data)), seller_name=_seller(request))
        return representative_out(rep)

    @delete("/representatives/{representative_id:int}", opt=roles(CUSTOMER_WRITE))
    async def end_representative(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, representative_id: int
    ) -> None:
        """End a representative's authority (from today; the record is kept)."""
        await contracts.end_representative(db_session, request.user, representative_id, seller_name=_seller(request))

    # -------------------------------------------------------- services

    @get("/services/{service_id:int}", opt=roles(CUSTOMER_READ))
    async def service(self, request: Request[Any, Any, Any], db_session: AsyncSession,
                      service_id: int) -> dict[str, Any]:
        """One service: state and version, plan, holds, SIM card (its PUK for agents and
        supervisors), add-ons, scheduled changes, history and one-off fees."""
        user = request.user
        return service_out(await contracts.service_view(db_session, service_id, user.language, with_choices=True),
                           user.role, user.language)

    @get("/services/{service_id:int}/relations", opt=roles(CUSTOMER_READ))
    async def relations(self, db_session: AsyncSession, service_id: int, on: str | None = None) -> dict[str, Any]:
        """Who was the subscriber, the payer and the representatives of the service `on` a day
        (YYYY-MM-DD, today when left out); all null on a day no contract covered it."""
        c = Collector({"on": on or ""})
        day = c.date("on") or clock.today()
        c.check()
        await lifecycle.get_service(db_session, service_id)
        found = await contracts.relations_on(db_session, service_id, day)
        return {"day": day.isoformat(),
                "contract_id": found.contract_id if found else None,
                "contract_number": found.contract_number if found else None,
                "subscriber_id": found.subscriber_id if found else None,
                "billing_account_id": found.billing_account_id if found else None,
                "representative_ids": list(found.representative_ids) if found else []}

    @post("/services/{service_id:int}/preview/{action:str}", opt=roles(CUSTOMER_WRITE), status_code=200)
    async def preview(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, service_id: int, action: ActionName,
        data: ActionBody | None = None,
    ) -> dict[str, Any]:
        """What an action would do, without doing it: its effective date, whether it is scheduled,
        the next state, the one-off fees (net, VAT, gross) and what else happens, in words. A
        refused action is refused here as it would be when performed."""
        parsed = parse_action(action, _values(data or ActionBody()))
        result = await lifecycle.preview(db_session, request.user, service_id, parsed)
        return preview_out(result, request.user.language)

    @post("/services/{service_id:int}/actions/{action:str}", opt=roles(CUSTOMER_WRITE), status_code=200)
    async def perform(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, service_id: int, action: ActionName,
        data: ActionBody | None = None,
    ) -> dict[str, Any]:
        """Perform an action: activate, suspend, resume, terminate, cancel, swap_sim, change_plan,
        add_addon or remove_addon. Dated ahead (`when` = month_end, or date with `date`) it is
        scheduled. Send the service's `version` to be refused (409, with the current state) if
        someone changed it meanwhile. The subscriber gets a confirmation letter."""
        body = data or ActionBody()
        parsed = parse_action(action, _values(body))
        async with _showing_current(request, db_session):
            outcome = await lifecycle.perform(db_session, request.user, service_id, parsed, _version(body.version),
                                              seller_name=_seller(request))
        return outcome_out(outcome, request.user.language)

    @post("/pending/{pending_id:int}/withdraw", opt=roles(CUSTOMER_WRITE), status_code=200)
    async def withdraw(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, pending_id: int,
        data: WithdrawBody | None = None,
    ) -> dict[str, Any]:
        """Withdraw a scheduled change before it takes effect: a service's (send the service's
        `version` to guard against a concurrent change) or a contract's scheduled payer change."""
        version = _version((data or WithdrawBody()).version)
        try:
            async with _showing_current(request, db_session):
                outcome = await lifecycle.withdraw(db_session, request.user, pending_id, version,
                                                   seller_name=_seller(request))
        except NotFoundError as exc:
            if exc.code != "pending_not_found" or not storable_id(pending_id):
                raise
            await contracts.withdraw_contract_change(db_session, request.user, pending_id)
            return {"pending_id": pending_id, "status": "withdrawn", "event_id": None, "document": None,
                    "service": None}
        return {"pending_id": pending_id, "status": "withdrawn",
                "event_id": outcome.event.id if outcome.event else None,
                "document": outcome.document.registry_number if outcome.document is not None else None,
                "service": {"id": outcome.service.id, "state": outcome.service.state,
                            "version": outcome.service.version}}


ROUTES = [SubscriptionsApi]
