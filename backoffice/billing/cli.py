"""`backoffice billing import-usage FILE.csv` and `backoffice billing run --period 2026-10
[--confirm]`: the batch side of billing, with progress on the terminal."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import click

from backoffice.errors import DomainError
from backoffice.i18n import current_language


@click.group()
def billing() -> None:
    """Usage import and bill runs."""


def _setting_up() -> Any:
    import backoffice.models  # noqa: F401 - every table, so that foreign keys resolve
    from backoffice.documents import storage
    from backoffice.documents.storage import LocalFileStore
    from backoffice.settings import Settings

    settings = Settings.from_env()
    storage.configure(LocalFileStore(settings.documents_dir))
    current_language.set(settings.default_language)  # the language of the reasons printed
    return settings


async def _actor(session: Any, username: str | None) -> Any:
    from backoffice.subscriptions.cli import _actor as actor

    return await actor(session, username)


@billing.command("import-usage")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--as", "username", default=None, help="The staff user recorded in the audit log.")
def import_usage_command(file: Path, username: str | None) -> None:
    """Import a usage CSV (service number, start time, type, destination, seconds/bytes/pieces).
    Bad rows are listed with their line number and reason; the same file twice adds nothing."""
    from backoffice.billing import usage
    from backoffice.db import make_engine, make_sessionmaker, transaction

    settings = _setting_up()

    async def work() -> usage.ImportResult:
        engine = make_engine(settings.database_url)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                actor = await _actor(session, username)
                with file.open("rb") as stream:
                    return await usage.import_usage(session, actor, stream, file.name)
        finally:
            await engine.dispose()

    started = time.perf_counter()
    try:
        result = asyncio.run(work())
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    done = result.usage_import
    if result.already_imported:
        click.echo(f"{file.name} was imported already on {done.imported_at:%Y-%m-%d %H:%M}: nothing added")
        return
    for rejected in result.rejects:
        click.echo(f"line {rejected.line_no}: {usage.reject_message(rejected.reason)} ({rejected.detail})", err=True)
    if done.rows_rejected > len(result.rejects):
        click.echo(f"... and {done.rows_rejected - len(result.rejects)} more rejected rows", err=True)
    click.echo(f"imported {done.rows_imported} of {done.rows_total} rows, {done.rows_duplicate} already there, "
               f"{done.rows_rejected} rejected in {time.perf_counter() - started:.1f} s")


@billing.command("run")
@click.option("--period", required=True, help="The month to bill, e.g. 2026-10.")
@click.option("--confirm", "confirm_run", is_flag=True,
              help="Also issue the invoices (numbers, PDFs); without it the run stops at the preview.")
@click.option("--as", "username", default=None, help="The staff user recorded in the audit log.")
def run_command(period: str, confirm_run: bool, username: str | None) -> None:
    """Draft the period's invoices and print the preview; with --confirm, issue them. After a
    crash or an interruption, run it again: it carries on where it stopped."""
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, TaskID

    from backoffice.billing import runs
    from backoffice.billing.invoices import Seller
    from backoffice.billing.models import RunStatus
    from backoffice.db import make_engine, make_sessionmaker

    settings = _setting_up()
    try:
        month = runs.parse_period(period)
    except DomainError as exc:
        raise click.BadParameter(str(exc.message), param_hint="--period") from exc

    async def work(bar: Progress) -> runs.RunPreview:
        engine = make_engine(settings.database_url, sqlite_cache_mib=runs.BATCH_SQLITE_CACHE_MIB)
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task("drafting" if phase == "draft" else "issuing", total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            maker = make_sessionmaker(engine)
            async with maker() as session:
                actor = await _actor(session, username)
                existing = await session.scalar(runs.select_run(month))
            status = existing.status if existing is not None else None
            # With --confirm a finished draft is issued as previewed, and an interrupted
            # confirmation carries on; everything else drafts (again) first.
            if not (confirm_run and status in (RunStatus.DRAFT.value, RunStatus.CONFIRMING.value)):
                await runs.draft(maker, actor, month, progress=progress, anomaly_factor=settings.anomaly_factor)
            async with maker() as session:
                current = await session.scalar(runs.select_run(month))
            if confirm_run and current is not None and current.status != RunStatus.ISSUED.value:
                await runs.confirm(maker, actor, month, Seller.from_settings(settings), progress=progress,
                                   due_days=settings.invoice_due_days)
            async with maker() as session:
                return await runs.preview(session, month)
        finally:
            await engine.dispose()

    started = time.perf_counter()
    try:
        with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=Console(stderr=True),
                      disable=not sys.stderr.isatty()) as bar:
            preview = asyncio.run(work(bar))
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    elapsed = time.perf_counter() - started
    run = preview.run
    click.echo(f"bill run {run.period}: {run.status}, {run.accounts_total} accounts, "
               f"{preview.drafts} draft and {preview.issued} issued invoices in {elapsed:.1f} s")
    if preview.drafts:
        click.echo(f"drafts: net {preview.net} Ft, VAT {preview.vat} Ft, gross {preview.gross} Ft")
        for kind, net in preview.by_kind:
            click.echo(f"  {kind}: {net} Ft")
        click.echo(f"anomalies (more than {settings.anomaly_factor}x the account's average): {preview.anomaly_count}")
        for invoice in preview.anomalies[:20]:
            click.echo(f"  {invoice.account_number} {invoice.buyer_name}: {invoice.gross_total} Ft "
                       f"(average {invoice.average_gross} Ft)")
        if not confirm_run:
            click.echo(f"check the preview, then issue with: backoffice billing run --period {run.period} --confirm")
