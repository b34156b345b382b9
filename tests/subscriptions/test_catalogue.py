"""The seeded catalogue: all four service kinds, add-on rules that refer to real entries,
reasons with the consequences PRODUCT.md gives them, and re-seeding that keeps admin edits."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.subscriptions.catalogue import rule_of, seed_demo_catalogue, seed_reference_catalogue
from backoffice.subscriptions.models import (
    AddOn,
    OneOffFee,
    Plan,
    PlanChangeRule,
    ServiceKind,
    SuspensionReason,
    TerminationReason,
)
from backoffice.subscriptions.rules import DEFAULT_SUSPENSION_RULES

Maker = async_sessionmaker[AsyncSession]


async def seeded(maker: Maker) -> None:
    async with maker() as s, s.begin():
        await seed_reference_catalogue(s)
        await seed_demo_catalogue(s)


async def test_every_service_kind_has_plans_with_fees_and_a_commitment_discount(maker: Maker) -> None:
    await seeded(maker)
    async with maker() as s:
        plans = list(await s.scalars(select(Plan)))
    for kind in ServiceKind:
        of_kind = [p for p in plans if p.kind == kind.value]
        assert len(of_kind) >= 2, kind
        for plan in of_kind:
            assert plan.monthly_fee > 0 and plan.vat_rate == Decimal("27.00")
            assert 0 < plan.commitment_monthly_discount <= plan.early_termination_cap


async def test_upgrades_apply_at_once_and_downgrades_next_period(maker: Maker) -> None:
    await seeded(maker)
    async with maker() as s:
        ids = {code: pid for code, pid in (await s.execute(select(Plan.code, Plan.id))).all()}
        modes = {(r.from_plan_id, r.to_plan_id): r.mode for r in await s.scalars(select(PlanChangeRule))}
    assert modes[(ids["sim_start"], ids["sim_korlatlan"])] == "immediate"
    assert modes[(ids["net_1000"], ids["net_100"])] == "next_period"
    assert (ids["sim_start"], ids["net_100"]) not in modes  # no change across kinds


async def test_add_on_rules_refer_to_real_add_ons_and_plans(maker: Maker) -> None:
    await seeded(maker)
    async with maker() as s:
        addons = {a.code: a for a in await s.scalars(select(AddOn))}
        plans = {p.code: p for p in await s.scalars(select(Plan))}
    for addon in addons.values():
        assert set(addon.requires) | set(addon.conflicts) <= set(addons), addon.code
        assert addon.plan_codes is None or set(addon.plan_codes) <= set(plans), addon.code
        assert set(addon.kinds) <= {k.value for k in ServiceKind}
    assert addons["hbo_pack"].requires == ["hd_stb"]
    assert "roaming_barring" in addons["eu_roaming"].conflicts and "eu_roaming" in addons["roaming_barring"].conflicts
    groups = [a.code for a in addons.values() if a.exclusive_group == "data_pack"]
    assert len(groups) >= 2


async def test_reasons_carry_the_consequences_the_rules_give_them(maker: Maker) -> None:
    await seeded(maker)
    async with maker() as s:
        holds = {r.code: r for r in await s.scalars(select(SuspensionReason))}
        ends = {r.code: r for r in await s.scalars(select(TerminationReason))}
        fees = {f.code for f in await s.scalars(select(OneOffFee))}
    # The catalogue's rows read back as exactly the rules the lifecycle enforces by default.
    assert {code: rule_of(row) for code, row in holds.items()} == dict(DEFAULT_SUSPENSION_RULES)
    assert holds["customer_request"].voluntary and holds["customer_request"].settings["max_days_in_12_months"] == 180
    assert holds["customer_request"].billing == "suspension_fee"
    assert holds["lost_or_stolen"].billing == "full" and holds["lost_or_stolen"].lifts_on_swap
    assert holds["fraud"].place_roles == ["supervisor"] and holds["fraud"].lift_roles == ["supervisor"]
    assert holds["non_payment"].fee_on_resume == "reconnection"
    assert rule_of(holds["fraud"], "hu").label == "Visszaélés gyanúja"
    assert ends["customer_request"].notice_days == 8
    assert set(ends) == {"customer_request", "end_of_contract", "non_payment", "ported_out", "deceased"}
    assert {"activation", "sim_swap", "reconnection"} <= fees


async def test_seeding_again_adds_nothing_and_keeps_what_an_administrator_changed(maker: Maker) -> None:
    await seeded(maker)
    async with maker() as s, s.begin():
        plan = (await s.scalars(select(Plan).where(Plan.code == "sim_start"))).one()
        plan.monthly_fee = Decimal("2000.00")
        counts = (len(list(await s.scalars(select(Plan)))), len(list(await s.scalars(select(AddOn)))))
    await seeded(maker)
    async with maker() as s:
        plans = list(await s.scalars(select(Plan)))
        assert (len(plans), len(list(await s.scalars(select(AddOn))))) == counts
        assert next(p for p in plans if p.code == "sim_start").monthly_fee == Decimal("2000.00")
