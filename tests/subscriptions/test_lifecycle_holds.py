"""Suspension holds through the service (PRODUCT.md, "Subscriptions and services"): several at once,
who may place and lift each reason, the debt check and reconnection fee of a non-payment hold,
the voluntary suspension's end date, 180-day limit and automatic lift, and the lost SIM's IMEI."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice.customers.models import BillingAccount
from backoffice.errors import ConflictError, ForbiddenError, ValidationFailedError
from backoffice.subscriptions import lifecycle
from backoffice.subscriptions.models import Contract, PendingAction, Service, ServiceEvent, ServiceHold
from backoffice.subscriptions.schemas import ActionInput
from tests.subscriptions.helpers import (
    AGENT,
    SUPERVISOR,
    Maker,
    act,
    active_sim,
    english,
    intervals,
    load,
    run_due,
    seed_catalogue,
    today_is,
)

D = dt.date


async def holds_of(maker: Maker, service_id: int) -> list[ServiceHold]:
    async with maker() as s:
        return list(await s.scalars(select(ServiceHold).where(ServiceHold.service_id == service_id)
                                    .order_by(ServiceHold.id)))


async def pending_of(maker: Maker, service_id: int) -> list[PendingAction]:
    async with maker() as s:
        return list(await s.scalars(select(PendingAction).where(PendingAction.service_id == service_id)
                                    .order_by(PendingAction.id)))


async def owes(maker: Maker, service: Service, amount: str) -> None:
    """The payer's balance as billing will keep it (no service sets it yet)."""
    async with maker() as s, s.begin():
        contract = await s.get(Contract, service.contract_id)
        assert contract is not None
        account = await s.get(BillingAccount, contract.billing_account_id)
        assert account is not None
        account.balance = Decimal(amount)


@pytest.fixture
async def sim(maker: Maker) -> Service:
    await seed_catalogue(maker)
    return await active_sim(maker)


# ---------------------------------------------------------------- several holds


async def test_a_lost_sim_and_unpaid_bills_are_two_holds_and_the_service_works_only_when_both_are_lifted(
    maker: Maker, sim: Service
) -> None:
    await act(maker, sim, "suspend", reason="lost_or_stolen")
    await act(maker, sim, "suspend", SUPERVISOR, reason="non_payment")
    assert [h.reason_code for h in await holds_of(maker, sim.id)] == ["lost_or_stolen", "non_payment"]
    outcome = await act(maker, sim, "resume", reason="lost_or_stolen")
    assert (await load(maker, sim.id)).state == "suspended"
    assert "Non-payment still holds it" in english(outcome.preview.notes[0])
    await act(maker, sim, "resume", SUPERVISOR, reason="non_payment")
    assert (await load(maker, sim.id)).state == "active"
    assert all(h.lifted_on is not None for h in await holds_of(maker, sim.id))


async def test_the_same_hold_cannot_be_placed_twice(maker: Maker, sim: Service) -> None:
    await act(maker, sim, "suspend", reason="lost_or_stolen")
    with pytest.raises(ConflictError) as refused:
        await act(maker, sim, "suspend", reason="lost_or_stolen")
    assert refused.value.code == "hold_already_placed"
    words = english(refused.value.message)
    assert "already has a hold" in words and "Lost or stolen SIM" in words
    assert len(await holds_of(maker, sim.id)) == 1


async def test_lifting_a_hold_the_service_does_not_carry_is_refused(maker: Maker, sim: Service) -> None:
    await act(maker, sim, "suspend", reason="lost_or_stolen")
    with pytest.raises(ConflictError) as refused:
        await act(maker, sim, "resume", SUPERVISOR, reason="fraud")
    words = english(refused.value.message)
    assert refused.value.code == "hold_not_placed" and "has no hold" in words and "Suspected fraud" in words
    assert (await load(maker, sim.id)).state == "suspended"


async def test_an_unknown_suspension_reason_is_refused_beside_its_field(maker: Maker, sim: Service) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        await act(maker, sim, "suspend", reason="holiday")
    assert refused.value.field == "reason"
    assert (await load(maker, sim.id)).state == "active"


# ---------------------------------------------------------------- who may place and lift


async def test_an_agent_may_neither_place_nor_lift_a_fraud_hold_but_a_supervisor_may(
    maker: Maker, sim: Service
) -> None:
    with pytest.raises(ForbiddenError) as refused:
        await act(maker, sim, "suspend", reason="fraud")
    assert "Only a supervisor may place" in english(refused.value.message)
    assert (await load(maker, sim.id)).state == "active" and await holds_of(maker, sim.id) == []

    await act(maker, sim, "suspend", SUPERVISOR, reason="fraud")
    version = (await load(maker, sim.id)).version
    with pytest.raises(ForbiddenError) as refused:
        await act(maker, sim, "resume", reason="fraud")
    assert refused.value.code == "role_not_allowed"
    assert "Only a supervisor may lift" in english(refused.value.message)
    assert (await load(maker, sim.id)).version == version

    await act(maker, sim, "resume", SUPERVISOR, reason="fraud")
    assert (await load(maker, sim.id)).state == "active"


async def test_an_agent_may_neither_place_nor_lift_a_non_payment_hold(maker: Maker, sim: Service) -> None:
    with pytest.raises(ForbiddenError) as refused:
        await act(maker, sim, "suspend", reason="non_payment")
    assert "Only dunning or a supervisor may place" in english(refused.value.message)
    await act(maker, sim, "suspend", SUPERVISOR, reason="non_payment")
    with pytest.raises(ForbiddenError):
        await act(maker, sim, "resume", reason="non_payment")
    assert (await load(maker, sim.id)).state == "suspended"


async def test_a_non_payment_hold_is_not_lifted_while_the_payer_owes_money(maker: Maker, sim: Service) -> None:
    await act(maker, sim, "suspend", SUPERVISOR, reason="non_payment")
    await owes(maker, sim, "12500.00")
    version = (await load(maker, sim.id)).version
    with pytest.raises(ConflictError) as refused:
        await act(maker, sim, "resume", SUPERVISOR, reason="non_payment")
    assert (refused.value.code, refused.value.field) == ("debt_not_settled", "arrangement")
    assert "still owes 12 500 Ft" in english(refused.value.message)
    after = await load(maker, sim.id)
    assert (after.state, after.version) == ("suspended", version)
    assert (await intervals(maker, sim.id))["fees"] == [("activation", Decimal("3149.61"), after.activated_on)]


async def test_a_non_payment_hold_is_lifted_despite_the_debt_when_an_arrangement_is_agreed(
    maker: Maker, sim: Service
) -> None:
    await act(maker, sim, "suspend", SUPERVISOR, reason="non_payment")
    await owes(maker, sim, "12500.00")
    await act(maker, sim, "resume", SUPERVISOR, reason="non_payment", arrangement=True)
    assert (await load(maker, sim.id)).state == "active"


async def test_the_restricted_hold_also_waits_for_the_debt_and_keeps_incoming_calls(
    maker: Maker, sim: Service
) -> None:
    outcome = await act(maker, sim, "suspend", SUPERVISOR, reason="restricted")
    assert any("Incoming calls and emergency numbers keep working" in english(n) for n in outcome.preview.notes)
    await owes(maker, sim, "800")
    with pytest.raises(ConflictError) as refused:
        await act(maker, sim, "resume", SUPERVISOR, reason="restricted")
    assert refused.value.code == "debt_not_settled"


async def test_lifting_a_non_payment_hold_incurs_the_reconnection_fee(
    maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, D(2026, 3, 2)):
        await act(maker, sim, "suspend", SUPERVISOR, reason="non_payment")
    with today_is(monkeypatch, D(2026, 3, 9)):
        async with maker() as s:
            shown = await lifecycle.preview(s, SUPERVISOR, sim.id, ActionInput("resume", reason="non_payment"))
        await act(maker, sim, "resume", SUPERVISOR, reason="non_payment")
    assert [(f.code, f.amount) for f in shown.fees] == [("reconnection", Decimal("3937.01"))]
    assert shown.fees_gross == Decimal("5000")  # 3 937.01 + 27 % VAT
    assert (await intervals(maker, sim.id))["fees"][-1] == ("reconnection", Decimal("3937.01"), D(2026, 3, 9))


async def test_lifting_a_lost_sim_hold_costs_nothing(maker: Maker, sim: Service) -> None:
    await act(maker, sim, "suspend", reason="lost_or_stolen")
    outcome = await act(maker, sim, "resume", reason="lost_or_stolen")
    assert outcome.preview.fees == []
    assert [f[0] for f in (await intervals(maker, sim.id))["fees"]] == ["activation"]


# ---------------------------------------------------------------- the lost or stolen SIM


async def test_a_lost_or_stolen_hold_takes_effect_at_once_and_cannot_be_dated_ahead(
    maker: Maker, sim: Service
) -> None:
    tomorrow = sim.activated_on + dt.timedelta(days=1) if sim.activated_on else None
    with pytest.raises(ValidationFailedError) as refused:
        await act(maker, sim, "suspend", reason="lost_or_stolen", when="date", date=tomorrow)
    assert refused.value.field == "when" and "cannot be dated ahead" in english(refused.value.message)
    assert await pending_of(maker, sim.id) == []


async def test_the_imei_of_a_lost_handset_is_recorded_with_the_hold(maker: Maker, sim: Service) -> None:
    outcome = await act(maker, sim, "suspend", reason="lost_or_stolen", imei="490154203237518")
    [hold] = await holds_of(maker, sim.id)
    assert (hold.imei, hold.billing, hold.placed_by) == ("490154203237518", "full", "agent")
    async with maker() as s:
        event = await s.get(ServiceEvent, outcome.event.id if outcome.event else 0)
    assert event is not None and event.details["imei"] == "490154203237518"


async def test_only_a_voluntary_suspension_is_planned_to_end_on_a_date(maker: Maker, sim: Service) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        await act(maker, sim, "suspend", reason="lost_or_stolen", end_date=D(2099, 1, 1))
    assert (refused.value.code, refused.value.field) == ("end_not_allowed", "end_date")


# ---------------------------------------------------------------- the voluntary suspension


async def test_a_voluntary_suspension_needs_an_end_date(maker: Maker, sim: Service) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        await act(maker, sim, "suspend", reason="customer_request")
    assert (refused.value.code, refused.value.field) == ("end_date_required", "end_date")
    assert "at most 180 days in any 12 months" in english(refused.value.message)
    assert (await load(maker, sim.id)).state == "active"


async def test_a_voluntary_suspension_must_end_after_it_starts(maker: Maker, sim: Service) -> None:
    assert sim.activated_on is not None
    with pytest.raises(ValidationFailedError) as refused:
        await act(maker, sim, "suspend", reason="customer_request", end_date=sim.activated_on)
    assert (refused.value.code, refused.value.field) == ("invalid_period", "end_date")


async def test_a_voluntary_suspension_is_billed_at_the_suspension_fee(maker: Maker, sim: Service) -> None:
    assert sim.activated_on is not None
    outcome = await act(maker, sim, "suspend", reason="customer_request",
                        end_date=sim.activated_on + dt.timedelta(days=30))
    [hold] = await holds_of(maker, sim.id)
    assert hold.billing == "suspension_fee" and hold.planned_end == sim.activated_on + dt.timedelta(days=30)
    assert any("suspension fee" in english(n) for n in outcome.preview.notes)


async def voluntary_history(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> Service:
    """A SIM active since 2 January 2025, suspended at the customer's request for the 120 days
    [10 January, 10 May) and lifted automatically on 10 May."""
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2025, 1, 2)):
        service = await active_sim(maker)
    with today_is(monkeypatch, D(2025, 1, 10)):
        await act(maker, service, "suspend", reason="customer_request", end_date=D(2025, 5, 10))
    await run_due(maker, monkeypatch, D(2025, 5, 10))
    return service


async def test_a_voluntary_suspension_beyond_180_days_in_12_months_is_refused_with_the_latest_possible_end(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await voluntary_history(maker, monkeypatch)
    version = (await load(maker, service.id)).version
    # 120 days used; from 1 August another 90 would make 210 in the 12 months ending 29 October.
    with today_is(monkeypatch, D(2025, 8, 1)), pytest.raises(ValidationFailedError) as refused:
        await act(maker, service, "suspend", reason="customer_request", end_date=D(2025, 10, 30))
    assert (refused.value.code, refused.value.field) == ("voluntary_limit_exceeded", "end_date")
    words = english(refused.value.message)
    assert "at most 180 days in any 12 months" in words and "would have 210 days" in words
    assert "until 2025-09-29 at the latest" in words  # 60 days left: [1 August, 30 September)
    after = await load(maker, service.id)
    assert (after.state, after.version) == ("active", version)


async def test_a_voluntary_suspension_up_to_the_180_day_limit_is_allowed(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await voluntary_history(maker, monkeypatch)
    with today_is(monkeypatch, D(2025, 8, 1)):
        await act(maker, service, "suspend", reason="customer_request", end_date=D(2025, 9, 30))
    assert (await load(maker, service.id)).state == "suspended"


async def test_a_voluntary_suspension_lifted_early_counts_only_the_days_it_held(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2025, 1, 2)):
        service = await active_sim(maker)
    with today_is(monkeypatch, D(2025, 1, 10)):
        await act(maker, service, "suspend", reason="customer_request", end_date=D(2025, 7, 9))  # 180 days
    with today_is(monkeypatch, D(2025, 2, 9)):  # back after 30
        await act(maker, service, "resume", reason="customer_request")
    with today_is(monkeypatch, D(2025, 3, 1)):  # so 150 are left
        with pytest.raises(ValidationFailedError) as refused:
            await act(maker, service, "suspend", reason="customer_request", end_date=D(2025, 7, 30))
        assert "until 2025-07-28 at the latest" in english(refused.value.message)
        await act(maker, service, "suspend", reason="customer_request", end_date=D(2025, 7, 29))
    assert [(h.start_date, h.lifted_on or h.planned_end) for h in await holds_of(maker, service.id)] == [
        (D(2025, 1, 10), D(2025, 2, 9)), (D(2025, 3, 1), D(2025, 7, 29))]


async def test_a_voluntary_suspension_longer_than_180_days_at_once_is_refused(maker: Maker, sim: Service) -> None:
    assert sim.activated_on is not None
    with pytest.raises(ValidationFailedError) as refused:
        await act(maker, sim, "suspend", reason="customer_request",
                  end_date=sim.activated_on + dt.timedelta(days=181))
    assert (refused.value.code, refused.value.field) == ("voluntary_limit_exceeded", "end_date")
    assert await holds_of(maker, sim.id) == []


async def test_the_voluntary_holds_automatic_lift_is_a_pending_action_applied_on_its_end_date(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2026, 4, 1)):
        service = await active_sim(maker)
        await act(maker, service, "suspend", reason="customer_request", end_date=D(2026, 4, 21))
    [lift] = await pending_of(maker, service.id)
    assert (lift.action, lift.effective_date, lift.status) == ("resume", D(2026, 4, 21), "pending")
    assert lift.params["reason"] == "customer_request" and lift.params["auto"] is True
    assert await run_due(maker, monkeypatch, D(2026, 4, 20)) == []  # not yet
    assert (await load(maker, service.id)).state == "suspended"
    [applied] = await run_due(maker, monkeypatch, D(2026, 4, 21))
    assert applied.status == "applied" and applied.resolved_by == "system"
    assert (await load(maker, service.id)).state == "active"
    record = await intervals(maker, service.id)
    assert record["holds"] == [("customer_request", D(2026, 4, 1), D(2026, 4, 21))]
    assert record["states"][-2:] == [("suspended", D(2026, 4, 1), D(2026, 4, 21)), ("active", D(2026, 4, 21), None)]


async def test_the_automatic_lift_cannot_be_withdrawn_but_resuming_early_withdraws_it(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2026, 4, 1)):
        service = await active_sim(maker)
        await act(maker, service, "suspend", reason="customer_request", end_date=D(2026, 4, 21))
    [lift] = await pending_of(maker, service.id)
    with pytest.raises(ConflictError) as refused:
        async with maker() as s, s.begin():
            await lifecycle.withdraw(s, AGENT, lift.id, None, confirm=False)
    assert refused.value.code == "pending_automatic"
    with today_is(monkeypatch, D(2026, 4, 8)):
        await act(maker, service, "resume", reason="customer_request")
    [lift] = await pending_of(maker, service.id)
    assert lift.status == "withdrawn"
    assert (await intervals(maker, service.id))["holds"] == [("customer_request", D(2026, 4, 1), D(2026, 4, 8))]
    assert await run_due(maker, monkeypatch, D(2026, 4, 21)) == []


async def test_a_voluntary_suspension_dated_ahead_is_pending_and_placed_on_its_day(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2026, 6, 10)):
        service = await active_sim(maker)
        outcome = await act(maker, service, "suspend", reason="customer_request", when="date",
                            date=D(2026, 7, 1), end_date=D(2026, 8, 1))
    assert outcome.pending is not None and outcome.preview.scheduled
    assert (await load(maker, service.id)).state == "active" and await holds_of(maker, service.id) == []
    await run_due(maker, monkeypatch, D(2026, 7, 1))
    assert (await load(maker, service.id)).state == "suspended"
    assert [p.action for p in await pending_of(maker, service.id) if p.status == "pending"] == ["resume"]
    await run_due(maker, monkeypatch, D(2026, 8, 1))
    assert (await intervals(maker, service.id))["holds"] == [("customer_request", D(2026, 7, 1), D(2026, 8, 1))]
