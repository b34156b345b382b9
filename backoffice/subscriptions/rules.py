"""Pure rules of the subscriptions domain: the lifecycle state machine, suspension holds and who may
place or lift them, the voluntary suspension limit, termination dates and fees, plan-change timing
and add-on compatibility. No I/O: services load the catalogue, call these, and act on the answer.

Date conventions used throughout (so that billing can count days as `(end - start).days`):

- a period is half-open, `[start, end)`: `end` is the first day *outside* it (a suspension
  `[1 March, 11 March)` lasts ten days and the service works again on 11 March);
- a termination's effective date is the first day on which the service is terminated, so a
  termination "at the end of November" is effective on 1 December;
- a commitment runs `[start, commitment_end)`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Literal

from backoffice.i18n import N_, Msg

# ---------------------------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------------------------


class ServiceState(enum.StrEnum):
    ORDERED = "ordered"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"


class Action(enum.StrEnum):
    ACTIVATE = "activate"
    SUSPEND = "suspend"  # place a hold
    RESUME = "resume"  # lift one hold
    TERMINATE = "terminate"
    CANCEL = "cancel"
    SWAP_SIM = "swap_sim"
    CHANGE_PLAN = "change_plan"
    ADD_ADDON = "add_addon"
    REMOVE_ADDON = "remove_addon"


FINAL_STATES = frozenset({ServiceState.CANCELLED, ServiceState.TERMINATED})

# The state names are shown to people through these msgids (templates use `_(service.state)`).
STATE_LABELS: Mapping[ServiceState, str] = MappingProxyType({
    ServiceState.ORDERED: N_("ordered"),
    ServiceState.ACTIVE: N_("active"),
    ServiceState.SUSPENDED: N_("suspended"),
    ServiceState.CANCELLED: N_("cancelled"),
    ServiceState.TERMINATED: N_("terminated"),
})


@dataclass(frozen=True)
class Refusal:
    """Why something is not allowed: a stable code for the API and a sentence for people."""

    code: str
    reason: Msg


@dataclass(frozen=True)
class Decision:
    """The answer of `decide`: allowed with the state and holds that follow, or refused with why.

    `holds` is the set of holds after the action (the holds passed in when refused).
    """

    allowed: bool
    next_state: ServiceState | None
    reason: Msg | None
    code: str | None
    holds: frozenset[str] = frozenset()

    @property
    def refusal(self) -> Refusal | None:
        """The refusal as one value, for services that raise it; None when allowed."""
        if self.allowed or self.code is None or self.reason is None:
            return None
        return Refusal(self.code, self.reason)


def _allow(state: ServiceState, holds: frozenset[str]) -> Decision:
    return Decision(True, state, None, None, holds)


def _refuse(refusal: Refusal, holds: frozenset[str]) -> Decision:
    return Decision(False, None, refusal.reason, refusal.code, holds)


# Which actions each state allows, apart from the hold bookkeeping of suspend, resume and swap.
# Plan changes and add-ons are allowed while suspended: they are terms of the contract, not
# traffic; a customer abroad on a voluntary suspension may well downgrade or drop a pack, and
# the network applies the change when the service works again. Before activation there is no
# running service to change (cancel the order and order again), and final states are final.
_ALLOWED: Mapping[ServiceState, frozenset[Action]] = MappingProxyType({
    ServiceState.ORDERED: frozenset({Action.ACTIVATE, Action.CANCEL}),
    ServiceState.ACTIVE: frozenset({Action.SUSPEND, Action.TERMINATE, Action.SWAP_SIM, Action.CHANGE_PLAN,
                                    Action.ADD_ADDON, Action.REMOVE_ADDON}),
    ServiceState.SUSPENDED: frozenset({Action.SUSPEND, Action.RESUME, Action.TERMINATE, Action.SWAP_SIM,
                                       Action.CHANGE_PLAN, Action.ADD_ADDON, Action.REMOVE_ADDON}),
    ServiceState.CANCELLED: frozenset(),
    ServiceState.TERMINATED: frozenset(),
})

# One sentence per action, naming the state that forbids it.
_NOT_IN_STATE: Mapping[Action, str] = MappingProxyType({
    Action.ACTIVATE: N_("This service is %(state)s, so it cannot be activated."),
    Action.SUSPEND: N_("This service is %(state)s, so it cannot be suspended."),
    Action.RESUME: N_("This service is %(state)s, so it cannot be resumed."),
    Action.TERMINATE: N_("This service is %(state)s, so it cannot be terminated."),
    Action.CANCEL: N_("This service is %(state)s, so it cannot be cancelled."),
    Action.SWAP_SIM: N_("This service is %(state)s, so its SIM cannot be swapped."),
    Action.CHANGE_PLAN: N_("This service is %(state)s, so its plan cannot be changed."),
    Action.ADD_ADDON: N_("This service is %(state)s, so no add-on can be added to it."),
    Action.REMOVE_ADDON: N_("This service is %(state)s, so its add-ons cannot be removed."),
})

# Where a plainer sentence says what to do instead.
_HINTS: Mapping[tuple[ServiceState, Action], str] = MappingProxyType({
    (ServiceState.ACTIVE, Action.ACTIVATE): N_("This service is already active."),
    (ServiceState.ACTIVE, Action.RESUME): N_("This service is not suspended, so there is no hold to lift."),
    (ServiceState.ORDERED, Action.TERMINATE): N_("An order that has not been activated is cancelled, not terminated."),
    (ServiceState.ACTIVE, Action.CANCEL): N_("Only an order that has not been activated can be cancelled; "
                                             "terminate this service instead."),
    (ServiceState.SUSPENDED, Action.CANCEL): N_("Only an order that has not been activated can be cancelled; "
                                                "terminate this service instead."),
    (ServiceState.TERMINATED, Action.TERMINATE): N_("This service is already terminated."),
    (ServiceState.CANCELLED, Action.CANCEL): N_("This order is already cancelled."),
})


def allowed_actions(state: ServiceState) -> frozenset[Action]:
    """The actions a state allows at all (each still checks its own rules: holds, reasons, …)."""
    return _ALLOWED[ServiceState(state)]


def _state_refusal(state: ServiceState, action: Action) -> Refusal:
    """A refusal that names the state, so the agent sees why without looking it up."""
    code = "service_final" if state in FINAL_STATES else "invalid_transition"
    hint = _HINTS.get((state, action))
    if hint is not None:
        return Refusal(code, Msg(hint))
    return Refusal(code, Msg(_NOT_IN_STATE[action], state=Msg(STATE_LABELS[state])))


def decide(
    state: ServiceState,
    action: Action,
    *,
    holds: frozenset[str] = frozenset(),
    lifting: str | None = None,
    placing: str | None = None,
    rules: Mapping[str, SuspensionRule] | None = None,
) -> Decision:
    """Whether `action` is allowed on a service in `state` carrying `holds`, and what follows.

    `placing` is the suspension reason a suspend places, `lifting` the hold a resume lifts;
    `rules` (default DEFAULT_SUSPENSION_RULES) says which reasons exist and which a SIM swap lifts.
    """
    state, action = ServiceState(state), Action(action)
    rules = DEFAULT_SUSPENSION_RULES if rules is None else rules
    if action not in _ALLOWED[state]:
        return _refuse(_state_refusal(state, action), holds)
    if action is Action.SUSPEND:
        return _place_hold(holds, placing, rules)
    if action is Action.RESUME:
        return _lift_hold(holds, lifting, rules)
    if action is Action.SWAP_SIM:
        return _swap_sim(state, holds, rules)
    if action is Action.ACTIVATE:
        return _allow(ServiceState.ACTIVE, frozenset())
    if action is Action.CANCEL:
        return _allow(ServiceState.CANCELLED, frozenset())
    if action is Action.TERMINATE:
        return _allow(ServiceState.TERMINATED, frozenset())
    return _allow(state, holds)  # plan and add-on changes leave the lifecycle as it is


def _place_hold(holds: frozenset[str], placing: str | None, rules: Mapping[str, SuspensionRule]) -> Decision:
    """Holds are a set: each reason at most once, because lifting it once must end it."""
    if placing is None:
        return _refuse(Refusal("hold_required", Msg(N_("Say why the service is suspended."))), holds)
    if placing not in rules:
        return _refuse(Refusal("unknown_suspension_reason",
                               Msg(N_("There is no suspension reason %(reason)s."), reason=placing)), holds)
    if placing in holds:
        return _refuse(Refusal("hold_already_placed", Msg(N_("This service already has a hold for “%(reason)s”."),
                                                           reason=rules[placing].label)), holds)
    return _allow(ServiceState.SUSPENDED, holds | {placing})


def _lift_hold(holds: frozenset[str], lifting: str | None, rules: Mapping[str, SuspensionRule]) -> Decision:
    """A resume lifts one hold; the service works again only when none is left."""
    if lifting is None:
        return _refuse(Refusal("hold_required", Msg(N_("Say which hold to lift."))), holds)
    if lifting not in holds:
        label = rules[lifting].label if lifting in rules else lifting
        return _refuse(Refusal("hold_not_placed", Msg(N_("This service has no hold for “%(reason)s” to lift."),
                                                       reason=label)), holds)
    remaining = holds - {lifting}
    return _allow(ServiceState.SUSPENDED if remaining else ServiceState.ACTIVE, remaining)


def _swap_sim(state: ServiceState, holds: frozenset[str], rules: Mapping[str, SuspensionRule]) -> Decision:
    """A new SIM ends the holds that were about the old one (a lost or stolen SIM), nothing else."""
    if state is ServiceState.ACTIVE:
        return _allow(ServiceState.ACTIVE, holds)
    remaining = frozenset(h for h in holds if not (h in rules and rules[h].lifts_on_swap))
    return _allow(ServiceState.SUSPENDED if remaining else ServiceState.ACTIVE, remaining)


# ---------------------------------------------------------------------------------------------
# Suspension reasons as data
# ---------------------------------------------------------------------------------------------

SYSTEM = "system"  # the dunning run acting on its own
SUBSCRIBER = "subscriber"  # the portal user; what they may do is the reason's `portal` flag

Billing = Literal["full", "suspension_fee", "none"]


@dataclass(frozen=True)
class SuspensionRule:
    """A suspension reason and its consequences, as the catalogue holds them.

    `lift_condition` names a condition the service must check before lifting (for dunning holds
    "debt_settled": the overdue debt is paid or an arrangement agreed); `immediate` reasons take
    effect at once and cannot be dated ahead; a `partial` hold keeps incoming calls and emergency
    numbers working (outgoing barred or speed reduced); `max_days_in_12_months` limits voluntary
    suspensions. `name` is what messages show (the catalogue's name in the reader's language).
    """

    code: str
    voluntary: bool
    portal: bool
    place_roles: frozenset[str]
    lift_roles: frozenset[str]
    billing: Billing
    fee_on_suspend: str | None = None
    fee_on_resume: str | None = None
    lifts_on_swap: bool = False
    lift_condition: str | None = None
    immediate: bool = False
    partial: bool = False
    max_days_in_12_months: int | None = None
    name: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        """The name to show in a message; the code when the catalogue gave none."""
        return self.name or self.code


_STAFF = frozenset({"agent", "supervisor"})
_DUNNING = frozenset({SYSTEM, "supervisor"})  # the supervisor stands in for the billing specialist

DEFAULT_SUSPENSION_RULES: Mapping[str, SuspensionRule] = MappingProxyType({
    "customer_request": SuspensionRule(
        "customer_request", voluntary=True, portal=False, place_roles=_STAFF, lift_roles=_STAFF,
        billing="suspension_fee", max_days_in_12_months=180),
    "lost_or_stolen": SuspensionRule(
        "lost_or_stolen", voluntary=False, portal=True, place_roles=_STAFF, lift_roles=_STAFF,
        billing="full", lifts_on_swap=True, immediate=True),
    "non_payment": SuspensionRule(
        "non_payment", voluntary=False, portal=False, place_roles=_DUNNING, lift_roles=_DUNNING,
        billing="full", fee_on_resume="reconnection", lift_condition="debt_settled"),
    "fraud": SuspensionRule(
        "fraud", voluntary=False, portal=False, place_roles=frozenset({"supervisor"}),
        lift_roles=frozenset({"supervisor"}), billing="none"),
    "restricted": SuspensionRule(
        "restricted", voluntary=False, portal=False, place_roles=_DUNNING, lift_roles=_DUNNING,
        billing="full", lift_condition="debt_settled", partial=True),
})


def may_place(rule: SuspensionRule, role: str) -> Refusal | None:
    """Who may place a hold is the reason's data: refuse anyone else, saying who may."""
    return _may(rule, role, rule.place_roles, placing=True)


def may_lift(rule: SuspensionRule, role: str) -> Refusal | None:
    """Who may lift a hold is the reason's data, e.g. only a supervisor lifts a fraud hold."""
    return _may(rule, role, rule.lift_roles, placing=False)


def _may(rule: SuspensionRule, role: str, roles: frozenset[str], *, placing: bool) -> Refusal | None:
    if role == SUBSCRIBER:
        if rule.portal:
            return None
        message = (N_("A hold for “%(reason)s” cannot be placed in the portal: please call customer service.")
                   if placing else
                   N_("A hold for “%(reason)s” cannot be lifted in the portal: please call customer service."))
        return Refusal("not_in_portal", Msg(message, reason=rule.label))
    if role in roles:
        return None
    staff = roles - {SYSTEM, SUBSCRIBER}
    if staff == {"supervisor"} and SYSTEM in roles:
        message = (N_("Only dunning or a supervisor may place a hold for “%(reason)s”.") if placing
                   else N_("Only dunning or a supervisor may lift a hold for “%(reason)s”."))
    elif staff == {"supervisor"}:
        message = (N_("Only a supervisor may place a hold for “%(reason)s”.") if placing
                   else N_("Only a supervisor may lift a hold for “%(reason)s”."))
    else:
        message = (N_("Your role may not place a hold for “%(reason)s”.") if placing
                   else N_("Your role may not lift a hold for “%(reason)s”."))
    return Refusal("role_not_allowed", Msg(message, reason=rule.label))


# ---------------------------------------------------------------------------------------------
# Calendar arithmetic
# ---------------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (or earlier), clamped to the month's last day: 31 Jan + 1 = 28 Feb."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def full_months_between(start: dt.date, end: dt.date) -> int:
    """The most whole months that fit from start to end: the largest n with add_months(start, n) <= end.

    Counted from `start` each time, so clamping never accumulates: from 31 January, one month is
    28 (or 29) February, two months 31 March; from 30 November to 30 June is exactly seven.
    """
    if end <= start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    return months if add_months(start, months) <= end else months - 1


def first_of_next_month(day: dt.date) -> dt.date:
    """The start of the next billing period (billing periods are calendar months)."""
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


# ---------------------------------------------------------------------------------------------
# The voluntary suspension limit
# ---------------------------------------------------------------------------------------------

Period = tuple[dt.date, dt.date | None]
VOLUNTARY_LIMIT_DAYS = 180


@functools.lru_cache(maxsize=4096)  # called for every day of every window scan
def _window_start(window_end: dt.date) -> dt.date:
    """The first day of the 12 months that end with (and include) window_end."""
    return add_months(window_end, -12) + dt.timedelta(days=1)


def _merged(periods: Iterable[Period], window_end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Half-open periods closed at the day after window_end and merged, so no day counts twice."""
    stop = window_end + dt.timedelta(days=1)
    spans = sorted((start, stop if end is None else end) for start, end in periods)
    merged: list[tuple[dt.date, dt.date]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif start < end:
            merged.append((start, end))
    return merged


def voluntary_days_used(periods: Iterable[Period], window_end: dt.date) -> int:
    """Days of voluntary suspension in the 12 months ending with window_end (included).

    Periods are `[start, end)`; `end` None is a suspension still running, counted up to and
    including window_end. The window is 365 or 366 days: (window_end - 12 months, window_end].
    """
    first, stop = _window_start(window_end), window_end + dt.timedelta(days=1)
    total = 0
    for start, end in _merged(periods, window_end):
        total += max(0, (min(end, stop) - max(start, first)).days)
    return total


def _worst_window(periods: list[Period], start: dt.date, end: dt.date) -> tuple[int, dt.date]:
    """The fullest 12-month window that shares a day with [start, end), and its days.

    Counted with one prefix sum over the days involved: calling `voluntary_days_used` for each
    window made a refusal (with its search for the latest end) cost tens of milliseconds.
    """
    one_day = dt.timedelta(days=1)
    window_ends = []
    window_end = start  # the first window to hold a requested day; the last one starts on end - 1
    while _window_start(window_end) < end:
        window_ends.append(window_end)
        window_end += one_day
    base = _window_start(start).toordinal()
    stop = window_ends[-1].toordinal() + 1
    marks = bytearray(stop - base)
    for first, until in [*periods, (start, end)]:
        # an open period counts up to each window's end, and no window ends after `stop`
        low, high = max(first.toordinal(), base), stop if until is None else min(until.toordinal(), stop)
        if low < high:
            marks[low - base:high - base] = b"\x01" * (high - low)
    prefix = list(itertools.accumulate(marks, initial=0))
    worst, worst_end = -1, start
    for window_end in window_ends:
        days = prefix[window_end.toordinal() + 1 - base] - prefix[_window_start(window_end).toordinal() - base]
        if days > worst:
            worst, worst_end = days, window_end
    return worst, worst_end


def _fits(periods: list[Period], start: dt.date, end: dt.date, limit_days: int) -> bool:
    if (end - start).days > limit_days:
        return False  # longer than the limit: its first 12 months alone are too many
    return _worst_window(periods, start, end)[0] <= limit_days


def latest_voluntary_end(periods: Iterable[Period], start: dt.date,
                         limit_days: int = VOLUNTARY_LIMIT_DAYS) -> dt.date | None:
    """The latest end (the day the service works again) of a voluntary suspension from start that
    keeps every 12 months within the limit; None when not even one day fits."""
    existing = list(periods)
    low, high = 1, limit_days  # lengths in days; a longer suspension never fits better
    if high < 1 or not _fits(existing, start, start + dt.timedelta(days=1), limit_days):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(existing, start, start + dt.timedelta(days=middle), limit_days):
            low = middle
        else:
            high = middle - 1
    return start + dt.timedelta(days=low)


def check_voluntary_limit(periods: Iterable[Period], start: dt.date, end: dt.date | None,
                          limit_days: int = VOLUNTARY_LIMIT_DAYS) -> Refusal | None:
    """Refuse a voluntary suspension [start, end) that would put more than limit_days into any
    12 months (a rolling window, checked for every window that shares a day with the request).

    A voluntary suspension must have an end date: the limit can only be kept if the return date
    is known when the hold is placed (the daily job then lifts it on that day).
    """
    if end is None:
        return Refusal("end_date_required", Msg(N_(
            "A voluntary suspension needs an end date: it may last at most %(limit)s days in any 12 months."),
            limit=limit_days))
    if end <= start:
        return Refusal("invalid_period", Msg(N_("A suspension must end after it starts.")))
    if limit_days >= 365:
        return None  # no 12 months can hold more: such a limit never binds
    existing = list(periods)
    if (end - start).days > limit_days:  # refused outright; name the request's first 12 months
        window_end = min(end, add_months(start, 12)) - dt.timedelta(days=1)
        days = voluntary_days_used([*existing, (start, end)], window_end)
    else:
        days, window_end = _worst_window(existing, start, end)
    if days <= limit_days:
        return None
    latest = latest_voluntary_end(existing, start, limit_days)
    if latest is None:
        return Refusal("voluntary_limit_exceeded", Msg(N_(
            "A voluntary suspension may last at most %(limit)s days in any 12 months: the 12 months ending "
            "%(window_end)s would have %(days)s days, and no day is left for a suspension from %(start)s."),
            limit=limit_days, window_end=window_end.isoformat(), days=days, start=start.isoformat()))
    return Refusal("voluntary_limit_exceeded", Msg(N_(
        "A voluntary suspension may last at most %(limit)s days in any 12 months: the 12 months ending "
        "%(window_end)s would have %(days)s days. From %(start)s the service can stay suspended until "
        "%(last_day)s at the latest."),
        limit=limit_days, window_end=window_end.isoformat(), days=days, start=start.isoformat(),
        last_day=(latest - dt.timedelta(days=1)).isoformat()))


# ---------------------------------------------------------------------------------------------
# Termination, commitment and quarantine
# ---------------------------------------------------------------------------------------------


class TerminationReason(enum.StrEnum):
    CUSTOMER_REQUEST = "customer_request"
    END_OF_CONTRACT = "end_of_contract"
    NON_PAYMENT = "non_payment"
    PORTED_OUT = "ported_out"
    DECEASED = "deceased"


DEFAULT_NOTICE_DAYS: Mapping[TerminationReason, int] = MappingProxyType({TerminationReason.CUSTOMER_REQUEST: 8})
QUARANTINE_DAYS = 180
HUF = Decimal("1")


def gross(net: Decimal, vat_rate: Decimal) -> Decimal:
    """What the customer pays: net plus VAT, half-up to whole forints."""
    return (net * (1 + vat_rate / 100)).quantize(HUF, rounding=ROUND_HALF_UP)


def termination_date(requested: dt.date, today: dt.date, reason: str, notice_days: int | None = None) -> dt.date:
    """The effective date of a termination: as requested, but never before today, and for a
    customer's own notice never before today + the notice period (consumer protection: 8 days).

    `notice_days` None takes the default of the reason (8 for customer_request, 0 otherwise);
    a number (the catalogue's setting) overrides it. An unknown reason raises ValueError.
    """
    notice = DEFAULT_NOTICE_DAYS.get(TerminationReason(reason), 0) if notice_days is None else notice_days
    return max(requested, today + dt.timedelta(days=max(0, notice)))


def commitment_end(start: dt.date, months: int) -> dt.date:
    """The first day after a commitment of `months` from start, clamped to month end (31 Jan + 1 = 28 Feb)."""
    if months < 0:
        raise ValueError("a commitment cannot be negative")
    return add_months(start, months)


def early_termination_fee(commitment_end: dt.date | None, effective: dt.date,
                          monthly_discount: Decimal, cap: Decimal) -> Decimal:
    """Leaving a commitment early repays the discount of the remaining full months, at most the cap.

    Full months are `full_months_between(effective, commitment_end)`; outside a commitment
    (None, or effective on or after its end) the fee is zero. HUF, half-up to whole forints.
    """
    if monthly_discount < 0 or cap < 0:
        raise ValueError("discount and cap cannot be negative")
    if commitment_end is None:
        return Decimal(0)
    months = full_months_between(effective, commitment_end)
    return min(monthly_discount * months, cap).quantize(HUF, rounding=ROUND_HALF_UP)


def quarantine_until(terminated_on: dt.date, days: int = QUARANTINE_DAYS) -> dt.date:
    """The first day the pool may hand a terminated number out again."""
    return terminated_on + dt.timedelta(days=days)


# ---------------------------------------------------------------------------------------------
# Plan changes
# ---------------------------------------------------------------------------------------------

ChangeMode = Literal["immediate", "next_period"]


def plan_change_effective(today: dt.date, upgrade: bool, mode: ChangeMode | None) -> dt.date:
    """Upgrades apply at once and downgrades from the next billing period, unless the plan-change
    rule's mode says otherwise (`today` is the Budapest calendar day, see backoffice.clock)."""
    if mode is None:
        mode = "immediate" if upgrade else "next_period"
    return today if mode == "immediate" else first_of_next_month(today)


# ---------------------------------------------------------------------------------------------
# Add-ons
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddOnRule:
    """What the catalogue says about an add-on: where it applies and what it goes with.

    `plans` None means every plan of its kinds; `requires` are add-ons that must all be active;
    `conflicts` hold either way (a conflict declared on one side is enough). `name` is what
    messages show (the catalogue's name in the reader's language).
    """

    code: str
    kinds: frozenset[str]
    plans: frozenset[str] | None = None
    exclusive_group: str | None = None
    requires: frozenset[str] = frozenset()
    conflicts: frozenset[str] = frozenset()
    portal: bool = False
    name: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        """The name to show in a message; the code when the catalogue gave none."""
        return self.name or self.code


def _label(code: str, catalogue: Mapping[str, AddOnRule]) -> str:
    rule = catalogue.get(code)
    return rule.label if rule is not None else code


def _labels(codes: Iterable[str], catalogue: Mapping[str, AddOnRule]) -> str:
    return ", ".join(sorted(_label(code, catalogue) for code in codes))


def check_addon(rule: AddOnRule, *, kind: str, plan: str, active_addons: frozenset[str],
                catalogue: Mapping[str, AddOnRule], by_portal: bool = False) -> Refusal | None:
    """Refuse adding an add-on that is already there, does not apply, is not offered in the portal,
    shares an exclusive group with an active one, misses a prerequisite or conflicts with one."""
    name = rule.label
    if rule.code in active_addons:
        return Refusal("addon_already_active", Msg(N_("%(addon)s is already on this service."), addon=name))
    if kind not in rule.kinds:
        return Refusal("addon_not_applicable",
                       Msg(N_("%(addon)s is not available for this kind of service."), addon=name))
    if rule.plans is not None and plan not in rule.plans:
        return Refusal("addon_not_applicable",
                       Msg(N_("%(addon)s is not available on this service's plan."), addon=name))
    if by_portal and not rule.portal:
        return Refusal("not_in_portal", Msg(N_(
            "%(addon)s cannot be added in the portal: please call customer service."), addon=name))
    return _check_company(rule, active_addons, catalogue)


def _check_company(rule: AddOnRule, active: frozenset[str], catalogue: Mapping[str, AddOnRule]) -> Refusal | None:
    """The add-on against those already on the service: group, prerequisites, conflicts."""
    name = rule.label
    if rule.exclusive_group is not None:
        rivals = {c for c in active if c in catalogue and catalogue[c].exclusive_group == rule.exclusive_group}
        if rivals:
            return Refusal("addon_exclusive", Msg(N_(
                "Only one add-on of this kind at a time: remove %(other)s before adding %(addon)s."),
                other=_labels(rivals, catalogue), addon=name))
    missing = rule.requires - active
    if missing:
        return Refusal("addon_prerequisite_missing", Msg(N_("%(addon)s needs %(missing)s on the service first."),
                                                         addon=name, missing=_labels(missing, catalogue)))
    clashes = (rule.conflicts & active) | {c for c in active if c in catalogue and rule.code in catalogue[c].conflicts}
    if clashes:
        return Refusal("addon_conflict", Msg(N_("%(addon)s cannot be combined with %(other)s."),
                                             addon=name, other=_labels(clashes, catalogue)))
    return None


def check_addon_removal(code: str, active_addons: frozenset[str], catalogue: Mapping[str, AddOnRule],
                        *, by_portal: bool = False) -> Refusal | None:
    """Refuse removing an add-on that is not there, that the portal may not remove, or that
    another active add-on needs (remove that one first)."""
    name = _label(code, catalogue)
    if code not in active_addons:
        return Refusal("addon_not_active", Msg(N_("%(addon)s is not on this service."), addon=name))
    rule = catalogue.get(code)
    if by_portal and not (rule is not None and rule.portal):
        return Refusal("not_in_portal", Msg(N_(
            "%(addon)s cannot be removed in the portal: please call customer service."), addon=name))
    dependants = {c for c in active_addons - {code} if c in catalogue and code in catalogue[c].requires}
    if dependants:
        return Refusal("addon_required", Msg(N_("%(addon)s cannot be removed while %(other)s, which needs it, "
                                                "is on this service."),
                                             addon=name, other=_labels(dependants, catalogue)))
    return None
