"""SIM swap, plan change and add-ons through the service (PRODUCT.md, "Subscriptions and
services"), and the dated record billing reads across a sequence of actions on different days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from backoffice.errors import ConflictError, ValidationFailedError
from backoffice.subscriptions import services
from backoffice.subscriptions.models import AddOn, Plan, Service, SimCard
from backoffice.subscriptions.schemas import AddOnInput
from tests.subscriptions.helpers import (
    AGENT,
    SUPERVISOR,
    Maker,
    act,
    active_sim,
    english,
    intervals,
    line_order,
    load,
    new_contract,
    new_iccid,
    new_imsi,
    order,
    run_due,
    seed_catalogue,
    today_is,
)

D = dt.date


async def sims_of(maker: Maker, service_id: int) -> list[SimCard]:
    async with maker() as s:
        return list(await s.scalars(select(SimCard).where(SimCard.service_id == service_id).order_by(SimCard.id)))


async def plan_ids(maker: Maker) -> dict[str, int]:
    async with maker() as s:
        return {code: pid for code, pid in (await s.execute(select(Plan.code, Plan.id))).all()}


async def addon_ids(maker: Maker) -> dict[int, str]:
    async with maker() as s:
        return {aid: code for aid, code in (await s.execute(select(AddOn.id, AddOn.code))).all()}


async def addons_on(maker: Maker, service_id: int) -> list[tuple[str, dt.date, dt.date | None]]:
    codes = await addon_ids(maker)
    return [(codes[aid], start, end) for aid, start, end in (await intervals(maker, service_id))["addons"]]


async def active_line(maker: Maker, kind: str, plan: str) -> Service:
    contract = await new_contract(maker)
    service = await order(maker, contract, line_order(kind, plan))
    await act(maker, service, "activate")
    return await load(maker, service.id)


@pytest.fixture
async def sim(maker: Maker) -> Service:
    await seed_catalogue(maker)
    return await active_sim(maker)


def new_card() -> dict[str, Any]:
    return {"iccid": new_iccid(), "imsi": new_imsi(), "puk": "87654321"}


# ---------------------------------------------------------------- SIM swap


async def test_a_sim_swap_issues_a_new_card_blocks_the_old_one_keeps_the_number_and_costs_the_swap_fee(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2025, 5, 2)):
        service = await active_sim(maker)
    [old] = await sims_of(maker, service.id)
    card = new_card()
    with today_is(monkeypatch, D(2025, 5, 20)):
        outcome = await act(maker, service, "swap_sim", **card)
    assert [(f.code, f.amount) for f in outcome.preview.fees] == [("sim_swap", Decimal("1574.80"))]
    old_now, new = await sims_of(maker, service.id)
    assert (old_now.iccid, old_now.blocked_on, old_now.block_reason) == (old.iccid, D(2025, 5, 20), "swapped")
    assert (new.iccid, new.imsi, new.puk, new.issued_on, new.blocked_on) == (
        card["iccid"], card["imsi"], "87654321", D(2025, 5, 20), None)
    after = await load(maker, service.id)
    assert (after.number, after.state) == (service.number, "active")
    assert (await intervals(maker, service.id))["fees"][-1] == ("sim_swap", Decimal("1574.80"), D(2025, 5, 20))


async def test_a_sim_swap_ends_a_lost_sim_hold_but_not_a_non_payment_hold(maker: Maker, sim: Service) -> None:
    await act(maker, sim, "suspend", reason="lost_or_stolen")
    await act(maker, sim, "suspend", SUPERVISOR, reason="non_payment")
    outcome = await act(maker, sim, "swap_sim", **new_card())
    assert any("hold for “Lost or stolen SIM” ends" in english(n) for n in outcome.preview.notes)
    assert (await load(maker, sim.id)).state == "suspended"
    holds = (await intervals(maker, sim.id))["holds"]
    assert [(code, lifted is not None) for code, _, lifted in holds] == [("lost_or_stolen", True),
                                                                        ("non_payment", False)]


async def test_a_sim_swap_after_a_lost_sim_makes_the_service_work_again(maker: Maker, sim: Service) -> None:
    await act(maker, sim, "suspend", reason="lost_or_stolen", imei="490154203237518")
    await act(maker, sim, "swap_sim", **new_card())
    assert (await load(maker, sim.id)).state == "active"


@pytest.mark.parametrize("which", ["iccid", "imsi"])
async def test_a_card_already_issued_is_refused_beside_its_field(maker: Maker, sim: Service, which: str) -> None:
    [current] = await sims_of(maker, sim.id)
    card = new_card() | {which: getattr(current, which)}
    version = (await load(maker, sim.id)).version
    with pytest.raises(ValidationFailedError) as refused:
        await act(maker, sim, "swap_sim", **card)
    assert (refused.value.code, refused.value.field) == ("sim_in_use", which)
    assert "already been issued" in english(refused.value.message)
    assert len(await sims_of(maker, sim.id)) == 1 and (await load(maker, sim.id)).version == version


async def test_a_card_once_swapped_out_is_never_issued_again(maker: Maker, sim: Service) -> None:
    [first] = await sims_of(maker, sim.id)
    await act(maker, sim, "swap_sim", **new_card())
    other = await active_sim(maker)
    with pytest.raises(ValidationFailedError) as refused:
        await act(maker, other, "swap_sim", **(new_card() | {"iccid": first.iccid}))
    assert refused.value.field == "iccid"


async def test_only_a_sim_service_has_a_sim_card_to_swap(maker: Maker) -> None:
    await seed_catalogue(maker)
    net = await active_line(maker, "internet", "net_500")
    with pytest.raises(ConflictError) as refused:
        await act(maker, net, "swap_sim", **new_card())
    assert refused.value.code == "not_a_sim" and "Only a SIM service" in english(refused.value.message)


# ---------------------------------------------------------------- plan change


async def test_an_upgrade_takes_effect_at_once(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed_catalogue(maker)
    plans = await plan_ids(maker)
    with today_is(monkeypatch, D(2025, 5, 2)):
        service = await active_sim(maker)
    with today_is(monkeypatch, D(2025, 5, 14)):
        outcome = await act(maker, service, "change_plan", plan_code="sim_plusz")
    assert outcome.pending is None and outcome.preview.effective_date == D(2025, 5, 14)
    assert (await load(maker, service.id)).plan_id == plans["sim_plusz"]
    assert (await intervals(maker, service.id))["plans"] == [(plans["sim_start"], D(2025, 5, 2), D(2025, 5, 14)),
                                                              (plans["sim_plusz"], D(2025, 5, 14), None)]


async def test_a_downgrade_takes_effect_from_the_next_billing_period(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    plans = await plan_ids(maker)
    with today_is(monkeypatch, D(2025, 5, 2)):
        service = await active_sim(maker, plan="sim_korlatlan")
    with today_is(monkeypatch, D(2025, 5, 14)):
        outcome = await act(maker, service, "change_plan", plan_code="sim_start")
    assert outcome.pending is not None and outcome.preview.effective_date == D(2025, 6, 1)
    assert (await load(maker, service.id)).plan_id == plans["sim_korlatlan"]
    await run_due(maker, monkeypatch, D(2025, 6, 1))
    assert (await load(maker, service.id)).plan_id == plans["sim_start"]
    assert (await intervals(maker, service.id))["plans"] == [
        (plans["sim_korlatlan"], D(2025, 5, 2), D(2025, 6, 1)), (plans["sim_start"], D(2025, 6, 1), None)]


async def test_a_plan_change_no_rule_allows_is_refused(maker: Maker, sim: Service) -> None:
    async with maker() as s, s.begin():  # a new plan the administrator has not yet linked to the others
        s.add(Plan(code="sim_szenior", kind="sim", name_hu="Mobil Szenior", name_en="Mobile Senior",
                   monthly_fee=Decimal("1574.80"), included_minutes=60, included_sms=0, included_data_mb=1024,
                   active=True, sort_order=99))
    with pytest.raises(ConflictError) as refused:
        await act(maker, sim, "change_plan", plan_code="sim_szenior")
    assert (refused.value.code, refused.value.field) == ("plan_change_not_allowed", "plan_code")
    assert "Mobile Start cannot be changed to Mobile Senior" in english(refused.value.message)
    assert (await load(maker, sim.id)).plan_id == sim.plan_id


@pytest.mark.parametrize(("plan_code", "code"), [("net_500", "unknown_plan"), ("sim_start", "same_plan"),
                                                 ("no_such_plan", "unknown_plan")])
async def test_a_plan_of_another_kind_or_the_same_plan_is_refused_beside_its_field(
    maker: Maker, sim: Service, plan_code: str, code: str
) -> None:
    with pytest.raises((ConflictError, ValidationFailedError)) as refused:
        await act(maker, sim, "change_plan", plan_code=plan_code)
    assert (refused.value.code, refused.value.field) == (code, "plan_code")


async def test_a_plan_change_is_refused_while_an_add_on_the_new_plan_lacks_is_on(maker: Maker) -> None:
    await seed_catalogue(maker)
    net = await active_line(maker, "internet", "net_500")
    await act(maker, net, "add_addon", addon_code="speed_boost")
    with pytest.raises(ConflictError) as refused:
        await act(maker, net, "change_plan", plan_code="net_1000")
    assert (refused.value.code, refused.value.field) == ("addon_not_on_new_plan", "plan_code")
    assert "Speed boost +200 Mbit/s is not available on Net Giga 1000: remove it first" in english(
        refused.value.message)
    await act(maker, net, "remove_addon", addon_code="speed_boost")
    await act(maker, net, "change_plan", plan_code="net_1000")


# ---------------------------------------------------------------- add-ons


async def test_only_one_data_pack_at_a_time(maker: Maker, sim: Service) -> None:
    await act(maker, sim, "add_addon", addon_code="data_5gb")
    with pytest.raises(ConflictError) as refused:
        await act(maker, sim, "add_addon", addon_code="data_20gb")
    assert (refused.value.code, refused.value.field) == ("addon_exclusive", "addon_code")
    assert "remove Data pack 5 GB before adding Data pack 20 GB" in english(refused.value.message)
    await act(maker, sim, "remove_addon", addon_code="data_5gb")
    await act(maker, sim, "add_addon", addon_code="data_20gb")
    assert [code for code, _, end in await addons_on(maker, sim.id) if end is None] == ["data_20gb"]


async def test_the_premium_film_pack_needs_an_hd_set_top_box_which_stays_while_the_pack_is_on(maker: Maker) -> None:
    await seed_catalogue(maker)
    tv = await active_line(maker, "cable_tv", "tv_alap")
    with pytest.raises(ConflictError) as refused:
        await act(maker, tv, "add_addon", addon_code="hbo_pack")
    assert refused.value.code == "addon_prerequisite_missing"
    assert "Premium film pack (HD) needs HD set-top box" in english(refused.value.message)
    await act(maker, tv, "add_addon", addon_code="hd_stb")
    await act(maker, tv, "add_addon", addon_code="hbo_pack")
    with pytest.raises(ConflictError) as needed:
        await act(maker, tv, "remove_addon", addon_code="hd_stb")
    assert needed.value.code == "addon_required"
    assert "Premium film pack (HD), which needs it" in english(needed.value.message)
    await act(maker, tv, "remove_addon", addon_code="hbo_pack")
    await act(maker, tv, "remove_addon", addon_code="hd_stb")


@pytest.mark.parametrize(("first", "second"), [("eu_roaming", "roaming_barring"), ("roaming_barring", "eu_roaming")])
async def test_the_eu_roaming_pack_and_roaming_barring_exclude_each_other(
    maker: Maker, sim: Service, first: str, second: str
) -> None:
    await act(maker, sim, "add_addon", addon_code=first)
    with pytest.raises(ConflictError) as refused:
        await act(maker, sim, "add_addon", addon_code=second)
    assert refused.value.code == "addon_conflict" and "cannot be combined with" in english(refused.value.message)
    assert [code for code, _, _ in await addons_on(maker, sim.id)] == [first]


async def test_an_add_on_for_another_kind_or_plan_is_refused(maker: Maker, sim: Service) -> None:
    with pytest.raises(ConflictError) as kind:
        await act(maker, sim, "add_addon", addon_code="hbo_pack")
    assert kind.value.code == "addon_not_applicable" and "this kind of service" in english(kind.value.message)
    net = await active_line(maker, "internet", "net_1000")
    with pytest.raises(ConflictError) as plan:
        await act(maker, net, "add_addon", addon_code="speed_boost")
    assert plan.value.code == "addon_not_applicable" and "this service's plan" in english(plan.value.message)


async def test_an_unknown_add_on_is_refused_and_one_not_on_the_service_cannot_be_removed(
    maker: Maker, sim: Service
) -> None:
    with pytest.raises(ValidationFailedError) as unknown:
        await act(maker, sim, "add_addon", addon_code="free_calls")
    assert unknown.value.field == "addon_code"
    with pytest.raises(ConflictError) as absent:
        await act(maker, sim, "remove_addon", addon_code="voicemail")
    assert absent.value.code == "addon_not_active" and "Voicemail is not on this service" in english(
        absent.value.message)
    await act(maker, sim, "add_addon", addon_code="voicemail")
    with pytest.raises(ConflictError) as twice:
        await act(maker, sim, "add_addon", addon_code="voicemail")
    assert twice.value.code == "addon_already_active"


async def test_a_monthly_add_on_runs_from_the_day_it_is_added_to_the_day_it_is_removed(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, D(2025, 5, 2)):
        service = await active_sim(maker)
    with today_is(monkeypatch, D(2025, 5, 3)):
        added = await act(maker, service, "add_addon", addon_code="voicemail")
    with today_is(monkeypatch, D(2025, 6, 20)):
        await act(maker, service, "remove_addon", addon_code="voicemail")
    assert added.preview.fees == []  # billed monthly, day by day
    assert any("costs 393.70 Ft a month" in english(n) for n in added.preview.notes)
    assert await addons_on(maker, service.id) == [("voicemail", D(2025, 5, 3), D(2025, 6, 20))]
    assert [code for code, _, _ in (await intervals(maker, service.id))["fees"]] == ["activation"]


async def make_one_off(maker: Maker, code: str) -> None:
    """The administrator turns an add-on into a one-off purchase (through the catalogue editor)."""
    async with maker() as s, s.begin():
        addon = (await s.execute(select(AddOn).where(AddOn.code == code))).scalar_one()
        data = AddOnInput(name_hu=addon.name_hu, name_en=addon.name_en, price=addon.price, vat_rate=addon.vat_rate,
                          recurring=False, portal=addon.portal, active=True, kinds=addon.kinds,
                          plan_codes=addon.plan_codes, exclusive_group=addon.exclusive_group,
                          requires=addon.requires, conflicts=addon.conflicts)
        await services.update_addon(s, None, addon.id, data, addon.version)


async def test_a_one_off_add_on_is_charged_once_as_a_fee_and_runs_to_the_end_of_the_month(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    await make_one_off(maker, "data_5gb")
    with today_is(monkeypatch, D(2025, 5, 2)):
        service = await active_sim(maker)
    with today_is(monkeypatch, D(2025, 5, 14)):
        outcome = await act(maker, service, "add_addon", addon_code="data_5gb")
    assert [(f.code, f.amount) for f in outcome.preview.fees] == [("data_5gb", Decimal("1574.80"))]
    assert await addons_on(maker, service.id) == [("data_5gb", D(2025, 5, 14), D(2025, 6, 1))]
    fees = (await intervals(maker, service.id))["fees"]
    assert [f for f in fees if f[0] == "data_5gb"] == [("data_5gb", Decimal("1574.80"), D(2025, 5, 14))]


async def test_a_one_off_data_pack_is_on_the_service_until_the_month_ends(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    await make_one_off(maker, "data_5gb")
    with today_is(monkeypatch, D(2025, 5, 2)):
        service = await active_sim(maker)
    with today_is(monkeypatch, D(2025, 5, 14)):
        await act(maker, service, "add_addon", addon_code="data_5gb")
    with today_is(monkeypatch, D(2025, 5, 20)), pytest.raises(ConflictError) as refused:
        await act(maker, service, "add_addon", addon_code="data_20gb")
    assert refused.value.code == "addon_exclusive"
    with today_is(monkeypatch, D(2025, 6, 1)):
        await act(maker, service, "add_addon", addon_code="data_20gb")  # the 5 GB pack ended with May
    assert [code for code, _, _ in await addons_on(maker, service.id)] == ["data_5gb", "data_20gb"]


async def test_a_one_off_add_on_ends_with_the_service_terminated_in_its_month(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    await make_one_off(maker, "data_5gb")
    with today_is(monkeypatch, D(2025, 5, 2)):
        service = await active_sim(maker)
    with today_is(monkeypatch, D(2025, 5, 14)):
        await act(maker, service, "add_addon", addon_code="data_5gb")
    with today_is(monkeypatch, D(2025, 5, 20)):
        await act(maker, service, "terminate", reason="ported_out")
    assert await addons_on(maker, service.id) == [("data_5gb", D(2025, 5, 14), D(2025, 5, 20))]


# ---------------------------------------------------------------- the dated record


async def test_the_dated_record_follows_a_sequence_of_actions_on_different_days(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    plans = await plan_ids(maker)
    steps: list[tuple[dt.date, str, Any, dict[str, Any]]] = [
        (D(2025, 2, 5), "activate", AGENT, {}),
        (D(2025, 2, 10), "add_addon", AGENT, {"addon_code": "voicemail"}),
        (D(2025, 2, 14), "suspend", AGENT, {"reason": "lost_or_stolen"}),
        (D(2025, 2, 16), "swap_sim", AGENT, new_card()),
        (D(2025, 2, 20), "change_plan", AGENT, {"plan_code": "sim_plusz"}),
        (D(2025, 2, 25), "remove_addon", AGENT, {"addon_code": "voicemail"}),
        (D(2025, 3, 1), "suspend", SUPERVISOR, {"reason": "non_payment"}),
        (D(2025, 3, 4), "resume", SUPERVISOR, {"reason": "non_payment"}),
        (D(2025, 3, 20), "terminate", AGENT, {"reason": "ported_out"}),
    ]
    with today_is(monkeypatch, D(2025, 2, 3)):
        service = await order(maker, await new_contract(maker))
    for day, action, actor, fields in steps:
        with today_is(monkeypatch, day):
            await act(maker, service, action, actor, **fields)
    record = await intervals(maker, service.id)
    assert record["states"] == [
        ("ordered", D(2025, 2, 3), D(2025, 2, 5)),
        ("active", D(2025, 2, 5), D(2025, 2, 14)),
        ("suspended", D(2025, 2, 14), D(2025, 2, 16)),
        ("active", D(2025, 2, 16), D(2025, 3, 1)),
        ("suspended", D(2025, 3, 1), D(2025, 3, 4)),
        ("active", D(2025, 3, 4), D(2025, 3, 20)),
        ("terminated", D(2025, 3, 20), None),
    ]
    assert record["plans"] == [(plans["sim_start"], D(2025, 2, 3), D(2025, 2, 20)),
                               (plans["sim_plusz"], D(2025, 2, 20), D(2025, 3, 20))]
    assert record["holds"] == [("lost_or_stolen", D(2025, 2, 14), D(2025, 2, 16)),
                               ("non_payment", D(2025, 3, 1), D(2025, 3, 4))]
    assert await addons_on(maker, service.id) == [("voicemail", D(2025, 2, 10), D(2025, 2, 25))]
    assert record["fees"] == [("activation", Decimal("3149.61"), D(2025, 2, 5)),
                              ("sim_swap", Decimal("1574.80"), D(2025, 2, 16)),
                              ("reconnection", Decimal("3937.01"), D(2025, 3, 4))]
    # The state on any day is exactly one interval.
    for day in (D(2025, 2, 3), D(2025, 2, 14), D(2025, 2, 15), D(2025, 3, 19), D(2025, 3, 20)):
        assert sum(1 for _, start, end in record["states"] if start <= day and (end is None or day < end)) == 1
