"""The administrator's catalogue: new plans of every kind with their usage prices, the plans a plan
may change to, new add-ons, suspension and termination reasons and one-off fees created and
edited. Bad input is refused beside the field and changes nothing, a stale form gets the saved
values, every change is audited, nobody else may, and the lifecycle follows what was saved."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.audit import AuditEntry
from backoffice.errors import ConflictError, ForbiddenError, ValidationFailedError
from backoffice.subscriptions import lifecycle, services
from backoffice.subscriptions.catalogue import rule_of
from backoffice.subscriptions.models import (
    AddOn,
    OneOffFee,
    Plan,
    PlanChangeRule,
    SuspensionReason,
    TerminationReason,
)
from backoffice.subscriptions.schemas import ActionInput, OneOffFeeInput
from tests.conftest import post_form
from tests.customers.helpers import field_error, input_value
from tests.subscriptions.helpers import (
    AGENT,
    SUPERVISOR,
    act,
    active_sim,
    english,
    intervals,
    load,
    seed_catalogue,
    today_is,
)

Maker = async_sessionmaker[AsyncSession]
D = dt.date
ADMIN = "/admin/catalogue"


async def row(maker: Maker, model: Any, code: str) -> Any:
    async with maker() as s:
        return (await s.scalars(select(model).where(model.code == code))).one()


async def count(maker: Maker, model: Any) -> int:
    async with maker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def audits(maker: Maker, action: str) -> list[AuditEntry]:
    async with maker() as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
async def admin(client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker) -> AsyncTestClient[Litestar]:
    """An administrator signed in over a seeded catalogue (and a number pool for the lifecycle)."""
    await seed_catalogue(maker)
    await signed_in(client, "admin")
    return client


# ---------------------------------------------------------------- plans


def new_sim_plan(**changes: Any) -> dict[str, Any]:
    values = {"kind": "sim", "code": "sim_max", "name_hu": "Mobil Max", "name_en": "Mobile Max",
              "monthly_fee": "11811.02", "suspension_fee": "1181.10", "vat_rate": "27",
              "commitment_monthly_discount": "2362.20", "early_termination_cap": "47244.09",
              "included_minutes": "", "included_sms": "", "included_data_mb": "102400",
              "voice_rounding": "per_second_after_first_minute", "price_per_minute": "0", "price_per_sms": "0",
              "price_per_mb": "0,79", "roaming_price_per_minute": "19.69", "roaming_price_per_mb": "1.18",
              "portal_selectable": "1", "active": "1"}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


async def test_an_administrator_creates_a_sim_plan_with_its_usage_prices(
    admin: AsyncTestClient[Litestar], maker: Maker
) -> None:
    page = await admin.get(f"{ADMIN}/plans/new?kind=sim")
    assert page.status_code == 200 and input_value(page.text, "code") == ""
    assert input_value(page.text, "roaming_price_per_mb") == "0.00" and 'name="channel_count"' not in page.text
    created = await post_form(admin, f"{ADMIN}/plans", new_sim_plan())
    assert created.status_code == 303, created.text
    plan = await row(maker, Plan, "sim_max")
    assert created.headers["location"] == f"{ADMIN}/plans/{plan.id}/edit#changes"
    assert (plan.kind, plan.monthly_fee, plan.vat_rate) == ("sim", Decimal("11811.02"), Decimal("27.00"))
    assert (plan.included_minutes, plan.included_sms, plan.included_data_mb) == (None, None, 102400)
    assert (plan.voice_rounding, plan.price_per_mb, plan.roaming_price_per_minute) == (
        "per_second_after_first_minute", Decimal("0.79"), Decimal("19.69"))
    assert plan.download_mbps is None and plan.channel_count is None and plan.portal_selectable and plan.active
    [entry] = await audits(maker, "catalogue.plan_created")
    assert (entry.entity_type, entry.entity_id, entry.before) == ("plan", "sim_max", None)
    assert entry.after is not None and entry.after["kind"] == "sim" and entry.after["monthly_fee"] == "11811.02"
    catalogue = await admin.get("/catalogue")
    assert "Mobile Max" in catalogue.text


async def test_an_internet_plan_has_a_speed_and_a_cable_plan_a_channel_count(
    admin: AsyncTestClient[Litestar], maker: Maker
) -> None:
    page = await admin.get(f"{ADMIN}/plans/new?kind=internet")
    assert 'name="download_mbps"' in page.text and 'name="voice_rounding" value=' in page.text  # kept hidden
    base = {"name_hu": "Net 2000", "name_en": "Net 2000", "monthly_fee": "10236.22", "suspension_fee": "787.40",
            "vat_rate": "27.00", "commitment_monthly_discount": "1574.80", "early_termination_cap": "31496.06",
            "active": "1"}
    missing = await post_form(admin, f"{ADMIN}/plans", {**base, "kind": "internet", "code": "net_2000"})
    assert missing.status_code == 422 and field_error(missing.text, "download_mbps")
    net = await post_form(admin, f"{ADMIN}/plans", {**base, "kind": "internet", "code": "net_2000",
                                                    "download_mbps": "2000", "channel_count": "99"})
    tv = await post_form(admin, f"{ADMIN}/plans", {**base, "kind": "cable_tv", "code": "tv_max",
                                                   "channel_count": "180"})
    assert (net.status_code, tv.status_code) == (303, 303)
    net_plan, tv_plan = await row(maker, Plan, "net_2000"), await row(maker, Plan, "tv_max")
    assert (net_plan.download_mbps, net_plan.channel_count, net_plan.price_per_minute) == (2000, None, Decimal(0))
    assert (tv_plan.channel_count, tv_plan.download_mbps, tv_plan.voice_rounding) == (180, None, "per_started_minute")


@pytest.mark.parametrize(("changes", "field"), [
    ({"code": "sim_start"}, "code"),  # taken
    ({"code": "Sim Max"}, "code"),
    ({"code": "x" * 41}, "code"),
    ({"code": ""}, "code"),
    ({"kind": "satellite"}, "kind"),
    ({"monthly_fee": "-100"}, "monthly_fee"),
    ({"price_per_minute": "-1"}, "price_per_minute"),
    ({"roaming_price_per_mb": ""}, "roaming_price_per_mb"),
    ({"vat_rate": "101"}, "vat_rate"),
    ({"vat_rate": "27.125"}, "vat_rate"),
    ({"voice_rounding": "per_hour"}, "voice_rounding"),
    ({"included_data_mb": "lots"}, "included_data_mb"),
    ({"early_termination_cap": "100"}, "early_termination_cap"),
])
async def test_a_bad_new_plan_is_refused_beside_the_field_and_nothing_is_created(
    admin: AsyncTestClient[Litestar], maker: Maker, changes: dict[str, Any], field: str
) -> None:
    plans = await count(maker, Plan)
    refused = await post_form(admin, f"{ADMIN}/plans", new_sim_plan(**changes))
    assert refused.status_code == 422 and field_error(refused.text, field), field
    if field not in {"kind", "voice_rounding"}:
        assert input_value(refused.text, field) == changes[field]  # what was typed stays
    assert input_value(refused.text, "name_en") == "Mobile Max"
    assert await count(maker, Plan) == plans and await audits(maker, "catalogue.plan_created") == []


async def test_a_new_plan_with_a_bad_speed_is_refused(admin: AsyncTestClient[Litestar], maker: Maker) -> None:
    for speed in ("0", "-5", "fast", "100001"):
        refused = await post_form(admin, f"{ADMIN}/plans", new_sim_plan(kind="internet", code="net_x",
                                                                          download_mbps=speed))
        assert refused.status_code == 422 and field_error(refused.text, "download_mbps"), speed
    assert await count(maker, Plan) == 10


def edit_form(plan: Plan, **changes: Any) -> dict[str, Any]:
    """The plan's edit form as the page fills it."""
    values = {name: "" if (v := getattr(plan, name)) is None else str(v) for name in (
        "name_hu", "name_en", "monthly_fee", "suspension_fee", "vat_rate", "commitment_monthly_discount",
        "early_termination_cap", "included_minutes", "included_sms", "included_data_mb", "voice_rounding",
        "price_per_minute", "price_per_sms", "price_per_mb", "roaming_price_per_minute", "roaming_price_per_mb",
        "download_mbps", "channel_count")}
    values.update({"portal_selectable": "1" if plan.portal_selectable else "", "active": "1",
                   "version": str(plan.version)})
    values.update(changes)
    return values


async def test_an_administrator_edits_a_plans_rounding_usage_and_roaming_prices(
    admin: AsyncTestClient[Litestar], maker: Maker
) -> None:
    plan = await row(maker, Plan, "sim_start")
    page = await admin.get(f"{ADMIN}/plans/{plan.id}/edit")
    assert input_value(page.text, "voice_rounding") == "per_started_minute"
    assert input_value(page.text, "roaming_price_per_minute") == "39.37"
    saved = await post_form(admin, f"{ADMIN}/plans/{plan.id}", edit_form(
        plan, voice_rounding="per_second_after_first_minute", price_per_sms="19.69", roaming_price_per_mb="2.50"))
    assert saved.status_code == 303, saved.text
    now = await row(maker, Plan, "sim_start")
    assert (now.voice_rounding, now.price_per_sms, now.roaming_price_per_mb) == (
        "per_second_after_first_minute", Decimal("19.69"), Decimal("2.50"))
    [entry] = await audits(maker, "catalogue.plan_changed")
    assert entry.before == {"voice_rounding": "per_started_minute", "price_per_sms": "23.62",
                            "roaming_price_per_mb": "3.15"}
    assert entry.after == {"voice_rounding": "per_second_after_first_minute", "price_per_sms": "19.69",
                           "roaming_price_per_mb": "2.50"}


async def test_an_administrator_edits_an_internet_speed_and_a_channel_count(
    admin: AsyncTestClient[Litestar], maker: Maker
) -> None:
    net, tv = await row(maker, Plan, "net_500"), await row(maker, Plan, "tv_alap")
    page = await admin.get(f"{ADMIN}/plans/{net.id}/edit")
    assert input_value(page.text, "download_mbps") == "500" and 'name="channel_count"' not in page.text
    assert (await post_form(admin, f"{ADMIN}/plans/{net.id}", edit_form(net, download_mbps="600"))).status_code == 303
    assert (await post_form(admin, f"{ADMIN}/plans/{tv.id}", edit_form(tv, channel_count="50"))).status_code == 303
    refused = await post_form(admin, f"{ADMIN}/plans/{tv.id}", edit_form(tv, channel_count="0", version="1"))
    assert refused.status_code == 422 and field_error(refused.text, "channel_count")
    assert (await row(maker, Plan, "net_500")).download_mbps == 600
    assert (await row(maker, Plan, "tv_alap")).channel_count == 50
    assert [e.after for e in await audits(maker, "catalogue.plan_changed")] == [{"download_mbps": 600},
                                                                              {"channel_count": 50}]


async def test_saving_a_plan_unchanged_writes_no_audit_entry(admin: AsyncTestClient[Litestar], maker: Maker) -> None:
    plan = await row(maker, Plan, "sim_plusz")
    assert (await post_form(admin, f"{ADMIN}/plans/{plan.id}", edit_form(plan))).status_code == 303
    assert await audits(maker, "catalogue.plan_changed") == []
    assert (await row(maker, Plan, "sim_plusz")).version == plan.version


# ---------------------------------------------------------------- allowed plan changes


async def rules_from(maker: Maker, code: str) -> dict[str, str]:
    async with maker() as s:
        plans = {p.id: p.code for p in await s.scalars(select(Plan))}
        source = next(pid for pid, c in plans.items() if c == code)
        return {plans[r.to_plan_id]: r.mode for r in await s.scalars(
            select(PlanChangeRule).where(PlanChangeRule.from_plan_id == source))}


async def test_the_plan_page_lists_the_allowed_changes_and_offers_only_plans_of_its_kind(
    admin: AsyncTestClient[Litestar], maker: Maker
) -> None:
    plan = await row(maker, Plan, "sim_plusz")
    page = await admin.get(f"{ADMIN}/plans/{plan.id}/edit")
    section = page.text[page.text.index('id="changes"'):]
    assert "Mobile Start" in section and "Mobile Unlimited" in section
    assert "From the next billing period" in section and "At once" in section
    # Both already allowed: nothing left to add for a SIM plan; no plan of another kind is offered.
    assert "net_100" not in section and "Every other plan of this kind is already listed." in section


async def test_an_administrator_allows_a_change_by_fee_and_the_lifecycle_offers_it(
    admin: AsyncTestClient[Litestar], maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await post_form(admin, f"{ADMIN}/plans", new_sim_plan())).status_code == 303
    korlatlan, sim_max = await row(maker, Plan, "sim_korlatlan"), await row(maker, Plan, "sim_max")
    page = await admin.get(f"{ADMIN}/plans/{korlatlan.id}/edit")
    assert f'<option value="{sim_max.id}"' in page.text
    added = await post_form(admin, f"{ADMIN}/plans/{korlatlan.id}/changes",
                            {"to_plan_id": str(sim_max.id), "mode": "by_fee"})
    assert added.status_code == 303 and added.headers["location"].endswith("#changes")
    back = await post_form(admin, f"{ADMIN}/plans/{sim_max.id}/changes",
                           {"to_plan_id": str(korlatlan.id), "mode": "by_fee"}, headers={"hx-request": "true"})
    assert back.status_code == 200 and "<html" not in back.text and "Mobile Unlimited" in back.text
    # Dearer: an upgrade, at once; cheaper: a downgrade, from the next period.
    assert (await rules_from(maker, "sim_korlatlan"))["sim_max"] == "immediate"
    assert await rules_from(maker, "sim_max") == {"sim_korlatlan": "next_period"}
    entries = await audits(maker, "catalogue.plan_change_set")
    assert [(e.entity_id, e.after) for e in entries][1] == ("sim_max", {"allowed_changes": {
        "sim_korlatlan": "next_period"}})
    with today_is(monkeypatch, D(2025, 3, 10)):
        service = await active_sim(maker, plan="sim_korlatlan")
        outcome = await act(maker, service, "change_plan", plan_code="sim_max")
    assert outcome.preview.effective_date == D(2025, 3, 10)
    assert (await load(maker, service.id)).plan_id == sim_max.id


async def test_a_mode_is_changed_and_a_removed_change_is_refused_by_the_lifecycle(
    admin: AsyncTestClient[Litestar], maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, plusz = await row(maker, Plan, "sim_start"), await row(maker, Plan, "sim_plusz")
    changed = await post_form(admin, f"{ADMIN}/plans/{start.id}/changes",
                              {"to_plan_id": str(plusz.id), "mode": "next_period"})
    assert changed.status_code == 303
    assert (await rules_from(maker, "sim_start"))["sim_plusz"] == "next_period"
    async with maker() as s:
        rule = (await s.scalars(select(PlanChangeRule).where(PlanChangeRule.from_plan_id == start.id,
                                                             PlanChangeRule.to_plan_id == plusz.id))).one()
    removed = await post_form(admin, f"{ADMIN}/plans/{start.id}/changes/{rule.id}/remove", {})
    assert removed.status_code == 303
    assert "sim_plusz" not in await rules_from(maker, "sim_start")
    again = await post_form(admin, f"{ADMIN}/plans/{start.id}/changes/{rule.id}/remove", {},
                            headers={"hx-request": "true"})
    assert again.status_code == 409 and "someone removed it meanwhile" in again.text
    [entry] = await audits(maker, "catalogue.plan_change_removed")
    assert entry.before == {"allowed_changes": {"sim_plusz": "next_period", "sim_korlatlan": "immediate"}}
    assert entry.after == {"allowed_changes": {"sim_korlatlan": "immediate"}}
    with today_is(monkeypatch, D(2025, 3, 10)):
        service = await active_sim(maker, plan="sim_start")
        with pytest.raises(ConflictError) as refused:
            await act(maker, service, "change_plan", plan_code="sim_plusz")
    assert refused.value.code == "plan_change_not_allowed"


@pytest.mark.parametrize(("target", "mode", "message"), [
    ("sim_start", "by_fee", "A plan cannot change to itself."),
    ("net_100", "by_fee", "A plan can only change to a plan of the same service kind."),
    ("tv_alap", "immediate", "A plan can only change to a plan of the same service kind."),
    (None, "by_fee", "Choose one of the offered plans."),  # no such plan
    ("sim_plusz", "whenever", "Choose one of the offered values."),
])
async def test_a_bad_plan_change_is_refused_and_nothing_changes(
    admin: AsyncTestClient[Litestar], maker: Maker, target: str | None, mode: str, message: str
) -> None:
    start = await row(maker, Plan, "sim_start")
    target_id = str((await row(maker, Plan, target)).id) if target else "987654"
    before = await rules_from(maker, "sim_start")
    refused = await post_form(admin, f"{ADMIN}/plans/{start.id}/changes", {"to_plan_id": target_id, "mode": mode})
    assert refused.status_code == 422
    field = "mode" if mode == "whenever" else "to_plan_id"
    assert field_error(refused.text, field) == message
    assert input_value(refused.text, "monthly_fee") == "2354.33"  # the full plan page, with the plan form
    fragment = await post_form(admin, f"{ADMIN}/plans/{start.id}/changes", {"to_plan_id": target_id, "mode": mode},
                               headers={"hx-request": "true"})
    assert fragment.status_code == 422 and "<html" not in fragment.text and field_error(fragment.text, field)
    assert await rules_from(maker, "sim_start") == before
    assert await audits(maker, "catalogue.plan_change_set") == []


# ---------------------------------------------------------------- add-ons


def new_addon(**changes: Any) -> dict[str, Any]:
    values = {"code": "data_50gb", "name_hu": "Adatjegy 50 GB", "name_en": "Data pack 50 GB", "price": "5511.81",
              "vat_rate": "27", "recurring": "1", "portal": "1", "active": "1", "kind_sim": "1",
              "plan_codes": "sim_plusz, sim_korlatlan", "exclusive_group": "data_pack", "requires": "",
              "conflicts": "roaming_barring"}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


async def test_an_administrator_creates_an_add_on(admin: AsyncTestClient[Litestar], maker: Maker) -> None:
    page = await admin.get(f"{ADMIN}/addons/new")
    assert page.status_code == 200 and input_value(page.text, "vat_rate") == "27.00"
    created = await post_form(admin, f"{ADMIN}/addons", new_addon())
    assert created.status_code == 303, created.text
    addon = await row(maker, AddOn, "data_50gb")
    assert (addon.kinds, addon.plan_codes, addon.exclusive_group, addon.conflicts, addon.price) == (
        ["sim"], ["sim_plusz", "sim_korlatlan"], "data_pack", ["roaming_barring"], Decimal("5511.81"))
    assert addon.portal and addon.recurring and addon.active and addon.version == 1
    [entry] = await audits(maker, "catalogue.addon_created")
    assert entry.entity_id == "data_50gb" and entry.after is not None and entry.after["price"] == "5511.81"
    assert "Data pack 50 GB" in (await admin.get("/catalogue")).text


@pytest.mark.parametrize(("changes", "field"), [
    ({"code": "data_5gb"}, "code"),  # taken
    ({"code": "Data-50"}, "code"),
    ({"price": "-10"}, "price"),
    ({"vat_rate": "abc"}, "vat_rate"),
    ({"requires": "no_such_addon"}, "requires"),
    ({"plan_codes": "net_100"}, "plan_codes"),
    ({"kind_sim": None}, "kinds"),
])
async def test_a_bad_new_add_on_is_refused_beside_the_field(
    admin: AsyncTestClient[Litestar], maker: Maker, changes: dict[str, Any], field: str
) -> None:
    addons = await count(maker, AddOn)
    refused = await post_form(admin, f"{ADMIN}/addons", new_addon(**changes))
    assert refused.status_code == 422 and field_error(refused.text, field), field
    assert input_value(refused.text, "name_en") == "Data pack 50 GB"
    assert await count(maker, AddOn) == addons and await audits(maker, "catalogue.addon_created") == []


# ---------------------------------------------------------------- suspension reasons


def reason_form(reason: SuspensionReason, fingerprint: str | None = None, **changes: Any) -> dict[str, Any]:
    settings = reason.settings or {}
    values: dict[str, Any] = {
        "name_hu": reason.name_hu, "name_en": reason.name_en, "billing": reason.billing,
        "fee_on_suspend": reason.fee_on_suspend or "", "fee_on_resume": reason.fee_on_resume or "",
        "max_days_in_12_months": str(settings.get("max_days_in_12_months") or ""),
        "lift_condition": settings.get("lift_condition") or "", "immediate": "1" if settings.get("immediate") else "",
        "partial": "1" if settings.get("partial") else "", "voluntary": "1" if reason.voluntary else "",
        "portal": "1" if reason.portal else "", "lifts_on_swap": "1" if reason.lifts_on_swap else "",
        "active": "1" if reason.active else ""}
    values.update({f"place_{r}": "1" for r in reason.place_roles})
    values.update({f"lift_{r}": "1" for r in reason.lift_roles})
    if fingerprint is not None:
        values["fingerprint"] = fingerprint
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


async def opened(client: AsyncTestClient[Litestar], path: str) -> str:
    """Open an edit form; what it remembers of the values it showed."""
    page = await client.get(path)
    assert page.status_code == 200
    fingerprint = input_value(page.text, "fingerprint")
    assert fingerprint
    return fingerprint


async def test_a_shorter_voluntary_limit_is_what_the_lifecycle_then_enforces(
    admin: AsyncTestClient[Litestar], maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = await row(maker, SuspensionReason, "customer_request")
    path = f"{ADMIN}/suspension-reasons/{reason.id}"
    page = await admin.get(f"{path}/edit")
    assert input_value(page.text, "max_days_in_12_months") == "180"
    assert input_value(page.text, "billing") == "suspension_fee"
    saved = await post_form(admin, path, reason_form(reason, await opened(admin, f"{path}/edit"),
                                                     max_days_in_12_months="30"))
    assert saved.status_code == 303, saved.text
    now = await row(maker, SuspensionReason, "customer_request")
    assert now.settings == {"max_days_in_12_months": 30} and rule_of(now).max_days_in_12_months == 30
    [entry] = await audits(maker, "catalogue.suspension_reason_changed")
    assert (entry.entity_id, entry.before, entry.after) == (
        "customer_request", {"settings": {"max_days_in_12_months": 180}}, {"settings": {"max_days_in_12_months": 30}})
    with today_is(monkeypatch, D(2025, 3, 1)):
        service = await active_sim(maker)
        async with maker() as s:
            with pytest.raises(ValidationFailedError) as previewed:
                await lifecycle.preview(s, AGENT, service.id, ActionInput(
                    action="suspend", reason="customer_request", end_date=D(2025, 4, 10)))  # 40 days
        with pytest.raises(ValidationFailedError) as refused:
            await act(maker, service, "suspend", reason="customer_request", end_date=D(2025, 4, 10))
        assert "at most 30 days in any 12 months" in english(refused.value.message)
        assert previewed.value.code == refused.value.code == "voluntary_limit_exceeded"
        assert (await load(maker, service.id)).state == "active"
        await act(maker, service, "suspend", reason="customer_request", end_date=D(2025, 3, 31))  # 30 days
    assert (await load(maker, service.id)).state == "suspended"


async def test_who_may_lift_and_the_resume_fee_follow_the_edited_reason(
    admin: AsyncTestClient[Litestar], maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    fraud = await row(maker, SuspensionReason, "fraud")
    path = f"{ADMIN}/suspension-reasons/{fraud.id}"
    saved = await post_form(admin, path, reason_form(fraud, await opened(admin, f"{path}/edit"), lift_agent="1",
                                                     fee_on_resume="reconnection", code="hacked"))
    assert saved.status_code == 303, saved.text
    now = await row(maker, SuspensionReason, "fraud")  # the code cannot be changed
    assert (now.lift_roles, now.fee_on_resume) == (["agent", "supervisor"], "reconnection")
    with today_is(monkeypatch, D(2025, 3, 1)):
        service = await active_sim(maker)
        await act(maker, service, "suspend", SUPERVISOR, reason="fraud")
        outcome = await act(maker, service, "resume", AGENT, reason="fraud")  # before: a supervisor only
    assert [(f.code, f.amount) for f in outcome.preview.fees] == [("reconnection", Decimal("3937.01"))]
    assert (await load(maker, service.id)).state == "active"


async def test_a_new_suspension_reason_works_through_the_generic_rules(
    admin: AsyncTestClient[Litestar], maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = await admin.get(f"{ADMIN}/suspension-reasons/new")
    assert page.status_code == 200 and '<option value="reconnection"' in page.text
    created = await post_form(admin, f"{ADMIN}/suspension-reasons", {
        "code": "technical_fault", "name_hu": "Műszaki hiba", "name_en": "Technical fault", "place_supervisor": "1",
        "lift_supervisor": "1", "lift_system": "1", "billing": "none", "fee_on_suspend": "", "fee_on_resume": "",
        "active": "1"})
    assert created.status_code == 303, created.text
    reason = await row(maker, SuspensionReason, "technical_fault")
    assert (reason.place_roles, reason.lift_roles, reason.billing, reason.settings, reason.voluntary) == (
        ["supervisor"], ["supervisor", "system"], "none", {}, False)
    [entry] = await audits(maker, "catalogue.suspension_reason_created")
    assert entry.entity_id == "technical_fault" and entry.after is not None and entry.after["billing"] == "none"
    assert "Technical fault" in (await admin.get("/catalogue")).text
    with today_is(monkeypatch, D(2025, 3, 1)):
        service = await active_sim(maker)
        with pytest.raises(ForbiddenError):
            await act(maker, service, "suspend", AGENT, reason="technical_fault")
        outcome = await act(maker, service, "suspend", SUPERVISOR, reason="technical_fault")
    assert any("not billed" in english(note) for note in outcome.preview.notes)
    assert (await intervals(maker, service.id))["holds"] == [("technical_fault", D(2025, 3, 1), None)]


@pytest.mark.parametrize(("changes", "field"), [
    ({"max_days_in_12_months": "0"}, "max_days_in_12_months"),
    ({"max_days_in_12_months": "366"}, "max_days_in_12_months"),
    ({"max_days_in_12_months": "half a year"}, "max_days_in_12_months"),
    ({"max_days_in_12_months": ""}, "max_days_in_12_months"),  # a voluntary reason needs its limit
    ({"voluntary": ""}, "max_days_in_12_months"),  # only a voluntary reason has one
    ({"fee_on_suspend": "no_such_fee"}, "fee_on_suspend"),
    ({"fee_on_resume": "Not A Code"}, "fee_on_resume"),
    ({"place_agent": None, "place_supervisor": None}, "place_roles"),
    ({"lift_agent": None, "lift_supervisor": None}, "lift_roles"),
    ({"billing": "sometimes"}, "billing"),
    ({"lift_condition": "moon_is_full"}, "lift_condition"),
    ({"name_en": ""}, "name_en"),
])
async def test_a_bad_suspension_reason_is_refused_beside_the_field_and_nothing_changes(
    admin: AsyncTestClient[Litestar], maker: Maker, changes: dict[str, Any], field: str
) -> None:
    reason = await row(maker, SuspensionReason, "customer_request")
    path = f"{ADMIN}/suspension-reasons/{reason.id}"
    refused = await post_form(admin, path, reason_form(reason, await opened(admin, f"{path}/edit"), **changes))
    assert refused.status_code == 422 and field_error(refused.text, field), field
    if field == "max_days_in_12_months":
        assert input_value(refused.text, field) == changes.get(field, "180")
    now = await row(maker, SuspensionReason, "customer_request")
    assert rule_of(now) == rule_of(reason) and (now.name_en, now.active) == (reason.name_en, reason.active)
    assert await audits(maker, "catalogue.suspension_reason_changed") == []


@pytest.mark.parametrize(("code", "field"), [("fraud", "code"), ("Fraud!", "code"), ("", "code")])
async def test_a_new_suspension_reason_needs_a_new_well_formed_code(
    admin: AsyncTestClient[Litestar], maker: Maker, code: str, field: str
) -> None:
    fraud = await row(maker, SuspensionReason, "fraud")
    refused = await post_form(admin, f"{ADMIN}/suspension-reasons", reason_form(fraud, code=code))
    assert refused.status_code == 422 and field_error(refused.text, field)
    assert await count(maker, SuspensionReason) == 5


async def test_a_stale_reason_form_is_refused_with_the_saved_values(
    admin: AsyncTestClient[Litestar], maker: Maker
) -> None:
    reason = await row(maker, SuspensionReason, "lost_or_stolen")
    path = f"{ADMIN}/suspension-reasons/{reason.id}"
    seen = await opened(admin, f"{path}/edit")
    first = await post_form(admin, path, reason_form(reason, seen, name_en="Lost, stolen or broken SIM"))
    assert first.status_code == 303
    late = await post_form(admin, path, reason_form(reason, seen, portal=""))
    assert late.status_code == 409 and "changed this reason after you opened it" in late.text
    assert input_value(late.text, "name_en") == "Lost, stolen or broken SIM"
    assert input_value(late.text, "fingerprint") != seen
    now = await row(maker, SuspensionReason, "lost_or_stolen")
    assert now.portal and now.name_en == "Lost, stolen or broken SIM"


# ---------------------------------------------------------------- termination reasons


def termination_form(reason: TerminationReason, fingerprint: str | None = None, **changes: Any) -> dict[str, Any]:
    values = {"name_hu": reason.name_hu, "name_en": reason.name_en, "notice_days": str(reason.notice_days),
              "portal": "1" if reason.portal else "", "active": "1" if reason.active else "",
              "early_termination_fee": "1" if reason.early_termination_fee else ""}
    if fingerprint is not None:
        values["fingerprint"] = fingerprint
    values.update(changes)
    return values


async def test_a_longer_notice_is_what_the_lifecycle_then_applies(
    admin: AsyncTestClient[Litestar], maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = await row(maker, TerminationReason, "customer_request")
    path = f"{ADMIN}/termination-reasons/{reason.id}"
    saved = await post_form(admin, path, termination_form(reason, await opened(admin, f"{path}/edit"),
                                                          notice_days="30", portal=""))
    assert saved.status_code == 303, saved.text
    now = await row(maker, TerminationReason, "customer_request")
    assert (now.notice_days, now.portal) == (30, False)
    [entry] = await audits(maker, "catalogue.termination_reason_changed")
    assert (entry.before, entry.after) == ({"notice_days": 8, "portal": True}, {"notice_days": 30, "portal": False})
    with today_is(monkeypatch, D(2025, 3, 1)):
        service = await active_sim(maker)
        async with maker() as s:
            shown = await lifecycle.preview(s, AGENT, service.id, ActionInput(action="terminate",
                                                                              reason="customer_request"))
    assert shown.effective_date == D(2025, 3, 31)


async def test_an_administrator_creates_a_termination_reason(
    admin: AsyncTestClient[Litestar], maker: Maker
) -> None:
    assert (await admin.get(f"{ADMIN}/termination-reasons/new")).status_code == 200
    created = await post_form(admin, f"{ADMIN}/termination-reasons", {
        "code": "moved_abroad", "name_hu": "Külföldre költözés", "name_en": "Moved abroad", "notice_days": "15",
        "portal": "1", "active": "1"})
    assert created.status_code == 303, created.text
    reason = await row(maker, TerminationReason, "moved_abroad")
    assert (reason.notice_days, reason.portal, reason.early_termination_fee) == (15, True, False)
    assert [e.entity_id for e in await audits(maker, "catalogue.termination_reason_created")] == ["moved_abroad"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"notice_days": "91"}, "notice_days"),
    ({"notice_days": "-1"}, "notice_days"),
    ({"notice_days": ""}, "notice_days"),
    ({"code": "deceased"}, "code"),
    ({"code": "moved abroad"}, "code"),
])
async def test_a_bad_termination_reason_is_refused(
    admin: AsyncTestClient[Litestar], maker: Maker, changes: dict[str, Any], field: str
) -> None:
    form = {"code": "moved_abroad", "name_hu": "Külföldre költözés", "name_en": "Moved abroad", "notice_days": "15",
            "active": "1", **changes}
    refused = await post_form(admin, f"{ADMIN}/termination-reasons", form)
    assert refused.status_code == 422 and field_error(refused.text, field)
    assert input_value(refused.text, field) == changes[field]
    reason = await row(maker, TerminationReason, "end_of_contract")
    path = f"{ADMIN}/termination-reasons/{reason.id}"
    if field == "notice_days":
        edited = await post_form(admin, path, termination_form(reason, await opened(admin, f"{path}/edit"), **changes))
        assert edited.status_code == 422 and field_error(edited.text, field)
    assert await count(maker, TerminationReason) == 5
    assert (await row(maker, TerminationReason, "end_of_contract")).notice_days == 0
    assert await audits(maker, "catalogue.termination_reason_changed") == []


# ---------------------------------------------------------------- one-off fees


def fee_form(fee: OneOffFee, fingerprint: str | None = None, **changes: Any) -> dict[str, Any]:
    values = {"name_hu": fee.name_hu, "name_en": fee.name_en, "amount": str(fee.amount),
              "vat_rate": str(fee.vat_rate), "active": "1" if fee.active else ""}
    if fingerprint is not None:
        values["fingerprint"] = fingerprint
    values.update(changes)
    return values


async def test_a_new_activation_fee_is_what_an_activation_then_costs(
    admin: AsyncTestClient[Litestar], maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    fee = await row(maker, OneOffFee, "activation")
    path = f"{ADMIN}/fees/{fee.id}"
    assert input_value((await admin.get(f"{path}/edit")).text, "amount") == "3149.61"
    saved = await post_form(admin, path, fee_form(fee, await opened(admin, f"{path}/edit"), amount="3 937,01"))
    assert saved.status_code == 303, saved.text
    assert (await row(maker, OneOffFee, "activation")).amount == Decimal("3937.01")
    [entry] = await audits(maker, "catalogue.fee_changed")
    assert (entry.entity_id, entry.before, entry.after) == ("activation", {"amount": "3149.61"},
                                                            {"amount": "3937.01"})
    with today_is(monkeypatch, D(2025, 3, 1)):
        service = await active_sim(maker)
    assert (await intervals(maker, service.id))["fees"] == [("activation", Decimal("3937.01"), D(2025, 3, 1))]


async def test_an_administrator_creates_a_one_off_fee(admin: AsyncTestClient[Litestar], maker: Maker) -> None:
    assert input_value((await admin.get(f"{ADMIN}/fees/new")).text, "vat_rate") == "27.00"
    created = await post_form(admin, f"{ADMIN}/fees", {"code": "number_change", "name_hu": "Hívószámcsere",
                                                       "name_en": "Number change", "amount": "2362.20",
                                                       "vat_rate": "27", "active": "1"})
    assert created.status_code == 303, created.text
    fee = await row(maker, OneOffFee, "number_change")
    assert (fee.amount, fee.vat_rate, fee.active) == (Decimal("2362.20"), Decimal("27.00"), True)
    assert [e.entity_id for e in await audits(maker, "catalogue.fee_created")] == ["number_change"]
    # A suspension reason may now charge it.
    page = await admin.get(f"{ADMIN}/suspension-reasons/new")
    assert '<option value="number_change"' in page.text


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": "-5"}, "amount"),
    ({"amount": "12.345"}, "amount"),
    ({"amount": ""}, "amount"),
    ({"vat_rate": "127"}, "vat_rate"),
    ({"vat_rate": "-1"}, "vat_rate"),
    ({"code": "sim_swap"}, "code"),
    ({"code": "SIM-SWAP"}, "code"),
])
async def test_a_bad_fee_is_refused_and_nothing_changes(
    admin: AsyncTestClient[Litestar], maker: Maker, changes: dict[str, Any], field: str
) -> None:
    form = {"code": "number_change", "name_hu": "Hívószámcsere", "name_en": "Number change", "amount": "2362.20",
            "vat_rate": "27", "active": "1", **changes}
    refused = await post_form(admin, f"{ADMIN}/fees", form)
    assert refused.status_code == 422 and field_error(refused.text, field)
    assert input_value(refused.text, field) == changes[field]
    fee = await row(maker, OneOffFee, "sim_swap")
    path = f"{ADMIN}/fees/{fee.id}"
    if field != "code":
        edited = await post_form(admin, path, fee_form(fee, await opened(admin, f"{path}/edit"), **changes))
        assert edited.status_code == 422 and field_error(edited.text, field)
    assert await count(maker, OneOffFee) == 4
    assert (await row(maker, OneOffFee, "sim_swap")).amount == Decimal("1574.80")
    assert await audits(maker, "catalogue.fee_changed") == [] and await audits(maker, "catalogue.fee_created") == []


async def test_a_stale_fee_form_is_refused_with_the_saved_values(
    admin: AsyncTestClient[Litestar], maker: Maker
) -> None:
    fee = await row(maker, OneOffFee, "reconnection")
    path = f"{ADMIN}/fees/{fee.id}"
    seen = await opened(admin, f"{path}/edit")
    assert (await post_form(admin, path, fee_form(fee, seen, amount="4000"))).status_code == 303
    late = await post_form(admin, path, fee_form(fee, seen, vat_rate="5"))
    assert late.status_code == 409 and input_value(late.text, "amount") == "4000.00"
    assert input_value(late.text, "vat_rate") == "27.00"
    assert (await row(maker, OneOffFee, "reconnection")).vat_rate == Decimal("27.00")


async def test_an_unknown_entry_is_not_found(admin: AsyncTestClient[Litestar]) -> None:
    assert (await admin.get(f"{ADMIN}/fees/987654/edit")).status_code == 404
    assert (await admin.get(f"{ADMIN}/gadgets/new")).status_code == 404
    assert (await post_form(admin, f"{ADMIN}/fees/987654", {"name_hu": "x"})).status_code == 404


# ---------------------------------------------------------------- who may


async def test_the_catalogue_links_the_editors_for_administrators_only(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker
) -> None:
    await seed_catalogue(maker)
    await signed_in(client, "admin")
    page = (await client.get("/catalogue")).text
    for href in ("/admin/catalogue/plans/new", "/admin/catalogue/addons/new", "/admin/catalogue/suspension-reasons/new",
                 "/admin/catalogue/termination-reasons/new", "/admin/catalogue/fees/new",
                 "/admin/catalogue/suspension-reasons/1/edit", "/admin/catalogue/termination-reasons/1/edit",
                 "/admin/catalogue/fees/1/edit"):
        assert f'href="{href}"' in page, href
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("bo_csrf") or ""})
    await signed_in(client, "agent")
    page = (await client.get("/catalogue")).text
    assert "/admin/catalogue" not in page


@pytest.mark.parametrize("role", ["agent", "supervisor", "records"])
async def test_nobody_but_an_administrator_uses_the_catalogue_editors(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, role: str
) -> None:
    await seed_catalogue(maker)
    start = await row(maker, Plan, "sim_start")
    async with maker() as s:
        rule_id = (await s.scalars(select(PlanChangeRule.id).where(PlanChangeRule.from_plan_id == start.id))).first()
    await signed_in(client, role)
    pages = [f"{ADMIN}/plans/new", f"{ADMIN}/plans/{start.id}/edit", f"{ADMIN}/addons/new", f"{ADMIN}/addons/1/edit"]
    forms = [f"{ADMIN}/plans", f"{ADMIN}/plans/{start.id}", f"{ADMIN}/plans/{start.id}/changes",
             f"{ADMIN}/plans/{start.id}/changes/{rule_id}/remove", f"{ADMIN}/addons", f"{ADMIN}/addons/1"]
    for slug in ("suspension-reasons", "termination-reasons", "fees"):
        pages += [f"{ADMIN}/{slug}/new", f"{ADMIN}/{slug}/1/edit"]
        forms += [f"{ADMIN}/{slug}", f"{ADMIN}/{slug}/1"]
    for path in pages:
        assert (await client.get(path)).status_code == 403, path
    for path in forms:
        refused = await post_form(client, path, {"code": "x", "name_hu": "x", "to_plan_id": "1"})
        assert refused.status_code == 403, path
    assert await rules_from(maker, "sim_start") == {"sim_plusz": "immediate", "sim_korlatlan": "immediate"}
    async with maker() as s:
        assert await s.scalar(select(func.count()).where(AuditEntry.action.like("catalogue.%"))) == 0


async def test_two_administrators_creating_the_same_code_at_once_get_one_entry_and_one_refusal(maker: Maker) -> None:
    """The second insert meets the first: on PostgreSQL at the unique index (the savepoint turns it
    into the field message), on SQLite already at the check (its writers queue)."""
    await seed_catalogue(maker)
    data = OneOffFeeInput(name_hu="Hívószámcsere", name_en="Number change", amount=Decimal("2362.20"),
                          vat_rate=Decimal("27.00"), active=True, code="number_change")
    first_inserted = asyncio.Event()

    async def first() -> None:
        async with maker() as s, s.begin():
            await services.create_fee(s, None, data)
            first_inserted.set()
            await asyncio.sleep(0.3)  # still uncommitted while the second one tries

    async def second() -> None:
        await first_inserted.wait()
        async with maker() as s, s.begin():
            await services.create_fee(s, None, data)

    outcomes = await asyncio.gather(first(), second(), return_exceptions=True)
    assert outcomes[0] is None
    assert isinstance(outcomes[1], ValidationFailedError) and outcomes[1].code == "code_taken"
    assert outcomes[1].field == "code"
    assert (await row(maker, OneOffFee, "number_change")).amount == Decimal("2362.20")
    assert len(await audits(maker, "catalogue.fee_created")) == 1
