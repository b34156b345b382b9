"""The number pool: ranges loaded by `backoffice numbers load`, allocation without double
hand-outs, quarantine after termination, search."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice import clock
from backoffice.errors import ConflictError, ValidationFailedError
from backoffice.subscriptions import services
from backoffice.subscriptions.models import PoolNumber
from tests.conftest import IS_PG

Maker = async_sessionmaker[AsyncSession]


async def load(maker: Maker, kind: str, first: str, last: str) -> services.LoadResult:
    async with maker() as s, s.begin():
        return await services.load_range(s, None, kind, first, last)


async def test_a_range_is_loaded_in_any_format_and_loading_it_twice_adds_nothing(maker: Maker) -> None:
    first = await load(maker, "mobile", "06 30 999 0000", "+36 30 999 0099")
    again = await load(maker, "mobile", "+36309990050", "+36309990149")
    assert (first.added, first.already_there) == (100, 0)
    assert (again.added, again.already_there) == (50, 50)
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(PoolNumber)) == 150


@pytest.mark.parametrize(("kind", "first", "last", "field"), [
    ("mobile", "+3614560000", "+3614560009", "first"),  # a Budapest number is not a mobile one
    ("geographic", "+36309990000", "+36309990009", "first"),
    ("mobile", "+36309990010", "+36309990000", "last"),  # ends before it starts
    ("mobile", "+36309990000", "+3630999", "last"),
    ("mobile", "hello", "+36309990000", "first"),
    ("mobile", "+36200000000", "+36209999999", "last"),  # ten million at once
    ("mobile", "+441234567890", "+441234567899", "first"),
])
async def test_a_bad_range_is_refused_beside_its_field_and_nothing_is_loaded(
    maker: Maker, kind: str, first: str, last: str, field: str
) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        await load(maker, kind, first, last)
    assert refused.value.field == field
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(PoolNumber)) == 0


async def test_allocation_hands_out_the_lowest_free_number_or_the_one_asked_for(maker: Maker) -> None:
    await load(maker, "mobile", "+36309990000", "+36309990009")
    async with maker() as s, s.begin():
        lowest = await services.allocate(s, None, "mobile")
        chosen = await services.allocate(s, None, "mobile", "06 30 999 0005")
    assert (lowest.number, chosen.number) == ("+36309990000", "+36309990005")
    async with maker() as s, s.begin():
        with pytest.raises(ConflictError):
            await services.allocate(s, None, "mobile", "+36309990005")


async def test_concurrent_allocations_never_share_a_number(maker: Maker) -> None:
    await load(maker, "mobile", "+36309990000", "+36309990049")
    tasks = 20 if IS_PG else 10

    async def one() -> str:
        async with maker() as s, s.begin():
            return (await services.allocate(s, None, "mobile")).number

    got = await asyncio.gather(*(one() for _ in range(tasks)))
    assert len(set(got)) == tasks


async def test_a_quarantined_number_comes_back_only_after_its_quarantine(maker: Maker) -> None:
    await load(maker, "mobile", "+36309990000", "+36309990000")
    async with maker() as s, s.begin():
        number = await services.allocate(s, None, "mobile")
        rested = await services.quarantine(s, None, number.number)
    assert rested.quarantine_until == clock.today() + dt.timedelta(days=180)
    async with maker() as s, s.begin():
        with pytest.raises(ConflictError):
            await services.allocate(s, None, "mobile")
    async with maker() as s, s.begin():  # 180 days later
        await s.execute(update(PoolNumber).values(quarantine_until=clock.today()))
    async with maker() as s, s.begin():
        again = await services.allocate(s, None, "mobile")
    assert again.number == "+36309990000" and again.quarantine_until is None


async def test_numbers_are_searched_by_prefix_and_state(maker: Maker) -> None:
    await load(maker, "mobile", "+36309990000", "+36309990019")
    async with maker() as s, s.begin():
        await services.allocate(s, None, "mobile", "+36309990003")
    async with maker() as s:
        by_prefix = await services.search_numbers(s, "06 30 999 000")
        allocated = await services.search_numbers(s, "+3630999", status="allocated")
        free = await services.search_numbers(s, "", status="free", limit=100)
    assert len(by_prefix) == 10 and [n.number for n in allocated] == ["+36309990003"]
    assert len(free) == 19


def test_the_numbers_command_loads_and_searches(settings: Any, maker: Maker, monkeypatch: Any) -> None:
    from backoffice.cli import main

    monkeypatch.setenv("BACKOFFICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BACKOFFICE_VAR_DIR", str(settings.var_dir))
    runner = CliRunner()
    loaded = runner.invoke(main, ["numbers", "load", "--kind", "geographic", "+3614560000", "+3614560099"])
    assert loaded.exit_code == 0, loaded.output
    assert "loaded 100 numbers" in loaded.output
    found = runner.invoke(main, ["numbers", "search", "061456000"])
    assert found.exit_code == 0 and found.output.count("available") == 10
    bad = runner.invoke(main, ["numbers", "load", "--kind", "mobile", "+3614560000", "+3614560099"])
    assert bad.exit_code != 0
