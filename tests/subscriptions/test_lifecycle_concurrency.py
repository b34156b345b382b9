"""Two agents changing the same service or contract at once (PRODUCT.md, "Subscriptions and
services"): the second gets a conflict with the current state, never a silent overwrite."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from backoffice import clock
from backoffice.audit import AuditEntry
from backoffice.db import WRITE_INTENT
from backoffice.errors import ConflictError
from backoffice.subscriptions import contracts, lifecycle
from backoffice.subscriptions.models import PendingAction, Service, ServiceHold
from backoffice.subscriptions.schemas import ActionInput, PayerChangeInput
from tests.conftest import IS_PG
from tests.customers.helpers import add_account
from tests.subscriptions.helpers import AGENT, SUPERVISOR, Maker, act, active_sim, intervals, load, seed_catalogue


@pytest.fixture
def reads_without_the_write_lock() -> Iterator[None]:
    """On SQLite the first agent's read must not hold the write lock, or the second agent could
    not save in between (in the app, a form's GET and its POST are separate requests)."""
    token = WRITE_INTENT.set(False)
    yield
    WRITE_INTENT.reset(token)


@pytest.fixture
async def sim(maker: Maker) -> Service:
    await seed_catalogue(maker)
    return await active_sim(maker)


async def record_of(maker: Maker, service_id: int) -> dict[str, Any]:
    async with maker() as s:
        service = await s.get(Service, service_id)
        assert service is not None
        audits = await s.scalar(select(func.count()).select_from(AuditEntry))
        pending = await s.scalar(select(func.count()).select_from(PendingAction))
    return {"version": service.version, "state": service.state, "plan": service.plan_id, "audits": audits,
            "pending": pending, **await intervals(maker, service_id)}


async def test_an_action_from_a_stale_form_is_a_conflict_showing_the_current_state_and_changes_nothing(
    maker: Maker, sim: Service
) -> None:
    opened = sim.version  # the agent opened the dialog here
    await act(maker, sim, "add_addon", addon_code="voicemail")  # someone else acted meanwhile
    before = await record_of(maker, sim.id)
    async with maker() as s:
        with pytest.raises(ConflictError) as stale:
            async with s.begin():
                await lifecycle.perform(s, AGENT, sim.id, ActionInput("suspend", reason="lost_or_stolen"), opened,
                                        confirm=False)
        assert stale.value.code == "stale_service" and stale.value.status == 409
        current = stale.value.current
        await s.refresh(current)  # as the API does before it shows the current state
        assert isinstance(current, Service) and (current.version, current.state) == (before["version"], "active")
    assert await record_of(maker, sim.id) == before
    await act(maker, sim, "suspend", version=before["version"], reason="lost_or_stolen")  # with the current one
    assert (await load(maker, sim.id)).state == "suspended"


async def test_scheduling_a_change_moves_the_version_on_too(maker: Maker, sim: Service) -> None:
    await act(maker, sim, "terminate", version=sim.version, reason="customer_request")
    with pytest.raises(ConflictError) as stale:
        await act(maker, sim, "add_addon", version=sim.version, addon_code="voicemail")
    assert stale.value.code == "stale_service"


async def test_a_change_committed_between_read_and_write_is_a_conflict_even_after_the_version_check(
    maker: Maker, sim: Service, reads_without_the_write_lock: None
) -> None:
    async with maker() as first:
        await lifecycle.get_service(first, sim.id)  # the first agent's request read version 2
        WRITE_INTENT.set(True)
        await act(maker, sim, "add_addon", addon_code="voicemail")  # the second agent's committed meanwhile
        before = await record_of(maker, sim.id)
        with pytest.raises(ConflictError) as stale:
            await lifecycle.perform(first, AGENT, sim.id, ActionInput("suspend", reason="lost_or_stolen"),
                                    sim.version, confirm=False)
    assert stale.value.code == "stale_service"
    assert await record_of(maker, sim.id) == before


@pytest.mark.skipif(not IS_PG, reason="two writers at once need PostgreSQL's row locks")
async def test_two_agents_suspending_the_same_service_at_once_exactly_one_succeeds(
    maker: Maker, sim: Service
) -> None:
    both_read = asyncio.Barrier(2)

    async def suspend(reason: str, actor: Any) -> str:
        try:
            async with maker() as s, s.begin():
                await lifecycle.get_service(s, sim.id)
                await both_read.wait()  # both passed the version check before either writes
                await lifecycle.perform(s, actor, sim.id, ActionInput("suspend", reason=reason), sim.version,
                                        confirm=False)
            return "done"
        except ConflictError as exc:
            return exc.code

    results = await asyncio.gather(suspend("lost_or_stolen", AGENT), suspend("fraud", SUPERVISOR))
    assert sorted(results) == ["done", "stale_service"]
    after = await load(maker, sim.id)
    assert (after.state, after.version) == ("suspended", sim.version + 1)
    async with maker() as s:
        holds = list(await s.scalars(select(ServiceHold.reason_code).where(ServiceHold.service_id == sim.id)))
        audits = list(await s.scalars(select(AuditEntry.action).where(AuditEntry.action == "service.suspend")))
    assert len(holds) == 1 and len(audits) == 1


@pytest.mark.skipif(not IS_PG, reason="two writers at once need PostgreSQL's row locks")
async def test_two_agents_withdrawing_and_acting_at_once_do_not_both_win(maker: Maker, sim: Service) -> None:
    outcome = await act(maker, sim, "change_plan", plan_code="sim_plusz", when="month_end")
    assert outcome.pending is not None
    version = (await load(maker, sim.id)).version
    both_read = asyncio.Barrier(2)

    async def run(step: str) -> str:
        try:
            async with maker() as s, s.begin():
                await lifecycle.get_service(s, sim.id)
                await both_read.wait()
                if step == "withdraw":
                    assert outcome.pending is not None
                    await lifecycle.withdraw(s, AGENT, outcome.pending.id, version, confirm=False)
                else:
                    await lifecycle.perform(s, AGENT, sim.id, ActionInput("add_addon", addon_code="voicemail"),
                                            version, confirm=False)
            return "done"
        except ConflictError as exc:
            return exc.code

    assert sorted(await asyncio.gather(run("withdraw"), run("add"))) == ["done", "stale_service"]


async def test_a_change_of_payer_from_a_stale_contract_page_is_a_conflict(maker: Maker, sim: Service) -> None:
    async with maker() as s:
        contract = await contracts.get_contract(s, sim.contract_id)
    second = await add_account(maker, contract.subscriber_id)
    third = await add_account(maker, contract.subscriber_id)
    today = clock.today()
    async with maker() as s, s.begin():
        await contracts.change_payer(s, AGENT, contract.id, PayerChangeInput(second.id, today, None),
                                     contract.version, confirm=False)
    with pytest.raises(ConflictError) as stale:
        async with maker() as s, s.begin():
            await contracts.change_payer(s, AGENT, contract.id, PayerChangeInput(third.id, today, None),
                                         contract.version, confirm=False)
    assert stale.value.code == "stale_contract"
    async with maker() as s:
        assert (await contracts.get_contract(s, contract.id)).billing_account_id == second.id
