"""Demo contracts and services for the seeded customers, the same for the same seed.

Each customer gets what a Hungarian household or firm has: individuals one to three SIMs and often
internet, cable TV or a fixed line at their address, organisations several SIMs. Most services
are active since one to three years ago; some are suspended (a voluntary suspension with its
planned end, non-payment, a lost SIM), some terminated (their numbers in quarantine), a few only
ordered; some changed plan, swapped a SIM or carry add-ons. The rows are what the lifecycle
services would have written for that history — state, plan, contract and payer intervals, holds,
add-ons, one-off fees, SIM cards, history events, pending actions, the number pool — so the real
services work on them afterwards.

Like customers/seed.py it writes a chunk of customers per transaction, one executemany per table,
with the ids other rows point at allocated up front: 200,000 services for 100,000 customers take
about 40 s of one core. What to give whom is drawn for every customer first, so that the pool can be
topped up with the numbers needed and contract numbers follow the contracts' start dates.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stdnum import luhn

from backoffice import audit, clock
from backoffice.db import transaction, upsert_insert, utcnow
from backoffice.numbering import reserve_block
from backoffice.subscriptions import rules
from backoffice.subscriptions.contracts import format_contract_number
from backoffice.subscriptions.lifecycle import EARLY_TERMINATION
from backoffice.subscriptions.models import (
    AddOn,
    Contract,
    ContractPayerInterval,
    ContractStatus,
    NumberKind,
    NumberStatus,
    OneOffFee,
    PendingAction,
    PendingStatus,
    Plan,
    PlanChangeRule,
    PoolNumber,
    Service,
    ServiceAddOn,
    ServiceContractInterval,
    ServiceEvent,
    ServiceFee,
    ServiceHold,
    ServiceKind,
    ServicePlanInterval,
    ServiceStateInterval,
    SimCard,
    SuspensionReason,
    TerminationReason,
)
from backoffice.subscriptions.rules import ServiceState

SIM, FIXED, CABLE, NET = (k.value for k in ServiceKind)
ORDERED, ACTIVE, SUSPENDED, CANCELLED, TERMINATED = (s.value for s in ServiceState)
ACTOR = "seed"  # the history's agent, as the customer seed's contact log names it
SYSTEM = "system"  # lifecycle.SYSTEM_ACTOR: the daily job and dunning
CHUNK = 5000  # customers per transaction
DAY = dt.timedelta(days=1)

# Plan codes of the demo catalogue with their weights; other active plans of a kind get weight 1.
PLAN_WEIGHTS: dict[str, int] = {
    "sim_start": 45, "sim_plusz": 40, "sim_korlatlan": 15, "vonal_alap": 60, "vonal_beszelo": 40,
    "tv_alap": 55, "tv_csalad": 45, "net_100": 35, "net_500": 45, "net_1000": 20,
}
# Add-ons tried per kind, in this order (prerequisites first), with the share that has them.
ADDON_RECIPES: dict[str, tuple[tuple[str, float], ...]] = {
    SIM: (("data_5gb", 0.10), ("data_20gb", 0.07), ("eu_roaming", 0.09), ("voicemail", 0.07),
          ("caller_id", 0.04), ("call_forwarding", 0.02)),
    FIXED: (("caller_id", 0.30), ("voicemail", 0.12), ("call_waiting", 0.08)),
    CABLE: (("hd_stb", 0.40), ("hbo_pack", 0.30), ("sport_pack", 0.15), ("extra_stb", 0.08)),
    NET: (("static_ip", 0.05), ("speed_boost", 0.10)),
}
COMMITMENTS = ((0, 12, 24), (35, 25, 40))
ORG_COMMITMENTS = ((0, 12, 24), (20, 20, 60))
TERMINATIONS = (("customer_request", 70), ("ported_out", 15), ("non_payment", 12), ("deceased", 3))
ACCESS = (("fibre", "cable", "dsl"), (50, 35, 15))
CPE_OUIS = ("3c:a6:2f", "e0:28:6d", "cc:ce:1e", "a0:b5:49", "f0:86:20")

# Geographic numbers by the first digit of the installation's postal code: Budapest (1), and one
# area code for each other postal region (Szentendre, Miskolc, Debrecen, Szolnok, Szeged, Pécs,
# Veszprém, Győr) — close enough for demo data.
AREA_BY_POSTAL = {"1": "1", "2": "26", "3": "46", "4": "52", "5": "56", "6": "62", "7": "72", "8": "88", "9": "96"}
MOBILE_BLOCK = 100_000
LOAD_STEP = 1_000  # the pool is topped up by ranges of whole thousands
MOBILE_PREFIXES = ("70", "20")


Fee = tuple[str, str, str, Decimal, Decimal]  # code, Hungarian and English name, net amount, VAT rate


@dataclass
class _Customer:
    party_id: int
    organisation: bool
    created: dt.date
    account_id: int
    address: dict[str, Any]


@dataclass
class _Contract:
    customer: _Customer
    commitment: int
    start: dt.date
    kinds: list[str]
    sequence: int = 0  # the contract number's value


@dataclass
class _Catalogue:
    plans: dict[str, list[tuple[Any, int]]]  # kind -> (plan row, weight)
    upgrades: dict[int, list[Any]]  # plan id -> plans it may change to at once, dearer
    addons: dict[str, Any]  # code -> AddOn
    addon_rules: dict[str, rules.AddOnRule]
    suspension: dict[str, Any]  # code -> SuspensionReason
    termination: dict[str, Any]  # code -> TerminationReason
    fees: dict[str, Fee]  # code -> the one-off fee (active, non-zero)


@dataclass
class SeededSubscriptions:
    contracts: int = 0
    services: int = 0


@dataclass
class _Rows:
    """One chunk's rows per table, in the order they are inserted (foreign keys first)."""

    contracts: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    sims: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    contract_intervals: list[dict[str, Any]] = field(default_factory=list)
    payers: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    addons: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    fees: list[dict[str, Any]] = field(default_factory=list)  # event_id: an index into events until ids are known
    pending: list[dict[str, Any]] = field(default_factory=list)
    pool: list[dict[str, Any]] = field(default_factory=list)  # updates of pool rows

    def tables(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        return [(Contract, self.contracts), (Service, self.services), (SimCard, self.sims),
                (ServiceStateInterval, self.states), (ServicePlanInterval, self.plans),
                (ServiceContractInterval, self.contract_intervals), (ContractPayerInterval, self.payers),
                (PendingAction, self.pending), (ServiceHold, self.holds), (ServiceAddOn, self.addons),
                (ServiceEvent, self.events), (ServiceFee, self.fees)]


# ---------------------------------------------------------------- identifiers


def _scramble(value: int, multiplier: int, modulus: int) -> int:
    """A bijection on [0, modulus): distinct inputs give distinct, random-looking outputs."""
    return (value * multiplier + 7_919) % modulus


def iccid_for(service_id: int, card: int) -> str:
    """The ICCID of a service's `card`-th SIM (89 36 30 …, Luhn): unique because service ids are."""
    body = f"893630{_scramble(service_id * 10 + card, 7_654_321_039, 10**12):012d}"
    return body + luhn.calc_check_digit(body)


def imsi_for(service_id: int, card: int) -> str:
    return f"21630{_scramble(service_id * 10 + card, 3_141_592_653, 10**10):010d}"


def _mac(rng: random.Random) -> str:
    tail = rng.getrandbits(24)
    return f"{rng.choice(CPE_OUIS)}:{tail >> 16:02x}:{(tail >> 8) & 0xFF:02x}:{tail & 0xFF:02x}"


def _area(service_address: dict[str, Any]) -> str:
    return AREA_BY_POSTAL.get(str(service_address.get("postal_code") or "1")[:1], "1")


def _group(number: str) -> str:
    """Which pool group a number serves: "mobile", or the area code of a geographic number."""
    return "1" if number[3] == "1" else number[3:5]


# ---------------------------------------------------------------- reading what is there


async def _customers(session: AsyncSession, after_party_id: int) -> list[_Customer]:
    """Customers (past `after_party_id`) without a contract yet, with their first open billing
    account and registered address, in id order."""
    from backoffice.customers.models import Address, BillingAccount, Party

    has_contract = select(Contract.id).where(Contract.subscriber_id == Party.id).exists()
    parties = (await session.execute(
        select(Party.id, Party.kind, Party.created_at)
        .where(Party.id > after_party_id, ~has_contract).order_by(Party.id))).all()
    if not parties:
        return []
    low = parties[0][0]
    accounts: dict[int, int] = {}
    for payer_id, account_id in await session.execute(
            select(BillingAccount.payer_id, func.min(BillingAccount.id))
            .where(BillingAccount.payer_id >= low, BillingAccount.is_closed.is_(False))
            .group_by(BillingAccount.payer_id)):
        accounts[payer_id] = account_id
    addresses: dict[int, dict[str, Any]] = {}
    for row in await session.execute(
            select(Address.party_id, Address.postal_code, Address.locality, Address.street, Address.house_number,
                   Address.floor_door)
            .where(Address.party_id >= low, Address.purpose == "registered").order_by(Address.id)):
        addresses.setdefault(row[0], {"postal_code": row[1], "locality": row[2], "street": row[3],
                                      "house_number": row[4], "floor_door": row[5]})
    out = []
    for party_id, kind, created in parties:
        if party_id in accounts:  # no billing account, no contract
            out.append(_Customer(party_id, kind == "organisation", created.date(), accounts[party_id],
                                 addresses.get(party_id, {})))
    return out


async def _catalogue(session: AsyncSession) -> _Catalogue:
    plans: dict[str, list[tuple[Any, int]]] = {}
    by_id = {}
    for plan in await session.scalars(select(Plan).where(Plan.active.is_(True)).order_by(Plan.sort_order, Plan.id)):
        plans.setdefault(plan.kind, []).append((plan, PLAN_WEIGHTS.get(plan.code, 1)))
        by_id[plan.id] = plan
    upgrades: dict[int, list[Any]] = {}
    for rule in await session.scalars(select(PlanChangeRule).order_by(PlanChangeRule.id)):
        low, high = by_id.get(rule.from_plan_id), by_id.get(rule.to_plan_id)
        if low is not None and high is not None and rule.mode == "immediate" and high.monthly_fee > low.monthly_fee:
            upgrades.setdefault(low.id, []).append(high)
    addons = {a.code: a for a in await session.scalars(select(AddOn).where(AddOn.active.is_(True)))}
    addon_rules = {a.code: rules.AddOnRule(
        code=a.code, kinds=frozenset(a.kinds), plans=None if a.plan_codes is None else frozenset(a.plan_codes),
        exclusive_group=a.exclusive_group, requires=frozenset(a.requires), conflicts=frozenset(a.conflicts),
        portal=a.portal, name=a.name_hu) for a in addons.values()}
    suspension = {r.code: r for r in await session.scalars(select(SuspensionReason))}
    termination = {r.code: r for r in await session.scalars(select(TerminationReason))}
    fees = {f.code: (f.code, f.name_hu, f.name_en, f.amount, f.vat_rate)
            for f in await session.scalars(select(OneOffFee).where(OneOffFee.active.is_(True))) if f.amount}
    return _Catalogue(plans, upgrades, addons, addon_rules, suspension, termination, fees)


# ---------------------------------------------------------------- the plan: who has what


def _start(rng: random.Random, created: dt.date, today: dt.date) -> dt.date:
    """A contract's first day: mostly one to three years ago, some within the year, a few days ago."""
    r = rng.random()
    days = rng.randint(365, 3 * 365) if r < 0.8 else rng.randint(30, 364) if r < 0.99 else rng.randint(0, 14)
    start = today - dt.timedelta(days=days)
    if start <= created:  # not before the customer existed
        start = min(today, created + dt.timedelta(days=rng.randint(1, 60)))
    return start


def _plan_customer(rng: random.Random, customer: _Customer, today: dt.date) -> list[_Contract]:
    if customer.organisation:
        kinds = [SIM] * rng.randint(2, 5)
        if rng.random() < 0.5:
            kinds.append(NET)
        if rng.random() < 0.35:
            kinds.append(FIXED)
        commitment = rng.choices(*ORG_COMMITMENTS)[0]
        return [_Contract(customer, commitment, _start(rng, customer.created, today), kinds)]
    r = rng.random()
    sims = 0 if r < 0.08 else 1 if r < 0.70 else 2 if r < 0.94 else 3
    home = []
    if rng.random() < 0.27:
        home.append(NET)
    if rng.random() < (0.33 if home else 0.05):
        home.append(CABLE)
    if rng.random() < 0.07:
        home.append(FIXED)
    if not sims and not home:
        home.append(rng.choice((NET, CABLE)))
    if sims and home and rng.random() < 0.7:  # the phones and the home on contracts of their own
        return [_Contract(customer, rng.choices(*COMMITMENTS)[0], _start(rng, customer.created, today), [SIM] * sims),
                _Contract(customer, rng.choices(*COMMITMENTS)[0], _start(rng, customer.created, today), home)]
    return [_Contract(customer, rng.choices(*COMMITMENTS)[0], _start(rng, customer.created, today),
                      [SIM] * sims + home)]


# ---------------------------------------------------------------- the number pool


def _number_ranges(group: str) -> Iterator[tuple[str, int, int]]:
    """The operator's further ranges for a group, in the order they are opened: (kind, first, last)."""
    if group == "mobile":
        for index in range(40):  # up to four million numbers, +36 70 1… and +36 20 1… in turn
            prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
            first = int(f"36{prefix}1000000") + (index // len(MOBILE_PREFIXES)) * MOBILE_BLOCK
            yield NumberKind.MOBILE.value, first, first + MOBILE_BLOCK - 1
    elif group == "1":
        yield NumberKind.GEOGRAPHIC.value, 3612000000, 3612999999  # Budapest: +36 1 2xx xxxx
    else:
        yield NumberKind.GEOGRAPHIC.value, int(f"36{group}400000"), int(f"36{group}499999")  # +36 62 4xx xxx


async def _free_numbers(session: AsyncSession, today: dt.date) -> dict[str, list[tuple[int, str]]]:
    """Free numbers (available, or out of quarantine) per group, lowest first — the order in
    which `services.allocate` hands them out."""
    free = (PoolNumber.status == NumberStatus.AVAILABLE.value) | (
        (PoolNumber.status == NumberStatus.QUARANTINE.value) & (PoolNumber.quarantine_until <= today))
    groups: dict[str, list[tuple[int, str]]] = {}
    for pool_id, number, kind in await session.execute(
            select(PoolNumber.id, PoolNumber.number, PoolNumber.kind).where(free).order_by(PoolNumber.number)):
        key = "mobile" if kind == NumberKind.MOBILE.value else _group(number)
        groups.setdefault(key, []).append((pool_id, number))
    return groups


async def _enough_numbers(session: AsyncSession, needed: dict[str, int],
                          today: dt.date) -> dict[str, list[tuple[int, str]]]:
    """Load the operator's further ranges until every group has the numbers the plan needs, in
    steps of a thousand (what `backoffice numbers load` does, with its checks, one executemany a range)."""
    from backoffice.subscriptions.services import parse_range

    ranges = {group: _number_ranges(group) for group in needed}
    segments: dict[str, tuple[str, int, int]] = {}  # what is left of each group's current range
    insert = upsert_insert(session)(PoolNumber).on_conflict_do_nothing(index_elements=["number"])
    now = utcnow()
    while True:
        free = await _free_numbers(session, today)
        short = {group: count - len(free.get(group, [])) for group, count in needed.items()}
        if all(missing <= 0 for missing in short.values()):
            return free
        for group, missing in sorted(short.items()):
            missing = -(-missing // LOAD_STEP) * LOAD_STEP
            while missing > 0:
                if group not in segments or segments[group][1] > segments[group][2]:
                    segment = next(ranges[group], None)
                    if segment is None:
                        raise RuntimeError(f"the demo ranges for {group} numbers are exhausted")
                    segments[group] = segment
                kind, low, high = segments[group]
                last = min(high, low + missing - 1)
                numbers = parse_range(kind, f"+{low}", f"+{last}")  # the load command's own checks
                await session.execute(insert, [{"number": n, "kind": kind, "status": NumberStatus.AVAILABLE.value,
                                                "loaded_at": now} for n in numbers])
                await audit.record(session, None, "numbers.loaded", "number_range", f"{numbers[0]}..{numbers[-1]}",
                                   after={"kind": kind, "first": numbers[0], "last": numbers[-1]})
                segments[group] = (kind, last + 1, high)
                missing -= len(numbers)


# ---------------------------------------------------------------- ids


async def _ids(session: AsyncSession, table: str, count: int) -> list[int]:
    """Ids for `count` rows of `table`, taken so that no concurrent writer gets the same ones."""
    if count == 0:
        return []
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        rows = await session.scalars(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": count})
        return sorted(int(i) for i in rows)
    # SQLite: the transaction began with BEGIN IMMEDIATE, so it holds the write lock and
    # max(id) + 1... are the ids SQLite itself would hand out next.
    top = await session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}"))
    return list(range(int(top or 0) + 1, int(top or 0) + 1 + count))


# ---------------------------------------------------------------- one service's history


def _at(day: dt.date, rng: random.Random, now: dt.datetime) -> dt.datetime:
    """A moment in office hours (Budapest) of `day`, never in the future."""
    moment = dt.datetime(day.year, day.month, day.day, 6, tzinfo=dt.UTC) + dt.timedelta(
        seconds=rng.randrange(10 * 3600))
    return min(moment, now)


def _between(rng: random.Random, low: dt.date, high: dt.date) -> dt.date:
    """A day in [low, high]."""
    return low + dt.timedelta(days=rng.randint(0, max(0, (high - low).days)))


@dataclass
class _Event:
    day: dt.date
    order: int  # same-day events in the order they happened
    action: str
    actor: str
    details: dict[str, Any]
    at: dt.datetime
    fees: list[Fee] = field(default_factory=list)
    pending: int | None = None  # index of the pending action named in details["pending_id"]


class _Builder:
    """Draws one chunk's contracts and services and collects their rows."""

    def __init__(self, rng: random.Random, cat: _Catalogue, today: dt.date, now: dt.datetime,
                 numbers: dict[str, list[tuple[int, str]]], used: dict[str, int]) -> None:
        self.rng, self.cat, self.today, self.now = rng, cat, today, now
        self.numbers, self.used = numbers, used
        self.rows = _Rows()
        self.service_count = 0

    @staticmethod
    def quarantine_until(ended: dt.date) -> dt.date:
        """As `services.quarantine` sets it: the installation's quarantine from the termination."""
        from backoffice.subscriptions import services

        return rules.quarantine_until(ended, services.QUARANTINE_DAYS)

    def _number(self, group: str) -> tuple[int, str]:
        index = self.used.get(group, 0)
        self.used[group] = index + 1
        return self.numbers[group][index]

    def _plan(self, kind: str) -> Any:
        options = self.cat.plans[kind]
        return self.rng.choices([p for p, _ in options], [w for _, w in options])[0]

    def contract(self, plan: _Contract, contract_id: int, service_ids: Sequence[int]) -> None:
        rng, today = self.rng, self.today
        kinds = [k for k in plan.kinds if k in self.cat.plans]
        # First when each service was ordered and activated (or cancelled before it was): the
        # first activation starts the commitment, which the rest of the history needs.
        starts = []
        for index, kind in enumerate(kinds):
            ordered = plan.start
            if index and rng.random() < 0.2 and (today - plan.start).days > 60:  # added to the contract later
                ordered = _between(rng, plan.start + dt.timedelta(days=30), today - dt.timedelta(days=30))
            delay = (0 if rng.random() < 0.4 else rng.randint(1, 3)) if kind == SIM else rng.randint(3, 14)
            activated: dt.date | None = ordered + dt.timedelta(days=delay)
            cancelled = None
            if activated is not None and activated > today:
                activated = None
            elif rng.random() < 0.005 and (today - ordered).days > 10:
                activated, cancelled = None, ordered + dt.timedelta(days=rng.randint(1, 5))
            starts.append((kind, ordered, activated, cancelled))
        activations = [a for _, _, a, _ in starts if a is not None]
        commitment_end = (rules.commitment_end(min(activations), plan.commitment)
                          if plan.commitment and activations else None)
        services = [self.service(service_id, contract_id, plan.customer, kind, ordered, activated, cancelled,
                                 commitment_end)
                    for service_id, (kind, ordered, activated, cancelled) in zip(service_ids, starts, strict=True)]
        ended = bool(services) and all(s["state"] in (TERMINATED, CANCELLED) for s in services)
        created = _at(plan.start, rng, self.now)
        self.rows.contracts.append({
            "id": contract_id, "number": format_contract_number(plan.sequence),
            "subscriber_id": plan.customer.party_id, "billing_account_id": plan.customer.account_id,
            "commitment_months": plan.commitment, "start_date": plan.start, "commitment_end": commitment_end,
            "end_date": max(s["ended_on"] for s in services) if ended else None,
            "status": ContractStatus.ENDED.value if ended else ContractStatus.ACTIVE.value, "predecessor_id": None,
            "created_by": ACTOR, "created_at": created,
            "updated_at": max([created, *(s["updated_at"] for s in services)]),
            "version": 1 + (commitment_end is not None) + ended,
        })
        self.rows.payers.append({"contract_id": contract_id, "billing_account_id": plan.customer.account_id,
                                 "consent_document_id": None, "start_date": plan.start, "end_date": None})

    def service(self, service_id: int, contract_id: int, customer: _Customer, kind: str, ordered: dt.date,
                activated: dt.date | None, cancelled: dt.date | None,
                commitment_end: dt.date | None) -> dict[str, Any]:
        rng, today, cat, rows = self.rng, self.today, self.cat, self.rows
        self.service_count += 1
        first_plan = current_plan = self._plan(kind)
        events: list[_Event] = []

        def event(day: dt.date, action: str, details: dict[str, Any] | None = None, actor: str = ACTOR,
                  fees: Sequence[Fee] = (), at: dt.datetime | None = None, pending: int | None = None) -> None:
            events.append(_Event(day, len(events), action, actor, details or {}, at or _at(day, rng, self.now),
                                 list(fees), pending))

        # --- where the service stands today, and the days that got it there
        state, ended = (ORDERED, None) if cancelled is None else (CANCELLED, cancelled)
        suspended_on = None  # the current hold (or the non-payment hold a termination ended)
        horizon = today  # the last day the rest of its history may fall on
        termination = None
        if activated is not None:
            state, fate = ACTIVE, rng.random()
            if fate < 0.09 and (today - activated).days > 31:
                state, termination = TERMINATED, self._termination_reason(customer.organisation)
                ended = horizon = _between(rng, activated + dt.timedelta(days=30), today - DAY)
                if termination == "non_payment":  # suspended by dunning a month or two before
                    suspended_on = horizon = _between(rng, max(activated + DAY, ended - dt.timedelta(days=75)),
                                                      ended - dt.timedelta(days=30))
            elif fate < 0.14 and activated < today:
                state = SUSPENDED
                suspended_on = horizon = _between(rng, max(activated + DAY, today - dt.timedelta(days=120)), today)

        # --- what happened in between: a plan upgrade, a lost SIM swapped, a voluntary suspension
        plan_changed_on = None
        episode = None  # (reason, hold start, the day it ended)
        if activated is not None and (horizon - activated).days > 40:
            if rng.random() < 0.06 and cat.upgrades.get(first_plan.id):
                plan_changed_on = _between(rng, activated + dt.timedelta(days=30), horizon - DAY)
                current_plan = rng.choice(cat.upgrades[first_plan.id])
            roll = rng.random()
            if roll < 0.03 and kind == SIM and "lost_or_stolen" in cat.suspension:
                start = _between(rng, activated + DAY, horizon - dt.timedelta(days=8))
                episode = ("lost_or_stolen", start, start + dt.timedelta(days=rng.randint(1, 6)))
            elif roll < 0.06 and state != SUSPENDED and "customer_request" in cat.suspension:
                # (a suspended service may be on a voluntary hold now: its 12 months stay clear)
                length = rng.randint(14, 90)
                if (horizon - activated).days > length + 2:
                    start = _between(rng, activated + DAY, horizon - dt.timedelta(days=length + 1))
                    episode = ("customer_request", start, start + dt.timedelta(days=length))

        # --- the service row, its number and SIM cards
        number_row = None
        if kind == SIM:
            number_row = self._number("mobile")
        elif kind == FIXED:
            number_row = self._number(_area(customer.address))
        address = customer.address if kind != SIM else {}
        created = _at(ordered, rng, self.now)
        service: dict[str, Any] = {
            "id": service_id, "contract_id": contract_id, "kind": kind, "plan_id": current_plan.id, "state": state,
            "number": number_row[1] if number_row else None,
            "access_technology": rng.choices(*ACCESS)[0] if kind == NET else None,
            "cpe_mac": _mac(rng) if kind == NET else None,
            "set_top_boxes": ([f"STB-{service_id:08d}"] + ([f"STB-{service_id:08d}-2"] if rng.random() < 0.2 else [])
                              if kind == CABLE else []),
            "install_postal_code": address.get("postal_code"), "install_locality": address.get("locality"),
            "install_street": address.get("street"), "install_house_number": address.get("house_number"),
            "install_floor_door": address.get("floor_door"),
            "ordered_on": ordered, "activated_on": activated, "ended_on": ended,
        }
        if kind == SIM:
            if episode is not None and episode[0] == "lost_or_stolen":
                rows.sims.append(self._sim(service_id, 0, ordered, episode[2], "swapped"))
                rows.sims.append(self._sim(service_id, 1, episode[2], ended, state))
            else:
                rows.sims.append(self._sim(service_id, 0, ordered, ended, state))

        # --- the dated record and the history, action by action
        event(ordered, "order", {"to_plan": first_plan.code}, at=created)
        states: list[tuple[str, dt.date]] = []
        if activated is None or activated > ordered:  # activated the day it was ordered: no ordered days
            states.append((ORDERED, ordered))
        if activated is not None:
            states.append((ACTIVE, activated))
            fees = [cat.fees[c] for c in ("activation", "installation")
                    if c in cat.fees and (c == "activation" or kind != SIM)]
            event(activated, "activate", _with_fees({}, fees), fees=fees)
        if cancelled is not None:
            states.append((CANCELLED, cancelled))
            event(cancelled, "cancel")
        if plan_changed_on is not None:
            event(plan_changed_on, "change_plan", {"from_plan": first_plan.code, "to_plan": current_plan.code,
                                                   "from_name": first_plan.name_hu, "to_name": current_plan.name_hu})
        if episode is not None:
            self._episode(service_id, episode, states, event)
        if activated is not None:
            self._addons(service_id, kind, current_plan, max(activated, plan_changed_on or activated),
                         horizon if state != TERMINATED else horizon - DAY, ended, event)
        if suspended_on is not None:
            states.append((SUSPENDED, suspended_on))
            self._holds_now(service_id, kind, suspended_on, ended, event)
        if termination is not None:
            assert ended is not None
            states.append((TERMINATED, ended))
            self._terminate(service, current_plan, termination, ended, commitment_end, event)
        elif state in (ACTIVE, SUSPENDED) and rng.random() < 0.01 and "customer_request" in cat.termination:
            self._notice(service, event)
        self._states(service_id, states)
        plan_end = ended if state in (TERMINATED, CANCELLED) else None
        if plan_changed_on is not None:
            rows.plans.append({"service_id": service_id, "plan_id": first_plan.id, "start_date": ordered,
                               "end_date": plan_changed_on})
        rows.plans.append({"service_id": service_id, "plan_id": current_plan.id,
                           "start_date": plan_changed_on or ordered, "end_date": plan_end})
        rows.contract_intervals.append({"service_id": service_id, "contract_id": contract_id, "start_date": ordered,
                                        "end_date": None})

        # --- the pool row, as allocate, quarantine and release leave it
        if number_row is not None:
            if state == TERMINATED:
                assert ended is not None
                rows.pool.append({"id": number_row[0], "status": NumberStatus.QUARANTINE.value, "service_id": None,
                                  "allocated_at": created, "quarantine_until": self.quarantine_until(ended)})
            elif state == CANCELLED:
                rows.pool.append({"id": number_row[0], "status": NumberStatus.AVAILABLE.value, "service_id": None,
                                  "allocated_at": None, "quarantine_until": None})
            else:
                rows.pool.append({"id": number_row[0], "status": NumberStatus.ALLOCATED.value,
                                  "service_id": service_id, "allocated_at": created, "quarantine_until": None})

        # --- history rows in the order things happened; every action moved the version on
        events.sort(key=lambda e: (e.day, e.order))
        last = events[0].at
        for e in events:
            last = e.at = max(e.at, min(last + dt.timedelta(minutes=1), self.now))
            index = len(rows.events)
            rows.events.append({"service_id": service_id, "at": e.at, "effective_date": e.day, "action": e.action,
                                "actor_name": e.actor, "details": e.details, "document_id": None,
                                "_pending": e.pending})
            if not e.details.get("scheduled"):  # a scheduled action's fees come when it is applied
                for code, hu, en, amount, vat in e.fees:
                    rows.fees.append({"service_id": service_id, "code": code, "name_hu": hu, "name_en": en,
                                      "amount": amount, "vat_rate": vat, "incurred_on": e.day, "event_id": index})
        service.update(created_at=created, updated_at=last, version=len(events))
        rows.services.append(service)
        return service

    # --- pieces of a service's history

    def _sim(self, service_id: int, card: int, issued: dt.date, blocked: dt.date | None,
             why: str) -> dict[str, Any]:
        return {"service_id": service_id, "iccid": iccid_for(service_id, card), "imsi": imsi_for(service_id, card),
                "puk": f"{self.rng.randrange(10**8):08d}", "issued_on": issued, "blocked_on": blocked,
                "block_reason": why if blocked is not None else None}

    def _states(self, service_id: int, states: list[tuple[str, dt.date]]) -> None:
        states.sort(key=lambda s: s[1])  # stable: same-day entries keep the order they were added in
        for i, (state, start) in enumerate(states):
            end = states[i + 1][1] if i + 1 < len(states) else None
            if end is not None and end <= start:
                raise AssertionError(f"an empty {state} interval for service {service_id}: {states}")
            self.rows.states.append({"service_id": service_id, "state": state, "start_date": start, "end_date": end})

    def _reason(self, code: str) -> dict[str, Any]:
        return {"reason": code, "reason_name": self.cat.suspension[code].name_hu}

    def _hold(self, service_id: int, code: str, start: dt.date, *, planned_end: dt.date | None = None,
              lifted: dt.date | None = None, lifted_by: str | None = None, placed_by: str = ACTOR) -> None:
        self.rows.holds.append({
            "service_id": service_id, "reason_code": code, "start_date": start, "planned_end": planned_end,
            "lifted_on": lifted, "billing": self.cat.suspension[code].billing, "imei": None, "note": "",
            "placed_by": placed_by, "lifted_by": lifted_by,
        })

    def _pending(self, service_id: int, action: str, reason: str, day: dt.date, status: str,
                 created: dt.datetime, *, auto: bool = False) -> int:
        """A pending action; returns its index in the chunk (its id is known once the chunk's are)."""
        params: dict[str, Any] = {"action": action, "reason": reason, "when": "date", "date": day.isoformat()}
        if auto:
            params["auto"] = True
        applied = status == PendingStatus.APPLIED.value
        self.rows.pending.append({
            "service_id": service_id, "contract_id": None, "action": action, "params": params,
            "effective_date": day, "status": status, "created_at": created, "created_by": ACTOR,
            "resolved_at": self._nightly(day) if applied else None, "resolved_by": SYSTEM if applied else None,
            "outcome": "", "version": 2 if applied else 1,
        })
        return len(self.rows.pending) - 1

    def _nightly(self, day: dt.date) -> dt.datetime:
        """When the daily job (`apply-due`, or the dunning run) ran on `day`."""
        return min(dt.datetime(day.year, day.month, day.day, 1, 30, tzinfo=dt.UTC), self.now)

    def _episode(self, service_id: int, episode: tuple[str, dt.date, dt.date], states: list[tuple[str, dt.date]],
                 event: Callable[..., None]) -> None:
        """A suspension that is over: a lost SIM replaced by a swap, or a voluntary suspension that
        the daily job lifted on its planned day."""
        code, start, end = episode
        states.extend([(SUSPENDED, start), (ACTIVE, end)])
        if code == "lost_or_stolen":
            self._hold(service_id, code, start, lifted=end, lifted_by=ACTOR)
            event(start, "suspend", self._reason(code))
            fees = [self.cat.fees["sim_swap"]] if "sim_swap" in self.cat.fees else []
            event(end, "swap_sim", _with_fees({"old_iccid": iccid_for(service_id, 0),
                                               "new_iccid": iccid_for(service_id, 1)}, fees), fees=fees)
            return
        placed = _at(start, self.rng, self.now)
        pending = self._pending(service_id, "resume", code, end, PendingStatus.APPLIED.value, placed, auto=True)
        self._hold(service_id, code, start, planned_end=end, lifted=end, lifted_by=ACTOR)
        event(start, "suspend", self._reason(code) | {"end_date": end.isoformat()}, at=placed)
        event(end, "resume", self._reason(code), actor=SYSTEM, at=self._nightly(end), pending=pending)

    def _addons(self, service_id: int, kind: str, plan: Any, low: dt.date, high: dt.date, ended: dt.date | None,
                event: Callable[..., None]) -> None:
        rng, cat = self.rng, self.cat
        if high < low:
            return
        active: frozenset[str] = frozenset()
        chosen = []
        for code, share in ADDON_RECIPES.get(kind, ()):
            rule = cat.addon_rules.get(code)
            if rule is None or rng.random() >= share:
                continue
            if rules.check_addon(rule, kind=kind, plan=plan.code, active_addons=active,
                                 catalogue=cat.addon_rules) is None:  # the real rules decide
                active |= {code}
                chosen.append(code)
        days = sorted(_between(rng, low, high) for _ in chosen)  # prerequisites come first in the recipe
        for code, day in zip(chosen, days, strict=True):
            addon = cat.addons[code]
            # A termination ends a running add-on; a one-off one ran to its month's end anyway.
            end = ended if addon.recurring else rules.first_of_next_month(day)
            self.rows.addons.append({"service_id": service_id, "addon_id": addon.id, "start_date": day,
                                     "end_date": end, "added_by": ACTOR,
                                     "removed_by": ACTOR if ended is not None and end == ended else None})
            fees = [] if addon.recurring else [(addon.code, addon.name_hu, addon.name_en, addon.price,
                                                addon.vat_rate)]
            event(day, "add_addon", _with_fees({"addon": code, "addon_name": addon.name_hu}, fees), fees=fees)

    def _holds_now(self, service_id: int, kind: str, start: dt.date, ended: dt.date | None,
                   event: Callable[..., None]) -> None:
        """The hold(s) a suspended service carries, or the non-payment hold its termination lifted."""
        rng, cat, today = self.rng, self.cat, self.today
        if ended is not None:
            self._hold(service_id, "non_payment", start, lifted=ended, lifted_by=ACTOR, placed_by=SYSTEM)
            event(start, "suspend", self._reason("non_payment"), actor=SYSTEM, at=self._nightly(start))
            return
        r = rng.random()
        code = "customer_request" if r < 0.45 else "lost_or_stolen" if r < 0.65 and kind == SIM else "non_payment"
        if code not in cat.suspension:
            code = "non_payment"
        if code == "customer_request":
            # A voluntary suspension has its planned end (at most 180 days on), still ahead.
            end = _between(rng, max(today + DAY, start + dt.timedelta(days=14)), start + dt.timedelta(days=180))
            placed = _at(start, rng, self.now)
            self._pending(service_id, "resume", code, end, PendingStatus.PENDING.value, placed, auto=True)
            self._hold(service_id, code, start, planned_end=end)
            event(start, "suspend", self._reason(code) | {"end_date": end.isoformat()}, at=placed)
        elif code == "non_payment":
            self._hold(service_id, code, start, placed_by=SYSTEM)
            event(start, "suspend", self._reason(code), actor=SYSTEM, at=self._nightly(start))
        else:
            self._hold(service_id, code, start)
            event(start, "suspend", self._reason(code))
        if code != "non_payment" and start < today and rng.random() < 0.1:  # a bill went unpaid meanwhile
            second = _between(rng, start + DAY, today)
            self._hold(service_id, "non_payment", second, placed_by=SYSTEM)
            event(second, "suspend", self._reason("non_payment"), actor=SYSTEM, at=self._nightly(second))

    def _termination_reason(self, organisation: bool) -> str:
        while True:
            code = self.rng.choices([c for c, _ in TERMINATIONS], [w for _, w in TERMINATIONS])[0]
            if code in self.cat.termination and not (code == "deceased" and organisation):
                return code

    def _terminate(self, service: dict[str, Any], plan: Any, code: str, day: dt.date,
                   commitment_end: dt.date | None, event: Callable[..., None]) -> None:
        """A termination: given on notice and applied by the daily job, or at once; leaving inside
        the commitment costs the early termination fee."""
        reason = self.cat.termination[code]
        fees = []
        if reason.early_termination_fee:
            amount = rules.early_termination_fee(commitment_end, day, plan.commitment_monthly_discount,
                                                 plan.early_termination_cap)
            if amount > 0:
                fees.append((*EARLY_TERMINATION, amount, plan.vat_rate))
        details = _with_fees({"reason": code, "reason_name": reason.name_hu}, fees)
        if not reason.notice_days:
            event(day, "terminate", details, fees=fees)
            return
        given = max(day - dt.timedelta(days=reason.notice_days + self.rng.randint(0, 20)),
                    service["activated_on"])
        placed = _at(given, self.rng, self.now)
        pending = self._pending(service["id"], "terminate", code, day, PendingStatus.APPLIED.value, placed)
        event(given, "terminate", details | {"scheduled": True}, fees=fees, at=placed, pending=pending)
        event(day, "terminate", details, actor=SYSTEM, fees=fees, at=self._nightly(day), pending=pending)

    def _notice(self, service: dict[str, Any], event: Callable[..., None]) -> None:
        """Notice given lately: the termination waits for the end of the month (and the notice)."""
        reason = self.cat.termination["customer_request"]
        given = _between(self.rng, max(self.today - dt.timedelta(days=10), service["activated_on"]), self.today)
        day = rules.first_of_next_month(self.today)
        if day < self.today + dt.timedelta(days=reason.notice_days):
            day = rules.first_of_next_month(day)
        placed = _at(given, self.rng, self.now)
        pending = self._pending(service["id"], "terminate", "customer_request", day, PendingStatus.PENDING.value,
                                placed)
        event(given, "terminate", {"reason": "customer_request", "reason_name": reason.name_hu, "scheduled": True},
              at=placed, pending=pending)


def _with_fees(details: dict[str, Any], fees: Sequence[Fee]) -> dict[str, Any]:
    """An event's details with the fees it brought, as lifecycle._record keeps them."""
    if not fees:
        return details
    return details | {"fees": [{"code": c, "name_hu": h, "name_en": e, "amount": str(a), "vat_rate": str(v)}
                               for c, h, e, a, v in fees]}


# ---------------------------------------------------------------- writing a chunk


async def _executemany(session: AsyncSession, table: Any, rows: list[dict[str, Any]], *, update: bool = False) -> None:
    """One executemany of positional rows (an INSERT, or an UPDATE by `id`), each value through its
    column type's own bind processor: what SQLAlchemy would send, without the parameter dictionary
    it builds per row (that halves the time of the seed's writes)."""
    connection = await session.connection()
    dialect = connection.dialect
    keys = [k for k in rows[0] if not (update and k == "id")] + (["id"] if update else [])
    processors = [table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys]
    style = dialect.paramstyle
    marks = [f"${i}" if style == "numeric_dollar" else "?" if style == "qmark" else "%s"
             for i in range(1, len(keys) + 1)]
    if update:
        sets = ", ".join(f"{key} = {mark}" for key, mark in zip(keys[:-1], marks, strict=False))
        sql = f"UPDATE {table.name} SET {sets} WHERE id = {marks[-1]}"
    else:
        sql = f"INSERT INTO {table.name} ({', '.join(keys)}) VALUES ({', '.join(marks)})"
    values = [tuple(row[key] if proc is None or row[key] is None else proc(row[key])
                    for key, proc in zip(keys, processors, strict=True)) for row in rows]
    await connection.exec_driver_sql(sql, values)


async def _write(session: AsyncSession, rows: _Rows) -> None:
    event_ids = await _ids(session, "service_events", len(rows.events))
    pending_ids = await _ids(session, "pending_actions", len(rows.pending))
    for row, pending_id in zip(rows.pending, pending_ids, strict=True):
        row["id"] = pending_id
    for row, event_id in zip(rows.events, event_ids, strict=True):
        row["id"] = event_id
        index = row.pop("_pending")
        if index is not None:
            row["details"] = row["details"] | {"pending_id": pending_ids[index]}
    for fee in rows.fees:
        fee["event_id"] = event_ids[fee["event_id"]]
    for model, table_rows in rows.tables():
        if table_rows:
            await _executemany(session, model.__table__, table_rows)
    if rows.pool:
        await _executemany(session, PoolNumber.__table__, rows.pool, update=True)


async def seed_subscriptions(
    maker: async_sessionmaker[AsyncSession], seed: int, progress: Callable[[int], None] | None = None,
    *, after_party_id: int = 0,
) -> SeededSubscriptions:
    """Contracts and services for every customer (with an id above `after_party_id`) that has no
    contract yet; the demo catalogue must be there. `progress` is told the customers done."""
    rng = random.Random(f"subscriptions-{seed}")  # not the customers' stream: the draws stay independent
    today, now = clock.today(), utcnow()
    async with transaction(maker) as session:
        customers = await _customers(session, after_party_id)
        cat = await _catalogue(session)
        if not customers or not cat.plans:
            return SeededSubscriptions()
        by_customer = [_plan_customer(rng, c, today) for c in customers]
        contracts = [c for group in by_customer for c in group if any(k in cat.plans for k in c.kinds)]
        needed: dict[str, int] = {}
        for contract in contracts:
            for kind in contract.kinds:
                if kind == SIM:
                    needed["mobile"] = needed.get("mobile", 0) + 1
                elif kind == FIXED:
                    group = _area(contract.customer.address)
                    needed[group] = needed.get(group, 0) + 1
        numbers = await _enough_numbers(session, needed, today)
        # Contract numbers follow the start dates, and new contracts continue the series.
        first = await reserve_block(session, "contract", len(contracts))
        for offset, contract in enumerate(sorted(contracts, key=lambda c: (c.start, c.customer.party_id))):
            contract.sequence = first + offset
    result = SeededSubscriptions()
    used: dict[str, int] = {}  # how many of each group's free numbers are taken
    for low in range(0, len(customers), CHUNK):
        chunk = [c for group in by_customer[low:low + CHUNK] for c in group if any(k in cat.plans for k in c.kinds)]
        async with transaction(maker) as session:
            contract_ids = await _ids(session, "contracts", len(chunk))
            kinds = [[k for k in c.kinds if k in cat.plans] for c in chunk]
            service_ids = iter(await _ids(session, "services", sum(len(k) for k in kinds)))
            builder = _Builder(rng, cat, today, now, numbers, used)
            for contract, contract_id, its_kinds in zip(chunk, contract_ids, kinds, strict=True):
                builder.contract(contract, contract_id, [next(service_ids) for _ in its_kinds])
            await _write(session, builder.rows)
        result.contracts += len(chunk)
        result.services += builder.service_count
        if progress:
            progress(len(by_customer[low:low + CHUNK]))
    return result
