"""The billing commands: import a usage file, draft and preview a run, issue it; the issued PDF's
extracted text carries what a Hungarian invoice must show."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import select

from backoffice.billing.models import Invoice
from backoffice.cli import main
from backoffice.documents import storage
from backoffice.documents.models import Document
from backoffice.settings import Settings
from tests.billing.helpers import day
from tests.subscriptions.helpers import Maker, active_sim, seed_catalogue, today_is

pytestmark = pytest.mark.asyncio


@pytest.fixture
def command(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BACKOFFICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BACKOFFICE_VAR_DIR", str(settings.var_dir))
    monkeypatch.delenv("BACKOFFICE_STORAGE_DIR", raising=False)
    monkeypatch.setenv("BACKOFFICE_DEFAULT_LANGUAGE", "en")
    runner = CliRunner()

    async def invoke(*args: str) -> Any:
        return await asyncio.to_thread(runner.invoke, main, ["billing", *args], catch_exceptions=False)

    return invoke


async def test_import_run_and_confirm_from_the_command_line(
        maker: Maker, store_root: Path, tmp_path: Path, command: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, day("2026-09-20")):
        sim = await active_sim(maker)
    usage = tmp_path / "october.csv"
    usage.write_text(f"service_number,start_time,type,destination,quantity\n"
                     f"{sim.number},2026-10-05 10:00:00,roaming-voice,+4930123456,61\n"
                     f"{sim.number},2026-10-05 11:00:00,telex,,1\n")
    imported = await command("import-usage", str(usage))
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.startswith("imported 1 of 2 rows, 0 already there, 1 rejected in ")
    assert "line 3: Unknown type: use voice, sms, data, roaming-voice or roaming-data. (telex)" in imported.stderr
    again = await command("import-usage", str(usage))
    assert again.exit_code == 0 and "was imported already" in again.stdout

    drafted = await command("run", "--period", "2026-10")
    assert drafted.exit_code == 0, drafted.output
    assert drafted.stdout.startswith("bill run 2026-10: draft, 1 accounts, 1 draft and 0 issued invoices")
    assert "backoffice billing run --period 2026-10 --confirm" in drafted.stdout

    issued = await command("run", "--period", "2026-10", "--confirm")
    assert issued.exit_code == 0, issued.output
    assert issued.stdout.startswith("bill run 2026-10: issued, 1 accounts, 0 draft and 1 issued invoices")

    async with maker() as s:
        invoice = await s.scalar(select(Invoice))
        assert invoice is not None and invoice.number is not None
        document = await s.get(Document, invoice.document_id)
        assert document is not None
    text = " ".join((page.extract_text() or "") for page in
                    PdfReader(io.BytesIO(storage.current().path(document.content.digest).read_bytes())).pages)
    for required in (invoice.number, "Demo Telekom Zrt.", "12345676-2-44", invoice.buyer_name,
                     invoice.customer_number, "2026.10.31.", "Teljesítés", "Fizetési határidő", "27%",
                     "11773016-11111018-00000000", "Roaming hívások"):
        assert required in text, required

    bad = await command("run", "--period", "2026-13")
    assert bad.exit_code == 2 and "Give the month as 2026-10." in bad.stderr
    early = await command("run", "--period", "2099-01")
    assert early.exit_code == 1 and "has not ended yet" in early.stderr


async def test_the_demo_seed_with_bills_issues_last_months_invoices(
        maker: Maker, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKOFFICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BACKOFFICE_VAR_DIR", str(settings.var_dir))
    monkeypatch.delenv("BACKOFFICE_STORAGE_DIR", raising=False)
    runner = CliRunner()
    args = ["seed", "--customers", "12", "--seed", "3", "--bills"]
    result = await asyncio.to_thread(runner.invoke, main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    async with maker() as s:
        invoices = list(await s.scalars(select(Invoice)))
    assert invoices and all(i.status == "issued" and i.document_id for i in invoices)
    assert f"{len(invoices)} invoices for {invoices[0].period}" in result.stdout
