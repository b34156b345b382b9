"""The catalogue as staff read it, and the number pool screen."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.subscriptions import services
from backoffice.subscriptions.catalogue import seed_demo_catalogue, seed_reference_catalogue

Maker = async_sessionmaker[AsyncSession]


async def test_staff_read_the_catalogue_with_net_and_gross_fees(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker
) -> None:
    async with maker() as s, s.begin():
        await seed_reference_catalogue(s)
        await seed_demo_catalogue(s)
    await signed_in(client, "agent")
    page = await client.get("/catalogue")
    assert page.status_code == 200
    # Mobile Start: 2,354.33 net + 27 % VAT = 2,990 Ft a month.
    assert "Mobile Start" in page.text and "2\u00a0354\u00a0Ft" in page.text and "2\u00a0990\u00a0Ft" in page.text
    assert "Premium film pack (HD)" in page.text and "hd_stb" in page.text
    assert "Suspected fraud" in page.text and "8 days notice" in page.text


async def test_the_number_pool_is_searched_by_prefix_kind_and_state(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker
) -> None:
    async with maker() as s, s.begin():
        await services.load_range(s, None, "mobile", "+36309990000", "+36309990019")
        await services.allocate(s, None, "mobile", "+36309990007")
    await signed_in(client, "agent")
    page = await client.get("/numbers", params={"prefix": "06 30 999 000", "status": "allocated"})
    assert page.status_code == 200 and "+36 30 999 0007" in page.text and "+36 30 999 0001" not in page.text
    fragment = await client.get("/numbers", params={"prefix": "+3630999", "status": "nonsense"},
                                headers={"hx-request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and fragment.text.count("<tr>") == 21


async def test_an_administrator_reads_the_catalogue_but_not_the_pool(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker
) -> None:
    await signed_in(client, "admin")
    assert (await client.get("/catalogue")).status_code == 200
    assert (await client.get("/numbers")).status_code == 403
