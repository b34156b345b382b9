"""Shared fixtures: a migrated database per test (SQLite file copy, or a truncated PostgreSQL),
the app on it, staff users, and helpers to sign in."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.app import create_app
from backoffice.customers.admin import seed_default_reasons
from backoffice.db import make_engine, make_sessionmaker
from backoffice.documents import storage
from backoffice.documents.services import seed_file_plan
from backoffice.documents.storage import LocalFileStore
from backoffice.models import Base
from backoffice.settings import PROJECT_ROOT, Settings
from backoffice.staff.models import StaffUser
from backoffice.staff.services import hash_password

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)
ROLES = ("agent", "supervisor", "records", "admin")
PG_URL = os.environ.get("BACKOFFICE_DATABASE_URL", "")
IS_PG = PG_URL.startswith("postgresql")


def alembic_config(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    return cfg


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrated once per session: a SQLite template file, or the PostgreSQL database itself."""
    if IS_PG:
        cfg = alembic_config(PG_URL)
        command.downgrade(cfg, "base")
        command.upgrade(cfg, "head")
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    command.upgrade(alembic_config(f"sqlite+aiosqlite:///{path}"), "head")
    return str(path)


async def _reset_pg(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
def settings(template_db: str, tmp_path: Path) -> Settings:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    if IS_PG:
        asyncio.run(_reset_pg(template_db))
        url = template_db
    else:
        db_file = var_dir / "backoffice.sqlite3"
        shutil.copyfile(template_db, db_file)
        url = f"sqlite+aiosqlite:///{db_file}"
    return Settings(var_dir=var_dir, database_url=url, secret_key="test-secret-" + "x" * 32,
                    database_null_pool=IS_PG)


@pytest.fixture
def store_root(settings: Settings) -> Path:
    """The document content store of this test, under its own var directory."""
    storage.configure(LocalFileStore(settings.documents_dir))
    return settings.documents_dir


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        session.add_all(
            StaffUser(username=role, role=role, full_name=f"Test {role}", password_hash=PASSWORD_HASH,
                      is_active=True, language="en", failed_attempts=0)
            for role in ROLES
        )
        await seed_default_reasons(session)
        await seed_file_plan(session)
    yield sessionmaker
    await engine.dispose()


@pytest.fixture
async def session(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """An autocommit session for the test's own reads and set-up writes: it holds no lock and
    no snapshot, so it never blocks the app and always sees what the app committed.
    (Use `maker` for a transactional session when a test needs rollback semantics.)"""
    engine = maker.kw["bind"]
    async with AsyncSession(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False) as s:
        yield s


@pytest.fixture
async def app(settings: Settings, maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Litestar]:
    application = create_app(settings)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf_token(client: AsyncTestClient[Any], path: str = "/login") -> str:
    """The token a page's forms carry (and the cookie it pairs with, kept by the client)."""
    response = await client.get(path)
    match = CSRF_INPUT.search(response.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def login(client: AsyncTestClient[Any], username: str, password: str = PASSWORD) -> Any:
    token = await csrf_token(client)
    return await client.post(
        "/login", data={"username": username, "password": password, "_csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


async def post_form(client: AsyncTestClient[Any], path: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """POST a form with the CSRF token taken from the current cookie (as htmx sends it)."""
    token = client.cookies.get("bo_csrf")
    if token is None:
        token = await csrf_token(client, "/login")
    return await client.post(path, data=data, headers={"x-csrftoken": token, **kwargs.pop("headers", {})},
                             follow_redirects=False, **kwargs)


@pytest.fixture
def signed_in() -> Iterator[Any]:
    """signed_in(client, role) signs the client in as that role's test user."""
    async def _sign_in(client: AsyncTestClient[Any], role: str = "agent") -> None:
        response = await login(client, role)
        assert response.status_code == 303, response.text
    yield _sign_in
