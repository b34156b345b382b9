"""`backoffice documents ...`: the documents domain's batch commands (bulk intake from a scanning folder)."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path

import click

from backoffice.i18n import LANGUAGES, current_language

MAX_CHUNK = 1000  # intake.MAX_CHUNK, without importing the domain for every `backoffice` command
# Names come from a shared folder and a CSV: never let them drive the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SHOWN_PROBLEMS = 50


def _printable(text: str) -> str:
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # a name's undecodable bytes
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@click.group()
def documents() -> None:
    """Documents and records."""


@documents.command("import")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--as", "actor_username", default=None, metavar="USERNAME",
              help="The active staff user recorded as registering the documents (default: the system).")
@click.option("--chunk", type=click.IntRange(1, MAX_CHUNK), default=50, show_default=True,
              help="Files registered per transaction.")
@click.option("--language", type=click.Choice(LANGUAGES), default=None,
              help="Language of the reasons written for rejected files (default: BACKOFFICE_DEFAULT_LANGUAGE).")
def import_folder_command(folder: Path, actor_username: str | None, chunk: int, language: str | None) -> None:
    """Register the files of a scanning FOLDER described by its metadata.csv.

    Each file ends registered (moved to FOLDER/done) or set aside in FOLDER/rejected beside a
    .reason.txt saying why. After a crash or an interruption, run it again: nothing is lost or
    registered twice.
    """
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, TaskID

    from backoffice.db import make_engine, make_sessionmaker
    from backoffice.documents import services, storage
    from backoffice.documents.intake import REJECTED, ImportSummary, IntakeError, import_folder
    from backoffice.documents.storage import LocalFileStore
    from backoffice.settings import Settings

    settings = Settings.from_env()
    storage.configure(LocalFileStore(settings.documents_dir))
    current_language.set(language or settings.default_language)

    async def work(bar: Progress) -> ImportSummary:
        tasks: list[TaskID] = []
        engine = make_engine(settings.database_url)
        try:
            return await import_folder(
                make_sessionmaker(engine), folder, actor_username,
                progress=lambda n: bar.advance(tasks[0], n), chunk=chunk,
                on_total=lambda total: tasks.append(bar.add_task("documents", total=total)),
                max_bytes=settings.max_upload_bytes,
            )
        finally:
            await services.finish_sweeps()
            await engine.dispose()

    started = time.perf_counter()
    try:
        with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=Console(stderr=True),
                      disable=not sys.stderr.isatty()) as bar:
            summary = asyncio.run(work(bar))
    except IntakeError as exc:
        raise click.ClickException(str(exc.message)) from exc
    elapsed = time.perf_counter() - started
    for name, reason in summary.problems[:SHOWN_PROBLEMS]:
        click.echo(f"{_printable(name)}: {_printable(reason)}", err=True)
    if len(summary.problems) > SHOWN_PROBLEMS:
        click.echo(f"... and {len(summary.problems) - SHOWN_PROBLEMS} more", err=True)
    rate = summary.registered / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"imported {summary.registered}, already done {summary.already_done}, "
        f"rejected {summary.rejected} (see {_printable(str(folder / REJECTED))}), "
        f"missing files {summary.missing_rows} in {elapsed:.1f} s ({rate:.0f} documents/s)"
    )
