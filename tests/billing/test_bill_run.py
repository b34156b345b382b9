"""The bill run through the services: drafts from the dated record Subscriptions keeps, the
preview, confirmation with gap-free numbers and registered PDFs, re-runs, immutability."""

from __future__ import annotations

import hashlib
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from backoffice.billing import runs
from backoffice.billing.models import BillRun, Invoice, InvoiceLine
from backoffice.billing.rules import prorate, vat_of
from backoffice.customers.models import BillingAccount
from backoffice.documents import storage
from backoffice.documents.models import Document
from backoffice.errors import ConflictError, ValidationFailedError
from backoffice.subscriptions import contracts
from backoffice.subscriptions.models import Contract, Plan
from backoffice.subscriptions.schemas import PayerChangeInput
from tests.billing.helpers import NOV, OCT, bill, confirm, day, draft, invoices_for, lines_of
from tests.customers.helpers import add_account
from tests.subscriptions.helpers import AGENT, Maker, act, active_sim, seed_catalogue, today_is

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def catalogue(maker: Maker, store_root: Path) -> None:
    await seed_catalogue(maker)


async def plan_fee(maker: Maker, code: str = "sim_start") -> D:
    async with maker() as s:
        plan = await s.scalar(select(Plan).where(Plan.code == code))
        assert plan is not None
        return plan.monthly_fee


@pytest.mark.usefixtures("catalogue")
async def test_a_sim_activated_on_the_10th_is_billed_22_days_and_its_activation_fee(
        maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-10-10")):
        service = await active_sim(maker)
    await draft(maker, monkeypatch)
    [invoice] = await invoices_for(maker)
    lines = await lines_of(maker, invoice.id)
    fee = await plan_fee(maker)
    assert [(line.kind, line.quantity, line.net) for line in lines] == [
        ("plan", D(22), prorate(fee, 22, OCT)),
        ("fee", D(1), D("3150")),  # 3,149.61 → 3,150
    ]
    assert lines[0].service_id == service.id and "(22/31 nap)" in lines[0].description_hu
    net = sum(line.net for line in lines)
    assert (invoice.status, invoice.net_total, invoice.vat_total) == ("draft", net, vat_of(net, D(27)))
    assert invoice.gross_total == invoice.net_total + invoice.vat_total and invoice.number is None


@pytest.mark.usefixtures("catalogue")
async def test_confirming_numbers_the_invoices_registers_their_pdfs_and_adds_to_the_balance(
        maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        first = await active_sim(maker)
        second = await active_sim(maker)
    issued = await bill(maker, monkeypatch)
    assert [i.number for i in issued] == ["INV-2026-0000001", "INV-2026-0000002"]
    async with maker() as s:
        for invoice in issued:
            assert invoice.status == "issued" and invoice.issue_date == day("2026-11-03")
            assert invoice.due_date == day("2026-11-18")  # issue + 15 days
            document = await s.get(Document, invoice.document_id)
            assert document is not None and document.document_type.code == "invoice"
            assert document.party_id == invoice.payer_id and document.direction == "outgoing"
            content = storage.current().path(document.content.digest).read_bytes()
            assert hashlib.sha256(content).hexdigest() == invoice.pdf_sha256 == document.content.digest
            account = await s.get(BillingAccount, invoice.billing_account_id)
            assert account is not None and account.balance == invoice.gross_total
        run = await s.scalar(select(BillRun).where(BillRun.period == "2026-10"))
        assert run is not None and (run.status, run.invoices_issued) == ("issued", 2)
    assert {first.id, second.id}


@pytest.mark.usefixtures("catalogue")
async def test_re_running_a_period_bills_nothing_twice(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        await active_sim(maker)
    issued = await bill(maker, monkeypatch)
    await draft(maker, monkeypatch)
    async with maker() as s:
        run = await runs.get_run(s, OCT)
        assert run.status == "issued"  # nothing new to draft: the period stays issued
    with pytest.raises(ConflictError):
        await confirm(maker, monkeypatch)
    again = await invoices_for(maker)
    assert [(i.id, i.number, i.gross_total) for i in again] == [(i.id, i.number, i.gross_total) for i in issued]
    # The next month bills the next month's fee, not the activation fee again.
    [november] = await bill(maker, monkeypatch, NOV)
    kinds = [line.kind for line in await lines_of(maker, november.id)]
    assert kinds == ["plan"] and november.number == "INV-2026-0000002"


@pytest.mark.usefixtures("catalogue")
async def test_drafting_again_recomputes_the_drafts_and_keeps_one_per_account(
        maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        service = await active_sim(maker)
    await draft(maker, monkeypatch)
    [before] = await invoices_for(maker)
    with today_is(monkeypatch, day("2026-10-25")):
        await act(maker, service, "add_addon", addon_code="data_5gb")
    await draft(maker, monkeypatch)
    [after] = await invoices_for(maker)
    assert after.gross_total > before.gross_total and after.billing_account_id == before.billing_account_id
    assert "addon" in [line.kind for line in await lines_of(maker, after.id)]


@pytest.mark.usefixtures("catalogue")
async def test_a_payer_change_on_the_15th_splits_the_month_between_two_invoices(
        maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        service = await active_sim(maker)
    async with maker() as s:
        contract = await s.get(Contract, service.contract_id)
        assert contract is not None
    other = await add_account(maker, contract.subscriber_id)
    with today_is(monkeypatch, day("2026-10-15")):
        async with maker() as s, s.begin():
            await contracts.change_payer(s, AGENT, contract.id, PayerChangeInput(other.id, day("2026-10-15"), None),
                                         None, confirm=False)
    await draft(maker, monkeypatch)
    invoices = {i.billing_account_id: i for i in await invoices_for(maker)}
    fee = await plan_fee(maker)
    old_lines = await lines_of(maker, invoices[contract.billing_account_id].id)
    new_lines = await lines_of(maker, invoices[other.id].id)
    # (September's activation fee, not billed yet, goes to whoever paid on the day it was incurred.)
    assert [(line.kind, line.quantity, line.net) for line in old_lines] == [
        ("plan", D(14), prorate(fee, 14, OCT)), ("fee", D(1), D("3150"))]
    assert [(line.kind, line.quantity, line.net) for line in new_lines] == [("plan", D(17), prorate(fee, 17, OCT))]


@pytest.mark.usefixtures("catalogue")
async def test_a_period_that_has_not_ended_cannot_be_billed(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        await draft(maker, monkeypatch, OCT, on=day("2026-10-31"))
    assert refused.value.field == "period"
    async with maker() as s:
        assert await s.scalar(select(BillRun)) is None


@pytest.mark.usefixtures("catalogue")
async def test_confirming_before_the_draft_is_refused(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        await active_sim(maker)
    await bill(maker, monkeypatch)
    with pytest.raises(ConflictError) as refused:
        await confirm(maker, monkeypatch)
    assert refused.value.code == "run_issued"


@pytest.mark.usefixtures("catalogue")
async def test_an_issued_invoice_cannot_be_changed_by_the_session_or_by_sql(
        maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        await active_sim(maker)
    [invoice] = await bill(maker, monkeypatch)
    async with maker() as s:
        loaded = await s.get(Invoice, invoice.id)
        assert loaded is not None
        loaded.gross_total = D(1)
        with pytest.raises(ConflictError):
            await s.flush()
    async with maker() as s:
        line = await s.scalar(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
        assert line is not None
        await s.delete(line)
        with pytest.raises(ConflictError):
            await s.flush()
    for statement in ("UPDATE invoices SET gross_total = 1 WHERE id = :id",
                      "DELETE FROM invoices WHERE id = :id",
                      "UPDATE invoice_lines SET net = 1 WHERE invoice_id = :id",
                      "DELETE FROM invoice_lines WHERE invoice_id = :id"):
        async with maker() as s:
            with pytest.raises(DBAPIError, match="immutable"):
                async with s.begin():
                    await s.execute(text(statement), {"id": invoice.id})
    [after] = await invoices_for(maker)
    assert (after.gross_total, after.number) == (invoice.gross_total, invoice.number)
