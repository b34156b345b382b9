"""The schema comes only from migrations: they upgrade and downgrade cleanly and match the models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from backoffice.db import make_engine
from backoffice.models import Base
from tests.conftest import IS_PG, PG_URL, alembic_config


@pytest.fixture
def empty_database(tmp_path) -> Iterator[str]:
    if not IS_PG:
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = make_url(PG_URL)
    name = f"{url.database}_migrations"
    admin = url.set(database="postgres")

    async def run(sql: str) -> None:
        engine = make_engine(admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}"'))


def _tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        return names

    return asyncio.run(read())


def _diff(url: str) -> list[object]:
    async def read() -> list[object]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata)
            )
        await engine.dispose()
        return list(diff)

    return asyncio.run(read())


def test_migrations_upgrade_downgrade_and_upgrade_again(empty_database):
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "head")
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert expected <= _tables(empty_database)
    assert _diff(empty_database) == [], "models and migrations disagree"
    command.downgrade(cfg, "base")
    assert _tables(empty_database) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert expected <= _tables(empty_database)
