"""Billing arithmetic, worked out by hand: proration golden cases, rating, VAT, anomalies.

Fees are chosen so a day costs a round amount (6,200 Ft in a 31-day month is 200 Ft a day) and
each expected figure can be checked on paper; the rounding cases use awkward fees on purpose."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from backoffice.billing.rules import (
    AddOnPrice,
    ChargeKind,
    Dated,
    Period,
    PlanPrice,
    ServiceHistory,
    Tariff,
    UsageType,
    billable_units,
    invoice_number,
    is_anomaly,
    priced_quantity,
    prorate,
    rate,
    recurring_charges,
    round_huf,
    usage_line_net,
    vat_totals,
)

OCT = Period(2026, 10)  # 31 days
NOV = Period(2026, 11)  # 30 days
FEB = Period(2027, 2)  # 28 days
FEB_LEAP = Period(2028, 2)  # 29 days

PLAN = 1
BIG_PLAN = 2
PACK = 10
ACCOUNT = 100
OTHER_ACCOUNT = 200

PLANS = {
    PLAN: PlanPrice(PLAN, D("6200"), D("1550"), D("0"), D("27")),
    BIG_PLAN: PlanPrice(BIG_PLAN, D("9300"), D("0"), D("0"), D("27")),
}
ADDONS = {PACK: AddOnPrice(PACK, D("3100"), D("27"))}


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def history(*, states: list[Dated] | None = None, plans: list[Dated] | None = None,
            payers: list[Dated] | None = None, holds: list[Dated] | None = None,
            addons: list[Dated] | None = None, commitments: list[Dated] | None = None) -> ServiceHistory:
    return ServiceHistory(
        service_id=7,
        states=states or [Dated("active", day("2026-01-01"), None)],
        plans=plans or [Dated(PLAN, day("2026-01-01"), None)],
        payers=payers or [Dated(ACCOUNT, day("2026-01-01"), None)],
        holds=holds or [], addons=addons or [], commitments=commitments or [],
    )


def lines(hist: ServiceHistory, period: Period = OCT, plans: dict[int, PlanPrice] = PLANS,
          ) -> list[tuple[int, str, str, str, int, D]]:
    """(account, kind, first day, last day, days, net) per line, for reading at a glance."""
    return [(c.billing_account_id, c.kind.value, c.start.isoformat(), (c.end - dt.timedelta(days=1)).isoformat(),
             c.days, c.net) for c in recurring_charges(hist, period, plans, ADDONS)]


def suspended_10th_to_20th(billing: str) -> ServiceHistory:
    """Suspended on the 10th, resumed on the 21st: the 10th to the 20th are 11 suspended days."""
    return history(
        states=[Dated("active", day("2026-01-01"), day("2026-10-10")),
                Dated("suspended", day("2026-10-10"), day("2026-10-21")),
                Dated("active", day("2026-10-21"), None)],
        holds=[Dated(billing, day("2026-10-10"), day("2026-10-21"))])


# --- proration golden cases --------------------------------------------------------------------


def test_a_full_month_costs_the_monthly_fee() -> None:
    assert lines(history()) == [(ACCOUNT, "plan", "2026-10-01", "2026-10-31", 31, D("6200"))]


def test_activation_on_the_10th_charges_the_22_remaining_days() -> None:
    hist = history(states=[Dated("ordered", day("2026-10-02"), day("2026-10-10")),
                           Dated("active", day("2026-10-10"), None)])
    assert lines(hist) == [(ACCOUNT, "plan", "2026-10-10", "2026-10-31", 22, D("4400"))]


def test_activation_on_the_10th_rounds_the_line_half_up_to_whole_forints() -> None:
    awkward = {PLAN: PlanPrice(PLAN, D("4990"), D("0"), D("0"), D("27"))}
    hist = history(states=[Dated("active", day("2026-10-10"), None)])
    # 4,990 × 22 / 31 = 3,541.29…
    assert lines(hist, plans=awkward) == [(ACCOUNT, "plan", "2026-10-10", "2026-10-31", 22, D("3541"))]


def test_suspension_billed_in_full_keeps_one_full_month_line() -> None:
    assert lines(suspended_10th_to_20th("full")) == [(ACCOUNT, "plan", "2026-10-01", "2026-10-31", 31, D("6200"))]


def test_suspension_at_the_suspension_fee_charges_the_fee_for_the_suspended_days() -> None:
    # 1,550 a month is 50 a day: 11 days = 550; the plan's 200 a day for 9 + 11 active days.
    assert lines(suspended_10th_to_20th("suspension_fee")) == [
        (ACCOUNT, "plan", "2026-10-01", "2026-10-09", 9, D("1800")),
        (ACCOUNT, "plan", "2026-10-21", "2026-10-31", 11, D("2200")),
        (ACCOUNT, "suspension", "2026-10-10", "2026-10-20", 11, D("550")),
    ]


def test_suspension_billed_at_nothing_leaves_the_suspended_days_out() -> None:
    assert lines(suspended_10th_to_20th("none")) == [
        (ACCOUNT, "plan", "2026-10-01", "2026-10-09", 9, D("1800")),
        (ACCOUNT, "plan", "2026-10-21", "2026-10-31", 11, D("2200")),
    ]


def test_several_holds_at_once_bill_by_the_most_chargeable_rule() -> None:
    hist = suspended_10th_to_20th("suspension_fee")
    both = history(states=list(hist.states), holds=[*hist.holds, Dated("full", day("2026-10-15"), day("2026-10-21"))])
    assert lines(both) == [
        (ACCOUNT, "plan", "2026-10-01", "2026-10-09", 9, D("1800")),
        (ACCOUNT, "plan", "2026-10-15", "2026-10-31", 17, D("3400")),
        (ACCOUNT, "suspension", "2026-10-10", "2026-10-14", 5, D("250")),
    ]


def test_termination_mid_month_charges_up_to_the_last_active_day() -> None:
    hist = history(states=[Dated("active", day("2026-01-01"), day("2026-10-16")),
                           Dated("terminated", day("2026-10-16"), None)])
    assert lines(hist) == [(ACCOUNT, "plan", "2026-10-01", "2026-10-15", 15, D("3000"))]


def test_plan_change_mid_month_charges_each_plan_for_its_days() -> None:
    hist = history(plans=[Dated(PLAN, day("2026-01-01"), day("2026-10-15")), Dated(BIG_PLAN, day("2026-10-15"), None)])
    # 14 days at 200 and 17 days at 300 (9,300 / 31).
    assert lines(hist) == [
        (ACCOUNT, "plan", "2026-10-01", "2026-10-14", 14, D("2800")),
        (ACCOUNT, "plan", "2026-10-15", "2026-10-31", 17, D("5100")),
    ]


def test_addon_added_and_removed_within_the_month_charges_its_days() -> None:
    hist = history(addons=[Dated(PACK, day("2026-10-05"), day("2026-10-12"))])
    # 3,100 a month is 100 a day: the 5th to the 11th are 7 days.
    assert lines(hist) == [
        (ACCOUNT, "plan", "2026-10-01", "2026-10-31", 31, D("6200")),
        (ACCOUNT, "addon", "2026-10-05", "2026-10-11", 7, D("700")),
    ]


def test_addon_is_not_charged_while_the_service_is_suspended_at_the_suspension_fee() -> None:
    hist = suspended_10th_to_20th("suspension_fee")
    with_pack = history(states=list(hist.states), holds=list(hist.holds), addons=[Dated(PACK, day("2026-09-01"), None)])
    addon_lines = [line for line in lines(with_pack) if line[1] == "addon"]
    assert addon_lines == [(ACCOUNT, "addon", "2026-10-01", "2026-10-09", 9, D("900")),
                           (ACCOUNT, "addon", "2026-10-21", "2026-10-31", 11, D("1100"))]


def test_payer_change_on_the_15th_splits_the_month_between_the_two_accounts() -> None:
    hist = history(addons=[Dated(PACK, day("2026-09-01"), None)],
                   payers=[Dated(ACCOUNT, day("2026-01-01"), day("2026-10-15")),
                           Dated(OTHER_ACCOUNT, day("2026-10-15"), None)])
    assert lines(hist) == [
        (ACCOUNT, "plan", "2026-10-01", "2026-10-14", 14, D("2800")),
        (ACCOUNT, "addon", "2026-10-01", "2026-10-14", 14, D("1400")),
        (OTHER_ACCOUNT, "plan", "2026-10-15", "2026-10-31", 17, D("3400")),
        (OTHER_ACCOUNT, "addon", "2026-10-15", "2026-10-31", 17, D("1700")),
    ]


def test_february_has_28_days_so_a_day_is_a_28th_of_the_fee() -> None:
    plans = {PLAN: PlanPrice(PLAN, D("5600"), D("0"), D("0"), D("27"))}
    assert lines(history(), FEB, plans) == [(ACCOUNT, "plan", "2027-02-01", "2027-02-28", 28, D("5600"))]
    hist = history(states=[Dated("active", day("2027-02-15"), None)])
    assert lines(hist, FEB, plans) == [(ACCOUNT, "plan", "2027-02-15", "2027-02-28", 14, D("2800"))]


def test_a_leap_february_has_29_days() -> None:
    plans = {PLAN: PlanPrice(PLAN, D("5800"), D("0"), D("0"), D("27"))}
    hist = history(states=[Dated("active", day("2028-02-20"), None)])
    assert lines(hist, FEB_LEAP, plans) == [(ACCOUNT, "plan", "2028-02-20", "2028-02-29", 10, D("2000"))]


def test_a_31_day_and_a_30_day_month_price_the_same_days_differently() -> None:
    plans = {PLAN: PlanPrice(PLAN, D("6000"), D("0"), D("0"), D("27"))}
    hist_oct = history(states=[Dated("active", day("2026-10-10"), None)])
    hist_nov = history(states=[Dated("active", day("2026-11-10"), None)])
    # October: 6,000 × 22 / 31 = 4,258.06…; November: 6,000 × 21 / 30 = 4,200.
    assert lines(hist_oct, OCT, plans)[0][4:] == (22, D("4258"))
    assert lines(hist_nov, NOV, plans)[0][4:] == (21, D("4200"))


def test_commitment_discount_applies_to_the_days_under_commitment() -> None:
    plans = {PLAN: PlanPrice(PLAN, D("6200"), D("0"), D("3100"), D("27"))}
    hist = history(commitments=[Dated(None, day("2025-10-16"), day("2026-10-16"))])
    assert lines(hist, OCT, plans) == [
        (ACCOUNT, "plan", "2026-10-01", "2026-10-31", 31, D("6200")),
        (ACCOUNT, "discount", "2026-10-01", "2026-10-15", 15, D("-1500")),
    ]


def test_nothing_is_charged_before_activation_or_without_a_payer() -> None:
    ordered = history(states=[Dated("ordered", day("2026-10-01"), None)])
    assert lines(ordered) == []
    no_payer = history(payers=[Dated(ACCOUNT, day("2026-11-01"), None)])
    assert lines(no_payer) == []


def test_prorate_is_the_monthly_fee_times_days_over_days_of_the_month() -> None:
    assert prorate(D("6200"), 31, OCT) == D("6200")
    assert prorate(D("100"), 1, Period(2026, 4)) == D("3")  # 3.33…


# --- money ------------------------------------------------------------------------------------


def test_amounts_round_half_up_to_whole_forints() -> None:
    assert round_huf(D("2.5")) == D("3")  # half-even would give 2
    assert round_huf(D("3.5")) == D("4")
    assert round_huf(D("2.49")) == D("2")
    assert round_huf(D("-2.5")) == D("-3")


def test_vat_is_computed_on_the_summed_net_of_each_rate() -> None:
    # Three 1-forint lines: 0.27 each would round to 0, but VAT on the sum 3 is 0.81 → 1.
    [total] = vat_totals([(D("1"), D("27")), (D("1"), D("27")), (D("1"), D("27.00"))])
    assert (total.rate, total.net, total.vat, total.gross) == (D("27.00"), D("3"), D("1"), D("4"))


def test_vat_totals_are_kept_per_rate_highest_first() -> None:
    totals = vat_totals([(D("1000"), D("5")), (D("3001"), D("27")), (D("-1"), D("5"))])
    # 27 %: 3,001 × 0.27 = 810.27 → 810. 5 %: 999 × 0.05 = 49.95 → 50 (half-up).
    assert [(t.rate, t.net, t.vat, t.gross) for t in totals] == [
        (D("27.00"), D("3001"), D("810"), D("3811")),
        (D("5.00"), D("999"), D("50"), D("1049")),
    ]


def test_invoice_numbers_are_zero_padded_per_year() -> None:
    assert invoice_number(2026, 1) == "INV-2026-0000001"
    assert invoice_number(2027, 1234567) == "INV-2027-1234567"


# --- the period ---------------------------------------------------------------------------------


def test_a_period_is_a_calendar_month() -> None:
    assert (OCT.start, OCT.end, OCT.last_day, OCT.days) == (day("2026-10-01"), day("2026-11-01"), day("2026-10-31"), 31)
    assert Period(2026, 12).end == day("2027-01-01")
    assert Period.parse("2026-10") == OCT and str(OCT) == "2026-10"
    assert Period(2027, 1).previous() == Period(2026, 12)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-10", "october", "", "2026-00", "1999-05"])
def test_a_period_that_is_not_a_month_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(text)


# --- rating -----------------------------------------------------------------------------------

TARIFF = Tariff(voice_rounding="per_started_minute", price_per_minute=D("35"), price_per_sms=D("25"),
                price_per_mb=D("2"), roaming_price_per_minute=D("60"), roaming_price_per_mb=D("3.15"),
                included_minutes=100, included_sms=0, included_data_mb=None)


@pytest.mark.parametrize(("seconds", "units"), [(0, 0), (1, 60), (60, 60), (61, 120), (3599, 3600)])
def test_voice_per_started_minute_rounds_each_call_up_to_whole_minutes(seconds: int, units: int) -> None:
    assert billable_units(UsageType.VOICE, seconds, "per_started_minute") == units


@pytest.mark.parametrize(("seconds", "units"), [(0, 0), (1, 60), (59, 60), (60, 60), (61, 61), (125, 125)])
def test_voice_per_second_after_the_first_minute(seconds: int, units: int) -> None:
    assert billable_units(UsageType.ROAMING_VOICE, seconds, "per_second_after_first_minute") == units


def test_data_is_counted_in_started_kilobytes_and_sms_in_pieces() -> None:
    assert billable_units(UsageType.DATA, 1_500_000, "per_started_minute") == 1465  # 1,464.84 KB
    assert billable_units(UsageType.DATA, 1024, "per_started_minute") == 1
    assert billable_units(UsageType.SMS, 1, "per_started_minute") == 1


def test_the_allowance_is_used_first_then_the_unit_price_applies() -> None:
    # 99 of the 100 included minutes used: a 2-minute call is half included, half charged at 35.
    rated = rate(UsageType.VOICE, 120, 99 * 60, TARIFF)
    assert (rated.units, rated.included, rated.charged, rated.amount) == (120, 60, 60, D("35.00"))
    inside = rate(UsageType.VOICE, 120, 0, TARIFF)
    assert (inside.included, inside.charged, inside.amount) == (120, 0, D("0.00"))


def test_an_unlimited_allowance_charges_nothing_and_a_zero_allowance_charges_everything() -> None:
    data = rate(UsageType.DATA, 10_000, 10**9, TARIFF)  # included_data_mb None: unlimited
    assert (data.included, data.charged, data.amount) == (10_000, 0, D("0.00"))
    sms = rate(UsageType.SMS, 1, 0, TARIFF)  # included_sms 0
    assert (sms.included, sms.charged, sms.amount) == (0, 1, D("25.00"))


def test_roaming_is_never_inside_the_allowance() -> None:
    roaming = rate(UsageType.ROAMING_DATA, 2048, 0, TARIFF)  # 2 MB at 3.15
    assert (roaming.included, roaming.charged, roaming.amount) == (0, 2048, D("6.30"))


def test_per_second_charges_rate_the_seconds_and_the_invoice_line_rounds_the_sum() -> None:
    per_second = Tariff(**{**TARIFF.__dict__, "voice_rounding": "per_second_after_first_minute",
                           "included_minutes": 0})
    units = billable_units(UsageType.VOICE, 61, per_second.voice_rounding)
    rated = rate(UsageType.VOICE, units, 0, per_second)
    assert rated.amount == D("35.58")  # 61 s × 35 / 60 = 35.583…
    assert usage_line_net(UsageType.VOICE, 61 + 61, D("35")) == D("71")  # 71.17 → 71
    assert priced_quantity(UsageType.VOICE, 122) == D("2.03")
    assert priced_quantity(UsageType.DATA, 1536) == D("1.50")


# --- anomalies --------------------------------------------------------------------------------


def test_an_account_billed_more_than_three_times_its_average_is_flagged() -> None:
    assert is_anomaly(D("3001"), D("1000"))
    assert not is_anomaly(D("3000"), D("1000"))
    assert not is_anomaly(D("50000"), None)  # a first invoice has nothing to compare with
    assert is_anomaly(D("2001"), D("1000"), D("2"))  # the factor is a setting


def test_charge_kinds_sort_plan_before_discount_before_suspension_before_addons() -> None:
    assert [k.value for k in ChargeKind][:4] == ["plan", "discount", "suspension", "addon"]
