"""Termination and cancellation through the service (PRODUCT.md, "Subscriptions and services"):
the customer's 8-day notice, month end, the early termination fee shown before confirming and
incurred when applied, no fee for a deceased subscriber or outside the commitment, and what
ending a service does: quarantine, blocked SIM, closed intervals, withdrawn plans, ended contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from backoffice.errors import ConflictError, ValidationFailedError
from backoffice.subscriptions import lifecycle
from backoffice.subscriptions.models import (
    Contract,
    PendingAction,
    PoolNumber,
    Service,
    ServiceFee,
    SimCard,
)
from backoffice.subscriptions.schemas import ActionInput
from tests.subscriptions.helpers import (
    AGENT,
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
    sim_order,
    today_is,
)

D = dt.date


async def preview(maker: Maker, service: Service, action: str, **fields: Any) -> lifecycle.Preview:
    async with maker() as s:
        return await lifecycle.preview(s, AGENT, service.id, ActionInput(action=action, **fields))


async def pool_number(maker: Maker, number: str | None) -> PoolNumber:
    async with maker() as s:
        row = (await s.execute(select(PoolNumber).where(PoolNumber.number == number))).scalar_one()
    return row


async def sims_of(maker: Maker, service_id: int) -> list[SimCard]:
    async with maker() as s:
        return list(await s.scalars(select(SimCard).where(SimCard.service_id == service_id).order_by(SimCard.id)))


async def fees_of(maker: Maker, service_id: int) -> list[ServiceFee]:
    async with maker() as s:
        return list(await s.scalars(select(ServiceFee).where(ServiceFee.service_id == service_id)
                                    .order_by(ServiceFee.id)))


async def sim_since(maker: Maker, monkeypatch: pytest.MonkeyPatch, day: dt.date, commitment_months: int = 0,
                    plan: str = "sim_start") -> Service:
    await seed_catalogue(maker)
    with today_is(monkeypatch, day):
        return await active_sim(maker, commitment_months, plan)


# ---------------------------------------------------------------- dates and notice


async def test_a_customer_requested_termination_takes_effect_after_8_days_notice_and_is_scheduled(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15))
    with today_is(monkeypatch, D(2025, 3, 10)):
        shown = await preview(maker, service, "terminate", reason="customer_request")
        outcome = await act(maker, service, "terminate", reason="customer_request")
    assert (shown.effective_date, shown.scheduled, shown.next_state) == (D(2025, 3, 18), True, "terminated")
    assert any("The last day of service is 2025-03-17" in english(n) for n in shown.notes)
    assert outcome.pending is not None and outcome.pending.effective_date == D(2025, 3, 18)
    assert (await load(maker, service.id)).state == "active"
    assert await run_due(maker, monkeypatch, D(2025, 3, 17)) == []
    [applied] = await run_due(maker, monkeypatch, D(2025, 3, 18))
    assert applied.status == "applied"
    after = await load(maker, service.id)
    assert (after.state, after.ended_on) == ("terminated", D(2025, 3, 18))
    assert (await intervals(maker, service.id))["states"][-2:] == [("active", D(2025, 1, 15), D(2025, 3, 18)),
                                                                   ("terminated", D(2025, 3, 18), None)]


async def test_a_customer_may_give_longer_notice_than_8_days(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15))
    with today_is(monkeypatch, D(2025, 3, 10)):
        shown = await preview(maker, service, "terminate", reason="customer_request", when="date",
                              date=D(2025, 4, 15))
    assert shown.effective_date == D(2025, 4, 15)


@pytest.mark.parametrize(("today", "effective", "notice_note"), [
    (D(2025, 3, 10), D(2025, 4, 1), False),  # the month end is more than 8 days away
    (D(2025, 3, 28), D(2025, 4, 5), True),  # it is not: 8 days' notice decides
])
async def test_a_termination_at_month_end_takes_effect_on_the_first_of_the_next_month_but_not_before_the_notice(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, today: dt.date, effective: dt.date, notice_note: bool
) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15))
    with today_is(monkeypatch, today):
        outcome = await act(maker, service, "terminate", reason="customer_request", when="month_end")
    assert outcome.pending is not None and outcome.pending.effective_date == effective
    notes = [english(n) for n in outcome.preview.notes]
    assert any("notice period of 8 days" in n for n in notes) is notice_note


async def test_a_termination_for_non_payment_takes_effect_at_once(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15))
    with today_is(monkeypatch, D(2025, 3, 10)):
        outcome = await act(maker, service, "terminate", reason="non_payment")
    assert outcome.pending is None and not outcome.preview.scheduled
    assert (await load(maker, service.id)).ended_on == D(2025, 3, 10)


async def test_a_termination_cannot_be_dated_in_the_past_nor_given_an_unknown_reason(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15))
    with today_is(monkeypatch, D(2025, 3, 10)):
        with pytest.raises(ValidationFailedError) as past:
            await act(maker, service, "terminate", reason="non_payment", when="date", date=D(2025, 3, 9))
        with pytest.raises(ValidationFailedError) as unknown:
            await act(maker, service, "terminate", reason="moving_abroad")
    assert (past.value.field, unknown.value.field) == ("date", "reason")
    assert (await load(maker, service.id)).state == "active"


# ---------------------------------------------------------------- the early termination fee


async def test_the_early_termination_fee_is_the_remaining_full_months_of_discount_shown_before_confirming(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 12 months from 15 January 2025: the commitment runs [2025-01-15, 2026-01-15). Leaving on
    # 20 September leaves 3 full months (to 20 December): 3 × 787.40 = 2 362.20 → 2 362 Ft.
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15), commitment_months=12)
    with today_is(monkeypatch, D(2025, 9, 12)):
        shown = await preview(maker, service, "terminate", reason="customer_request")
    assert shown.effective_date == D(2025, 9, 20)
    assert [(f.code, f.amount, f.vat_rate) for f in shown.fees] == [
        ("early_termination", Decimal("2362"), Decimal("27.00"))]
    assert any("The commitment runs until 2026-01-14" in english(n) for n in shown.notes)
    assert [f.code for f in await fees_of(maker, service.id)] == ["activation"]  # a preview changes nothing


async def test_the_early_termination_fee_is_capped_at_the_plans_maximum_and_incurred_when_applied(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 24 months from 15 January 2025; leaving on 18 March 2025 leaves 21 full months:
    # 21 × 787.40 = 16 535.40, above the Mobile Start cap of 15 748.03 → 15 748 Ft.
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15), commitment_months=24)
    async with maker() as s:
        contract = await s.get(Contract, service.contract_id)
    assert contract is not None and contract.commitment_end == D(2027, 1, 15)
    with today_is(monkeypatch, D(2025, 3, 10)):
        outcome = await act(maker, service, "terminate", reason="customer_request")
    assert [(f.code, f.amount) for f in outcome.preview.fees] == [("early_termination", Decimal("15748"))]
    assert [f.code for f in await fees_of(maker, service.id)] == ["activation"]  # scheduled: not yet
    await run_due(maker, monkeypatch, D(2025, 3, 18))
    fee = (await fees_of(maker, service.id))[-1]
    assert (fee.code, fee.amount, fee.incurred_on, fee.name_hu) == (
        "early_termination", Decimal("15748.00"), D(2025, 3, 18),
        "Kötbér (határozott idejű szerződés idő előtti megszüntetése)")


async def test_the_fee_follows_the_plan_the_service_is_on(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    # Mobile Plus: 21 × 1 574.80 = 33 070.80, capped at 31 496.06 → 31 496 Ft.
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15), commitment_months=24, plan="sim_plusz")
    with today_is(monkeypatch, D(2025, 3, 10)):
        shown = await preview(maker, service, "terminate", reason="customer_request")
    assert [f.amount for f in shown.fees] == [Decimal("31496")]


async def test_no_early_termination_fee_when_the_subscriber_has_died(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15), commitment_months=24)
    with today_is(monkeypatch, D(2025, 3, 10)):
        outcome = await act(maker, service, "terminate", reason="deceased")
    assert outcome.preview.fees == [] and outcome.pending is None
    assert [f.code for f in await fees_of(maker, service.id)] == ["activation"]


@pytest.mark.parametrize("commitment_months", [0, 12])
async def test_no_early_termination_fee_outside_a_commitment(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, commitment_months: int
) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15), commitment_months=commitment_months)
    with today_is(monkeypatch, D(2026, 1, 7)):  # effective 15 January 2026, the commitment's end
        shown = await preview(maker, service, "terminate", reason="customer_request")
    assert shown.effective_date == D(2026, 1, 15) and shown.fees == []


# ---------------------------------------------------------------- what ending a service does


async def test_a_terminated_number_rests_in_quarantine_for_180_days(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15))
    with today_is(monkeypatch, D(2025, 3, 10)):
        shown = await preview(maker, service, "terminate", reason="customer_request")
        await act(maker, service, "terminate", reason="customer_request")
    assert any("quarantine until 2025-09-14" in english(n) for n in shown.notes)
    assert (await pool_number(maker, service.number)).status == "allocated"  # until it takes effect
    await run_due(maker, monkeypatch, D(2025, 3, 18))
    number = await pool_number(maker, service.number)
    assert (number.status, number.quarantine_until, number.service_id) == ("quarantine", D(2025, 9, 14), None)
    contract = await new_contract(maker)
    with today_is(monkeypatch, D(2025, 9, 13)), pytest.raises(ConflictError) as taken:
        await order(maker, contract, sim_order(number=service.number))
    assert taken.value.code == "number_not_free"
    with today_is(monkeypatch, D(2025, 9, 14)):
        again = await order(maker, contract, sim_order(number=service.number))
    assert again.number == service.number


async def test_terminating_blocks_the_sim_closes_every_interval_and_lifts_the_holds(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15))
    with today_is(monkeypatch, D(2025, 2, 1)):
        await act(maker, service, "add_addon", addon_code="voicemail")
    with today_is(monkeypatch, D(2025, 2, 20)):
        await act(maker, service, "suspend", reason="lost_or_stolen")
    with today_is(monkeypatch, D(2025, 3, 10)):
        await act(maker, service, "terminate", reason="ported_out")
    [card] = await sims_of(maker, service.id)
    assert (card.blocked_on, card.block_reason) == (D(2025, 3, 10), "terminated")
    record = await intervals(maker, service.id)
    assert record["states"][-2:] == [("suspended", D(2025, 2, 20), D(2025, 3, 10)),
                                     ("terminated", D(2025, 3, 10), None)]
    assert [end for _, _, end in record["plans"]] == [D(2025, 3, 10)]
    assert record["addons"][0][1:] == (D(2025, 2, 1), D(2025, 3, 10))
    assert record["holds"] == [("lost_or_stolen", D(2025, 2, 20), D(2025, 3, 10))]


async def test_terminating_withdraws_whatever_else_was_scheduled(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await sim_since(maker, monkeypatch, D(2025, 1, 15), plan="sim_plusz")
    with today_is(monkeypatch, D(2025, 3, 10)):
        downgrade = await act(maker, service, "change_plan", plan_code="sim_start")  # from 1 April
        termination = await act(maker, service, "terminate", reason="customer_request")  # from 18 March
    assert downgrade.pending is not None and termination.pending is not None
    await run_due(maker, monkeypatch, D(2025, 3, 18))
    async with maker() as s:
        rows = {p.id: p for p in await s.scalars(select(PendingAction))}
    assert rows[termination.pending.id].status == "applied"
    assert (rows[downgrade.pending.id].status, rows[downgrade.pending.id].outcome) == (
        "withdrawn", "the service was terminated")
    assert await run_due(maker, monkeypatch, D(2025, 4, 1)) == []
    assert (await load(maker, service.id)).plan_id == service.plan_id


async def test_the_contract_ends_when_its_last_service_ends(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2025, 1, 15)):
        contract = await new_contract(maker)
        sim = await order(maker, contract)
        net = await order(maker, contract, line_order("internet"))
        await act(maker, sim, "activate")
        await act(maker, net, "activate")
    with today_is(monkeypatch, D(2025, 3, 10)):
        await act(maker, sim, "terminate", reason="non_payment")
    async with maker() as s:
        still = await s.get(Contract, contract.id)
    assert still is not None and (still.status, still.end_date) == ("active", None)
    with today_is(monkeypatch, D(2025, 4, 2)):
        await act(maker, net, "terminate", reason="end_of_contract")
    async with maker() as s:
        ended = await s.get(Contract, contract.id)
    assert ended is not None and (ended.status, ended.end_date) == ("ended", D(2025, 4, 2))


async def test_cancelling_an_order_gives_its_number_back_to_the_pool(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2025, 1, 15)):
        contract = await new_contract(maker)
        service = await order(maker, contract)
        assert (await pool_number(maker, service.number)).status == "allocated"
        outcome = await act(maker, service, "cancel")
    assert outcome.preview.fees == [] and not outcome.preview.scheduled
    number = await pool_number(maker, service.number)
    assert (number.status, number.service_id, number.quarantine_until) == ("available", None, None)
    after = await load(maker, service.id)
    assert (after.state, after.ended_on) == ("cancelled", D(2025, 1, 15))
    [card] = await sims_of(maker, service.id)
    assert card.block_reason == "cancelled"
    async with maker() as s:
        ended = await s.get(Contract, contract.id)
    assert ended is not None and ended.status == "ended"
    other = await order(maker, await new_contract(maker), sim_order(number=service.number))
    assert other.number == service.number


async def test_cancelling_an_order_without_a_number_changes_no_pool_number(maker: Maker) -> None:
    await seed_catalogue(maker)
    contract = await new_contract(maker)
    service = await order(maker, contract, line_order("cable_tv", "tv_alap"))
    await act(maker, service, "cancel")
    assert (await load(maker, service.id)).state == "cancelled"
