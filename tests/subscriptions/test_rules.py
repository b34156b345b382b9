"""The pure rules of subscriptions (PRODUCT.md, "Subscriptions and services"): the lifecycle for
every state and action, suspension holds and who may place or lift them, the 180-day voluntary
limit, termination dates and the early termination fee, quarantine, plan-change timing and add-ons.

Golden values are worked out by hand in the comments; no database, no fixtures.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backoffice import i18n
from backoffice.i18n import Msg
from backoffice.subscriptions.rules import (
    DEFAULT_SUSPENSION_RULES,
    Action,
    AddOnRule,
    Decision,
    Refusal,
    ServiceState,
    SuspensionRule,
    add_months,
    check_addon,
    check_addon_removal,
    check_voluntary_limit,
    commitment_end,
    decide,
    early_termination_fee,
    first_of_next_month,
    full_months_between,
    latest_voluntary_end,
    may_lift,
    may_place,
    plan_change_effective,
    quarantine_until,
    termination_date,
    voluntary_days_used,
)

S, A = ServiceState, Action
D = Decimal


@pytest.fixture
def english() -> Iterator[None]:
    token = i18n.current_language.set("en")
    yield
    i18n.current_language.reset(token)


# ---------------------------------------------------------------------------------------------
# The state machine: every state × action pair
# ---------------------------------------------------------------------------------------------

# The holds each state carries in the table, and the hold a suspend places / a resume lifts.
HOLDS = {S.ORDERED: frozenset(), S.ACTIVE: frozenset(), S.SUSPENDED: frozenset({"customer_request"}),
         S.CANCELLED: frozenset(), S.TERMINATED: frozenset()}
PLACING, LIFTING = "fraud", "customer_request"

OK, BAD, FINAL = "allowed", "invalid_transition", "service_final"
# (state, action) -> the next state when allowed, or the refusal code.
TABLE: dict[tuple[ServiceState, Action], ServiceState | str] = {
    (S.ORDERED, A.ACTIVATE): S.ACTIVE,
    (S.ORDERED, A.SUSPEND): BAD,
    (S.ORDERED, A.RESUME): BAD,
    (S.ORDERED, A.TERMINATE): BAD,  # an order is cancelled, not terminated
    (S.ORDERED, A.CANCEL): S.CANCELLED,
    (S.ORDERED, A.SWAP_SIM): BAD,
    (S.ORDERED, A.CHANGE_PLAN): BAD,
    (S.ORDERED, A.ADD_ADDON): BAD,
    (S.ORDERED, A.REMOVE_ADDON): BAD,
    (S.ACTIVE, A.ACTIVATE): BAD,
    (S.ACTIVE, A.SUSPEND): S.SUSPENDED,
    (S.ACTIVE, A.RESUME): BAD,
    (S.ACTIVE, A.TERMINATE): S.TERMINATED,
    (S.ACTIVE, A.CANCEL): BAD,
    (S.ACTIVE, A.SWAP_SIM): S.ACTIVE,
    (S.ACTIVE, A.CHANGE_PLAN): S.ACTIVE,
    (S.ACTIVE, A.ADD_ADDON): S.ACTIVE,
    (S.ACTIVE, A.REMOVE_ADDON): S.ACTIVE,
    (S.SUSPENDED, A.ACTIVATE): BAD,
    (S.SUSPENDED, A.SUSPEND): S.SUSPENDED,  # a second hold
    (S.SUSPENDED, A.RESUME): S.ACTIVE,  # its only hold lifted
    (S.SUSPENDED, A.TERMINATE): S.TERMINATED,
    (S.SUSPENDED, A.CANCEL): BAD,
    (S.SUSPENDED, A.SWAP_SIM): S.SUSPENDED,  # a voluntary hold is not about the SIM
    (S.SUSPENDED, A.CHANGE_PLAN): S.SUSPENDED,
    (S.SUSPENDED, A.ADD_ADDON): S.SUSPENDED,
    (S.SUSPENDED, A.REMOVE_ADDON): S.SUSPENDED,
    **{(S.CANCELLED, action): FINAL for action in A},
    **{(S.TERMINATED, action): FINAL for action in A},
}


def test_the_table_covers_every_state_and_action() -> None:
    assert set(TABLE) == set(itertools.product(S, A))


@pytest.mark.parametrize(("state", "action"), list(itertools.product(S, A)), ids=lambda v: str(v))
def test_each_state_allows_exactly_the_actions_of_the_lifecycle(state: ServiceState, action: Action) -> None:
    decision = decide(state, action, holds=HOLDS[state], placing=PLACING, lifting=LIFTING)
    expected = TABLE[(state, action)]
    if isinstance(expected, ServiceState):
        assert decision.allowed and decision.next_state is expected and decision.code is None
    else:
        assert not decision.allowed and decision.next_state is None
        assert decision.code == expected and isinstance(decision.reason, Msg)
        assert decision.holds == HOLDS[state]  # nothing changes


def test_a_terminated_service_cannot_be_resumed_and_the_reason_names_the_state(english: None) -> None:
    decision = decide(S.TERMINATED, A.RESUME)
    assert decision.reason == Msg("This service is %(state)s, so it cannot be resumed.", state=Msg("terminated"))
    assert str(decision.reason) == "This service is terminated, so it cannot be resumed."
    assert decision.refusal == Refusal("service_final", decision.reason)


def test_a_cancelled_order_refuses_everything_naming_its_state(english: None) -> None:
    assert str(decide(S.CANCELLED, A.ACTIVATE).reason) == "This service is cancelled, so it cannot be activated."
    assert str(decide(S.CANCELLED, A.CANCEL).reason) == "This order is already cancelled."


def test_an_order_is_cancelled_not_terminated_and_a_service_terminated_not_cancelled(english: None) -> None:
    assert str(decide(S.ORDERED, A.TERMINATE).reason) == (
        "An order that has not been activated is cancelled, not terminated.")
    assert decide(S.ACTIVE, A.CANCEL).reason == Msg(
        "Only an order that has not been activated can be cancelled; terminate this service instead.")


def test_resuming_an_active_service_says_there_is_no_hold() -> None:
    assert decide(S.ACTIVE, A.RESUME, lifting="fraud").reason == Msg(
        "This service is not suspended, so there is no hold to lift.")


def test_an_allowed_decision_has_no_refusal() -> None:
    decision = decide(S.ORDERED, A.ACTIVATE)
    assert decision == Decision(True, S.ACTIVE, None, None, frozenset())
    assert decision.refusal is None


def test_decide_accepts_the_codes_stored_in_the_database() -> None:
    assert decide("active", "suspend", placing="lost_or_stolen").next_state is S.SUSPENDED  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Holds
# ---------------------------------------------------------------------------------------------


def test_suspending_places_a_hold() -> None:
    decision = decide(S.ACTIVE, A.SUSPEND, placing="lost_or_stolen")
    assert decision.next_state is S.SUSPENDED and decision.holds == {"lost_or_stolen"}


def test_a_service_can_carry_several_holds_at_once() -> None:
    decision = decide(S.SUSPENDED, A.SUSPEND, holds=frozenset({"lost_or_stolen"}), placing="non_payment")
    assert decision.next_state is S.SUSPENDED and decision.holds == {"lost_or_stolen", "non_payment"}


def test_placing_a_hold_that_is_already_there_is_refused() -> None:
    decision = decide(S.SUSPENDED, A.SUSPEND, holds=frozenset({"fraud"}), placing="fraud")
    assert decision.code == "hold_already_placed"
    assert decision.reason == Msg("This service already has a hold for “%(reason)s”.", reason="fraud")


def test_a_suspension_needs_a_known_reason() -> None:
    assert decide(S.ACTIVE, A.SUSPEND).code == "hold_required"
    assert decide(S.ACTIVE, A.SUSPEND, placing="holiday").code == "unknown_suspension_reason"


def test_a_service_stays_suspended_until_every_hold_is_lifted() -> None:
    holds = frozenset({"lost_or_stolen", "non_payment"})
    first = decide(S.SUSPENDED, A.RESUME, holds=holds, lifting="non_payment")
    assert first.next_state is S.SUSPENDED and first.holds == {"lost_or_stolen"}
    second = decide(S.SUSPENDED, A.RESUME, holds=first.holds, lifting="lost_or_stolen")
    assert second.next_state is S.ACTIVE and second.holds == frozenset()


def test_a_resume_must_name_a_hold_the_service_carries() -> None:
    holds = frozenset({"customer_request"})
    assert decide(S.SUSPENDED, A.RESUME, holds=holds).code == "hold_required"
    refused = decide(S.SUSPENDED, A.RESUME, holds=holds, lifting="fraud")
    assert refused.code == "hold_not_placed"
    assert refused.reason == Msg("This service has no hold for “%(reason)s” to lift.", reason="fraud")


def test_a_sim_swap_lifts_a_lost_or_stolen_hold() -> None:
    decision = decide(S.SUSPENDED, A.SWAP_SIM, holds=frozenset({"lost_or_stolen"}))
    assert decision.allowed and decision.next_state is S.ACTIVE and decision.holds == frozenset()


def test_a_sim_swap_leaves_holds_that_are_not_about_the_sim() -> None:
    decision = decide(S.SUSPENDED, A.SWAP_SIM, holds=frozenset({"lost_or_stolen", "non_payment"}))
    assert decision.next_state is S.SUSPENDED and decision.holds == {"non_payment"}


def test_a_sim_swap_on_an_active_service_keeps_it_active() -> None:
    assert decide(S.ACTIVE, A.SWAP_SIM).next_state is S.ACTIVE


def test_which_holds_a_sim_swap_lifts_comes_from_the_catalogue() -> None:
    rules = {"broken_sim": SuspensionRule("broken_sim", voluntary=False, portal=False, place_roles=frozenset(),
                                          lift_roles=frozenset(), billing="none", lifts_on_swap=True)}
    assert decide(S.SUSPENDED, A.SWAP_SIM, holds=frozenset({"broken_sim"}), rules=rules).next_state is S.ACTIVE
    assert decide(S.ACTIVE, A.SUSPEND, placing="fraud", rules=rules).code == "unknown_suspension_reason"


def test_terminating_a_suspended_service_ends_its_holds() -> None:
    decision = decide(S.SUSPENDED, A.TERMINATE, holds=frozenset({"fraud", "non_payment"}))
    assert decision.next_state is S.TERMINATED and decision.holds == frozenset()


# ---------------------------------------------------------------------------------------------
# Suspension reasons and who may place and lift them
# ---------------------------------------------------------------------------------------------

RULES = DEFAULT_SUSPENSION_RULES
ROLES = ("agent", "supervisor", "records", "admin", "system", "subscriber")
# reason -> roles that may place it, roles that may lift it ("subscriber" = the portal).
WHO_MAY = {
    "customer_request": ({"agent", "supervisor"}, {"agent", "supervisor"}),
    "lost_or_stolen": ({"agent", "supervisor", "subscriber"}, {"agent", "supervisor", "subscriber"}),
    "non_payment": ({"system", "supervisor"}, {"system", "supervisor"}),
    "fraud": ({"supervisor"}, {"supervisor"}),
    "restricted": ({"system", "supervisor"}, {"system", "supervisor"}),
}


def test_the_default_reasons_are_the_five_of_the_product() -> None:
    assert set(RULES) == set(WHO_MAY)
    assert all(code == rule.code for code, rule in RULES.items())


@pytest.mark.parametrize(("reason", "role"), list(itertools.product(WHO_MAY, ROLES)))
def test_who_may_place_and_lift_each_reason(reason: str, role: str) -> None:
    placers, lifters = WHO_MAY[reason]
    assert (may_place(RULES[reason], role) is None) == (role in placers)
    assert (may_lift(RULES[reason], role) is None) == (role in lifters)


def test_only_a_supervisor_may_lift_a_fraud_hold(english: None) -> None:
    refusal = may_lift(RULES["fraud"], "agent")
    assert refusal is not None and refusal.code == "role_not_allowed"
    assert str(refusal.reason) == "Only a supervisor may lift a hold for “fraud”."
    placing = may_place(RULES["fraud"], "agent")
    assert placing is not None and str(placing.reason) == "Only a supervisor may place a hold for “fraud”."


def test_dunning_holds_are_placed_and_lifted_by_dunning_or_a_supervisor(english: None) -> None:
    refusal = may_lift(RULES["non_payment"], "agent")
    assert refusal is not None
    assert str(refusal.reason) == "Only dunning or a supervisor may lift a hold for “non_payment”."


def test_staff_outside_customer_service_may_not_suspend(english: None) -> None:
    refusal = may_place(RULES["customer_request"], "records")
    assert refusal is not None and refusal.code == "role_not_allowed"
    assert str(refusal.reason) == "Your role may not place a hold for “customer_request”."


def test_the_portal_may_report_a_lost_sim_and_resume_it_but_nothing_else() -> None:
    assert may_place(RULES["lost_or_stolen"], "subscriber") is None
    assert may_lift(RULES["lost_or_stolen"], "subscriber") is None
    refusal = may_place(RULES["customer_request"], "subscriber")
    assert refusal == Refusal("not_in_portal", Msg(
        "A hold for “%(reason)s” cannot be placed in the portal: please call customer service.",
        reason="customer_request"))


def test_messages_show_the_catalogue_name_of_a_reason() -> None:
    named = SuspensionRule("fraud", voluntary=False, portal=False, place_roles=frozenset({"supervisor"}),
                           lift_roles=frozenset({"supervisor"}), billing="none", name="visszaélés gyanúja")
    refusal = may_lift(named, "agent")
    assert refusal is not None and refusal.reason.params == {"reason": "visszaélés gyanúja"}
    assert named == RULES["fraud"]  # the name is for people, not part of the rule


def test_each_reason_is_billed_as_the_product_says() -> None:
    billing = {code: rule.billing for code, rule in RULES.items()}
    assert billing == {"customer_request": "suspension_fee", "lost_or_stolen": "full", "non_payment": "full",
                       "fraud": "none", "restricted": "full"}


def test_only_a_voluntary_suspension_counts_against_the_180_day_limit() -> None:
    assert [code for code, rule in RULES.items() if rule.voluntary] == ["customer_request"]
    assert RULES["customer_request"].max_days_in_12_months == 180


def test_a_dunning_hold_is_lifted_only_when_the_debt_is_settled_and_costs_a_reconnection() -> None:
    assert RULES["non_payment"].lift_condition == "debt_settled"
    assert RULES["non_payment"].fee_on_resume == "reconnection"
    assert RULES["restricted"].lift_condition == "debt_settled"
    assert all(RULES[c].lift_condition is None for c in ("customer_request", "lost_or_stolen", "fraud"))


def test_a_lost_sim_is_blocked_at_once_and_restricted_keeps_incoming_calls() -> None:
    assert RULES["lost_or_stolen"].immediate and RULES["lost_or_stolen"].lifts_on_swap
    assert RULES["restricted"].partial
    assert not any(rule.partial for code, rule in RULES.items() if code != "restricted")


# ---------------------------------------------------------------------------------------------
# The voluntary suspension limit: at most 180 days in any 12 months
# ---------------------------------------------------------------------------------------------


def test_days_used_count_only_the_12_months_ending_with_the_day() -> None:
    periods = [(date(2025, 1, 1), date(2025, 3, 1))]  # January 31 + February 28 = 59 days
    assert voluntary_days_used(periods, date(2025, 12, 31)) == 59  # window 2025-01-01 .. 2025-12-31
    assert voluntary_days_used(periods, date(2026, 1, 31)) == 28  # window from 2025-02-01: February only
    assert voluntary_days_used(periods, date(2026, 2, 28)) == 0  # window from 2025-03-01
    assert voluntary_days_used(periods, date(2025, 1, 10)) == 10  # the period is still running then


def test_a_period_across_the_window_edge_counts_partially() -> None:
    periods = [(date(2025, 3, 15), date(2025, 4, 15))]  # 17 days of March + 14 of April
    assert voluntary_days_used(periods, date(2025, 12, 31)) == 31
    assert voluntary_days_used(periods, date(2026, 3, 31)) == 14  # window from 2025-04-01


def test_a_running_suspension_counts_up_to_and_including_the_day() -> None:
    assert voluntary_days_used([(date(2026, 3, 1), None)], date(2026, 3, 10)) == 10


def test_overlapping_periods_count_each_day_once() -> None:
    periods = [(date(2026, 1, 1), date(2026, 1, 11)), (date(2026, 1, 6), date(2026, 1, 16))]
    assert voluntary_days_used(periods, date(2026, 12, 31)) == 15


def test_exactly_180_days_is_allowed() -> None:
    # 2026-01-01 .. 2026-06-29: 31 + 28 + 31 + 30 + 31 + 29 = 180 days; back in service on 30 June.
    assert check_voluntary_limit([], date(2026, 1, 1), date(2026, 6, 30)) is None


def test_181_days_is_refused_with_the_longest_possible_end() -> None:
    refusal = check_voluntary_limit([], date(2026, 1, 1), date(2026, 7, 1))
    assert refusal == Refusal("voluntary_limit_exceeded", Msg(
        "A voluntary suspension may last at most %(limit)s days in any 12 months: the 12 months ending "
        "%(window_end)s would have %(days)s days. From %(start)s the service can stay suspended until "
        "%(last_day)s at the latest.",
        limit=180, window_end="2026-06-30", days=181, start="2026-01-01", last_day="2026-06-29"))


def test_days_in_the_previous_12_months_count_towards_the_limit() -> None:
    history = [(date(2025, 9, 1), date(2025, 12, 1))]  # 30 + 31 + 30 = 91 days
    # 89 more from 1 February (28 + 31 + 30 = 89, back on 1 May): 180 in the 12 months to 30 April.
    assert check_voluntary_limit(history, date(2026, 2, 1), date(2026, 5, 1)) is None
    refusal = check_voluntary_limit(history, date(2026, 2, 1), date(2026, 5, 2))  # one day more
    assert refusal is not None and refusal.code == "voluntary_limit_exceeded"
    assert refusal.reason.params == {"limit": 180, "window_end": "2026-05-01", "days": 181,
                                     "start": "2026-02-01", "last_day": "2026-04-30"}
    assert latest_voluntary_end(history, date(2026, 2, 1)) == date(2026, 5, 1)


def test_old_days_fall_out_of_the_rolling_window() -> None:
    history = [(date(2025, 1, 1), date(2025, 6, 30))]  # 180 days: the whole allowance
    # On 31 December 2025 the window still holds 1 January 2025: no day is left.
    refusal = check_voluntary_limit(history, date(2025, 12, 31), date(2026, 1, 1))
    assert refusal is not None and refusal.reason.params["days"] == 181
    assert latest_voluntary_end(history, date(2025, 12, 31)) is None
    # From 1 January 2026 each new day pushes one old day out, so a full 180 days fit again.
    assert check_voluntary_limit(history, date(2026, 1, 1), date(2026, 6, 30)) is None
    assert latest_voluntary_end(history, date(2026, 1, 1)) == date(2026, 6, 30)


def test_no_day_left_says_so() -> None:
    history = [(date(2025, 6, 1), date(2025, 11, 28))]  # 30 + 31 + 31 + 30 + 31 + 27 = 180 days
    refusal = check_voluntary_limit(history, date(2026, 1, 10), date(2026, 1, 20))
    assert refusal is not None and refusal.reason == Msg(
        "A voluntary suspension may last at most %(limit)s days in any 12 months: the 12 months ending "
        "%(window_end)s would have %(days)s days, and no day is left for a suspension from %(start)s.",
        limit=180, window_end="2026-01-19", days=190, start="2026-01-10")


def test_a_suspension_already_booked_for_later_counts_too() -> None:
    booked = [(date(2026, 6, 1), date(2026, 9, 1))]  # 30 + 31 + 31 = 92 days, from June
    # From 1 March: 31 + 30 + 27 = 88 days (back on 28 May) make 180 in the 12 months to 31 August.
    assert check_voluntary_limit(booked, date(2026, 3, 1), date(2026, 5, 28)) is None
    refusal = check_voluntary_limit(booked, date(2026, 3, 1), date(2026, 5, 30))  # 90 days
    assert refusal is not None and refusal.reason.params == {
        "limit": 180, "window_end": "2026-08-31", "days": 182, "start": "2026-03-01", "last_day": "2026-05-27"}


def test_the_limit_holds_in_every_12_months_not_just_some() -> None:
    # Against a day-by-day oracle: a request is allowed exactly when no window ending on any day
    # from its start to a year after its end holds more than the limit.
    rng = random.Random(5)
    outcomes = set()
    for _ in range(80):
        history = []
        day = date(2025, 1, 1) + timedelta(days=rng.randrange(120))
        for _ in range(rng.randrange(4)):
            length = rng.randrange(1, 100)
            history.append((day, day + timedelta(days=length)))
            day += timedelta(days=length + rng.randrange(1, 90))
        start = date(2025, 10, 1) + timedelta(days=rng.randrange(240))
        end = start + timedelta(days=rng.randrange(1, 150))
        windows = (start + timedelta(days=n) for n in range((end - start).days + 366))
        over = any(voluntary_days_used([*history, (start, end)], e) > 180 for e in windows)
        assert (check_voluntary_limit(history, start, end) is not None) == over, (history, start, end)
        outcomes.add(over)
    assert outcomes == {True, False}


def test_a_voluntary_suspension_needs_an_end_date() -> None:
    refusal = check_voluntary_limit([], date(2026, 1, 1), None)
    assert refusal is not None and refusal.code == "end_date_required"


def test_a_suspension_must_end_after_it_starts() -> None:
    refusal = check_voluntary_limit([], date(2026, 1, 1), date(2026, 1, 1))
    assert refusal is not None and refusal.code == "invalid_period"


def test_the_voluntary_limit_is_configurable() -> None:
    assert check_voluntary_limit([], date(2026, 3, 1), date(2026, 3, 31), limit_days=30) is None
    assert check_voluntary_limit([], date(2026, 3, 1), date(2026, 4, 1), limit_days=30) is not None


def test_a_very_long_request_is_refused_at_once() -> None:
    refusal = check_voluntary_limit([], date(2026, 1, 1), date(2036, 1, 1))
    assert refusal is not None and refusal.reason.params["days"] == 365  # all of 2026
    assert refusal.reason.params["window_end"] == "2026-12-31"


# ---------------------------------------------------------------------------------------------
# Termination, commitment, quarantine
# ---------------------------------------------------------------------------------------------

TODAY = date(2026, 3, 10)


def test_a_customer_termination_needs_eight_days_notice() -> None:
    assert termination_date(date(2026, 3, 12), TODAY, "customer_request") == date(2026, 3, 18)
    assert termination_date(date(2026, 3, 18), TODAY, "customer_request") == date(2026, 3, 18)
    # At the end of March: effective 1 April (the first day the service is terminated).
    assert termination_date(date(2026, 4, 1), TODAY, "customer_request") == date(2026, 4, 1)


def test_the_notice_period_is_configurable() -> None:
    assert termination_date(TODAY, TODAY, "customer_request", notice_days=30) == date(2026, 4, 9)
    assert termination_date(TODAY, TODAY, "customer_request", notice_days=0) == TODAY


@pytest.mark.parametrize("reason", ["end_of_contract", "non_payment", "ported_out", "deceased"])
def test_other_terminations_take_effect_as_requested_but_never_in_the_past(reason: str) -> None:
    assert termination_date(date(2026, 3, 5), TODAY, reason) == TODAY
    assert termination_date(TODAY, TODAY, reason) == TODAY
    assert termination_date(date(2026, 3, 11), TODAY, reason) == date(2026, 3, 11)


def test_an_unknown_termination_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="moved_away"):
        termination_date(TODAY, TODAY, "moved_away")


@pytest.mark.parametrize(("start", "months", "end"), [
    (date(2026, 1, 15), 12, date(2027, 1, 15)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),  # clamped to the end of February
    (date(2026, 1, 31), 2, date(2026, 3, 31)),  # counted from the start, not from 28 February
    (date(2027, 1, 31), 13, date(2028, 2, 29)),  # leap year
    (date(2028, 2, 29), 12, date(2029, 2, 28)),
    (date(2026, 3, 31), 24, date(2028, 3, 31)),
    (date(2026, 5, 5), 0, date(2026, 5, 5)),
])
def test_a_commitment_ends_the_same_day_months_later_clamped_to_month_end(
        start: date, months: int, end: date) -> None:
    assert commitment_end(start, months) == end
    assert full_months_between(start, end) == months


def test_a_negative_commitment_is_an_error() -> None:
    with pytest.raises(ValueError):
        commitment_end(TODAY, -1)


@pytest.mark.parametrize(("effective", "end", "months"), [
    (date(2026, 11, 30), date(2027, 6, 30), 7),  # 30th to 30th: exactly seven months
    (date(2026, 12, 30), date(2027, 6, 30), 6),
    (date(2026, 12, 31), date(2027, 6, 30), 6),  # month end to month end is a full month
    (date(2027, 1, 1), date(2027, 6, 30), 5),  # 1 June fits, 1 July does not
    (date(2027, 6, 1), date(2027, 6, 30), 0),  # less than a month left
    (date(2027, 2, 28), date(2027, 3, 31), 1),  # February: 28 March fits
    (date(2027, 1, 31), date(2027, 2, 28), 1),
    (date(2027, 1, 31), date(2027, 2, 27), 0),
    (date(2027, 1, 31), date(2027, 3, 28), 1),  # 31 March is the second month
    (date(2027, 11, 30), date(2028, 2, 29), 3),  # leap year: 29 February
    (date(2027, 11, 30), date(2028, 2, 28), 2),
    (date(2028, 1, 31), date(2028, 2, 29), 1),
    (date(2027, 2, 28), date(2028, 2, 29), 12),
    (date(2027, 6, 30), date(2027, 6, 30), 0),  # the commitment ends that day
    (date(2027, 7, 15), date(2027, 6, 30), 0),  # after it
])
def test_full_months_are_whole_calendar_months_counted_from_the_effective_date(
        effective: date, end: date, months: int) -> None:
    assert full_months_between(effective, end) == months


def test_the_early_termination_fee_is_the_discount_of_the_remaining_full_months() -> None:
    # 7 full months × 1,574.80 = 11,023.60 → 11,024 Ft
    assert early_termination_fee(date(2027, 6, 30), date(2026, 11, 30), D("1574.80"), D("31496.06")) == D("11024")


def test_the_early_termination_fee_is_capped() -> None:
    # 23 full months × 1,574.80 = 36,220.40, capped at 31,496.06 → 31,496 Ft
    assert early_termination_fee(date(2028, 1, 15), date(2026, 2, 15), D("1574.80"), D("31496.06")) == D("31496")


def test_the_early_termination_fee_rounds_half_up_to_whole_forints() -> None:
    # 2 × 787.25 = 1,574.50 → 1,575 (banker's rounding would give 1,574)
    assert early_termination_fee(date(2027, 3, 1), date(2027, 1, 1), D("787.25"), D("100000")) == D("1575")
    assert early_termination_fee(date(2027, 3, 1), date(2027, 1, 1), D("787.24"), D("100000")) == D("1574")


def test_there_is_no_early_termination_fee_outside_a_commitment() -> None:
    assert early_termination_fee(None, TODAY, D("1574.80"), D("31496.06")) == 0
    assert early_termination_fee(date(2026, 3, 10), TODAY, D("1574.80"), D("31496.06")) == 0
    assert early_termination_fee(date(2026, 1, 1), TODAY, D("1574.80"), D("31496.06")) == 0
    assert early_termination_fee(date(2026, 4, 9), TODAY, D("1574.80"), D("31496.06")) == 0  # under a month


def test_the_early_termination_fee_refuses_negative_amounts() -> None:
    with pytest.raises(ValueError):
        early_termination_fee(date(2027, 1, 1), TODAY, D("-1"), D("100"))


def test_a_terminated_number_is_quarantined_for_180_days() -> None:
    # 1 March + 180 days: 30 (to 31 March) + 30 + 31 + 30 + 31 = 152 to 31 July, + 28 = 28 August
    assert quarantine_until(date(2026, 3, 1)) == date(2026, 8, 28)
    assert quarantine_until(date(2026, 3, 1), days=30) == date(2026, 3, 31)


# ---------------------------------------------------------------------------------------------
# Plan changes and the calendar
# ---------------------------------------------------------------------------------------------


def test_an_upgrade_takes_effect_at_once() -> None:
    assert plan_change_effective(date(2026, 3, 15), upgrade=True, mode=None) == date(2026, 3, 15)


def test_a_downgrade_takes_effect_from_the_next_billing_period() -> None:
    assert plan_change_effective(date(2026, 3, 15), upgrade=False, mode=None) == date(2026, 4, 1)
    assert plan_change_effective(date(2026, 12, 31), upgrade=False, mode=None) == date(2027, 1, 1)
    assert plan_change_effective(date(2026, 3, 1), upgrade=False, mode=None) == date(2026, 4, 1)


def test_the_plan_change_mode_overrides_the_direction() -> None:
    assert plan_change_effective(date(2026, 3, 15), upgrade=False, mode="immediate") == date(2026, 3, 15)
    assert plan_change_effective(date(2026, 3, 15), upgrade=True, mode="next_period") == date(2026, 4, 1)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 1, 15), -12, date(2025, 1, 15)),
    (date(2028, 2, 29), -12, date(2027, 2, 28)),
])
def test_adding_months_clamps_to_the_end_of_the_month(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_the_next_billing_period_starts_on_the_first_of_next_month() -> None:
    assert first_of_next_month(date(2026, 1, 31)) == date(2026, 2, 1)
    assert first_of_next_month(date(2026, 12, 1)) == date(2027, 1, 1)


# ---------------------------------------------------------------------------------------------
# Add-ons
# ---------------------------------------------------------------------------------------------

SIM, CABLE, NET = "sim", "cable_tv", "internet"
CATALOGUE = {rule.code: rule for rule in [
    AddOnRule("data_5gb", frozenset({SIM}), exclusive_group="data_pack", portal=True, name="Data pack 5 GB"),
    AddOnRule("data_20gb", frozenset({SIM}), exclusive_group="data_pack", portal=True, name="Data pack 20 GB"),
    # the conflict is declared on the roaming pack only; it must hold both ways
    AddOnRule("eu_roaming", frozenset({SIM}), conflicts=frozenset({"roaming_barring"}), portal=True,
              name="EU roaming pack"),
    AddOnRule("roaming_barring", frozenset({SIM}), portal=True, name="Roaming barring"),
    AddOnRule("hd_stb", frozenset({CABLE}), name="HD set-top box"),
    AddOnRule("hbo_pack", frozenset({CABLE}), requires=frozenset({"hd_stb"}), portal=True,
              name="Premium film pack (HD)"),
    AddOnRule("speed_boost", frozenset({NET}), plans=frozenset({"net_100", "net_500"}), portal=True,
              name="Speed boost"),
    AddOnRule("static_ip", frozenset({NET}), name="Static IP address"),
]}
NONE: frozenset[str] = frozenset()


def add(code: str, kind: str, plan: str = "any", active: frozenset[str] = NONE,
        by_portal: bool = False) -> Refusal | None:
    return check_addon(CATALOGUE[code], kind=kind, plan=plan, active_addons=active, catalogue=CATALOGUE,
                       by_portal=by_portal)


def test_an_addon_that_fits_is_allowed() -> None:
    assert add("data_5gb", SIM, active=frozenset({"eu_roaming"})) is None
    assert add("speed_boost", NET, plan="net_100", by_portal=True) is None


def test_an_addon_applies_only_to_its_service_kinds() -> None:
    assert add("data_5gb", CABLE) == Refusal("addon_not_applicable", Msg(
        "%(addon)s is not available for this kind of service.", addon="Data pack 5 GB"))


def test_an_addon_limited_to_some_plans_is_refused_on_others() -> None:
    refusal = add("speed_boost", NET, plan="net_1000")
    assert refusal is not None and refusal.code == "addon_not_applicable"


def test_only_one_addon_of_an_exclusive_group_at_a_time() -> None:
    assert add("data_20gb", SIM, active=frozenset({"data_5gb"})) == Refusal("addon_exclusive", Msg(
        "Only one add-on of this kind at a time: remove %(other)s before adding %(addon)s.",
        other="Data pack 5 GB", addon="Data pack 20 GB"))


def test_an_addon_needs_its_prerequisites() -> None:
    assert add("hbo_pack", CABLE) == Refusal("addon_prerequisite_missing", Msg(
        "%(addon)s needs %(missing)s on the service first.", addon="Premium film pack (HD)",
        missing="HD set-top box"))
    assert add("hbo_pack", CABLE, active=frozenset({"hd_stb"})) is None


def test_conflicting_addons_are_refused_whichever_side_declares_the_conflict() -> None:
    one_way = add("eu_roaming", SIM, active=frozenset({"roaming_barring"}))
    other_way = add("roaming_barring", SIM, active=frozenset({"eu_roaming"}))
    assert one_way == Refusal("addon_conflict", Msg("%(addon)s cannot be combined with %(other)s.",
                                                    addon="EU roaming pack", other="Roaming barring"))
    assert other_way is not None and other_way.code == "addon_conflict"


def test_the_portal_may_add_only_portal_addons() -> None:
    refusal = add("static_ip", NET, by_portal=True)
    assert refusal is not None and refusal.code == "not_in_portal"
    assert add("static_ip", NET) is None  # an agent may


def test_an_active_addon_cannot_be_added_again() -> None:
    refusal = add("data_5gb", SIM, active=frozenset({"data_5gb"}))
    assert refusal is not None and refusal.code == "addon_already_active"


def test_an_addon_another_one_needs_cannot_be_removed() -> None:
    assert check_addon_removal("hd_stb", frozenset({"hd_stb", "hbo_pack"}), CATALOGUE) == Refusal(
        "addon_required", Msg("%(addon)s cannot be removed while %(other)s, which needs it, is on this service.",
                              addon="HD set-top box", other="Premium film pack (HD)"))
    assert check_addon_removal("hbo_pack", frozenset({"hd_stb", "hbo_pack"}), CATALOGUE) is None
    assert check_addon_removal("hd_stb", frozenset({"hd_stb"}), CATALOGUE) is None


def test_removing_an_addon_that_is_not_on_the_service_is_refused() -> None:
    refusal = check_addon_removal("static_ip", NONE, CATALOGUE)
    assert refusal is not None and refusal.code == "addon_not_active"


def test_the_portal_may_remove_only_portal_addons() -> None:
    refusal = check_addon_removal("static_ip", frozenset({"static_ip"}), CATALOGUE, by_portal=True)
    assert refusal is not None and refusal.code == "not_in_portal"
    assert check_addon_removal("data_5gb", frozenset({"data_5gb"}), CATALOGUE, by_portal=True) is None
