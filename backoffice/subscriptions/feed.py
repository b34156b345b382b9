"""What billing reads from subscriptions, in bulk: the price list, each service's dated record for
a period (states, plans, holds, add-ons, payers, commitment), the one-off fees to bill, and which
service held a number on a day (usage import). Read-only; billing never writes these tables."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.billing import rules as billing
from backoffice.identifiers import phone_display
from backoffice.subscriptions.models import (
    AddOn,
    Contract,
    ContractPayerInterval,
    Plan,
    Service,
    ServiceAddOn,
    ServiceContractInterval,
    ServiceFee,
    ServiceHold,
    ServicePlanInterval,
    ServiceStateInterval,
)

KIND_NAMES = {"sim": ("Mobil", "Mobile"), "fixed_line": ("Vezetékes", "Fixed line"),
              "cable_tv": ("Kábeltévé", "Cable TV"), "internet": ("Internet", "Internet")}


@dataclass(frozen=True)
class PlanInfo:
    id: int
    code: str
    name_hu: str
    name_en: str
    price: billing.PlanPrice
    tariff: billing.Tariff


@dataclass(frozen=True)
class AddOnInfo:
    id: int
    code: str
    name_hu: str
    name_en: str
    price: billing.AddOnPrice


@dataclass(frozen=True)
class PriceList:
    plans: dict[int, PlanInfo]
    addons: dict[int, AddOnInfo]

    def plan_prices(self) -> dict[int, billing.PlanPrice]:
        return {k: v.price for k, v in self.plans.items()}

    def addon_prices(self) -> dict[int, billing.AddOnPrice]:
        return {k: v.price for k, v in self.addons.items()}


async def price_list(session: AsyncSession) -> PriceList:
    """Every plan and add-on ever offered (a service may still be on a withdrawn one)."""
    plans = {
        p.id: PlanInfo(p.id, p.code, p.name_hu, p.name_en,
                       billing.PlanPrice(p.id, p.monthly_fee, p.suspension_fee, p.commitment_monthly_discount,
                                         p.vat_rate),
                       billing.Tariff(p.voice_rounding, p.price_per_minute, p.price_per_sms, p.price_per_mb,
                                      p.roaming_price_per_minute, p.roaming_price_per_mb, p.included_minutes,
                                      p.included_sms, p.included_data_mb))
        for p in await session.scalars(select(Plan))
    }
    addons = {
        a.id: AddOnInfo(a.id, a.code, a.name_hu, a.name_en,
                        billing.AddOnPrice(a.id, a.price, a.vat_rate, a.recurring))
        for a in await session.scalars(select(AddOn))
    }
    return PriceList(plans, addons)


def service_label(kind: str, number: str | None, service_id: int) -> str:
    """How a bill names a service: its number, or its kind and id where it has none."""
    if number:
        return phone_display(number)
    return f"{KIND_NAMES.get(kind, (kind, kind))[0]} #{service_id}"


async def service_labels(session: AsyncSession, service_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(service_ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Service.id, Service.kind, Service.number).where(Service.id.in_(wanted)))
    return {sid: service_label(kind, number, sid) for sid, kind, number in rows}


@dataclass
class BilledService:
    """One service's record for a period, with the payer pieces limited to the asked accounts."""

    history: billing.ServiceHistory
    kind: str
    label: str
    subscriber_id: int | None  # the subscriber at the end of the period (itemised-bill consent)


def _overlaps(model: Any, start: dt.date, end: dt.date) -> Any:
    return and_(model.start_date < end, or_(model.end_date.is_(None), model.end_date > start))


def _intersect(s1: dt.date, e1: dt.date | None, s2: dt.date,
               e2: dt.date | None) -> tuple[dt.date, dt.date | None] | None:
    start = max(s1, s2)
    ends = [e for e in (e1, e2) if e is not None]
    end = min(ends) if ends else None
    return (start, end) if end is None or start < end else None


@dataclass
class _Facts:
    states: list[billing.Dated] = field(default_factory=list)
    plans: list[billing.Dated] = field(default_factory=list)
    payers: list[billing.Dated] = field(default_factory=list)
    holds: list[billing.Dated] = field(default_factory=list)
    addons: list[billing.Dated] = field(default_factory=list)
    commitments: list[billing.Dated] = field(default_factory=list)
    subscriber: tuple[dt.date, int] | None = None


async def billing_histories(session: AsyncSession, account_ids: Sequence[int],
                            period: billing.Period) -> list[BilledService]:
    """The dated record of every service that any of the accounts paid for on some day of the
    period. Payer pieces of other accounts are left out, so their days charge nothing here."""
    start, end = period.start, period.end
    payer_rows = (await session.execute(
        select(ContractPayerInterval.contract_id, ContractPayerInterval.billing_account_id,
               ContractPayerInterval.start_date, ContractPayerInterval.end_date)
        .where(ContractPayerInterval.billing_account_id.in_(sorted(account_ids)),
               _overlaps(ContractPayerInterval, start, end)))).all()
    if not payer_rows:
        return []
    payers_of: dict[int, list[tuple[int, dt.date, dt.date | None]]] = defaultdict(list)
    for contract_id, account_id, s, e in payer_rows:
        payers_of[contract_id].append((account_id, s, e))
    contracts = {
        row[0]: row for row in await session.execute(
            select(Contract.id, Contract.subscriber_id, Contract.start_date, Contract.commitment_end)
            .where(Contract.id.in_(sorted(payers_of))))
    }
    link_rows = (await session.execute(
        select(ServiceContractInterval.service_id, ServiceContractInterval.contract_id,
               ServiceContractInterval.start_date, ServiceContractInterval.end_date)
        .where(ServiceContractInterval.contract_id.in_(sorted(payers_of)),
               _overlaps(ServiceContractInterval, start, end)))).all()
    facts: dict[int, _Facts] = defaultdict(_Facts)
    for service_id, contract_id, s, e in link_rows:
        item = facts[service_id]
        for account_id, ps, pe in payers_of[contract_id]:
            piece = _intersect(s, e, ps, pe)
            if piece is not None:
                item.payers.append(billing.Dated(account_id, *piece))
        _, subscriber_id, c_start, c_end = contracts[contract_id]
        if c_end is not None and (commitment := _intersect(s, e, c_start, c_end)) is not None:
            item.commitments.append(billing.Dated(True, *commitment))
        if item.subscriber is None or s > item.subscriber[0]:
            item.subscriber = (s, subscriber_id)
    ids = sorted(facts)
    for service_id, state, s, e in await session.execute(
            select(ServiceStateInterval.service_id, ServiceStateInterval.state, ServiceStateInterval.start_date,
                   ServiceStateInterval.end_date)
            .where(ServiceStateInterval.service_id.in_(ids), _overlaps(ServiceStateInterval, start, end))):
        facts[service_id].states.append(billing.Dated(state, s, e))
    for service_id, plan_id, s, e in await session.execute(
            select(ServicePlanInterval.service_id, ServicePlanInterval.plan_id, ServicePlanInterval.start_date,
                   ServicePlanInterval.end_date)
            .where(ServicePlanInterval.service_id.in_(ids), _overlaps(ServicePlanInterval, start, end))):
        facts[service_id].plans.append(billing.Dated(plan_id, s, e))
    for service_id, addon_id, s, e in await session.execute(
            select(ServiceAddOn.service_id, ServiceAddOn.addon_id, ServiceAddOn.start_date, ServiceAddOn.end_date)
            .where(ServiceAddOn.service_id.in_(ids), _overlaps(ServiceAddOn, start, end))):
        facts[service_id].addons.append(billing.Dated(addon_id, s, e))
    for service_id, rule, s, e in await session.execute(
            select(ServiceHold.service_id, ServiceHold.billing, ServiceHold.start_date, ServiceHold.lifted_on)
            .where(ServiceHold.service_id.in_(ids), ServiceHold.start_date < end,
                   or_(ServiceHold.lifted_on.is_(None), ServiceHold.lifted_on > start))):
        facts[service_id].holds.append(billing.Dated(rule, s, e))
    services = {
        row[0]: row for row in await session.execute(
            select(Service.id, Service.kind, Service.number).where(Service.id.in_(ids)))
    }
    result = []
    for service_id in ids:
        item = facts[service_id]
        _, kind, number = services[service_id]
        history = billing.ServiceHistory(service_id, item.states, item.plans, item.payers, item.holds, item.addons,
                                         item.commitments)
        result.append(BilledService(history, kind, service_label(kind, number, service_id),
                                    item.subscriber[1] if item.subscriber else None))
    return result


@dataclass(frozen=True)
class FeeToBill:
    fee_id: int
    service_id: int
    billing_account_id: int
    code: str
    name_hu: str
    name_en: str
    amount: Decimal
    vat_rate: Decimal
    incurred_on: dt.date


def _fees_with_payer(*columns: Any, before: dt.date, billed: Any) -> Any:
    """One-off fees incurred before `before`, not in `billed` (a subquery of fee ids), each with
    the payer in force on the day it was incurred."""
    fee, link, payer = ServiceFee, ServiceContractInterval, ContractPayerInterval
    return (
        select(*columns).select_from(fee)
        .join(link, and_(link.service_id == fee.service_id, link.start_date <= fee.incurred_on,
                         or_(link.end_date.is_(None), link.end_date > fee.incurred_on)))
        .join(payer, and_(payer.contract_id == link.contract_id, payer.start_date <= fee.incurred_on,
                          or_(payer.end_date.is_(None), payer.end_date > fee.incurred_on)))
        .where(fee.incurred_on < before, fee.amount != 0, fee.id.not_in(billed)))


async def fees_to_bill(session: AsyncSession, account_ids: Sequence[int], before: dt.date,
                       billed: Any) -> list[FeeToBill]:
    """The unbilled one-off fees that the accounts pay, oldest first."""
    fee, payer = ServiceFee, ContractPayerInterval
    rows = await session.execute(
        _fees_with_payer(fee.id, fee.service_id, payer.billing_account_id, fee.code, fee.name_hu, fee.name_en,
                         fee.amount, fee.vat_rate, fee.incurred_on, before=before, billed=billed)
        .where(payer.billing_account_id.in_(sorted(account_ids))).order_by(fee.incurred_on, fee.id))
    return [FeeToBill(*row) for row in rows]


async def accounts_with_fees(session: AsyncSession, before: dt.date, billed: Any) -> set[int]:
    """The billing accounts that unbilled one-off fees are charged to."""
    return set(await session.scalars(
        _fees_with_payer(ContractPayerInterval.billing_account_id, before=before, billed=billed).distinct()))


async def accounts_paying_in(session: AsyncSession, period: billing.Period) -> set[int]:
    """Every billing account that paid for some contract on some day of the period."""
    return set(await session.scalars(
        select(ContractPayerInterval.billing_account_id).distinct()
        .where(_overlaps(ContractPayerInterval, period.start, period.end))))


# ---------------------------------------------------------------------------------------------
# Usage import: which service held a number, its plan and payer on a day
# ---------------------------------------------------------------------------------------------


@dataclass
class NumberHolder:
    service_id: int
    activated_on: dt.date
    ended_on: dt.date | None
    plans: list[tuple[int, dt.date, dt.date | None]] = field(default_factory=list)
    payers: list[tuple[int, dt.date, dt.date | None]] = field(default_factory=list)

    def holds_on(self, day: dt.date) -> bool:
        return self.activated_on <= day and (self.ended_on is None or day < self.ended_on)

    @staticmethod
    def _on(pieces: Iterable[tuple[int, dt.date, dt.date | None]], day: dt.date) -> int | None:
        for value, s, e in pieces:
            if s <= day and (e is None or day < e):
                return value
        return None

    def plan_on(self, day: dt.date) -> int | None:
        return self._on(self.plans, day)

    def payer_on(self, day: dt.date) -> int | None:
        return self._on(self.payers, day)


async def number_holders(session: AsyncSession, numbers: Iterable[str]) -> dict[str, list[NumberHolder]]:
    """For each E.164 number, the activated services that have held it (a number returns to the
    pool after quarantine, so several may have), with their plan and payer history."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    holders: dict[int, NumberHolder] = {}
    by_number: dict[str, list[NumberHolder]] = defaultdict(list)
    for service_id, number, activated_on, ended_on in await session.execute(
            select(Service.id, Service.number, Service.activated_on, Service.ended_on)
            .where(Service.number.in_(wanted), Service.activated_on.is_not(None))):
        if activated_on is None or number is None:
            continue
        holder = NumberHolder(service_id, activated_on, ended_on)
        holders[service_id] = holder
        by_number[number].append(holder)
    if not holders:
        return {}
    ids = sorted(holders)
    for service_id, plan_id, s, e in await session.execute(
            select(ServicePlanInterval.service_id, ServicePlanInterval.plan_id, ServicePlanInterval.start_date,
                   ServicePlanInterval.end_date).where(ServicePlanInterval.service_id.in_(ids))):
        holders[service_id].plans.append((plan_id, s, e))
    link, payer = ServiceContractInterval, ContractPayerInterval
    for service_id, account_id, s1, e1, s2, e2 in await session.execute(
            select(link.service_id, payer.billing_account_id, link.start_date, link.end_date, payer.start_date,
                   payer.end_date)
            .join(payer, payer.contract_id == link.contract_id).where(link.service_id.in_(ids))):
        piece = _intersect(s1, e1, s2, e2)
        if piece is not None:
            holders[service_id].payers.append((account_id, *piece))
    return by_number
