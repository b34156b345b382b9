"""What the lifecycle tests share: a seeded catalogue and pool, customers with contracts and
services made through the services, valid SIM identifiers, and the dated record read back."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stdnum import luhn

from backoffice import clock
from backoffice.actors import Principal
from backoffice.subscriptions import contracts, lifecycle, services
from backoffice.subscriptions.catalogue import seed_demo_catalogue, seed_reference_catalogue
from backoffice.subscriptions.models import (
    Contract,
    Service,
    ServiceAddOn,
    ServiceFee,
    ServiceHold,
    ServicePlanInterval,
    ServiceStateInterval,
)
from backoffice.subscriptions.schemas import ActionInput, ContractInput, ServiceOrderInput
from tests.customers.helpers import add_account, add_party

Maker = async_sessionmaker[AsyncSession]

# The maker fixture's staff users get ids in this order: agent, supervisor, records, admin.
AGENT = Principal(1, "agent", "agent", "en")
SUPERVISOR = Principal(2, "supervisor", "supervisor", "en")
RECORDS = Principal(3, "records", "records", "en")
AGENT_HU = Principal(1, "agent", "agent", "hu")

_serial = itertools.count(1)


def new_iccid() -> str:
    body = f"893630{next(_serial):012d}"
    return body + luhn.calc_check_digit(body)


def new_imsi() -> str:
    return f"21630{next(_serial):010d}"


@contextmanager
def today_is(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> Iterator[None]:
    """Run as if the Budapest calendar showed `day` (the services read clock.today())."""
    with monkeypatch.context() as m:
        m.setattr(clock, "today", lambda: day)
        yield


async def seed_catalogue(maker: Maker) -> None:
    async with maker() as s, s.begin():
        await seed_reference_catalogue(s)
        await seed_demo_catalogue(s)
        await services.load_range(s, None, "mobile", "+36309990000", "+36309990099")
        await services.load_range(s, None, "geographic", "+3614560000", "+3614560099")


async def new_contract(maker: Maker, commitment_months: int = 0, **party: Any) -> Contract:
    customer = await add_party(maker, **party)
    account = await add_account(maker, customer.id)
    async with maker() as s, s.begin():
        return await contracts.create_contract(s, AGENT, customer.id, ContractInput(account.id, commitment_months,
                                                                                    None))


def sim_order(plan: str = "sim_start", number: str | None = None) -> ServiceOrderInput:
    return ServiceOrderInput(kind="sim", plan_code=plan, number=number, iccid=new_iccid(), imsi=new_imsi(),
                             puk="12345678")


def line_order(kind: str = "internet", plan: str = "net_500") -> ServiceOrderInput:
    extra: dict[str, Any] = {}
    if kind == "internet":
        extra = {"access_technology": "fibre", "cpe_mac": "00:1a:2b:3c:4d:5e"}
    if kind == "cable_tv":
        extra = {"set_top_boxes": ["STB-0001"]}
    return ServiceOrderInput(kind=kind, plan_code=plan, install_postal_code="1117", install_locality="Budapest XI.",
                             install_street="Irinyi József utca", install_house_number="4", **extra)


async def order(maker: Maker, contract: Contract, data: ServiceOrderInput | None = None,
                confirm: bool = False) -> Service:
    async with maker() as s, s.begin():
        return await contracts.order_service(s, AGENT, contract.id, data or sim_order(), confirm=confirm)


async def act(maker: Maker, service: Service | int, action: str, actor: Principal = AGENT, *,
              version: int | None = None, confirm: bool = False, **fields: Any) -> lifecycle.Outcome:
    service_id = service if isinstance(service, int) else service.id
    async with maker() as s, s.begin():
        return await lifecycle.perform(s, actor, service_id, ActionInput(action=action, **fields), version,
                                       seller_name="Demo Telekom Zrt.", confirm=confirm)


async def active_sim(maker: Maker, commitment_months: int = 0, plan: str = "sim_start") -> Service:
    contract = await new_contract(maker, commitment_months)
    service = await order(maker, contract, sim_order(plan))
    await act(maker, service, "activate")
    return await load(maker, service.id)


async def load(maker: Maker, service_id: int) -> Service:
    async with maker() as s:
        service = await s.get(Service, service_id)
        assert service is not None
        return service


async def intervals(maker: Maker, service_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """The dated record of a service, as billing reads it."""
    async with maker() as s:
        def rows(stmt: Any) -> Any:
            return s.execute(stmt)
        states = (await rows(select(ServiceStateInterval.state, ServiceStateInterval.start_date,
                                    ServiceStateInterval.end_date)
                             .where(ServiceStateInterval.service_id == service_id)
                             .order_by(ServiceStateInterval.start_date, ServiceStateInterval.id))).all()
        plans = (await rows(select(ServicePlanInterval.plan_id, ServicePlanInterval.start_date,
                                   ServicePlanInterval.end_date)
                            .where(ServicePlanInterval.service_id == service_id)
                            .order_by(ServicePlanInterval.start_date))).all()
        holds = (await rows(select(ServiceHold.reason_code, ServiceHold.start_date, ServiceHold.lifted_on)
                            .where(ServiceHold.service_id == service_id).order_by(ServiceHold.id))).all()
        addons = (await rows(select(ServiceAddOn.addon_id, ServiceAddOn.start_date, ServiceAddOn.end_date)
                             .where(ServiceAddOn.service_id == service_id).order_by(ServiceAddOn.id))).all()
        fees = (await rows(select(ServiceFee.code, ServiceFee.amount, ServiceFee.incurred_on)
                           .where(ServiceFee.service_id == service_id).order_by(ServiceFee.id))).all()
    return {"states": [tuple(r) for r in states], "plans": [tuple(r) for r in plans],
            "holds": [tuple(r) for r in holds], "addons": [tuple(r) for r in addons],
            "fees": [tuple(r) for r in fees]}


def english(message: Any) -> str:
    """A message, or a method that renders one, as an English reader sees it."""
    from backoffice import i18n

    token = i18n.current_language.set("en")
    try:
        return str(message()) if callable(message) else str(message)
    finally:
        i18n.current_language.reset(token)


async def run_due(maker: Maker, monkeypatch: pytest.MonkeyPatch, day: dt.date) -> list[Any]:
    """The daily job on `day`: every due pending action, each in its own transaction."""
    with today_is(monkeypatch, day):
        async with maker() as s:
            due = await lifecycle.due_pending(s, day)
        applied = []
        for pending_id in due:
            async with maker() as s, s.begin():
                applied.append(await lifecycle.apply_pending(s, pending_id, today=day))
    return applied
