"""Billing arithmetic, pure: money rounding and VAT, the billing period, day-based proration of
recurring fees from the dated intervals Subscriptions records, usage rating, anomalies.

Money is Decimal HUF. A line's net is rounded half-up to whole forints; VAT is computed per rate
on the summed net of an invoice and rounded half-up; gross = net + VAT (PRODUCT.md, Billing).
Every interval is half-open `[start, end)`, end None while it runs."""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

HUF = Decimal(1)
CENT = Decimal("0.01")
DUE_DAYS = 15
ANOMALY_FACTOR = Decimal(3)


def round_huf(amount: Decimal) -> Decimal:
    """Half-up to whole forints (away from zero for a negative amount: -0.5 → -1)."""
    return amount.quantize(HUF, rounding=ROUND_HALF_UP)


def vat_of(net: Decimal, rate: Decimal) -> Decimal:
    return round_huf(net * rate / 100)


# ---------------------------------------------------------------------------------------------
# The billing period
# ---------------------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month in Europe/Budapest: the days `[start, end)`."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """`2026-10`; ValueError for anything else (the callers turn it into a field message)."""
        match = _PERIOD.match(text.strip())
        if not match:
            raise ValueError("period must look like 2026-10")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12 or not 2000 <= year <= 2999:
            raise ValueError("no such month")
        return cls(year, month)

    @classmethod
    def of(cls, day: dt.date) -> Period:
        return cls(day.year, day.month)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def end(self) -> dt.date:
        """The first day after the period."""
        return self.next().start

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def prorate(monthly: Decimal, days: int, period: Period) -> Decimal:
    """A monthly price for `days` days of the period, rounded to whole forints."""
    return round_huf(monthly * days / period.days)


def due_date(issue_date: dt.date, days: int = DUE_DAYS) -> dt.date:
    return issue_date + dt.timedelta(days=days)


def invoice_number(year: int, sequence: int) -> str:
    """Gap-free per year: `INV-2026-0000001`."""
    return f"INV-{year:04d}-{sequence:07d}"


# ---------------------------------------------------------------------------------------------
# Recurring charges
# ---------------------------------------------------------------------------------------------


class DayMode(enum.Enum):
    """What a service day costs. Several holds at once: the most chargeable rule applies, since
    each hold alone would cost that much (a lost SIM billed in full stays billed in full while
    a voluntary suspension also holds)."""

    NONE = 0
    SUSPENSION_FEE = 1
    FULL = 2


HOLD_MODES = {"full": DayMode.FULL, "suspension_fee": DayMode.SUSPENSION_FEE, "none": DayMode.NONE}


class ChargeKind(enum.StrEnum):
    PLAN = "plan"  # the plan's monthly fee for active (or fully billed suspended) days
    DISCOUNT = "discount"  # the commitment discount on those days (negative)
    SUSPENSION = "suspension"  # the plan's suspension fee for suspended days
    ADDON = "addon"  # a monthly add-on's price for the days it was on and the service billed in full
    FEE = "fee"  # a one-off fee
    USAGE = "usage"  # usage beyond the allowances, in arrears


KIND_ORDER = {kind: i for i, kind in enumerate(ChargeKind)}


@dataclass(frozen=True)
class Dated:
    """One dated fact about a service: `value` holds over `[start, end)`."""

    value: object
    start: dt.date
    end: dt.date | None


@dataclass(frozen=True)
class PlanPrice:
    plan_id: int
    monthly_fee: Decimal
    suspension_fee: Decimal
    commitment_discount: Decimal
    vat_rate: Decimal


@dataclass(frozen=True)
class AddOnPrice:
    addon_id: int
    price: Decimal
    vat_rate: Decimal
    recurring: bool = True


@dataclass(frozen=True)
class ServiceHistory:
    """What billing reads about one service: states (`"active"`, `"suspended"`, ...), plan ids,
    hold billing rules (`"full"`, `"suspension_fee"`, `"none"`), add-on ids, paying billing
    account ids, and the days bound by a commitment (value ignored) — each as dated facts."""

    service_id: int
    states: Sequence[Dated]
    plans: Sequence[Dated]
    payers: Sequence[Dated]
    holds: Sequence[Dated] = ()
    addons: Sequence[Dated] = ()
    commitments: Sequence[Dated] = ()


@dataclass(frozen=True)
class Charge:
    """One recurring line before it is stored: `monthly` for `days` of `[start, end)`."""

    billing_account_id: int
    service_id: int
    kind: ChargeKind
    item_id: int  # the plan or add-on
    start: dt.date
    end: dt.date
    days: int
    monthly: Decimal
    net: Decimal
    vat_rate: Decimal


def _value_on(facts: Sequence[Dated], day: dt.date) -> object | None:
    for fact in facts:
        if fact.start <= day and (fact.end is None or day < fact.end):
            return fact.value
    return None


def _values_on(facts: Sequence[Dated], day: dt.date) -> list[object]:
    """Every fact holding on `day` (a fact's value may itself be None: it is still listed)."""
    return [f.value for f in facts if f.start <= day and (f.end is None or day < f.end)]


def _boundaries(history: ServiceHistory, period: Period) -> list[dt.date]:
    points = {period.start, period.end}
    for facts in (history.states, history.plans, history.payers, history.holds, history.addons,
                  history.commitments):
        for fact in facts:
            for point in (fact.start, fact.end):
                if point is not None and period.start < point < period.end:
                    points.add(point)
    return sorted(points)


def day_mode(state: object, hold_rules: Iterable[object]) -> DayMode:
    if state == "active":
        return DayMode.FULL
    if state == "suspended":
        modes = [HOLD_MODES.get(str(rule), DayMode.SUSPENSION_FEE) for rule in hold_rules]
        # Suspended without a recorded hold: the default rule, the plan's suspension fee.
        return max(modes, key=lambda m: m.value) if modes else DayMode.SUSPENSION_FEE
    return DayMode.NONE  # ordered, terminated, cancelled: nothing to charge


@dataclass
class _Open:
    key: tuple[int, ChargeKind, int, Decimal, Decimal]
    start: dt.date
    end: dt.date
    days: int = 0


@dataclass
class _Collector:
    period: Period
    done: list[_Open] = field(default_factory=list)
    open: dict[tuple[int, ChargeKind, int, Decimal, Decimal], _Open] = field(default_factory=dict)

    def add(self, key: tuple[int, ChargeKind, int, Decimal, Decimal], start: dt.date, end: dt.date) -> None:
        run = self.open.get(key)
        if run is not None and run.end == start:  # continues the same line
            run.end = end
            run.days += (end - start).days
            return
        run = _Open(key, start, end, (end - start).days)
        self.open[key] = run
        self.done.append(run)


def recurring_charges(history: ServiceHistory, period: Period, plans: Mapping[int, PlanPrice],
                      addons: Mapping[int, AddOnPrice]) -> list[Charge]:
    """Day-based proration of one service's recurring fees over the period, split by the payer in
    force each day. The month is cut wherever a state, plan, hold, add-on, payer or commitment
    changes; consecutive days priced alike form one line, rounded on its own."""
    lines = _Collector(period)
    points = _boundaries(history, period)
    for start, end in itertools.pairwise(points):
        payer = _value_on(history.payers, start)
        plan_id = _value_on(history.plans, start)
        if payer is None or plan_id is None:
            continue
        plan = plans[int(plan_id)]  # type: ignore[call-overload]
        account = int(payer)  # type: ignore[call-overload]
        mode = day_mode(_value_on(history.states, start), _values_on(history.holds, start))
        if mode is DayMode.FULL:
            lines.add((account, ChargeKind.PLAN, plan.plan_id, plan.monthly_fee, plan.vat_rate), start, end)
            if plan.commitment_discount and _values_on(history.commitments, start):
                lines.add((account, ChargeKind.DISCOUNT, plan.plan_id, -plan.commitment_discount, plan.vat_rate),
                          start, end)
            for addon_id in sorted(int(a) for a in _values_on(history.addons, start)):  # type: ignore[call-overload]
                addon = addons[addon_id]
                if addon.recurring and addon.price:
                    lines.add((account, ChargeKind.ADDON, addon_id, addon.price, addon.vat_rate), start, end)
        elif mode is DayMode.SUSPENSION_FEE and plan.suspension_fee:
            lines.add((account, ChargeKind.SUSPENSION, plan.plan_id, plan.suspension_fee, plan.vat_rate), start, end)
    charges = [
        Charge(run.key[0], history.service_id, run.key[1], run.key[2], run.start, run.end, run.days,
               run.key[3], prorate(run.key[3], run.days, period), run.key[4])
        for run in lines.done
    ]
    return sorted(charges, key=lambda c: (c.billing_account_id, KIND_ORDER[c.kind], c.item_id, c.start))


# ---------------------------------------------------------------------------------------------
# Usage rating
# ---------------------------------------------------------------------------------------------


class UsageType(enum.StrEnum):
    VOICE = "voice"
    SMS = "sms"
    DATA = "data"
    ROAMING_VOICE = "roaming_voice"
    ROAMING_DATA = "roaming_data"


class VoiceRounding(enum.StrEnum):
    PER_MINUTE = "per_started_minute"
    PER_SECOND = "per_second_after_first_minute"


# Usage is counted in whole base units so that sums are exact: seconds for voice, pieces for SMS,
# kilobytes (1,024 bytes, each session rounded up) for data. Prices and allowances are per
# minute, per SMS and per MB (1,024 KB).
BASE_PER_PRICED_UNIT = {
    UsageType.VOICE: 60, UsageType.ROAMING_VOICE: 60, UsageType.SMS: 1,
    UsageType.DATA: 1024, UsageType.ROAMING_DATA: 1024,
}
KB = 1024


def billable_units(kind: UsageType, quantity: int, rounding: str) -> int:
    """The base units a record counts for: a call rounded per started minute, or per second
    after a full first minute; an unanswered (0 s) call costs nothing; data rounded up to KB."""
    if kind in (UsageType.VOICE, UsageType.ROAMING_VOICE):
        if quantity <= 0:
            return 0
        if rounding == VoiceRounding.PER_SECOND.value:
            return max(quantity, 60)
        return -(-quantity // 60) * 60
    if kind in (UsageType.DATA, UsageType.ROAMING_DATA):
        return -(-quantity // KB)
    return quantity  # SMS: pieces


@dataclass(frozen=True)
class Tariff:
    """A plan's usage prices (per minute / SMS / MB) and monthly allowances (None: unlimited,
    0: none included). Roaming is never inside the allowances."""

    voice_rounding: str
    price_per_minute: Decimal
    price_per_sms: Decimal
    price_per_mb: Decimal
    roaming_price_per_minute: Decimal
    roaming_price_per_mb: Decimal
    included_minutes: int | None
    included_sms: int | None
    included_data_mb: int | None

    def price(self, kind: UsageType) -> Decimal:
        return {
            UsageType.VOICE: self.price_per_minute, UsageType.SMS: self.price_per_sms,
            UsageType.DATA: self.price_per_mb, UsageType.ROAMING_VOICE: self.roaming_price_per_minute,
            UsageType.ROAMING_DATA: self.roaming_price_per_mb,
        }[kind]

    def allowance(self, kind: UsageType) -> int | None:
        """The month's allowance in base units; None unlimited."""
        included = {UsageType.VOICE: self.included_minutes, UsageType.SMS: self.included_sms,
                    UsageType.DATA: self.included_data_mb}.get(kind, 0)
        return None if included is None else included * BASE_PER_PRICED_UNIT[kind]


@dataclass(frozen=True)
class Rated:
    units: int  # billable base units
    included: int  # of which inside the allowance
    charged: int  # of which charged
    amount: Decimal  # net, to the fillér (the invoice line rounds the sum)


def usage_amount(kind: UsageType, charged_units: int, price: Decimal) -> Decimal:
    return (Decimal(charged_units) * price / BASE_PER_PRICED_UNIT[kind]).quantize(CENT, rounding=ROUND_HALF_UP)


def rate(kind: UsageType, units: int, used_before: int, tariff: Tariff) -> Rated:
    """Rate one record given the base units of the same kind already used this month under this
    plan: the allowance is consumed first, the rest is charged at the unit price."""
    return rate_against(kind, units, used_before, tariff.allowance(kind), tariff.price(kind))


def rate_against(kind: UsageType, units: int, used_before: int, allowance: int | None, price: Decimal) -> Rated:
    """`rate` with the plan's allowance (None: unlimited) and unit price already looked up."""
    if allowance is None:
        return Rated(units, units, 0, Decimal("0.00"))
    included = min(units, max(0, allowance - used_before))
    charged = units - included
    return Rated(units, included, charged, usage_amount(kind, charged, price) if charged else Decimal("0.00"))


def usage_line_net(kind: UsageType, charged_units: int, price: Decimal) -> Decimal:
    """An invoice's usage line: the summed charged units at the unit price, to whole forints."""
    return round_huf(Decimal(charged_units) * price / BASE_PER_PRICED_UNIT[kind])


def priced_quantity(kind: UsageType, units: int) -> Decimal:
    """Base units in the priced unit (minutes, SMS, MB), to two decimals for the invoice."""
    return (Decimal(units) / BASE_PER_PRICED_UNIT[kind]).quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------
# Invoice totals and anomalies
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VatTotal:
    rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


def vat_totals(lines: Iterable[tuple[Decimal, Decimal]]) -> list[VatTotal]:
    """Per VAT rate: the summed net of the lines `(net, rate)`, VAT on that sum, gross; highest rate first."""
    nets: dict[Decimal, Decimal] = {}
    for net, rate_ in lines:
        key = rate_.normalize() + 0  # 27, 27.0 and 27.00 are one rate
        nets[key] = nets.get(key, Decimal(0)) + net
    totals = []
    for rate_, net in sorted(nets.items(), reverse=True):
        vat = vat_of(net, rate_)
        totals.append(VatTotal(rate_.quantize(CENT), net, vat, net + vat))
    return totals


def is_anomaly(gross: Decimal, average: Decimal | None, factor: Decimal = ANOMALY_FACTOR) -> bool:
    """Billed more than `factor` times the account's average invoice (no history: nothing to compare)."""
    return average is not None and average > 0 and gross > factor * average
