"""Actions dated in the future (PRODUCT.md, "Subscriptions and services"): listed on the service
as pending, withdrawable until they take effect, applied by the daily job on their day (checked
again then: one the rules now refuse fails with its reason), and never booked twice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from backoffice.audit import AuditEntry
from backoffice.errors import ConflictError, DomainError, NotFoundError, ValidationFailedError
from backoffice.subscriptions import contracts, lifecycle
from backoffice.subscriptions.models import Contract, PendingAction, Service
from tests.subscriptions.helpers import (
    AGENT,
    SUPERVISOR,
    Maker,
    act,
    active_sim,
    english,
    intervals,
    line_order,
    load,
    new_contract,
    order,
    run_due,
    seed_catalogue,
    today_is,
)

D = dt.date


async def listed(maker: Maker, service_id: int) -> list[tuple[str, dt.date, str]]:
    """The pending changes the service page lists."""
    async with maker() as s:
        view = await contracts.service_view(s, service_id, "en")
    return [(p.action, p.effective_date, p.status) for p in view.pending]


async def withdraw(maker: Maker, pending_id: int, version: int | None = None) -> lifecycle.Outcome:
    async with maker() as s, s.begin():
        return await lifecycle.withdraw(s, AGENT, pending_id, version, confirm=False)


async def pending_row(maker: Maker, pending_id: int) -> PendingAction:
    async with maker() as s:
        row = await s.get(PendingAction, pending_id)
    assert row is not None
    return row


@pytest.fixture
async def sim(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> Service:
    """A Mobile Plus SIM active since 10 March 2025, the day most of these tests act on."""
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2025, 3, 10)):
        return await active_sim(maker, plan="sim_plusz")


async def test_future_dated_actions_are_listed_on_the_service_as_pending(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        await act(maker, sim, "add_addon", addon_code="eu_roaming", when="date", date=D(2025, 3, 20))
        await act(maker, sim, "change_plan", plan_code="sim_start")  # a downgrade: next period
        await act(maker, sim, "terminate", reason="customer_request", when="month_end")
    assert await listed(maker, sim.id) == [("add_addon", D(2025, 3, 20), "pending"),
                                           ("change_plan", D(2025, 4, 1), "pending"),
                                           ("terminate", D(2025, 4, 1), "pending")]
    after = await load(maker, sim.id)
    assert (after.state, after.plan_id) == ("active", sim.plan_id)
    assert (await intervals(maker, sim.id))["addons"] == []


async def test_a_pending_change_is_withdrawn_and_the_service_stays_as_it_was(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        outcome = await act(maker, sim, "terminate", reason="customer_request", when="month_end")
        assert outcome.pending is not None
        record = await intervals(maker, sim.id)
        done = await withdraw(maker, outcome.pending.id, (await load(maker, sim.id)).version)
    assert done.preview.details["withdrawn"] == "terminate"
    row = await pending_row(maker, outcome.pending.id)
    assert (row.status, row.resolved_by) == ("withdrawn", "agent")
    assert await listed(maker, sim.id) == []
    assert await run_due(maker, monkeypatch, D(2025, 4, 1)) == []
    assert (await load(maker, sim.id)).state == "active" and await intervals(maker, sim.id) == record


async def test_a_change_no_longer_pending_cannot_be_withdrawn(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        outcome = await act(maker, sim, "change_plan", plan_code="sim_start")
    assert outcome.pending is not None
    await run_due(maker, monkeypatch, D(2025, 4, 1))
    with pytest.raises(ConflictError) as refused:
        await withdraw(maker, outcome.pending.id)
    assert refused.value.code == "pending_not_pending" and "no longer scheduled" in english(refused.value.message)
    with pytest.raises(NotFoundError):
        await withdraw(maker, 987_654)


async def test_withdrawing_from_a_stale_page_is_a_conflict(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        outcome = await act(maker, sim, "change_plan", plan_code="sim_start")
        assert outcome.pending is not None
        with pytest.raises(ConflictError) as stale:
            await withdraw(maker, outcome.pending.id, sim.version)  # read before the plan change was scheduled
    assert stale.value.code == "stale_service"
    assert (await pending_row(maker, outcome.pending.id)).status == "pending"


async def test_the_daily_job_applies_what_is_due_on_its_day_and_nothing_sooner(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        await act(maker, sim, "add_addon", addon_code="eu_roaming", when="date", date=D(2025, 3, 20))
        await act(maker, sim, "change_plan", plan_code="sim_start")
    async with maker() as s:
        assert await lifecycle.due_pending(s, D(2025, 3, 19)) == []
        assert len(await lifecycle.due_pending(s, D(2025, 3, 20))) == 1
        assert len(await lifecycle.due_pending(s, D(2025, 4, 1))) == 2
    [addon] = await run_due(maker, monkeypatch, D(2025, 3, 20))
    assert (addon.action, addon.status) == ("add_addon", "applied")
    [plan] = await run_due(maker, monkeypatch, D(2025, 4, 1))
    assert (plan.action, plan.status) == ("change_plan", "applied")
    record = await intervals(maker, sim.id)
    assert [(start, end) for _, start, end in record["addons"]] == [(D(2025, 3, 20), None)]
    assert [(start, end) for _, start, end in record["plans"]] == [(D(2025, 3, 10), D(2025, 4, 1)),
                                                                   (D(2025, 4, 1), None)]


async def test_a_late_daily_job_still_dates_the_change_on_its_own_day(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        await act(maker, sim, "change_plan", plan_code="sim_start")
    [plan] = await run_due(maker, monkeypatch, D(2025, 4, 3))  # the job did not run on the 1st and 2nd
    assert plan.status == "applied"
    assert [start for _, start, _ in (await intervals(maker, sim.id))["plans"]] == [D(2025, 3, 10), D(2025, 4, 1)]


async def test_a_pending_change_the_rules_refuse_when_due_fails_with_its_reason_and_changes_nothing(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        outcome = await act(maker, sim, "add_addon", addon_code="eu_roaming", when="date", date=D(2025, 3, 20))
        await act(maker, sim, "add_addon", addon_code="roaming_barring")  # at once: now they clash
    assert outcome.pending is not None
    record = await intervals(maker, sim.id)
    [failed] = await run_due(maker, monkeypatch, D(2025, 3, 20))
    assert (failed.status, failed.resolved_by) == ("failed", "system")
    assert "EU roaming csomag" in failed.outcome and "Roaming tiltás" in failed.outcome
    assert await intervals(maker, sim.id) == record
    async with maker() as s:
        [entry] = await s.scalars(select(AuditEntry).where(AuditEntry.action == "service.pending_failed"))
    assert entry.after is not None and entry.after["code"] == "addon_conflict"
    assert await listed(maker, sim.id) == []


async def test_the_same_change_cannot_be_scheduled_twice(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        await act(maker, sim, "terminate", reason="customer_request", when="month_end")
        with pytest.raises(ConflictError) as twice:
            await act(maker, sim, "terminate", reason="customer_request", when="date", date=D(2025, 5, 1))
        assert twice.value.code == "already_scheduled"
        assert "already scheduled for 2025-04-01" in english(twice.value.message)
        await act(maker, sim, "add_addon", addon_code="voicemail", when="date", date=D(2025, 3, 20))
        with pytest.raises(ConflictError):
            await act(maker, sim, "add_addon", addon_code="voicemail", when="date", date=D(2025, 3, 25))
        await act(maker, sim, "add_addon", addon_code="caller_id", when="date", date=D(2025, 3, 20))  # another one
    assert [a for a, _, _ in await listed(maker, sim.id)] == ["add_addon", "add_addon", "terminate"]


async def test_scheduling_the_lift_of_one_hold_is_not_refused_by_the_planned_end_of_another(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        await act(maker, sim, "suspend", reason="customer_request", end_date=D(2025, 5, 1))  # lifts itself
        await act(maker, sim, "suspend", SUPERVISOR, reason="non_payment")
        # An arrangement agreed today lets the line back on the 15th.
        await act(maker, sim, "resume", SUPERVISOR, reason="non_payment", arrangement=True, when="date",
                  date=D(2025, 3, 15))
        with pytest.raises(ConflictError) as twice:
            await act(maker, sim, "resume", SUPERVISOR, reason="non_payment", arrangement=True, when="date",
                      date=D(2025, 3, 16))
    assert twice.value.code == "already_scheduled"
    assert sorted(a for a, _, _ in await listed(maker, sim.id)) == ["resume", "resume"]
    await run_due(maker, monkeypatch, D(2025, 3, 15))
    assert (await intervals(maker, sim.id))["holds"] == [("customer_request", D(2025, 3, 10), None),
                                                         ("non_payment", D(2025, 3, 10), D(2025, 3, 15))]


async def test_an_action_cannot_be_dated_in_the_past_nor_without_its_date(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        with pytest.raises(ValidationFailedError) as past:
            await act(maker, sim, "add_addon", addon_code="voicemail", when="date", date=D(2025, 3, 9))
        with pytest.raises(ValidationFailedError) as missing:
            await act(maker, sim, "add_addon", addon_code="voicemail", when="date")
    assert (past.value.code, past.value.field) == ("date_in_past", "date")
    assert (missing.value.code, missing.value.field) == ("date_required", "date")
    assert await listed(maker, sim.id) == []


async def test_an_upgrade_may_be_dated_to_the_next_period(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2025, 3, 10)):
        service = await active_sim(maker)
        outcome = await act(maker, service, "change_plan", plan_code="sim_plusz", when="month_end")
    assert outcome.pending is not None and outcome.preview.effective_date == D(2025, 4, 1)
    assert (await load(maker, service.id)).plan_id == service.plan_id


async def test_a_downgrade_is_never_dated_before_the_next_period(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        outcome = await act(maker, sim, "change_plan", plan_code="sim_start", when="date", date=D(2025, 3, 20))
    assert outcome.preview.effective_date == D(2025, 4, 1)


async def test_a_scheduled_change_is_checked_when_applied_to_an_unknown_pending_action(maker: Maker) -> None:
    await seed_catalogue(maker)
    async with maker() as s:
        with pytest.raises(DomainError) as missing:
            await lifecycle.apply_pending(s, 123_456)
    assert missing.value.code == "pending_not_found"


async def test_a_change_withdrawn_by_a_termination_applied_before_it_in_the_same_run_is_skipped(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        termination = await act(maker, sim, "terminate", reason="customer_request", when="month_end")
        downgrade = await act(maker, sim, "change_plan", plan_code="sim_start")  # also from 1 April
    assert termination.pending is not None and downgrade.pending is not None
    async with maker() as s:
        assert await lifecycle.due_pending(s, D(2025, 4, 1)) == [termination.pending.id, downgrade.pending.id]
    statuses = [p.status for p in await run_due(maker, monkeypatch, D(2025, 4, 1))]
    assert statuses == ["applied", "withdrawn"]  # the job carries on past the change the termination withdrew
    after = await load(maker, sim.id)
    assert (after.state, after.plan_id) == ("terminated", sim.plan_id)


async def test_the_end_of_a_voluntary_suspension_may_be_brought_forward_to_a_later_date(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2025, 3, 10)):
        await act(maker, sim, "suspend", reason="customer_request", end_date=D(2025, 6, 1))
        early = await act(maker, sim, "resume", reason="customer_request", when="date", date=D(2025, 5, 1))
        with pytest.raises(ConflictError) as later:  # not past the planned end: that would run over the limit
            await act(maker, sim, "resume", reason="customer_request", when="date", date=D(2025, 6, 15))
    assert early.pending is not None and later.value.code == "already_scheduled"
    await run_due(maker, monkeypatch, D(2025, 5, 1))
    assert (await load(maker, sim.id)).state == "active"
    assert (await intervals(maker, sim.id))["holds"] == [("customer_request", D(2025, 3, 10), D(2025, 5, 1))]
    assert await listed(maker, sim.id) == []  # the planned lift went with the hold


async def test_an_activation_dated_ahead_starts_the_service_and_its_commitment_on_its_day(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2025, 3, 10)):
        contract = await new_contract(maker, commitment_months=12)
        service = await order(maker, contract, line_order("internet"))
        outcome = await act(maker, service, "activate", when="date", date=D(2025, 3, 17))  # the installation day
    assert outcome.pending is not None and (await load(maker, service.id)).state == "ordered"
    await run_due(maker, monkeypatch, D(2025, 3, 17))
    after = await load(maker, service.id)
    assert (after.state, after.activated_on) == ("active", D(2025, 3, 17))
    async with maker() as s:
        row = await s.get(Contract, contract.id)
    assert row is not None and row.commitment_end == D(2026, 3, 17)
    record = await intervals(maker, service.id)
    assert record["states"] == [("ordered", D(2025, 3, 10), D(2025, 3, 17)), ("active", D(2025, 3, 17), None)]
    assert [(code, day) for code, _, day in record["fees"]] == [("activation", D(2025, 3, 17)),
                                                                ("installation", D(2025, 3, 17))]
