"""An administrator edits a plan: fees and allowances checked beside each field, a stale form
refused with the saved values, every change audited; nobody else may."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.audit import AuditEntry
from backoffice.subscriptions.catalogue import seed_demo_catalogue
from backoffice.subscriptions.models import Plan
from backoffice.subscriptions.schemas import USAGE_PRICE_FIELDS
from tests.conftest import post_form
from tests.customers.helpers import field_error, input_value

Maker = async_sessionmaker[AsyncSession]


async def sim_start(maker: Maker) -> Plan:
    async with maker() as s, s.begin():
        await seed_demo_catalogue(s)
    async with maker() as s:
        return (await s.scalars(select(Plan).where(Plan.code == "sim_start"))).one()


def form(plan: Plan, **changes: Any) -> dict[str, Any]:
    values = {"name_hu": plan.name_hu, "name_en": plan.name_en, "monthly_fee": str(plan.monthly_fee),
              "suspension_fee": str(plan.suspension_fee), "vat_rate": str(plan.vat_rate),
              "commitment_monthly_discount": str(plan.commitment_monthly_discount),
              "early_termination_cap": str(plan.early_termination_cap), "included_minutes": "100",
              "included_sms": "100", "included_data_mb": "2048", "portal_selectable": "1", "active": "1",
              "voice_rounding": plan.voice_rounding, "version": str(plan.version)}
    values.update({name: str(getattr(plan, name)) for name in USAGE_PRICE_FIELDS})
    values.update(changes)
    return values


async def test_an_administrator_changes_a_fee_and_makes_calls_unlimited(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker
) -> None:
    plan = await sim_start(maker)
    await signed_in(client, "admin")
    page = await client.get(f"/admin/catalogue/plans/{plan.id}/edit")
    assert input_value(page.text, "monthly_fee") == "2354.33"
    saved = await post_form(client, f"/admin/catalogue/plans/{plan.id}",
                            form(plan, monthly_fee="2 500,00", included_minutes=""))
    assert saved.status_code == 303
    async with maker() as s:
        now = await s.get(Plan, plan.id)
        entry = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "catalogue.plan_changed"))).one()
    assert now is not None and now.monthly_fee == Decimal("2500.00") and now.included_minutes is None
    assert entry.before == {"monthly_fee": "2354.33", "included_minutes": 100}
    assert entry.after == {"monthly_fee": "2500.00", "included_minutes": None}


@pytest.mark.parametrize(("field", "value"), [
    ("monthly_fee", "-5"), ("monthly_fee", "12.345"), ("monthly_fee", "sok"), ("vat_rate", "127"),
    ("included_sms", "-1"), ("name_hu", ""), ("early_termination_cap", "10"),
])
async def test_bad_plan_values_are_refused_beside_the_field_and_nothing_changes(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, field: str, value: str
) -> None:
    plan = await sim_start(maker)
    await signed_in(client, "admin")
    refused = await post_form(client, f"/admin/catalogue/plans/{plan.id}", form(plan, **{field: value}))
    assert refused.status_code == 422 and field_error(refused.text, field)
    assert input_value(refused.text, field) == value
    async with maker() as s:
        again = await s.get(Plan, plan.id)
    assert again is not None and again.version == plan.version and again.monthly_fee == plan.monthly_fee


async def test_a_stale_plan_form_is_refused_with_the_saved_values(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker
) -> None:
    plan = await sim_start(maker)
    await signed_in(client, "admin")
    first = await post_form(client, f"/admin/catalogue/plans/{plan.id}", form(plan, monthly_fee="2400"))
    assert first.status_code == 303
    late = await post_form(client, f"/admin/catalogue/plans/{plan.id}", form(plan, monthly_fee="9999"))
    assert late.status_code == 409 and input_value(late.text, "monthly_fee") == "2400.00"


async def test_only_an_administrator_edits_plans(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker
) -> None:
    plan = await sim_start(maker)
    await signed_in(client, "supervisor")
    assert (await client.get(f"/admin/catalogue/plans/{plan.id}/edit")).status_code == 403
    assert (await post_form(client, f"/admin/catalogue/plans/{plan.id}", form(plan))).status_code == 403
    assert (await client.get("/catalogue")).status_code == 200
