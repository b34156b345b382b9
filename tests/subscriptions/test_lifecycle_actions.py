"""The lifecycle through the service (PRODUCT.md, "Subscriptions and services"): every state ×
action pair, allowed ones moving the service on and refused ones saying why in words and changing
nothing; and every action leaving its history row, audit row and contact-log entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from backoffice import clock
from backoffice.audit import AuditEntry
from backoffice.customers.models import Contact
from backoffice.documents.models import Document
from backoffice.errors import ConflictError, DomainError
from backoffice.subscriptions import contracts, lifecycle
from backoffice.subscriptions.models import (
    Contract,
    PendingAction,
    PoolNumber,
    Service,
    ServiceAddOn,
    ServiceContractInterval,
    ServiceEvent,
    ServiceFee,
    ServiceHold,
    ServicePlanInterval,
    ServiceStateInterval,
    SimCard,
)
from backoffice.subscriptions.schemas import ActionInput, ContractInput
from tests.subscriptions.helpers import (
    AGENT,
    SUPERVISOR,
    Maker,
    act,
    english,
    load,
    new_contract,
    new_iccid,
    new_imsi,
    order,
    seed_catalogue,
)

STATES = ("ordered", "active", "suspended", "cancelled", "terminated")
ACTIONS = ("activate", "suspend", "resume", "terminate", "cancel", "swap_sim", "change_plan", "add_addon",
           "remove_addon")


def fields_of(action: str) -> dict[str, Any]:
    """Inputs that make each action valid apart from the service's state: the suspended service
    carries a lost-SIM hold and every activated one the voicemail add-on."""
    today = clock.today()
    fields: dict[str, dict[str, Any]] = {
        "activate": {},
        "suspend": {"reason": "customer_request", "end_date": today + dt.timedelta(days=30)},
        "resume": {"reason": "lost_or_stolen"},
        "terminate": {"reason": "non_payment"},  # no notice: takes effect today
        "cancel": {},
        "swap_sim": {"iccid": new_iccid(), "imsi": new_imsi(), "puk": "87654321"},
        "change_plan": {"plan_code": "sim_plusz"},  # an upgrade: at once
        "add_addon": {"addon_code": "data_5gb"},
        "remove_addon": {"addon_code": "voicemail"},
    }
    return fields[action]


async def service_in(maker: Maker, state: str) -> Service:
    """A SIM service brought to `state` through the actions themselves."""
    contract = await new_contract(maker)
    service = await order(maker, contract)
    if state == "cancelled":
        await act(maker, service, "cancel")
    if state in {"active", "suspended", "terminated"}:
        await act(maker, service, "activate")
        await act(maker, service, "add_addon", addon_code="voicemail")
    if state == "suspended":
        await act(maker, service, "suspend", reason="lost_or_stolen")
    if state == "terminated":
        await act(maker, service, "terminate", reason="non_payment")
    service = await load(maker, service.id)
    assert service.state == state
    return service


# What each allowed pair leads to (the rest are refused).
ALLOWED: dict[tuple[str, str], str] = {
    ("ordered", "activate"): "active",
    ("ordered", "cancel"): "cancelled",
    ("active", "suspend"): "suspended",
    ("active", "terminate"): "terminated",
    ("active", "swap_sim"): "active",
    ("active", "change_plan"): "active",
    ("active", "add_addon"): "active",
    ("active", "remove_addon"): "active",
    ("suspended", "suspend"): "suspended",  # a second hold
    ("suspended", "resume"): "active",  # its only hold lifted
    ("suspended", "terminate"): "terminated",
    ("suspended", "swap_sim"): "active",  # the new SIM ends the lost-SIM hold
    ("suspended", "change_plan"): "suspended",
    ("suspended", "add_addon"): "suspended",
    ("suspended", "remove_addon"): "suspended",
}

# Where the refusal says what to do instead rather than naming the state.
HINTS: dict[tuple[str, str], str] = {
    ("active", "activate"): "already active",
    ("active", "resume"): "not suspended",
    ("ordered", "terminate"): "cancelled, not terminated",
    ("active", "cancel"): "terminate this service instead",
    ("suspended", "cancel"): "terminate this service instead",
    ("terminated", "terminate"): "already terminated",
    ("cancelled", "cancel"): "already cancelled",
}

COUNTED = (Service, SimCard, ServiceStateInterval, ServicePlanInterval, ServiceContractInterval, ServiceHold,
           ServiceAddOn, ServiceFee, ServiceEvent, PendingAction, AuditEntry, Contact, Document)


async def db_state(maker: Maker) -> dict[str, Any]:
    """Row counts and every row an action changes in place: equal before and after means nothing changed."""
    async with maker() as s:
        state: dict[str, Any] = {m.__tablename__: await s.scalar(select(func.count()).select_from(m))
                                 for m in COUNTED}
        state["services"] = (await s.execute(select(Service.id, Service.state, Service.plan_id, Service.version,
                                                    Service.number, Service.ended_on).order_by(Service.id))).all()
        state["contracts"] = (await s.execute(select(Contract.id, Contract.status, Contract.end_date,
                                                     Contract.commitment_end, Contract.version)
                                              .order_by(Contract.id))).all()
        state["pool"] = (await s.execute(select(PoolNumber.number, PoolNumber.status, PoolNumber.service_id)
                                         .where(PoolNumber.status != "available").order_by(PoolNumber.number))).all()
        state["sims"] = (await s.execute(select(SimCard.id, SimCard.blocked_on).order_by(SimCard.id))).all()
        state["holds"] = (await s.execute(select(ServiceHold.id, ServiceHold.lifted_on)
                                          .order_by(ServiceHold.id))).all()
        state["open"] = [(await s.execute(select(m.id, m.end_date).order_by(m.id))).all()
                         for m in (ServiceStateInterval, ServicePlanInterval, ServiceAddOn)]
        state["pending"] = (await s.execute(select(PendingAction.id, PendingAction.status)
                                            .order_by(PendingAction.id))).all()
    return state


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
async def test_every_state_and_action_pair_is_allowed_or_refused_with_its_reason_and_nothing_changes(
    maker: Maker, state: str, action: str
) -> None:
    await seed_catalogue(maker)
    service = await service_in(maker, state)
    before = await db_state(maker)
    expected = ALLOWED.get((state, action))
    if expected is not None:
        outcome = await act(maker, service, action, **fields_of(action))
        after = await load(maker, service.id)
        assert after.state == expected and outcome.service.state == expected
        assert after.version > service.version
        return
    with pytest.raises(ConflictError) as refused:
        await act(maker, service, action, **fields_of(action))
    assert refused.value.code == ("service_final" if state in {"cancelled", "terminated"} else "invalid_transition")
    words = english(refused.value.message)
    assert HINTS.get((state, action), f"This service is {state}, so") in words
    assert await db_state(maker) == before


@pytest.mark.parametrize("state", STATES)
async def test_a_refused_action_is_refused_the_same_way_in_the_preview(maker: Maker, state: str) -> None:
    await seed_catalogue(maker)
    service = await service_in(maker, state)
    for action in ACTIONS:
        if (state, action) in ALLOWED:
            continue
        async with maker() as s:
            with pytest.raises(ConflictError) as refused:
                await lifecycle.preview(s, AGENT, service.id, ActionInput(action=action, **fields_of(action)))
        assert refused.value.code in {"invalid_transition", "service_final"}


# ---------------------------------------------------------------- history, audit and contact log

# The state each action starts from, and who does it.
START: dict[str, str] = {"activate": "ordered", "suspend": "active", "resume": "suspended",
                         "terminate": "active", "cancel": "ordered", "swap_sim": "active",
                         "change_plan": "active", "add_addon": "active", "remove_addon": "active"}


# What the audit row shows changing, besides the effective date.
AUDITED: dict[str, str] = {"activate": "state", "suspend": "holds", "resume": "holds", "terminate": "state",
                           "cancel": "state", "swap_sim": "sim", "change_plan": "plan", "add_addon": "addons",
                           "remove_addon": "addons"}


async def records_of(maker: Maker, service: Service) -> tuple[list[AuditEntry], list[Contact], list[ServiceEvent]]:
    async with maker() as s:
        contract = await s.get(Contract, service.contract_id)
        assert contract is not None
        audits = list(await s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "service",
                                                               AuditEntry.entity_id == str(service.id))
                                      .order_by(AuditEntry.id)))
        contacts = list(await s.scalars(select(Contact).where(Contact.party_id == contract.subscriber_id,
                                                              Contact.subject_type == "service")
                                        .order_by(Contact.id)))
        events = list(await s.scalars(select(ServiceEvent).where(ServiceEvent.service_id == service.id)
                                      .order_by(ServiceEvent.id)))
    return audits, contacts, events


@pytest.mark.parametrize("action", ACTIONS)
async def test_every_action_writes_a_history_row_an_audit_row_and_a_contact_log_entry(
    maker: Maker, action: str
) -> None:
    await seed_catalogue(maker)
    service = await service_in(maker, START[action])
    audits, contacts, events = await records_of(maker, service)
    await act(maker, service, action, **fields_of(action))
    all_audits, all_contacts, all_events = await records_of(maker, service)
    new_audits, new_contacts = all_audits[len(audits):], all_contacts[len(contacts):]
    new_events = all_events[len(events):]
    [entry] = new_audits
    assert (entry.action, entry.actor_name, entry.actor_id) == (f"service.{action}", "agent", AGENT.id)
    assert entry.before is not None and entry.after is not None
    key = AUDITED[action]
    assert key in entry.after and entry.before.get(key) != entry.after[key]
    [contact] = new_contacts
    assert contact.automatic and contact.staff_name == "agent" and contact.subject_id == str(service.id)
    assert lifecycle.ACTION_LABELS[action] in english(contact.summary_text)
    [event] = new_events
    assert (event.action, event.actor_name) == (action, "agent")


async def test_a_scheduled_action_is_audited_as_scheduled_and_its_application_by_the_daily_job(
    maker: Maker
) -> None:
    await seed_catalogue(maker)
    service = await service_in(maker, "active")
    outcome = await act(maker, service, "terminate", reason="customer_request")
    assert outcome.pending is not None
    async with maker() as s, s.begin():
        await lifecycle.apply_pending(s, outcome.pending.id, today=outcome.pending.effective_date)
    audits, contacts, _ = await records_of(maker, service)
    scheduled, applied = [a for a in audits if a.action == "service.terminate"]
    assert scheduled.after is not None and scheduled.after["scheduled"] == "terminate"
    assert scheduled.actor_name == "agent" and applied.actor_name == "system"
    assert applied.after is not None and applied.after["state"] == "terminated"
    assert "scheduled for" in english(contacts[-2].summary_text)
    assert contacts[-1].staff_name == "system" and contacts[-1].automatic


async def test_a_supervisor_acts_under_their_own_name(maker: Maker) -> None:
    await seed_catalogue(maker)
    service = await service_in(maker, "active")
    await act(maker, service, "suspend", SUPERVISOR, reason="fraud")
    audits, contacts, events = await records_of(maker, service)
    assert (audits[-1].action, audits[-1].actor_name) == ("service.suspend", "supervisor")
    assert contacts[-1].staff_name == "supervisor" and events[-1].details["reason"] == "fraud"


async def test_an_unknown_service_is_not_found(maker: Maker) -> None:
    await seed_catalogue(maker)
    with pytest.raises(DomainError) as missing:
        await act(maker, 999_999, "activate")
    assert missing.value.code == "service_not_found" and missing.value.status == 404


# ---------------------------------------------------------------- what the screens read


async def test_the_service_page_reads_its_holds_pending_changes_history_fees_and_choices(maker: Maker) -> None:
    await seed_catalogue(maker)
    service = await service_in(maker, "active")  # with voicemail
    await act(maker, service, "suspend", reason="lost_or_stolen")
    await act(maker, service, "terminate", reason="customer_request")  # scheduled: 8 days' notice
    async with maker() as s:
        view = await contracts.service_view(s, service.id, "en", with_choices=True)
    assert [h.reason_code for h in view.holds] == ["lost_or_stolen"]
    assert [(p.action, p.status) for p in view.pending] == [("terminate", "pending")]
    assert [e.action for e in view.events] == ["terminate", "suspend", "add_addon", "activate", "order"]
    assert [f.code for f in view.fees] == ["activation"]
    assert [p.code for p in view.plan_choices] == ["sim_plusz", "sim_korlatlan"]  # what the change rules allow
    choices = {a.code for a in view.addon_choices}
    assert "voicemail" not in choices and "data_5gb" in choices and "hbo_pack" not in choices
    assert view.sim is not None and view.reason_names["lost_or_stolen"] == "Lost or stolen SIM"


async def test_the_customer_page_lists_contracts_newest_first_with_services_and_their_holds(maker: Maker) -> None:
    await seed_catalogue(maker)
    service = await service_in(maker, "suspended")
    async with maker() as s:
        contract = await s.get(Contract, service.contract_id)
        assert contract is not None
        second = await contracts.create_contract(s, AGENT, contract.subscriber_id, ContractInput(
            contract.billing_account_id, 12, None))
        await s.commit()
    async with maker() as s:
        summaries = await contracts.contracts_of_party(s, contract.subscriber_id, "hu")
    assert [c.contract.id for c in summaries] == [second.id, contract.id]
    [row] = summaries[1].services
    assert (row.service.state, row.plan_name) == ("suspended", "Mobil Start")
    assert row.holds == ["Elveszett vagy ellopott SIM"]
    assert summaries[0].services == [] and summaries[0].contract.commitment_months == 12


async def test_no_service_is_ordered_under_an_ended_contract(maker: Maker) -> None:
    await seed_catalogue(maker)
    service = await service_in(maker, "cancelled")  # its only service: the contract ended with it
    async with maker() as s:
        contract = await s.get(Contract, service.contract_id)
    assert contract is not None and contract.status == "ended"
    with pytest.raises(ConflictError) as refused:
        await order(maker, contract)
    assert refused.value.code == "contract_ended"
