"""A bill run killed at random moments, or run twice at once, still ends with one invoice per
account and period, contiguous numbers, and one PDF per invoice matching its hash."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice.billing import runs
from backoffice.billing.models import BillRun, Invoice, UsageRecord
from backoffice.customers.models import BillingAccount
from backoffice.documents import storage
from backoffice.documents.models import Document, DocumentType
from backoffice.settings import PROJECT_ROOT, Settings
from tests.billing.helpers import OCT, SELLER, confirm, day, draft, import_text
from tests.subscriptions.helpers import SUPERVISOR, Maker, active_sim, seed_catalogue, today_is

pytestmark = pytest.mark.asyncio

ACCOUNTS = 12

# The run as library calls with small chunks, printing each chunk's progress so that the test
# can kill it part-way through drafting or issuing.
SCRIPT = """
import asyncio
from backoffice.billing import runs
from backoffice.billing.invoices import Seller
from backoffice.billing.models import RunStatus
from backoffice.db import make_engine, make_sessionmaker
from backoffice.documents import storage
from backoffice.documents.storage import LocalFileStore
from backoffice.settings import Settings
import backoffice.models

settings = Settings.from_env()
storage.configure(LocalFileStore(settings.documents_dir))
period = runs.parse_period("2026-10")

def progress(phase, done, total):
    print(phase, done, total, flush=True)

async def run():
    maker = make_sessionmaker(make_engine(settings.database_url))
    async with maker() as session:
        existing = await session.scalar(runs.select_run(period))
    if existing is None or existing.status in (RunStatus.DRAFTING.value, RunStatus.ISSUED.value):
        await runs.draft(maker, None, period, progress=progress, chunk=2)
    async with maker() as session:
        if (await session.scalar(runs.select_run(period))).status == RunStatus.ISSUED.value:
            return
    await runs.confirm(maker, None, period, Seller.from_settings(settings), progress=progress, chunk=2)

asyncio.run(run())
"""


def child_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env.update(BACKOFFICE_DATABASE_URL=settings.database_url, BACKOFFICE_VAR_DIR=str(settings.var_dir))
    return env


@pytest.fixture
async def customers(maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve customers, each with a SIM active since September and some roaming usage in October."""
    await seed_catalogue(maker)
    with today_is(monkeypatch, day("2026-09-20")):
        sims = [await active_sim(maker) for _ in range(ACCOUNTS)]
    rows = [f"{sim.number},2026-10-{i % 28 + 1:02d} 10:00:00,roaming-voice,+4930123456,{60 + i}"
            for i, sim in enumerate(sims)]
    await import_text(maker, "\n".join(rows))


async def assert_billed_once(maker: Maker, store_root: Path) -> None:
    async with maker() as s:
        invoices = list(await s.scalars(select(Invoice).where(Invoice.period == "2026-10").order_by(Invoice.number)))
        assert len(invoices) == ACCOUNTS
        assert len({i.billing_account_id for i in invoices}) == ACCOUNTS
        assert all(i.status == "issued" for i in invoices)
        year = invoices[0].issue_date.year if invoices[0].issue_date else 0
        assert [i.number for i in invoices] == [f"INV-{year}-{n:07d}" for n in range(1, ACCOUNTS + 1)]
        documents = list(await s.scalars(select(Document).join(DocumentType).where(DocumentType.code == "invoice")))
        assert len(documents) == ACCOUNTS
        by_id = {d.id: d for d in documents}
        for invoice in invoices:
            document = by_id[invoice.document_id]  # one document each, and only these
            content = storage.current().path(document.content.digest).read_bytes()
            assert hashlib.sha256(content).hexdigest() == invoice.pdf_sha256 == document.content.digest
            assert content.startswith(b"%PDF") and invoice.number is not None
            assert document.subject.startswith(f"Számla {invoice.number}")
        balances = dict((await s.execute(select(BillingAccount.id, BillingAccount.balance))).all())
        for invoice in invoices:
            assert balances[invoice.billing_account_id] == invoice.gross_total
        unbilled = await s.scalar(select(func.count()).select_from(UsageRecord).where(UsageRecord.invoice_id.is_(None)))
        assert unbilled == 0
        run = await s.scalar(select(BillRun))
        assert run is not None and (run.status, run.invoices_issued) == ("issued", ACCOUNTS)


@pytest.mark.usefixtures("customers")
async def test_killed_at_random_moments_the_run_still_bills_each_account_once_with_contiguous_numbers(
        maker: Maker, store_root: Path, settings: Settings, tmp_path: Path) -> None:
    rng = random.Random(20261122)
    kills = 0
    for attempt in range(8):
        with (tmp_path / f"stderr.{attempt}").open("wb") as errors:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", SCRIPT, cwd=PROJECT_ROOT, env=child_env(settings),
                stdout=asyncio.subprocess.PIPE, stderr=errors)
            assert proc.stdout is not None
            for _ in range(rng.randrange(0, 4)):  # let it finish this many chunks first
                if not await proc.stdout.readline():
                    break
            await asyncio.sleep(rng.uniform(0, 0.15))
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            await asyncio.wait_for(proc.communicate(), 120)
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, (tmp_path / f"stderr.{attempt}").read_text()
    assert kills >= 2
    final = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", "from backoffice.cli import main; main()", "billing", "run",
                         "--period", "2026-10", "--confirm"],
        cwd=PROJECT_ROOT, env=child_env(settings), capture_output=True, text=True, timeout=120, check=False)
    assert final.returncode == 0, final.stderr
    assert final.stdout.startswith(f"bill run 2026-10: issued, {ACCOUNTS} accounts, 0 draft and {ACCOUNTS} issued")
    await assert_billed_once(maker, store_root)


@pytest.mark.usefixtures("customers")
async def test_two_runs_at_once_bill_each_account_once_and_number_without_gaps(
        maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One calendar for both (two nested patches of the clock would undo each other in the wrong order).
    with today_is(monkeypatch, day("2026-11-03")):
        await asyncio.gather(runs.draft(maker, SUPERVISOR, OCT, chunk=2),
                             runs.draft(maker, SUPERVISOR, OCT, chunk=3))
        async with maker() as s:
            per_account = Counter(await s.scalars(select(Invoice.billing_account_id)))
        assert len(per_account) == ACCOUNTS and set(per_account.values()) == {1}
        await asyncio.gather(runs.confirm(maker, SUPERVISOR, OCT, SELLER, chunk=2),
                             runs.confirm(maker, SUPERVISOR, OCT, SELLER, chunk=3))
    await assert_billed_once(maker, store_root)


@pytest.mark.usefixtures("customers")
async def test_the_run_carries_on_after_a_crash_in_the_middle_of_issuing(
        maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backoffice.billing import invoices

    await draft(maker, monkeypatch)
    real_issue = invoices.issue
    calls = 0

    async def failing_issue(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        result = await real_issue(*args, **kwargs)  # type: ignore[arg-type]
        if calls == 3:
            raise RuntimeError("the machine went away")  # after numbering and registering: rolled back
        return result

    monkeypatch.setattr(invoices, "issue", failing_issue)
    with pytest.raises(RuntimeError):
        await confirm(maker, monkeypatch, chunk=2)
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(Invoice).where(Invoice.status == "issued")) == 4
    monkeypatch.setattr(invoices, "issue", real_issue)
    await confirm(maker, monkeypatch, chunk=2)
    await assert_billed_once(maker, store_root)
    async with maker() as s:
        gross = await s.scalar(select(func.sum(Invoice.gross_total)))
        assert gross is not None and gross > D(0)
