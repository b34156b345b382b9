"""Bill runs worked in the background of the server process: a request validates and marks the run
in its own transaction (so a refusal shows at once); once that has committed, the batch goes on
in an asyncio task, with the run row carrying its progress. A run interrupted by a restart is
continued by starting it again (the services carry on where it stopped)."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.background_tasks import BackgroundTask
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.actors import Principal
from backoffice.billing import invoices, rules, runs
from backoffice.billing.models import BillRun, Invoice, RunStatus
from backoffice.db import utcnow
from backoffice.errors import DomainError
from backoffice.i18n import N_, Msg

log = logging.getLogger("backoffice.billing")

RUN_PAGE_SIZE = 50  # issued invoices listed on a run's page at a time
# A drafting or confirming run whose row has not moved for this long, with no task of this process
# working on it, was interrupted (a restart, a crash): the page offers to continue it.
STALE_AFTER = dt.timedelta(seconds=30)

_tasks: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones
_working: dict[tuple[str, str], asyncio.Task[None]] = {}  # (period, phase) → the task working on it
_failures: dict[str, Msg] = {}  # period → why its last task stopped


async def _work(maker: async_sessionmaker[AsyncSession], settings: Any, actor: Principal, period: rules.Period,
                phase: str) -> None:
    try:
        if phase == "confirm":
            await runs.confirm(maker, actor, period, invoices.Seller.from_settings(settings),
                               due_days=settings.invoice_due_days)
        else:
            await runs.draft(maker, actor, period, anomaly_factor=settings.anomaly_factor)
    except DomainError as exc:
        log.warning("bill run %s (%s) stopped: %s", period, phase, exc.code)
        _failures[str(period)] = exc.message if isinstance(exc.message, Msg) else Msg(str(exc.message))
    except Exception:
        log.exception("bill run %s (%s) failed", period, phase)
        _failures[str(period)] = Msg(N_("The run stopped on an error, which has been logged. Continue it; if it "
                                        "stops again, tell the service desk."))


def _forget(task: asyncio.Task[None]) -> None:
    _tasks.discard(task)
    for key, working in list(_working.items()):
        if working is task:
            del _working[key]


async def _spawn(app_state: Any, actor: Principal, period: rules.Period, phase: str) -> None:
    key = (str(period), phase)
    if (running := _working.get(key)) is not None and not running.done():
        return  # this process is on it already (a second tab, a double click)
    _failures.pop(key[0], None)
    # A fresh context: the task outlives the request and must not hold on to its scope.
    task = asyncio.create_task(_work(app_state.sessionmaker, app_state.settings, actor, period, phase),
                               name=f"bill-run-{period}-{phase}", context=contextvars.Context())
    _tasks.add(task)
    _working[key] = task
    task.add_done_callback(_forget)


def in_background(request: Request[Any, Any, Any], period: rules.Period, phase: str) -> BackgroundTask:
    """What a response carries to start the batch once the request's transaction has committed."""
    return BackgroundTask(_spawn, request.app.state, request.user, period, phase)


def is_working(period: str) -> bool:
    """Whether a task of this process drafts or confirms the period."""
    return any(not _working[key].done() for key in ((period, "draft"), (period, "confirm")) if key in _working)


async def _finished(tasks: Sequence[asyncio.Task[None]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


async def wait_for_background() -> None:
    """For tests and shutdown: wait until every batch this process started has finished. The
    tasks may run on another thread's loop (the test client serves the app from one)."""
    while _tasks:
        here = asyncio.get_running_loop()
        loops: dict[asyncio.AbstractEventLoop, list[asyncio.Task[None]]] = {}
        for task in list(_tasks):
            loops.setdefault(task.get_loop(), []).append(task)
        for loop, tasks in loops.items():
            if loop is here:
                await _finished(tasks)
            elif loop.is_closed():
                _tasks.difference_update(tasks)
            else:
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_finished(tasks), loop))


async def start(session: AsyncSession, actor: Principal, period: rules.Period, phase: str) -> BillRun:
    """Validate and mark the run in the caller's transaction (refusals raise here)."""
    if phase == "confirm":
        return await runs.start_confirm(session, actor, period)
    return await runs.start_draft(session, actor, period)


# ---------------------------------------------------------------- a run as the screens and the API show it


@dataclass
class RunState:
    run: BillRun
    period: rules.Period
    figures: runs.RunFigures
    working: bool  # a task is on it (or it moved a moment ago)
    interrupted: bool  # drafting or confirming, and nobody is
    failure: Msg | None
    preview: runs.RunPreview | None = None  # once drafted
    issued: list[Invoice] = field(default_factory=list)  # a page of the issued invoices
    page_number: int = 1
    has_more: bool = False

    @property
    def progress(self) -> tuple[str, int, int] | None:
        """(phase, done, total) while a batch is under way."""
        if self.run.status == RunStatus.DRAFTING.value:
            return "draft", self.run.accounts_done, self.run.accounts_total
        if self.run.status == RunStatus.CONFIRMING.value:
            return "confirm", self.figures.issued, self.figures.invoices
        return None

    @property
    def percent(self) -> int:
        progress = self.progress
        if progress is None or not progress[2]:
            return 0
        return min(100, progress[1] * 100 // progress[2])


async def run_state(session: AsyncSession, period: rules.Period, page_number: int = 1) -> RunState:
    run = await runs.get_run(session, period)
    figures = (await runs.run_figures(session, [run.id]))[run.id]
    busy = run.status in (RunStatus.DRAFTING.value, RunStatus.CONFIRMING.value)
    key = str(period)
    updated = run.updated_at if run.updated_at.tzinfo else run.updated_at.replace(tzinfo=dt.UTC)
    working = busy and (is_working(key) or (key not in _failures and utcnow() - updated < STALE_AFTER))
    state = RunState(run, period, figures, working, busy and not working, _failures.get(key) if busy else None)
    if run.status == RunStatus.DRAFT.value:
        state.preview = await runs.preview(session, period, run=run, figures=figures)
    if figures.issued and run.status != RunStatus.DRAFTING.value:
        state.page_number = page_number
        found = await runs.run_invoices(session, run.id, (page_number - 1) * RUN_PAGE_SIZE, RUN_PAGE_SIZE + 1)
        state.issued, state.has_more = found[:RUN_PAGE_SIZE], len(found) > RUN_PAGE_SIZE
    return state
