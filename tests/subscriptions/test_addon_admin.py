"""An administrator edits an add-on: its rules may only name real add-ons and plans, errors
stand beside their fields, a stale form is refused, every change is audited."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.audit import AuditEntry
from backoffice.subscriptions.catalogue import seed_demo_catalogue
from backoffice.subscriptions.models import AddOn
from tests.conftest import post_form
from tests.customers.helpers import field_error, input_value

Maker = async_sessionmaker[AsyncSession]


async def addon(maker: Maker, code: str) -> AddOn:
    async with maker() as s, s.begin():
        await seed_demo_catalogue(s)
    async with maker() as s:
        return (await s.scalars(select(AddOn).where(AddOn.code == code))).one()


def form(a: AddOn, **changes: Any) -> dict[str, Any]:
    values = {"name_hu": a.name_hu, "name_en": a.name_en, "price": str(a.price), "vat_rate": str(a.vat_rate),
              "recurring": "1", "portal": "1" if a.portal else "", "active": "1",
              "plan_codes": ", ".join(a.plan_codes or []), "exclusive_group": a.exclusive_group or "",
              "requires": ", ".join(a.requires), "conflicts": ", ".join(a.conflicts), "version": str(a.version)}
    values.update({f"kind_{k}": "1" for k in a.kinds})
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


async def test_an_administrator_changes_an_add_ons_rules_and_price(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker
) -> None:
    sport = await addon(maker, "sport_pack")
    await signed_in(client, "admin")
    page = await client.get(f"/admin/catalogue/addons/{sport.id}/edit")
    assert input_value(page.text, "price") == "2362.20"
    saved = await post_form(client, f"/admin/catalogue/addons/{sport.id}",
                            form(sport, price="2500", requires="hd_stb", conflicts="", plan_codes="tv_csalad"))
    assert saved.status_code == 303, saved.text
    async with maker() as s:
        now = await s.get(AddOn, sport.id)
        entry = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "catalogue.addon_changed"))).one()
    assert now is not None and now.requires == ["hd_stb"] and now.plan_codes == ["tv_csalad"]
    assert entry.before == {"price": "2362.20", "requires": [], "plan_codes": None}
    assert entry.after == {"price": "2500.00", "requires": ["hd_stb"], "plan_codes": ["tv_csalad"]}


@pytest.mark.parametrize(("changes", "field"), [
    ({"requires": "no_such_addon"}, "requires"),
    ({"conflicts": "sport_pack"}, "conflicts"),  # itself
    ({"requires": "hd_stb", "conflicts": "hd_stb"}, "conflicts"),
    ({"plan_codes": "net_100"}, "plan_codes"),  # an internet plan for a TV add-on
    ({"kind_cable_tv": None}, "kinds"),
    ({"exclusive_group": "Film Pack!"}, "exclusive_group"),
    ({"requires": "HD STB"}, "requires"),
    ({"price": "-1"}, "price"),
])
async def test_bad_add_on_values_are_refused_beside_the_field_and_nothing_changes(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, changes: dict[str, Any], field: str
) -> None:
    sport = await addon(maker, "sport_pack")
    await signed_in(client, "admin")
    refused = await post_form(client, f"/admin/catalogue/addons/{sport.id}", form(sport, **changes))
    assert refused.status_code == 422, refused.text
    assert field_error(refused.text, field), field
    async with maker() as s:
        again = await s.get(AddOn, sport.id)
    assert again is not None and again.version == sport.version and again.requires == []


async def test_a_stale_add_on_form_is_refused_and_only_administrators_edit(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker
) -> None:
    sport = await addon(maker, "sport_pack")
    await signed_in(client, "admin")
    first = await post_form(client, f"/admin/catalogue/addons/{sport.id}", form(sport, price="2400"))
    assert first.status_code == 303
    late = await post_form(client, f"/admin/catalogue/addons/{sport.id}", form(sport, price="9999"))
    assert late.status_code == 409 and input_value(late.text, "price") == "2400.00"
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("bo_csrf") or ""})
    await signed_in(client, "agent")
    assert (await client.get(f"/admin/catalogue/addons/{sport.id}/edit")).status_code == 403
