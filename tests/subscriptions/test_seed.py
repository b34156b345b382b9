"""The demo subscriptions seed: the same data for the same seed, numbers that belong to their
services, a dated record as the lifecycle would have written it, and data the real services
then work on (suspend with its confirmation, resume, terminate into quarantine, the next contract)."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import DateTime, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stdnum import luhn

from backoffice import clock
from backoffice.customers.seed import seed_customers
from backoffice.db import make_engine, make_sessionmaker
from backoffice.numbering import Counter as NumberCounter
from backoffice.settings import Settings
from backoffice.subscriptions import contracts, lifecycle
from backoffice.subscriptions import services as number_pool
from backoffice.subscriptions.catalogue import seed_demo_catalogue, seed_reference_catalogue
from backoffice.subscriptions.models import (
    Contract,
    ContractPayerInterval,
    PendingAction,
    Plan,
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
from backoffice.subscriptions.seed import AREA_BY_POSTAL, seed_subscriptions
from tests.conftest import IS_PG, _reset_pg
from tests.subscriptions.helpers import AGENT

Maker = async_sessionmaker[AsyncSession]
LIVE = {"ordered", "active", "suspended"}
SNAPSHOT_TABLES = [Contract, ContractPayerInterval, Service, SimCard, ServiceStateInterval, ServicePlanInterval,
                   ServiceContractInterval, ServiceHold, ServiceAddOn, ServiceEvent, ServiceFee, PendingAction,
                   PoolNumber, NumberCounter]


async def seed_all(maker: Maker, customers: int, seed: int) -> Any:
    """Catalogue, customers and their subscriptions; the seed tops the empty pool up itself."""
    async with maker() as s, s.begin():
        await seed_reference_catalogue(s)
        await seed_demo_catalogue(s)
    await seed_customers(maker, customers, seed)
    return await seed_subscriptions(maker, seed)


async def snapshot(maker: Maker) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the seed wrote, without the timestamps (they follow the clock, not the seed)."""
    out = {}
    async with maker() as s:
        for model in SNAPSHOT_TABLES:
            table = model.__table__
            columns = [c for c in table.columns if not isinstance(c.type, DateTime)
                       and not isinstance(getattr(c.type, "impl", None), DateTime)]
            out[table.name] = [tuple(r) for r in await s.execute(select(*columns).order_by(table.c.id))]
    return out


async def seeded_once(url: str, customers: int, seed: int) -> tuple[Any, dict[str, list[tuple[Any, ...]]]]:
    engine = make_engine(url)
    try:
        maker = make_sessionmaker(engine)
        result = await seed_all(maker, customers, seed)
        return result, await snapshot(maker)
    finally:
        await engine.dispose()


async def test_the_same_seed_gives_the_same_subscriptions(settings: Settings, template_db: str,
                                                          tmp_path: Path) -> None:
    first, rows = await seeded_once(settings.database_url, 60, 7)
    if IS_PG:
        await _reset_pg(settings.database_url)
        url = settings.database_url
    else:
        copy = tmp_path / "again.sqlite3"
        shutil.copyfile(template_db, copy)
        url = f"sqlite+aiosqlite:///{copy}"
    second, again = await seeded_once(url, 60, 7)
    assert first == second and first.services > 60
    assert rows == again and len(rows["services"]) == first.services


@pytest.fixture
async def seeded(maker: Maker) -> Any:
    return await seed_all(maker, 300, 3)


async def test_about_two_services_a_customer_of_every_kind_and_state(maker: Maker, seeded: Any) -> None:
    async with maker() as s:
        kinds = Counter((await s.execute(select(Service.kind))).scalars())
        states = Counter((await s.execute(select(Service.state))).scalars())
        commitments = Counter((await s.execute(select(Contract.commitment_months))).scalars())
        subscribers = await s.scalar(select(func.count(func.distinct(Contract.subscriber_id))))
    assert seeded.services == sum(kinds.values())
    assert 1.7 <= seeded.services / 300 <= 2.4
    assert subscribers >= 290  # (a customer without a billing account would get nothing)
    assert kinds["sim"] > seeded.services / 2 and min(kinds.values()) >= 5 and len(kinds) == 4
    assert states["active"] > seeded.services * 0.7
    assert states["suspended"] >= 5 and states["terminated"] >= 10
    assert set(commitments) == {0, 12, 24}


async def test_numbers_are_unique_and_allocated_to_their_service(maker: Maker, seeded: Any) -> None:
    from backoffice import identifiers

    today = clock.today()
    async with maker() as s:
        services = list(await s.scalars(select(Service)))
        pool = {p.number: p for p in await s.scalars(select(PoolNumber))}
    numbered = [x for x in services if x.kind in ("sim", "fixed_line")]
    assert all(x.number for x in numbered) and not any(x.number for x in services if x not in numbered)
    assert len({x.number for x in numbered}) == len(numbered)
    for service in numbered:
        row = pool[service.number]
        assert row.kind == ("mobile" if service.kind == "sim" else "geographic")
        if service.kind == "fixed_line":  # a number of the installation's area
            assert service.number.startswith("+36" + AREA_BY_POSTAL[service.install_postal_code[0]])
        else:
            assert identifiers.phone_e164(service.number) == service.number
        if service.state in LIVE:
            assert (row.status, row.service_id) == ("allocated", service.id), service.number
        elif service.state == "terminated":
            assert (row.status, row.service_id) == ("quarantine", None)
            assert row.quarantine_until == service.ended_on + dt.timedelta(days=number_pool.QUARANTINE_DAYS)
        else:  # cancelled before activation: straight back to the pool
            assert (row.status, row.service_id) == ("available", None)
    allocated = [p for p in pool.values() if p.status == "allocated"]
    assert len(allocated) == sum(1 for x in numbered if x.state in LIVE)
    assert any(p.quarantine_until and p.quarantine_until > today for p in pool.values())


async def test_sim_cards_have_valid_unique_identifiers(maker: Maker, seeded: Any) -> None:
    from backoffice import identifiers

    async with maker() as s:
        cards = list(await s.scalars(select(SimCard)))
        services = {x.id: x for x in await s.scalars(select(Service))}
    assert len({c.iccid for c in cards}) == len(cards) == len({c.imsi for c in cards})
    for card in cards:
        assert identifiers.iccid(card.iccid) == card.iccid and card.iccid.startswith("8936")
        assert luhn.is_valid(card.iccid)
        assert identifiers.imsi(card.imsi) == card.imsi and card.imsi.startswith("21630")
        assert len(card.puk) == 8 and card.puk.isdigit()
    current = Counter(c.service_id for c in cards if c.blocked_on is None)
    for service in services.values():
        if service.kind == "sim":
            assert current[service.id] == (1 if service.state in LIVE else 0), service.id
        else:
            assert service.id not in current


def _contiguous(rows: list[Any], first_day: dt.date, last_day: dt.date | None) -> None:
    """Intervals that follow each other without gap or overlap, none empty, from first to last."""
    assert rows, "no intervals"
    assert rows[0].start_date == first_day
    for before, after in itertools.pairwise(rows):
        assert before.end_date == after.start_date
    for row in rows:
        assert row.end_date is None or row.end_date > row.start_date
    assert rows[-1].end_date == last_day


async def test_every_service_has_the_record_the_lifecycle_would_have_written(maker: Maker, seeded: Any) -> None:
    today = clock.today()
    async with maker() as s:
        services = list(await s.scalars(select(Service).order_by(Service.id)))
        contracts_by_id = {c.id: c for c in await s.scalars(select(Contract))}
        plans = {p.id: p for p in await s.scalars(select(Plan))}

        async def by_service(model: Any, *order: Any) -> dict[int, list[Any]]:
            grouped: dict[int, list[Any]] = defaultdict(list)
            for row in await s.scalars(select(model).order_by(*order)):
                grouped[row.service_id].append(row)
            return grouped

        states = await by_service(ServiceStateInterval, ServiceStateInterval.start_date, ServiceStateInterval.id)
        plan_rows = await by_service(ServicePlanInterval, ServicePlanInterval.start_date)
        contract_rows = await by_service(ServiceContractInterval, ServiceContractInterval.start_date)
        holds = await by_service(ServiceHold, ServiceHold.id)
        addons = await by_service(ServiceAddOn, ServiceAddOn.id)
        events = await by_service(ServiceEvent, ServiceEvent.id)
        pending = await by_service(PendingAction, PendingAction.id)
        fees = list(await s.scalars(select(ServiceFee)))
        payers = {p.contract_id: p for p in await s.scalars(select(ContractPayerInterval))}
        event_ids = {e.id: e for e in await s.scalars(select(ServiceEvent))}
    seen = Counter()
    for service in services:
        ended = service.state in ("terminated", "cancelled")
        # state: the open interval is the service's state, and the intervals follow each other
        history = states[service.id]
        _contiguous(history, service.ordered_on, None)
        assert history[-1].state == service.state
        assert all(a.state != b.state for a, b in itertools.pairwise(history))
        if service.activated_on:
            assert any(h.state == "active" and h.start_date == service.activated_on for h in history)
            assert service.activated_on <= today
        if ended:
            assert history[-1].start_date == service.ended_on <= today
        # plan: from the order on, the last one is the service's plan, of its kind
        _contiguous(plan_rows[service.id], service.ordered_on, service.ended_on if ended else None)
        assert plan_rows[service.id][-1].plan_id == service.plan_id
        assert all(plans[p.plan_id].kind == service.kind for p in plan_rows[service.id])
        # contract: the service's own, from the order on; its payer from the contract's start
        [link] = contract_rows[service.id]
        assert (link.contract_id, link.start_date, link.end_date) == (service.contract_id, service.ordered_on, None)
        contract = contracts_by_id[service.contract_id]
        assert contract.start_date <= service.ordered_on
        assert payers[contract.id].billing_account_id == contract.billing_account_id
        # holds: suspended exactly when a hold is on; every lifted hold lifted on or after it began
        open_holds = [h for h in holds[service.id] if h.lifted_on is None]
        assert bool(open_holds) == (service.state == "suspended"), service.id
        assert len({h.reason_code for h in open_holds}) == len(open_holds)
        for hold in holds[service.id]:
            assert hold.lifted_on is None or hold.lifted_on >= hold.start_date
            if hold.reason_code == "customer_request":
                assert hold.planned_end is not None and (hold.planned_end - hold.start_date).days <= 180
                if hold.lifted_on is None:
                    assert hold.planned_end > today
                    [lift] = [p for p in pending[service.id] if p.action == "resume" and p.status == "pending"]
                    assert lift.effective_date == hold.planned_end and lift.params["auto"] is True
        # add-ons: valid for the kind, ended with the service
        for row in addons[service.id]:
            assert row.start_date >= (service.activated_on or today)
            if ended:
                assert row.end_date is not None and row.end_date <= service.ended_on
        # history: ordered first, then in date order; the activation brought its fee
        actions = [e.action for e in events[service.id]]
        assert actions[0] == "order" and events[service.id][0].effective_date == service.ordered_on
        days = [e.effective_date for e in events[service.id] if not e.details.get("scheduled")]
        assert days == sorted(days)
        assert ("activate" in actions) == (service.activated_on is not None)
        assert service.version == len(actions)
        for p in pending[service.id]:
            if p.status == "pending":
                assert service.state in LIVE and p.effective_date > today
        seen.update(actions)
        seen[service.state] += 1
    for fee in fees:
        assert event_ids[fee.event_id].service_id == fee.service_id
        assert fee.incurred_on == event_ids[fee.event_id].effective_date
    assert Counter(f.code for f in fees)["activation"] == seen["activate"]
    assert seen["suspend"] and seen["terminate"] and seen["add_addon"]
    for contract in contracts_by_id.values():
        mine = [x for x in services if x.contract_id == contract.id]
        assert mine
        assert (contract.status == "ended") == all(x.state in ("terminated", "cancelled") for x in mine)
        first_active = min((x.activated_on for x in mine if x.activated_on), default=None)
        if contract.commitment_months and first_active:
            from backoffice.subscriptions.rules import commitment_end

            assert contract.commitment_end == commitment_end(first_active, contract.commitment_months)


async def test_contract_numbers_follow_the_start_dates_and_new_contracts_continue_them(
        maker: Maker, seeded: Any) -> None:
    async with maker() as s:
        rows = (await s.execute(select(Contract.number, Contract.start_date).order_by(Contract.number))).all()
        party_id, account_id = (await s.execute(
            select(Contract.subscriber_id, Contract.billing_account_id).limit(1))).one()
    assert [r.start_date for r in rows] == sorted(r.start_date for r in rows)
    assert [r.number for r in rows] == [contracts.format_contract_number(i + 1) for i in range(len(rows))]
    async with maker() as s, s.begin():
        contract = await contracts.create_contract(s, AGENT, party_id, ContractInput(account_id, 0, None))
    assert contract.number == contracts.format_contract_number(len(rows) + 1)


async def _one(maker: Maker, stmt: Any) -> Any:
    async with maker() as s:
        found = (await s.execute(stmt.limit(1))).scalar_one_or_none()
    assert found is not None
    return found


async def test_a_seeded_active_sim_is_suspended_by_the_real_service(maker: Maker, seeded: Any,
                                                                    store_root: Path) -> None:
    today = clock.today()
    service = await _one(maker, select(Service).where(
        Service.kind == "sim", Service.state == "active", Service.activated_on < today).order_by(Service.id))
    async with maker() as s, s.begin():
        outcome = await lifecycle.perform(s, AGENT, service.id, ActionInput(action="suspend", reason="lost_or_stolen"),
                                          service.version, seller_name="Demo Telekom Zrt.", confirm=True)
    assert outcome.document is not None and outcome.event is not None
    async with maker() as s:
        after = await s.get(Service, service.id)
        history = list(await s.scalars(select(ServiceStateInterval).where(
            ServiceStateInterval.service_id == service.id).order_by(ServiceStateInterval.start_date)))
        hold = (await s.execute(select(ServiceHold).where(ServiceHold.service_id == service.id,
                                                          ServiceHold.lifted_on.is_(None)))).scalar_one()
        event = await s.get(ServiceEvent, outcome.event.id)
    assert after is not None and after.state == "suspended" and after.version == service.version + 1
    assert (history[-2].state, history[-2].end_date) == ("active", today)
    assert (history[-1].state, history[-1].start_date, history[-1].end_date) == ("suspended", today, None)
    assert hold.reason_code == "lost_or_stolen" and event is not None and event.document_id == outcome.document.id
    assert [f for f in store_root.rglob("*") if f.is_file()]  # the letter went to the document store


async def test_a_seeded_voluntary_suspension_resumes_and_its_planned_lift_is_withdrawn(
        maker: Maker, seeded: Any) -> None:
    hold = await _one(maker, select(ServiceHold).where(
        ServiceHold.reason_code == "customer_request", ServiceHold.lifted_on.is_(None)).order_by(ServiceHold.id))
    async with maker() as s:
        others = list(await s.scalars(select(ServiceHold).where(
            ServiceHold.service_id == hold.service_id, ServiceHold.lifted_on.is_(None))))
    async with maker() as s, s.begin():
        await lifecycle.perform(s, AGENT, hold.service_id, ActionInput(action="resume", reason="customer_request"),
                                None, confirm=False)
    async with maker() as s:
        service = await s.get(Service, hold.service_id)
        lifts = list(await s.scalars(select(PendingAction).where(PendingAction.service_id == hold.service_id,
                                                                 PendingAction.action == "resume")))
    assert service is not None and service.state == ("active" if len(others) == 1 else "suspended")
    assert [p.status for p in lifts if p.params.get("reason") == "customer_request"
            and p.effective_date == hold.planned_end] == ["withdrawn"]


async def test_a_seeded_service_terminated_now_puts_its_number_in_quarantine(maker: Maker, seeded: Any) -> None:
    today = clock.today()
    service = await _one(maker, select(Service).where(Service.kind == "sim", Service.state == "active")
                         .order_by(Service.id.desc()))
    async with maker() as s, s.begin():
        await lifecycle.perform(s, AGENT, service.id, ActionInput(action="terminate", reason="ported_out"), None,
                                confirm=False)
    async with maker() as s:
        row = (await s.execute(select(PoolNumber).where(PoolNumber.number == service.number))).scalar_one()
        relations = await contracts.relations_on(s, service.id, service.ordered_on)
        contract = await s.get(Contract, service.contract_id)
    until = today + dt.timedelta(days=number_pool.QUARANTINE_DAYS)
    assert (row.status, row.quarantine_until, row.service_id) == ("quarantine", until, None)
    assert relations is not None and contract is not None
    assert (relations.subscriber_id, relations.billing_account_id) == (contract.subscriber_id,
                                                                       contract.billing_account_id)


async def test_nothing_seeded_is_overdue_and_a_planned_lift_applies_on_its_day(maker: Maker, seeded: Any) -> None:
    async with maker() as s:
        assert await lifecycle.due_pending(s) == []
    lift = await _one(maker, select(PendingAction).where(PendingAction.status == "pending",
                                                         PendingAction.action == "resume")
                      .order_by(PendingAction.id))
    async with maker() as s, s.begin():
        applied = await lifecycle.apply_pending(s, lift.id, today=lift.effective_date)
    assert applied.status == "applied"
    async with maker() as s:
        hold = (await s.execute(select(ServiceHold).where(
            ServiceHold.service_id == lift.service_id, ServiceHold.reason_code == "customer_request",
            ServiceHold.planned_end == lift.effective_date))).scalar_one()
    assert hold.lifted_on == lift.effective_date


async def test_only_the_new_customers_get_subscriptions_and_a_second_run_adds_nothing(maker: Maker) -> None:
    from tests.customers.helpers import add_account, add_party

    by_hand = await add_party(maker)
    await add_account(maker, by_hand.id)
    async with maker() as s, s.begin():
        await seed_reference_catalogue(s)
        await seed_demo_catalogue(s)
    await seed_customers(maker, 20, 4)
    first = await seed_subscriptions(maker, 4, after_party_id=by_hand.id)
    again = await seed_subscriptions(maker, 4, after_party_id=by_hand.id)
    async with maker() as s:
        holders = set(await s.scalars(select(Contract.subscriber_id)))
    assert first.services > 20 and again.services == 0  # customers with a contract are left as they are
    assert len(holders) == 20 and by_hand.id not in holders
