"""Contracts and the relations around them: opening a contract, ordering services under it, the
payer (changed from an effective date, with the new payer's signed consent), the transfer of
ownership (átírás: both parties' signed declarations, a supervisor's approval, a new linked
contract on the effective date), authorised representatives, and "who was the subscriber and
the payer of this service on day D" (`relations_on`), which billing uses for every day it bills.

Also what the screens read: the customer's contracts, a contract's page, a service's page, and
the universal search keys of this domain (contract number, MSISDN, ICCID).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import audit, clock, numbering
from backoffice.actors import Principal
from backoffice.db import flush_versioned, storable_id, utcnow
from backoffice.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.search import SearchHit
from backoffice.subscriptions import lifecycle, rules
from backoffice.subscriptions.models import (
    AddOn,
    Contract,
    ContractPayerInterval,
    ContractRepresentative,
    ContractStatus,
    NumberKind,
    OwnershipTransfer,
    PendingAction,
    PendingStatus,
    Plan,
    PlanChangeRule,
    Service,
    ServiceAddOn,
    ServiceContractInterval,
    ServiceEvent,
    ServiceFee,
    ServiceHold,
    ServiceKind,
    ServicePlanInterval,
    ServiceStateInterval,
    SimCard,
    SuspensionReason,
    TerminationReason,
    TransferStatus,
)
from backoffice.subscriptions.rules import ServiceState
from backoffice.subscriptions.schemas import (
    ContractInput,
    PayerChangeInput,
    RepresentativeInput,
    ServiceOrderInput,
    TransferInput,
)

CONTRACT_NUMBER = re.compile(r"^SZ-?(\d{1,8})$", re.IGNORECASE)


def format_contract_number(value: int) -> str:
    return f"SZ-{value:08d}"


def _stale_contract(contract: Contract) -> ConflictError:
    return ConflictError("stale_contract", Msg(N_(
        "Someone else changed this contract after you opened it. Its current state is shown; check it and "
        "try again.")), current=contract)


async def get_contract(session: AsyncSession, contract_id: int) -> Contract:
    contract = await session.get(Contract, contract_id) if storable_id(contract_id) else None
    if contract is None:
        raise NotFoundError("contract_not_found", Msg(N_("There is no such contract.")))
    return contract


async def _account_for_payer(session: AsyncSession, account_id: int, subscriber_id: int, consent: str | None,
                             field_name: str, consent_field: str) -> Any:
    """The billing account that is to pay: open, and when it belongs to someone other than the
    subscriber, backed by that payer's signed consent (a registered payer-consent document)."""
    from backoffice.customers.models import BillingAccount

    account = await session.get(BillingAccount, account_id) if storable_id(account_id) else None
    if account is None:
        raise ValidationFailedError("unknown_account", Msg(N_("There is no such billing account.")), field=field_name)
    if account.is_closed:
        raise ValidationFailedError("account_closed", Msg(N_("This billing account is closed.")), field=field_name)
    if account.payer_id != subscriber_id:
        await _signed_document(session, consent, {"payer_consent"}, account.payer_id, consent_field, Msg(N_(
            "Another customer pays from this account: give the registry number of their signed payer consent.")))
    return account


async def _signed_document(session: AsyncSession, number: str | None, types: set[str], party_id: int | None,
                           field_name: str, missing: Msg) -> Any:
    """A signed document the change relies on: registered, not void, of the right type and filed
    for the right customer (so nobody can point at someone else's paper)."""
    from backoffice.documents.services import document_by_registry_number

    if not number:
        raise ValidationFailedError("document_required", missing, field=field_name)
    doc = await document_by_registry_number(session, number)
    if doc is None or doc.voided:
        raise ValidationFailedError("document_not_found", Msg(N_("There is no valid document %(number)s."),
                                                              number=number), field=field_name)
    if doc.document_type.code not in types:
        raise ValidationFailedError("document_wrong_type", Msg(N_("%(number)s is a %(type)s, not the signed "
                                                                  "document this change needs."),
                                                               number=number, type=doc.document_type.name_en),
                                    field=field_name)
    if party_id is not None and doc.party_id != party_id:
        raise ValidationFailedError("document_other_customer", Msg(N_(
            "%(number)s is not filed for this customer: link it to them first."), number=number), field=field_name)
    return doc


# ---------------------------------------------------------------- contracts and orders


async def create_contract(session: AsyncSession, actor: Principal, subscriber_id: int,
                          data: ContractInput) -> Contract:
    from backoffice.customers.services import get_party, log_action

    await get_party(session, subscriber_id)
    account = await _account_for_payer(session, data.billing_account_id, subscriber_id, data.payer_consent,
                                       "billing_account_id", "payer_consent")
    consent_doc = None
    if account.payer_id != subscriber_id:
        from backoffice.documents.services import document_by_registry_number

        consent_doc = await document_by_registry_number(session, data.payer_consent or "")
    today = clock.today()
    number = format_contract_number(await numbering.next_value(session, "contract"))
    contract = Contract(number=number, subscriber_id=subscriber_id, billing_account_id=account.id,
                        commitment_months=data.commitment_months, start_date=today,
                        status=ContractStatus.ACTIVE.value, created_by=actor.username)
    session.add(contract)
    await session.flush()
    session.add(ContractPayerInterval(contract_id=contract.id, billing_account_id=account.id, start_date=today,
                                      consent_document_id=consent_doc.id if consent_doc else None))
    await audit.record(session, actor, "contract.create", "contract", contract.number, None,
                       {"subscriber_id": subscriber_id, "billing_account": account.account_number,
                        "commitment_months": data.commitment_months})
    await log_action(session, actor, subscriber_id, Msg(N_("Contract %(number)s opened."), number=number),
                     "contract", contract.id)
    await session.flush()
    return contract


async def order_service(session: AsyncSession, actor: Principal, contract_id: int, data: ServiceOrderInput,
                        *, seller_name: str = "", confirm: bool = True) -> Service:
    """A new service under a contract, in state `ordered`: its plan, its number from the pool
    (chosen or the next free one), its SIM card or installation data. Activation is its own action."""
    from backoffice.subscriptions.services import allocate

    contract = await get_contract(session, contract_id)
    if contract.status != ContractStatus.ACTIVE.value:
        raise ConflictError("contract_ended", Msg(N_("This contract has ended: open a new one.")))
    plan = (await session.execute(select(Plan).where(Plan.code == data.plan_code))).scalar_one_or_none()
    if plan is None or not plan.active or plan.kind != data.kind:
        raise ValidationFailedError("unknown_plan", Msg(N_("Choose one of the offered plans.")), field="plan_code")
    if data.kind == ServiceKind.SIM.value:
        taken = await session.scalar(select(SimCard.iccid).where(
            or_(SimCard.iccid == data.iccid, SimCard.imsi == data.imsi)).limit(1))
        if taken is not None:
            raise ValidationFailedError("sim_in_use", Msg(N_("This SIM card has already been issued.")),
                                        field="iccid" if taken == data.iccid else "imsi")
    today = clock.today()
    service = Service(
        contract_id=contract.id, kind=data.kind, plan_id=plan.id, state=ServiceState.ORDERED.value, ordered_on=today,
        access_technology=data.access_technology, cpe_mac=data.cpe_mac, set_top_boxes=data.set_top_boxes or [],
        install_postal_code=data.install_postal_code, install_locality=data.install_locality,
        install_street=data.install_street, install_house_number=data.install_house_number,
        install_floor_door=data.install_floor_door,
    )
    session.add(service)
    await session.flush()
    if data.kind in {ServiceKind.SIM.value, ServiceKind.FIXED_LINE.value}:
        kind = NumberKind.MOBILE.value if data.kind == ServiceKind.SIM.value else NumberKind.GEOGRAPHIC.value
        picked = await allocate(session, actor, kind, data.number, service_id=service.id)
        service.number = picked.number
    if data.kind == ServiceKind.SIM.value:
        session.add(SimCard(service_id=service.id, iccid=data.iccid, imsi=data.imsi, puk=data.puk, issued_on=today))
    session.add_all([
        ServiceStateInterval(service_id=service.id, state=ServiceState.ORDERED.value, start_date=today),
        ServicePlanInterval(service_id=service.id, plan_id=plan.id, start_date=today),
        ServiceContractInterval(service_id=service.id, contract_id=contract.id, start_date=today),
    ])
    await session.flush()
    ctx = await lifecycle._context(session, service, actor.role, actor.language, today)
    result = lifecycle.Preview("order", today, False, service.state, details={"to_plan": plan.code})
    document = None
    if confirm:
        from backoffice.subscriptions.confirmations import send_confirmation

        document = await send_confirmation(session, actor, contract, service, result, seller_name)
    await lifecycle._record(session, actor, ctx, result, {"state": None, "plan": None, "holds": [], "addons": []},
                            document=document)
    await session.flush()
    return service


# ---------------------------------------------------------------- relations


@dataclass(frozen=True)
class Relations:
    """Who stood where for a service on one day."""

    day: dt.date
    contract_id: int
    contract_number: str
    subscriber_id: int
    billing_account_id: int
    representative_ids: tuple[int, ...] = ()


def _on(model: Any, day: dt.date) -> Any:
    return and_(model.start_date <= day, or_(model.end_date.is_(None), model.end_date > day))


async def relations_on(session: AsyncSession, service_id: int, day: dt.date) -> Relations | None:
    """The subscriber, payer and representatives of a service on `day`; None before it was
    ordered (or after a day no contract covered it). Billing calls this for each day it charges."""
    row = (await session.execute(
        select(Contract.id, Contract.number, Contract.subscriber_id, ContractPayerInterval.billing_account_id)
        .join(ServiceContractInterval, ServiceContractInterval.contract_id == Contract.id)
        .join(ContractPayerInterval, ContractPayerInterval.contract_id == Contract.id)
        .where(ServiceContractInterval.service_id == service_id, _on(ServiceContractInterval, day),
               _on(ContractPayerInterval, day))
    )).first()
    if row is None:
        return None
    reps = await session.scalars(select(ContractRepresentative.party_id).where(
        ContractRepresentative.contract_id == row[0], _on(ContractRepresentative, day)))
    return Relations(day, int(row[0]), str(row[1]), int(row[2]), int(row[3]), tuple(sorted(reps)))


async def payer_intervals(session: AsyncSession, service_id: int, start: dt.date,
                          end: dt.date) -> list[tuple[dt.date, dt.date, int]]:
    """Who paid for a service over `[start, end)`, as `(from, until, billing account)` pieces in
    order: the intersection of the service's contract intervals with each contract's payer
    intervals. A mid-month change of payer splits the month here."""
    rows = await session.execute(
        select(ServiceContractInterval.start_date, ServiceContractInterval.end_date,
               ContractPayerInterval.start_date, ContractPayerInterval.end_date,
               ContractPayerInterval.billing_account_id)
        .join(ContractPayerInterval, ContractPayerInterval.contract_id == ServiceContractInterval.contract_id)
        .where(ServiceContractInterval.service_id == service_id))
    pieces = []
    for s1, e1, s2, e2, account in rows:
        low = max(s1, s2, start)
        high = min(e1 or end, e2 or end, end)
        if low < high:
            pieces.append((low, high, int(account)))
    return sorted(pieces)


async def change_payer(session: AsyncSession, actor: Principal, contract_id: int, data: PayerChangeInput,
                       version: int | None, *, seller_name: str = "", confirm: bool = True) -> Contract:
    """The contract's charges move to another billing account from the effective date (today or
    later; what was already invoiced stays with the old payer)."""
    contract = await get_contract(session, contract_id)
    if version is not None and contract.version != version:
        raise _stale_contract(contract)
    if contract.status != ContractStatus.ACTIVE.value:
        raise ConflictError("contract_ended", Msg(N_("This contract has ended.")))
    today = clock.today()
    if data.effective_date < today:
        raise ValidationFailedError("date_in_past", Msg(N_("The date cannot be in the past.")),
                                    field="effective_date")
    account = await _account_for_payer(session, data.billing_account_id, contract.subscriber_id, data.consent,
                                       "billing_account_id", "consent")
    current = await _payer_in_force(session, contract.id, data.effective_date)
    if current is not None and current.billing_account_id == account.id:
        raise ConflictError("same_payer", Msg(N_("This account already pays for the contract on that day.")),
                            field="billing_account_id")
    for pending in await session.scalars(select(PendingAction).where(
            PendingAction.contract_id == contract.id, PendingAction.action == "change_payer",
            PendingAction.status == PendingStatus.PENDING.value)):
        raise ConflictError("already_scheduled", Msg(N_(
            "This change is already scheduled for %(date)s: withdraw it first to schedule it again."),
            date=pending.effective_date.isoformat()))
    params = {"billing_account_id": account.id, "consent": data.consent}
    scheduled = data.effective_date > today
    if scheduled:
        session.add(PendingAction(contract_id=contract.id, action="change_payer", params=params,
                                  effective_date=data.effective_date, created_by=actor.username))
    else:
        await _apply_payer(session, contract, account.id, data.effective_date, data.consent)
    contract.updated_at = utcnow()
    await flush_versioned(session, _stale_contract(contract))
    await _contract_record(session, actor, contract, "change_payer", data.effective_date, scheduled,
                           {"payer_account": account.account_number, "payer_name": account.name},
                           seller_name=seller_name, confirm=confirm)
    return contract


async def _payer_in_force(session: AsyncSession, contract_id: int, day: dt.date) -> ContractPayerInterval | None:
    return (await session.execute(select(ContractPayerInterval).where(
        ContractPayerInterval.contract_id == contract_id, _on(ContractPayerInterval, day))
        .order_by(ContractPayerInterval.start_date.desc()).limit(1))).scalar_one_or_none()


async def _apply_payer(session: AsyncSession, contract: Contract, account_id: int, day: dt.date,
                       consent: str | None) -> None:
    from backoffice.documents.services import document_by_registry_number

    doc = await document_by_registry_number(session, consent) if consent else None
    await lifecycle._close_open(session, ContractPayerInterval, day, contract_id=contract.id)
    session.add(ContractPayerInterval(contract_id=contract.id, billing_account_id=account_id, start_date=day,
                                      consent_document_id=doc.id if doc else None))
    contract.billing_account_id = account_id


async def _contract_record(session: AsyncSession, actor: Principal | None, contract: Contract, action: str,
                           day: dt.date, scheduled: bool, details: dict[str, Any], *, seller_name: str = "",
                           confirm: bool = True, party_id: int | None = None) -> Any:
    """Audit row, contact-log entry and (for a person's action) a confirmation letter for a
    change of the contract as a whole."""
    from backoffice.customers.services import log_action

    await audit.record(session, actor, f"contract.{action}", "contract", contract.number, None,
                       {**details, "effective_date": day.isoformat(), "scheduled": scheduled})
    label = lifecycle.ACTION_LABELS[action]
    summary = (Msg(N_("%(action)s of contract %(contract)s scheduled for %(date)s."), action=label,
                   contract=contract.number, date=day.isoformat()) if scheduled else
               Msg(N_("%(action)s: contract %(contract)s, effective %(date)s."), action=label,
                   contract=contract.number, date=day.isoformat()))
    await log_action(session, actor, party_id or contract.subscriber_id, summary, "contract", contract.id)
    document = None
    if confirm and actor is not None:
        from backoffice.subscriptions.confirmations import send_confirmation

        result = lifecycle.Preview(action, day, scheduled, "", details=details)
        document = await send_confirmation(session, actor, contract, None, result, seller_name, party_id=party_id)
    await session.flush()
    return document


async def request_transfer(session: AsyncSession, actor: Principal, contract_id: int, data: TransferInput,
                           version: int | None) -> OwnershipTransfer:
    """Ask for a transfer of ownership; a supervisor approves it (the two signed declarations are
    registered documents of the old and the new subscriber)."""
    from backoffice.customers.services import party_by_customer_number

    contract = await get_contract(session, contract_id)
    if version is not None and contract.version != version:
        raise _stale_contract(contract)
    if contract.status != ContractStatus.ACTIVE.value:
        raise ConflictError("contract_ended", Msg(N_("This contract has ended.")))
    new_party = await party_by_customer_number(session, data.new_subscriber)
    if new_party is None:
        raise ValidationFailedError("unknown_customer", Msg(N_("There is no customer with this number.")),
                                    field="new_subscriber")
    if new_party.id == contract.subscriber_id:
        raise ValidationFailedError("same_subscriber", Msg(N_("This customer is already the subscriber.")),
                                    field="new_subscriber")
    if data.effective_date < clock.today():
        raise ValidationFailedError("date_in_past", Msg(N_("The date cannot be in the past.")),
                                    field="effective_date")
    account = await _account_for_payer(session, data.new_billing_account_id, new_party.id, None,
                                       "new_billing_account_id", "new_billing_account_id")
    if account.payer_id != new_party.id:  # pragma: no cover - _account_for_payer refuses it first
        raise ValidationFailedError("account_other_customer", Msg(N_("Choose an account of the new subscriber.")),
                                    field="new_billing_account_id")
    old_doc = await _signed_document(session, data.old_party_document, {"ownership_transfer"},
                                     contract.subscriber_id, "old_party_document",
                                     Msg(N_("Give the registry number of the signed declaration.")))
    new_doc = await _signed_document(session, data.new_party_document, {"ownership_transfer"}, new_party.id,
                                     "new_party_document",
                                     Msg(N_("Give the registry number of the signed declaration.")))
    open_request = await session.scalar(select(OwnershipTransfer.id).where(
        OwnershipTransfer.contract_id == contract.id,
        OwnershipTransfer.status.in_([TransferStatus.AWAITING_APPROVAL.value, TransferStatus.APPROVED.value])))
    if open_request is not None:
        raise ConflictError("transfer_open", Msg(N_("A transfer of this contract is already under way.")))
    transfer = OwnershipTransfer(
        contract_id=contract.id, new_subscriber_id=new_party.id, new_billing_account_id=account.id,
        effective_date=data.effective_date, old_party_document_id=old_doc.id, new_party_document_id=new_doc.id,
        requested_by=actor.username)
    session.add(transfer)
    contract.updated_at = utcnow()
    await flush_versioned(session, _stale_contract(contract))
    await audit.record(session, actor, "contract.transfer_requested", "contract", contract.number, None,
                       {"transfer_id": transfer.id, "new_subscriber": new_party.customer_number,
                        "effective_date": data.effective_date.isoformat()})
    from backoffice.customers.services import log_action

    await log_action(session, actor, contract.subscriber_id, Msg(N_(
        "Transfer of contract %(contract)s to %(name)s requested; awaiting a supervisor's approval."),
        contract=contract.number, name=new_party.display_name), "contract", contract.id)
    await session.flush()
    return transfer


async def decide_transfer(session: AsyncSession, actor: Principal, transfer_id: int, approve: bool,
                          note: str, version: int | None, *, seller_name: str = "",
                          confirm: bool = True) -> OwnershipTransfer:
    """A supervisor approves (it is then carried out on its date, at once if that is today) or
    rejects a transfer; both subscribers get a letter of the approval."""
    if actor.role != "supervisor":
        raise ForbiddenError("supervisor_only", Msg(N_("Only a supervisor may approve or reject a transfer.")))
    transfer = await session.get(OwnershipTransfer, transfer_id) if storable_id(transfer_id) else None
    if transfer is None:
        raise NotFoundError("transfer_not_found", Msg(N_("There is no such transfer.")))
    if version is not None and transfer.version != version:
        raise ConflictError("stale_transfer", Msg(N_("Someone else decided this transfer meanwhile.")),
                            current=transfer)
    if transfer.status != TransferStatus.AWAITING_APPROVAL.value:
        raise ConflictError("transfer_decided", Msg(N_("This transfer has already been decided.")))
    contract = await get_contract(session, transfer.contract_id)
    today = clock.today()
    transfer.decided_by, transfer.decided_at, transfer.decision_note = actor.username, utcnow(), note[:300]
    if not approve:
        transfer.status = TransferStatus.REJECTED.value
        await flush_versioned(session, ConflictError("stale_transfer", Msg(N_(
            "Someone else decided this transfer meanwhile."))))
        await audit.record(session, actor, "contract.transfer_rejected", "contract", contract.number, None,
                           {"transfer_id": transfer.id, "note": note})
        return transfer
    transfer.status = TransferStatus.APPROVED.value
    day = max(transfer.effective_date, today)
    transfer.effective_date = day
    await flush_versioned(session, ConflictError("stale_transfer", Msg(N_(
        "Someone else decided this transfer meanwhile."))))
    from backoffice.customers.services import get_party

    new_party = await get_party(session, transfer.new_subscriber_id)
    details = {"new_subscriber": f"{new_party.display_name} ({new_party.customer_number})"}
    if day <= today:
        new_contract = await _carry_out_transfer(session, actor, transfer)
        details["new_contract"] = new_contract.number
    else:
        session.add(PendingAction(contract_id=contract.id, action="transfer", params={"transfer_id": transfer.id},
                                  effective_date=day, created_by=actor.username))
    for party_id in (contract.subscriber_id, transfer.new_subscriber_id):
        await _contract_record(session, actor, contract, "transfer_in", day, day > today, details,
                               seller_name=seller_name, confirm=confirm, party_id=party_id)
    return transfer


async def _carry_out_transfer(session: AsyncSession, actor: Principal | None,
                              transfer: OwnershipTransfer) -> Contract:
    """The old contract ends on the effective date and a new one for the new subscriber starts
    that day with the same services and numbers; the commitment carries over."""
    old = await get_contract(session, transfer.contract_id)
    day = transfer.effective_date
    number = format_contract_number(await numbering.next_value(session, "contract"))
    new = Contract(number=number, subscriber_id=transfer.new_subscriber_id,
                   billing_account_id=transfer.new_billing_account_id, commitment_months=old.commitment_months,
                   commitment_end=old.commitment_end, start_date=day, status=ContractStatus.ACTIVE.value,
                   predecessor_id=old.id, created_by=getattr(actor, "username", lifecycle.SYSTEM_ACTOR))
    session.add(new)
    await session.flush()
    session.add(ContractPayerInterval(contract_id=new.id, billing_account_id=transfer.new_billing_account_id,
                                      start_date=day, consent_document_id=transfer.new_party_document_id))
    await lifecycle._close_open(session, ContractPayerInterval, day, contract_id=old.id)
    who = getattr(actor, "username", lifecycle.SYSTEM_ACTOR)
    for service in await session.scalars(select(Service).where(
            Service.contract_id == old.id, Service.state.not_in([s.value for s in rules.FINAL_STATES]))):
        await lifecycle._close_open(session, ServiceContractInterval, day, service_id=service.id)
        session.add(ServiceContractInterval(service_id=service.id, contract_id=new.id, start_date=day))
        service.contract_id = new.id
        service.updated_at = utcnow()
        session.add(ServiceEvent(service_id=service.id, at=utcnow(), effective_date=day, action="transfer_in",
                                 actor_name=who, details={"from_contract": old.number, "to_contract": new.number}))
    for rep in await session.scalars(select(ContractRepresentative).where(
            ContractRepresentative.contract_id == old.id, ContractRepresentative.end_date.is_(None))):
        rep.end_date = max(day, rep.start_date)  # the old subscriber's representatives do not carry over
    old.status, old.end_date = ContractStatus.ENDED.value, day
    old.updated_at = utcnow()
    transfer.status, transfer.new_contract_id = TransferStatus.COMPLETED.value, new.id
    await session.flush()
    await audit.record(session, actor, "contract.transferred", "contract", old.number, None,
                       {"new_contract": new.number, "effective_date": day.isoformat()})
    return new


async def add_representative(session: AsyncSession, actor: Principal, contract_id: int,
                             data: RepresentativeInput, *, seller_name: str = "",
                             confirm: bool = True) -> ContractRepresentative:
    from backoffice.customers.services import log_action, party_by_customer_number

    contract = await get_contract(session, contract_id)
    party = await party_by_customer_number(session, data.customer_number)
    if party is None:
        raise ValidationFailedError("unknown_customer", Msg(N_("There is no customer with this number.")),
                                    field="customer_number")
    if party.id == contract.subscriber_id:
        raise ValidationFailedError("same_subscriber", Msg(N_("The subscriber does not need a power of attorney.")),
                                    field="customer_number")
    start = data.start_date or clock.today()
    if start < clock.today():
        raise ValidationFailedError("date_in_past", Msg(N_("The date cannot be in the past.")), field="start_date")
    doc = None
    if data.document:
        doc = await _signed_document(session, data.document, {"general_correspondence", "subscriber_contract"},
                                     contract.subscriber_id, "document", Msg(N_("Give the registry number.")))
    already = await session.scalar(select(ContractRepresentative.id).where(
        ContractRepresentative.contract_id == contract.id, ContractRepresentative.party_id == party.id,
        ContractRepresentative.end_date.is_(None)))
    if already is not None:
        raise ConflictError("representative_exists", Msg(N_("This customer already represents the subscriber.")),
                            field="customer_number")
    rep = ContractRepresentative(contract_id=contract.id, party_id=party.id, scope=data.scope, start_date=start,
                                 document_id=doc.id if doc else None)
    session.add(rep)
    await session.flush()
    await audit.record(session, actor, "contract.representative_added", "contract", contract.number, None,
                       {"party": party.customer_number, "scope": data.scope, "start_date": start.isoformat()})
    await log_action(session, actor, contract.subscriber_id, Msg(N_(
        "%(name)s may act for the subscriber on contract %(contract)s from %(date)s."), name=party.display_name,
        contract=contract.number, date=start.isoformat()), "contract", contract.id)
    await _representative_letter(session, actor, contract, "representative_added", start,
                                 {"representative": f"{party.display_name} ({party.customer_number})",
                                  "scope": data.scope}, seller_name, confirm)
    return rep


async def _representative_letter(session: AsyncSession, actor: Principal, contract: Contract, action: str,
                                 day: dt.date, details: dict[str, Any], seller_name: str, confirm: bool) -> None:
    if not confirm:
        return
    from backoffice.subscriptions.confirmations import send_confirmation

    result = lifecycle.Preview(action, day, day > clock.today(), "", details=details)
    await send_confirmation(session, actor, contract, None, result, seller_name)


async def end_representative(session: AsyncSession, actor: Principal, representative_id: int, *,
                             seller_name: str = "", confirm: bool = True) -> None:
    from backoffice.customers.services import log_action

    rep = await session.get(ContractRepresentative, representative_id) if storable_id(representative_id) else None
    if rep is None or rep.end_date is not None:
        raise NotFoundError("representative_not_found", Msg(N_("There is no such representative.")))
    contract = await get_contract(session, rep.contract_id)
    rep.end_date = max(clock.today(), rep.start_date + dt.timedelta(days=1))
    await audit.record(session, actor, "contract.representative_ended", "contract", contract.number, None,
                       {"representative_id": rep.id, "end_date": rep.end_date.isoformat()})
    await log_action(session, actor, contract.subscriber_id, Msg(N_(
        "A representative's authority on contract %(contract)s ended."), contract=contract.number),
        "contract", contract.id)
    from backoffice.customers.models import Party

    party = await session.get(Party, rep.party_id)
    await _representative_letter(session, actor, contract, "representative_ended", rep.end_date,
                                 {"representative": f"{party.display_name} ({party.customer_number})" if party else ""},
                                 seller_name, confirm)
    await session.flush()



async def withdraw_contract_change(session: AsyncSession, actor: Principal, pending_id: int) -> None:
    """Withdraw a scheduled payer change (a scheduled transfer is withdrawn by rejecting it first)."""
    pending = await session.get(PendingAction, pending_id) if storable_id(pending_id) else None
    if pending is None or pending.contract_id is None:
        raise NotFoundError("pending_not_found", Msg(N_("There is no such scheduled change.")))
    if pending.status != PendingStatus.PENDING.value:
        raise ConflictError("pending_not_pending", Msg(N_("This change is no longer scheduled.")))
    contract = await get_contract(session, pending.contract_id)
    if pending.action == "transfer":
        transfer = await session.get(OwnershipTransfer, pending.params.get("transfer_id"))
        if transfer is not None:
            transfer.status = TransferStatus.WITHDRAWN.value
    pending.status, pending.resolved_at, pending.resolved_by = PendingStatus.WITHDRAWN.value, utcnow(), actor.username
    pending.outcome = "withdrawn"
    contract.updated_at = utcnow()
    await session.flush()
    await _contract_record(session, actor, contract, "withdraw", clock.today(), False,
                           {"withdrawn": pending.action, "withdrawn_date": pending.effective_date.isoformat()},
                           confirm=False)


async def due_contract_changes(session: AsyncSession, today: dt.date | None = None) -> list[int]:
    day = today or clock.today()
    return list(await session.scalars(select(PendingAction.id).where(
        PendingAction.status == PendingStatus.PENDING.value, PendingAction.effective_date <= day,
        PendingAction.contract_id.is_not(None)).order_by(PendingAction.effective_date, PendingAction.id)))


async def apply_contract_change(session: AsyncSession, pending_id: int) -> PendingAction:
    pending = await session.get(PendingAction, pending_id)
    if pending is None or pending.contract_id is None:
        raise NotFoundError("pending_not_found", Msg(N_("There is no such scheduled change.")))
    if pending.status != PendingStatus.PENDING.value:
        return pending  # resolved since the job listed it (withdrawn meanwhile)
    contract = await get_contract(session, pending.contract_id)
    if contract.status != ContractStatus.ACTIVE.value:
        pending.status, pending.outcome = PendingStatus.FAILED.value, "the contract had ended"
    elif pending.action == "change_payer":
        await _apply_payer(session, contract, int(pending.params["billing_account_id"]), pending.effective_date,
                           pending.params.get("consent"))
        pending.status = PendingStatus.APPLIED.value
        await _contract_record(session, None, contract, "change_payer", pending.effective_date, False,
                               {"billing_account_id": pending.params["billing_account_id"]}, confirm=False)
    elif pending.action == "transfer":
        transfer = await session.get(OwnershipTransfer, pending.params["transfer_id"])
        assert transfer is not None
        await _carry_out_transfer(session, None, transfer)
        pending.status = PendingStatus.APPLIED.value
    pending.resolved_at, pending.resolved_by = utcnow(), lifecycle.SYSTEM_ACTOR
    contract.updated_at = utcnow()
    await session.flush()
    return pending


# ---------------------------------------------------------------- what the screens read


@dataclass
class ServiceRow:
    service: Service
    plan_name: str
    holds: list[str]


@dataclass
class ContractSummary:
    contract: Contract
    account_number: str
    services: list[ServiceRow]


async def contracts_of_party(session: AsyncSession, party_id: int, language: str) -> list[ContractSummary]:
    """The customer's contracts (newest first) with their services, plans and holds: four statements."""
    from backoffice.customers.models import BillingAccount

    contracts = list((await session.execute(
        select(Contract, BillingAccount.account_number)
        .join(BillingAccount, BillingAccount.id == Contract.billing_account_id)
        .where(Contract.subscriber_id == party_id).order_by(Contract.id.desc()).limit(50))).all())
    ids = [c.id for c, _ in contracts]
    if not ids:
        return []
    by_contract: dict[int, list[ServiceRow]] = {}
    for row in await _service_rows(session, Service.contract_id.in_(ids), language):
        by_contract.setdefault(row.service.contract_id, []).append(row)
    return [ContractSummary(c, number, by_contract.get(c.id, [])) for c, number in contracts]


async def _service_rows(session: AsyncSession, which: Any, language: str) -> list[ServiceRow]:
    """Services with their plan's name and their holds' names: three statements however many."""
    services = list((await session.execute(
        select(Service, Plan).join(Plan, Plan.id == Service.plan_id).where(which).order_by(Service.id))).all())
    holds: dict[int, list[str]] = {}
    if services:
        reasons = {r.code: r.name(language) for r in await session.scalars(select(SuspensionReason))}
        for service_id, code in await session.execute(
                select(ServiceHold.service_id, ServiceHold.reason_code)
                .where(ServiceHold.service_id.in_([s.id for s, _ in services]), ServiceHold.lifted_on.is_(None))):
            holds.setdefault(service_id, []).append(reasons.get(code, code))
    return [ServiceRow(service, plan.name(language), holds.get(service.id, [])) for service, plan in services]


@dataclass(frozen=True)
class Subscriber:
    """The subscriber as the service page shows them."""

    id: int
    customer_number: str
    display_name: str


@dataclass(frozen=True)
class Payer:
    """The paying billing account as the service page shows it."""

    id: int
    account_number: str
    name: str
    payer_id: int


@dataclass
class ServiceView:
    service: Service
    contract: Contract
    plan: Plan
    subscriber: Subscriber
    payer: Payer
    sim: SimCard | None
    holds: list[ServiceHold]
    addons: list[tuple[ServiceAddOn, AddOn]]
    # Read-only rows with the columns of PendingAction and ServiceEvent (not entities: a page reads
    # up to fifty, and building an entity costs several times reading its row).
    pending: Sequence[Any]
    events: Sequence[Any]
    fees: list[ServiceFee]
    # The dialogs' choices, loaded only for a dialog (the page itself does not need them).
    suspension_reasons: list[SuspensionReason] = field(default_factory=list)
    termination_reasons: list[TerminationReason] = field(default_factory=list)
    plan_choices: list[Plan] = field(default_factory=list)
    addon_choices: list[AddOn] = field(default_factory=list)
    # Names of what the holds and the scheduled changes refer to by code, in the reader's language.
    reason_names: dict[str, str] = field(default_factory=dict)
    termination_names: dict[str, str] = field(default_factory=dict)
    plan_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _PageStatements:
    head: Any
    pending: Any
    events: Any
    fees: Any


@functools.cache
def _service_page_statements() -> _PageStatements:
    """The service page's reads, composed once (composing costs more than running them)."""
    from backoffice.customers.models import BillingAccount, Party

    service_id: Any = bindparam("service_id")
    pending_actions: Any = PendingAction.__table__
    service_events: Any = ServiceEvent.__table__
    return _PageStatements(
        # The subscriber and payer as the few columns shown, not as entities: a party is a wide row.
        head=(select(Service, Plan, Contract, Party.id, Party.customer_number, Party.display_name,
                     BillingAccount.id, BillingAccount.account_number, BillingAccount.name, BillingAccount.payer_id)
              .join(Plan, Plan.id == Service.plan_id).join(Contract, Contract.id == Service.contract_id)
              .join(Party, Party.id == Contract.subscriber_id)
              .join(BillingAccount, BillingAccount.id == Contract.billing_account_id)
              .where(Service.id == service_id)),
        pending=(select(pending_actions)
                 .where(pending_actions.c.service_id == service_id,
                        pending_actions.c.status == PendingStatus.PENDING.value)
                 .order_by(pending_actions.c.effective_date, pending_actions.c.id)),
        events=(select(service_events).where(service_events.c.service_id == service_id)
                .order_by(service_events.c.id.desc()).limit(50)),
        fees=(select(ServiceFee).where(ServiceFee.service_id == service_id)
              .order_by(ServiceFee.incurred_on.desc(), ServiceFee.id.desc()).limit(20)),
    )


async def service_view(session: AsyncSession, service_id: int, language: str, *,
                       with_choices: bool = False) -> ServiceView:
    """Everything the service page shows, in seven statements (plus one per kind of name its holds
    and scheduled changes refer to); `with_choices` adds what an action dialog offers."""
    statements = _service_page_statements()
    row = (await session.execute(statements.head, {"service_id": service_id})).first() \
        if storable_id(service_id) else None
    if row is None:
        raise NotFoundError("service_not_found", Msg(N_("There is no such service.")))
    service, plan, contract = row[:3]
    subscriber = Subscriber(*row[3:6])
    payer = Payer(*row[6:10])
    ctx = await lifecycle._context(session, service, "agent", language)  # contract and plan: already loaded
    params = {"service_id": service.id}
    connection = await session.connection()
    pending = (await connection.execute(statements.pending, params)).all()
    events = (await connection.execute(statements.events, params)).all()
    fees = list(await session.scalars(statements.fees, params))
    view = ServiceView(service, contract, plan, subscriber, payer, ctx.sim, ctx.holds, ctx.addons, pending, events,
                       fees)
    actions = {p.action for p in pending}
    if with_choices or ctx.holds or actions & {"suspend", "resume"}:
        # Withdrawn reasons included: a hold may outlive its reason.
        view.reason_names = {r.code: r.name(language) for r in await session.scalars(select(SuspensionReason))}
    if with_choices or "terminate" in actions:
        view.termination_names = {r.code: r.name(language) for r in await session.scalars(select(TerminationReason))}
    wanted_plans = {str(p.params.get("plan_code")) for p in pending if p.action == "change_plan"}
    if wanted_plans:
        view.plan_names = {p.code: p.name(language) for p in await session.scalars(
            select(Plan).where(Plan.code.in_(sorted(wanted_plans))))}
    if with_choices:
        view.suspension_reasons = list(await session.scalars(
            select(SuspensionReason).where(SuspensionReason.active.is_(True)).order_by(SuspensionReason.sort_order)))
        view.termination_reasons = list(await session.scalars(
            select(TerminationReason).where(TerminationReason.active.is_(True)).order_by(TerminationReason.sort_order)))
        view.plan_choices = list(await session.scalars(
            select(Plan).join(PlanChangeRule, PlanChangeRule.to_plan_id == Plan.id)
            .where(PlanChangeRule.from_plan_id == service.plan_id, Plan.active.is_(True)).order_by(Plan.sort_order)))
        on = ctx.addon_codes
        view.addon_choices = [
            a for a in await session.scalars(select(AddOn).where(AddOn.active.is_(True)).order_by(AddOn.sort_order))
            if service.kind in a.kinds and (a.plan_codes is None or plan.code in a.plan_codes) and a.code not in on]
    return view


@dataclass
class ContractView:
    contract: Contract
    subscriber: Any
    payer: Any
    payers: Sequence[tuple[ContractPayerInterval, str]]
    representatives: Sequence[tuple[ContractRepresentative, Any]]
    services: list[ServiceRow]
    pending: list[PendingAction]
    transfers: list[OwnershipTransfer]
    predecessor: Contract | None
    successor: Contract | None
    accounts: list[Any]  # the subscriber's billing accounts, for the payer form


async def contract_view(session: AsyncSession, contract_id: int, language: str) -> ContractView:
    from backoffice.customers.models import BillingAccount, Party

    contract = await get_contract(session, contract_id)
    subscriber = await session.get(Party, contract.subscriber_id)
    payer = await session.get(BillingAccount, contract.billing_account_id)
    payers = list((await session.execute(
        select(ContractPayerInterval, BillingAccount.account_number)
        .join(BillingAccount, BillingAccount.id == ContractPayerInterval.billing_account_id)
        .where(ContractPayerInterval.contract_id == contract.id)
        .order_by(ContractPayerInterval.start_date))).all())
    reps = list((await session.execute(
        select(ContractRepresentative, Party).join(Party, Party.id == ContractRepresentative.party_id)
        .where(ContractRepresentative.contract_id == contract.id)
        .order_by(ContractRepresentative.start_date))).all())
    # Every service the contract ever held: a transferred contract's now sit under its successor.
    services = await _service_rows(session, Service.id.in_(
        select(ServiceContractInterval.service_id).where(ServiceContractInterval.contract_id == contract.id)),
        language)
    pending = list(await session.scalars(select(PendingAction).where(
        PendingAction.contract_id == contract.id, PendingAction.status == PendingStatus.PENDING.value)))
    transfers = list(await session.scalars(select(OwnershipTransfer).where(
        OwnershipTransfer.contract_id == contract.id).order_by(OwnershipTransfer.id.desc())))
    predecessor = await session.get(Contract, contract.predecessor_id) if contract.predecessor_id else None
    successor = (await session.execute(select(Contract).where(Contract.predecessor_id == contract.id))
                 ).scalar_one_or_none()
    accounts = list(await session.scalars(select(BillingAccount).where(
        BillingAccount.payer_id == contract.subscriber_id, BillingAccount.is_closed.is_(False))))
    return ContractView(contract, subscriber, payer, payers, reps, services, pending, transfers, predecessor,
                        successor, accounts)


async def transfers_awaiting(session: AsyncSession, limit: int = 100) -> list[OwnershipTransfer]:
    return list(await session.scalars(select(OwnershipTransfer).where(
        OwnershipTransfer.status == TransferStatus.AWAITING_APPROVAL.value)
        .order_by(OwnershipTransfer.requested_at).limit(limit)))


# ---------------------------------------------------------------- universal search


async def _service_hits(session: AsyncSession, stmt: Any, kind: str, score: int) -> list[SearchHit]:
    from backoffice.customers.models import Party
    from backoffice.identifiers import phone_display
    from backoffice.subscriptions.confirmations import service_label

    rows = (await session.execute(
        stmt.add_columns(Party.display_name, Contract.number)
        .join(Contract, Contract.id == Service.contract_id).join(Party, Party.id == Contract.subscriber_id)
    )).all()
    hits = []
    for service, name, contract_number in rows:
        what = phone_display(service.number) if service.number else service_label(
            service.kind, None, service.install_address())
        hits.append(SearchHit(kind, name, f"{what} · {contract_number} · {Msg(service.state)}",
                              f"/services/{service.id}", score))
    return hits


async def search_by_contract_number(session: AsyncSession, query: str, limit: int) -> list[SearchHit]:
    from backoffice.customers.models import Party

    match = CONTRACT_NUMBER.match(query.replace(" ", ""))
    if match is None:
        return []
    number = format_contract_number(int(match.group(1)))
    rows = (await session.execute(
        select(Contract, Party.display_name).join(Party, Party.id == Contract.subscriber_id)
        .where(Contract.number == number))).all()
    return [SearchHit("contract_number", name, f"{c.number} · {Msg(c.status)}", f"/contracts/{c.id}", 100)
            for c, name in rows]


async def search_by_service_number(session: AsyncSession, query: str, limit: int) -> list[SearchHit]:
    """A service's MSISDN or geographic number in any common format (06 30 …, +36 30 …)."""
    from backoffice.identifiers import InvalidIdentifierError, phone_e164

    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) < 8 or len(digits) > 15 or any(ch.isalpha() for ch in query):
        return []
    try:
        e164 = phone_e164(query)
    except InvalidIdentifierError:
        return []
    stmt = select(Service).where(Service.number == e164).order_by(Service.id.desc()).limit(limit)
    return await _service_hits(session, stmt, "service_number", 95)


async def search_by_iccid(session: AsyncSession, query: str, limit: int) -> list[SearchHit]:
    text = query.replace(" ", "").replace("-", "")
    if not (text.isdigit() and 19 <= len(text) <= 20 and text.startswith("89")):
        return []
    stmt = (select(Service).join(SimCard, SimCard.service_id == Service.id).where(SimCard.iccid == text)
            .limit(limit))
    return await _service_hits(session, stmt, "iccid", 100)


def register_search() -> None:
    from backoffice import search

    search.register("subscriptions.contract_number", search_by_contract_number)
    search.register("subscriptions.service_number", search_by_service_number)
    search.register("subscriptions.iccid", search_by_iccid)


async def service_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Service.state, func.count()).group_by(Service.state))
    return {state: int(n) for state, n in rows}
