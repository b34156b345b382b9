"""The `backoffice` command: users, tokens and seeding, run as an operator would."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from backoffice.cli import main
from backoffice.db import make_engine
from backoffice.staff.models import ApiToken, StaffUser
from backoffice.staff.services import token_digest
from tests.conftest import IS_PG, alembic_config


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BACKOFFICE_VAR_DIR", str(settings.var_dir))
    return settings


def _query(url, stmt):
    async def run():
        engine = make_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        await engine.dispose()
        return rows

    return asyncio.run(run())


def test_users_create_makes_an_argon2_account_and_refuses_a_weak_password(cli_env):
    runner = CliRunner()
    ok = runner.invoke(main, ["users", "create", "--role", "supervisor", "--password-stdin", "varga.bela"],
                       input="egy-hosszu-jelszo\n")
    assert ok.exit_code == 0, ok.output
    [(role, hashed)] = _query(cli_env.database_url,
                              select(StaffUser.role, StaffUser.password_hash).where(StaffUser.username == "varga.bela"))
    assert role == "supervisor" and hashed.startswith("$argon2id$")
    weak = runner.invoke(main, ["users", "create", "--role", "agent", "--password-stdin", "kiss.pal"], input="demo\n")
    assert weak.exit_code != 0
    assert not _query(cli_env.database_url, select(StaffUser.id).where(StaffUser.username == "kiss.pal"))


def test_token_create_prints_the_token_alone_and_stores_only_its_hash(cli_env):
    runner = CliRunner()
    runner.invoke(main, ["users", "create", "--role", "agent", "--password-stdin", "api.user"],
                  input="egy-hosszu-jelszo\n")
    result = runner.invoke(main, ["token", "create", "api.user"])
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and " " not in token and len(token) > 30
    [(stored,)] = _query(cli_env.database_url, select(ApiToken.token_hash))
    assert stored == token_digest(token)
    missing = runner.invoke(main, ["token", "create", "nobody"])
    assert missing.exit_code != 0 and missing.stdout == ""


@pytest.mark.skipif(IS_PG, reason="compares two fresh SQLite files")
def test_seed_gives_the_same_customers_for_the_same_seed(tmp_path, monkeypatch):
    from alembic import command

    names = []
    for run in ("a", "b"):
        db = tmp_path / f"{run}.sqlite3"
        url = f"sqlite+aiosqlite:///{db}"
        command.upgrade(alembic_config(url), "head")
        monkeypatch.setenv("BACKOFFICE_DATABASE_URL", url)
        monkeypatch.setenv("BACKOFFICE_VAR_DIR", str(tmp_path))
        result = CliRunner().invoke(main, ["seed", "--customers", "40", "--seed", "5"])
        assert result.exit_code == 0, result.output
        with sqlite3.connect(db) as conn:
            names.append(conn.execute(
                "SELECT customer_number, display_name, birth_date FROM parties ORDER BY id").fetchall())
    assert len(names[0]) == 40
    assert names[0] == names[1]


def test_seeded_data_passes_the_products_own_validation(cli_env):
    """Demo data must look like real data: every identifier validates as an agent's input would."""
    from backoffice import identifiers
    from backoffice.customers.models import BillingAccount, ContactPoint, Party

    result = CliRunner().invoke(main, ["seed", "--customers", "300", "--seed", "11"])
    assert result.exit_code == 0, result.output
    url = cli_env.database_url
    for kind, value in _query(url, select(ContactPoint.kind, ContactPoint.value)):
        if kind == "phone":
            assert identifiers.phone_e164(value) == value
        else:
            assert identifiers.email(value)
    for tax, vat, reg in _query(url, select(Party.tax_number, Party.eu_vat_number,
                                            Party.company_registration_number).where(Party.kind == "organisation")):
        assert identifiers.hu_tax_number(tax) == tax
        if vat:
            identifiers.eu_vat(vat)
        identifiers.company_registration_number(reg)
    from backoffice.customers.schemas import ROMAN

    for postal, locality in _query(url, select(BillingAccount.postal_code, BillingAccount.locality)):
        identifiers.postal_code(postal)
        if locality.startswith("Budapest"):
            assert locality == f"Budapest {ROMAN[int(postal[1:3]) - 1]}.", (postal, locality)


def test_a_revoked_token_no_longer_opens_the_api(cli_env):
    runner = CliRunner()
    runner.invoke(main, ["users", "create", "--role", "agent", "--password-stdin", "api.user"],
                  input="egy-hosszu-jelszo\n")
    first = runner.invoke(main, ["token", "create", "api.user"]).stdout.strip()
    second = runner.invoke(main, ["token", "create", "api.user"]).stdout.strip()
    one = runner.invoke(main, ["token", "revoke", "--token-stdin"], input=first + "\n")
    assert one.exit_code == 0
    rows = _query(cli_env.database_url, select(ApiToken.token_hash, ApiToken.revoked_at))
    revoked = {h: r is not None for h, r in rows}
    assert revoked == {token_digest(first): True, token_digest(second): False}
    again = runner.invoke(main, ["token", "revoke", "--token-stdin"], input=first + "\n")
    assert again.exit_code != 0  # nothing left to revoke is said, not hidden
    everything = runner.invoke(main, ["token", "revoke", "--user", "api.user"])
    assert everything.exit_code == 0
    assert all(r is not None for (r,) in _query(cli_env.database_url, select(ApiToken.revoked_at)))
    assert runner.invoke(main, ["token", "revoke"]).exit_code != 0
