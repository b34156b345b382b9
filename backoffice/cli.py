"""The `backoffice` command: serve, migrate, seed, users, tokens (each domain adds its batch commands)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy import func, select

from backoffice.db import make_engine, make_sessionmaker, transaction
from backoffice.errors import DomainError
from backoffice.settings import PROJECT_ROOT, Settings

T = TypeVar("T")
DEMO_ACCOUNTS = [("agent", "agent", "Demo Ügyintéző"), ("supervisor", "supervisor", "Demo Csoportvezető"),
                 ("records", "records", "Demo Iktató"), ("admin", "admin", "Demo Rendszergazda")]


def _run(work: Callable[[Any], Awaitable[T]]) -> T:
    import backoffice.models  # noqa: F401 - every table, so that foreign keys resolve in any command
    from backoffice.subscriptions import services as subscription_services

    settings = Settings.from_env()
    subscription_services.configure(quarantine_days=settings.quarantine_days)

    async def runner() -> T:
        engine = make_engine(settings.database_url)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(runner())


@click.group()
def main() -> None:
    """Back-office of the telecom operator."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: BACKOFFICE_PORT or 8000.")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--reload", is_flag=True)
def serve(host: str, port: int | None, workers: int, reload: bool) -> None:
    """Serve the application."""
    import uvicorn

    settings = Settings.from_env()
    uvicorn.run(
        "backoffice.asgi:app", host=host, port=port or settings.port, workers=workers, reload=reload,
        proxy_headers=False, access_log=False, log_level="info",
    )


@main.command()
@click.argument("revision", default="head")
def migrate(revision: str) -> None:
    """Apply the database migrations (to REVISION, default head)."""
    from alembic import command
    from alembic.config import Config

    command.upgrade(Config(str(PROJECT_ROOT / "alembic.ini")), revision)
    if revision == "head":
        _run(_seed_reference_data)


async def _seed_reference_data(maker: Any) -> None:
    """What every installation needs, demo or not: the file plan and the contact reasons."""
    from backoffice.customers.admin import seed_default_reasons
    from backoffice.documents.services import seed_file_plan
    from backoffice.subscriptions.catalogue import seed_reference_catalogue

    async with transaction(maker) as session:
        await seed_default_reasons(session)
        await seed_file_plan(session)
        await seed_reference_catalogue(session)


@main.command()
@click.option("--customers", "count", type=int, default=200, show_default=True)
@click.option("--seed", "seed_value", type=int, default=1, show_default=True)
@click.option("--demo-accounts", is_flag=True, help="Also create the demo staff accounts (password 'demo').")
@click.option("--if-empty", is_flag=True, help="Do nothing when customers already exist.")
@click.option("--services/--no-services", "with_services", default=True, show_default=True,
              help="Also give the new customers contracts and services (about two services each).")
@click.option("--bills", "with_bills", is_flag=True,
              help="Also import a month of demo usage for last month and issue its invoices.")
def seed(count: int, seed_value: int, demo_accounts: bool, if_empty: bool, with_services: bool,
         with_bills: bool) -> None:
    """Make realistic Hungarian demo data; the same seed gives the same data."""
    from rich.progress import Progress

    from backoffice.billing.invoices import Seller
    from backoffice.billing.seed import SeededBills, seed_bills
    from backoffice.customers.models import Party
    from backoffice.customers.seed import seed_customers
    from backoffice.documents import storage
    from backoffice.documents.storage import LocalFileStore
    from backoffice.staff import services as staff
    from backoffice.staff.models import StaffUser
    from backoffice.subscriptions.catalogue import seed_demo_catalogue
    from backoffice.subscriptions.cli import load_demo_ranges
    from backoffice.subscriptions.seed import SeededSubscriptions, seed_subscriptions

    settings = Settings.from_env()
    storage.configure(LocalFileStore(settings.documents_dir))  # the demo invoices' PDFs
    timings: dict[str, float] = {}
    bills = SeededBills()

    async def work(maker: Any) -> tuple[int, SeededSubscriptions]:
        nonlocal bills
        await _seed_reference_data(maker)
        async with transaction(maker) as session:
            await seed_demo_catalogue(session)
            await load_demo_ranges(session)
            if demo_accounts:
                for username, role, name in DEMO_ACCOUNTS:
                    if await session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
                        await staff.create_user(session, None, username, role, "demo", name, allow_weak=True)
            existing = await session.scalar(select(func.count()).select_from(Party)) or 0
            last_party = await session.scalar(select(func.coalesce(func.max(Party.id), 0))) or 0
        if (if_empty and existing) or count <= 0:
            return 0, SeededSubscriptions()
        with Progress(disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task("customers", total=count)
            made = await seed_customers(maker, count, seed_value, lambda n: bar.advance(task, n))
            timings["customers"] = time.perf_counter() - started
            if not with_services:
                return made, SeededSubscriptions()
            task = bar.add_task("services", total=made)
            # Only the customers just made: customers entered by hand keep what they have.
            subscriptions = await seed_subscriptions(maker, seed_value, lambda n: bar.advance(task, n),
                                                     after_party_id=int(last_party))
            timings["services"] = time.perf_counter() - started
        if with_bills:
            bills = await seed_bills(maker, seed_value, Seller.from_settings(settings))
        return made, subscriptions

    started = time.perf_counter()
    made, subscriptions = _run(work)
    total = time.perf_counter() - started
    click.echo(f"seeded {made} customers in {timings.get('customers', total):.1f} s")
    if subscriptions.services:
        click.echo(f"seeded {subscriptions.contracts} contracts with {subscriptions.services} services in "
                   f"{timings['services'] - timings['customers']:.1f} s")
    if bills.invoices:
        click.echo(f"seeded {bills.usage_records} usage records and {bills.invoices} invoices for {bills.period} in "
                   f"{total - timings['services']:.1f} s")


@main.group()
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.option("--role", required=True, type=click.Choice(["agent", "supervisor", "records", "admin"]))
@click.option("--name", "full_name", default="", help="Full name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.argument("username")
def users_create(role: str, full_name: str, password_stdin: bool, username: str) -> None:
    """Create a staff account (the password is asked for, never defaulted)."""
    from backoffice.staff import services as staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def work(maker: Any) -> None:
        async with transaction(maker) as session:
            await staff.create_user(session, None, username, role, password, full_name)

    try:
        _run(work)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"created {username} ({role})", err=True)


@main.group()
def token() -> None:
    """API bearer tokens."""


@token.command("create")
@click.argument("username")
def token_create(username: str) -> None:
    """Print a new bearer token for USERNAME (the token alone on stdout)."""
    from backoffice.staff import services as staff

    async def work(maker: Any) -> str:
        async with transaction(maker) as session:
            return await staff.create_token(session, username)

    try:
        click.echo(_run(work))
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc




@token.command("revoke")
@click.option("--user", "username", default=None, help="Revoke every live token of this user.")
@click.option("--token-stdin", is_flag=True, help="Read the token to revoke from standard input.")
def token_revoke(username: str | None, token_stdin: bool) -> None:
    """Revoke a bearer token (read from stdin, so it stays out of the shell history) or all of a user's."""
    from backoffice.staff import services as staff

    token = sys.stdin.readline().strip() if token_stdin else None
    if bool(token) == bool(username):
        raise click.UsageError("give either --token-stdin or --user")

    async def work(maker: Any) -> int:
        async with transaction(maker) as session:
            return await staff.revoke_tokens(session, token=token, username=username)

    try:
        count = _run(work)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"revoked {count} token(s)", err=True)
    if count == 0:
        raise SystemExit(1)


from backoffice.billing.cli import billing  # noqa: E402
from backoffice.documents.cli import documents  # noqa: E402 - each domain's commands join the group here
from backoffice.subscriptions.cli import numbers, subscriptions  # noqa: E402

main.add_command(billing)
main.add_command(documents)
main.add_command(numbers)
main.add_command(subscriptions)
