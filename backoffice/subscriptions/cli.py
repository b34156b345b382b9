"""`backoffice numbers ...`: load number ranges into the pool and look numbers up.
`backoffice subscriptions apply-due`: the daily job that applies the changes whose day has come."""

from __future__ import annotations

from typing import Any

import click

from backoffice.errors import DomainError

DEMO_RANGES = [("mobile", "+36309990000", "+36309999999"), ("geographic", "+3614560000", "+3614569999")]


@click.group()
def numbers() -> None:
    """The number pool (MSISDNs and geographic numbers)."""


def _run(work: Any) -> Any:
    from backoffice.cli import _run as run

    return run(work)


@numbers.command("load")
@click.option("--kind", required=True, type=click.Choice(["mobile", "geographic"]))
@click.option("--as", "username", default=None, help="The staff user recorded in the audit log.")
@click.argument("first")
@click.argument("last")
def load(kind: str, username: str | None, first: str, last: str) -> None:
    """Add the numbers FIRST..LAST (inclusive, any common format) to the pool; numbers already
    there are kept as they are, so loading a range twice adds nothing."""
    from backoffice.db import transaction
    from backoffice.subscriptions import services

    async def work(maker: Any) -> Any:
        async with transaction(maker) as session:
            actor = await _actor(session, username)
            return await services.load_range(session, actor, kind, first, last)

    try:
        result = _run(work)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"loaded {result.added} numbers ({result.already_there} were in the pool already)")


@numbers.command("search")
@click.option("--status", type=click.Choice(["available", "allocated", "quarantine", "free"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@click.argument("prefix", default="")
def search(status: str | None, limit: int, prefix: str) -> None:
    """Numbers starting with PREFIX, with their state (free = available or out of quarantine)."""
    from backoffice.subscriptions import services

    async def work(maker: Any) -> Any:
        async with maker() as session:
            return await services.search_numbers(session, prefix, status=status, limit=limit)

    for row in _run(work):
        until = f" until {row.quarantine_until}" if row.quarantine_until else ""
        click.echo(f"{row.number}\t{row.kind}\t{row.status}{until}")


@click.group()
def subscriptions() -> None:
    """Services and contracts: the daily job."""


@subscriptions.command("apply-due")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Apply what is due on this day (default: today in Budapest).")
def apply_due(day: Any) -> None:
    """Apply every scheduled change whose effective date has come (terminations at month end,
    next-period plan changes, the end of voluntary suspensions, payer changes, approved transfers).
    Each change is its own transaction: a crash loses at most the one in flight, and a re-run
    carries on; a change the rules now refuse is marked failed with its reason."""
    from backoffice import clock
    from backoffice.db import transaction
    from backoffice.subscriptions import contracts, lifecycle

    today = day.date() if day is not None else clock.today()

    async def work(maker: Any) -> tuple[int, list[str]]:
        applied, failed = 0, []
        async with maker() as session:
            service_ids = await lifecycle.due_pending(session, today, limit=1_000_000)
            contract_ids = await contracts.due_contract_changes(session, today)
        for pending_id in contract_ids:  # a payer change or transfer first: the day's other changes follow it
            async with transaction(maker) as session:
                result = await contracts.apply_contract_change(session, pending_id)
            applied += result.status == "applied"
            if result.status == "failed":
                failed.append(f"#{pending_id} {result.action}: {result.outcome}")
        for pending_id in service_ids:
            async with transaction(maker) as session:
                result = await lifecycle.apply_pending(session, pending_id, today)
            applied += result.status == "applied"
            if result.status == "failed":
                failed.append(f"#{pending_id} {result.action}: {result.outcome}")
        return applied, failed

    applied, failed = _run(work)
    for line in failed:
        click.echo(f"failed {line}", err=True)
    click.echo(f"applied {applied} scheduled change(s) due by {today.isoformat()}, {len(failed)} failed")


async def _actor(session: Any, username: str | None) -> Any:
    if username is None:
        return None
    from backoffice.staff.services import active_principal

    actor = await active_principal(session, username)
    if actor is None:
        raise click.ClickException(f"there is no active user {username}")
    return actor


async def load_demo_ranges(session: Any) -> None:
    """The demo database's pool: ten thousand mobile and ten thousand Budapest numbers."""
    from backoffice.subscriptions import services

    if await services.pool_counts(session):
        return
    for kind, first, last in DEMO_RANGES:
        await services.load_range(session, None, kind, first, last)

