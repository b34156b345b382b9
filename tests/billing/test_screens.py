"""The billing screens: usage import with its report, bill runs started from the screen and worked
in the background (progress, preview with the flagged invoices, confirmation), the invoice page
and its PDF, and the invoice and usage sections of the customer, account and service pages."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from backoffice.billing import background, runs
from backoffice.billing.models import BillRun, Invoice, UsageImport, UsageRecord
from backoffice.billing.rules import Period
from backoffice.db import utcnow
from backoffice.subscriptions.models import Contract, Service
from backoffice.web.templating import huf
from tests.billing.helpers import OCT, bill, confirm, day, draft, import_text, invoices_for
from tests.conftest import post_form
from tests.customers.helpers import field_error
from tests.subscriptions.helpers import SUPERVISOR, Maker, active_sim, seed_catalogue, today_is

Client = AsyncTestClient[Litestar]
SEP = Period(2026, 9)
BILLING_DAY = day("2026-11-03")  # October is over, November is not


@pytest.fixture
async def catalogue(maker: Maker, store_root: Path) -> None:
    await seed_catalogue(maker)


@contextmanager
def on_billing_day(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with today_is(monkeypatch, BILLING_DAY):
        yield


def text_of(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.text))


def roaming(service: Service, count: int = 40, megabytes: int = 500) -> str:
    """A holiday's roaming data in October: far beyond what the account usually pays."""
    return "".join(f"{service.number},2026-10-{10 + i // 10:02d} {i % 10:02d}:00:00,roaming-data,AT,"
                   f"{megabytes * 1_048_576}\n" for i in range(count))


async def heavy_roamer(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> Service:
    """A SIM active since August, September billed and issued, then a roaming October."""
    with today_is(monkeypatch, day("2026-08-20")):
        service = await active_sim(maker)
    await bill(maker, monkeypatch, SEP)
    await import_text(maker, roaming(service))
    return service


async def payer_of(maker: Maker, service: Service) -> int:
    async with maker() as s:
        contract = await s.get(Contract, service.contract_id)
        assert contract is not None
        return contract.subscriber_id


async def upload(client: Client, content: bytes | None, name: str = "usage.csv") -> Any:
    token = client.cookies.get("bo_csrf") or ""
    files = {} if content is None else {"file": (name, content, "text/csv")}
    return await client.post("/billing/usage", data={"note": ""}, files=files, headers={"x-csrftoken": token},
                             follow_redirects=False)


async def start_run(client: Client, monkeypatch: pytest.MonkeyPatch, period: str = "2026-10",
                    path: str = "/billing/runs") -> Any:
    """Start from the screen and let the background batch finish on the billing day."""
    with on_billing_day(monkeypatch):
        response = await post_form(client, path, {"period": period})
        await background.wait_for_background()
    return response


async def count(maker: Maker, model: Any) -> int:
    async with maker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------- who sees what


async def test_billing_screens_open_for_supervisors(
        client: Client, signed_in: Any, maker: Maker, catalogue: None) -> None:
    await signed_in(client, "supervisor")
    for path in ("/billing/runs", "/billing/usage"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert 'href="/billing/runs"' in response.text  # the navigation's entry


@pytest.mark.parametrize("role", ["agent", "records", "admin"])
async def test_agents_records_staff_and_administrators_are_refused_the_bill_runs_and_the_usage_import(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, role: str) -> None:
    await signed_in(client, role)
    for path in ("/billing/runs", "/billing/usage", "/billing/runs/2026-10"):
        assert (await client.get(path)).status_code == 403, path
    assert (await post_form(client, "/billing/runs", {"period": "2026-10"})).status_code == 403
    assert (await upload(client, b"x")).status_code == 403
    home = await client.get("/search")
    assert 'href="/billing/runs"' not in home.text
    assert await count(maker, BillRun) == 0 and await count(maker, UsageImport) == 0


# ---------------------------------------------------------------- usage import


async def test_a_usage_file_reports_each_bad_row_with_its_line_and_reason_and_imports_the_rest(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        sim = await active_sim(maker)
    content = "\n".join([
        "service_number,start_time,type,destination,quantity",
        f"{sim.number},2026-10-03 14:22:10,voice,+36201234567,125",
        f"{sim.number},2026-10-04 10:00:00,fax,,1",
        f"{sim.number},2026-10-05 08:00:00,sms,+36201234567,1",
    ]).encode()
    await signed_in(client, "supervisor")
    response = await upload(client, content, "oktober.csv")
    assert response.status_code == 303, response.text
    report = await client.get(response.headers["location"])
    body = text_of(report)
    assert report.status_code == 200 and "oktober.csv" in body
    assert re.search(r"<td class=\"num mono\">3</td>\s*<td>Unknown type: use voice, sms, data, roaming-voice "
                     r"or roaming-data.</td>\s*<td class=\"mono\">fax</td>", report.text)
    assert await count(maker, UsageRecord) == 2
    listed = await client.get("/billing/usage")
    assert "oktober.csv" in listed.text and response.headers["location"].split("?")[0] in listed.text

    again = await upload(client, content, "masodszor.csv")
    assert again.status_code == 303 and again.headers["location"] == response.headers["location"].replace(
        "done", "again")
    notice = text_of(await client.get(again.headers["location"]))
    assert "This file was imported already, on" in notice and "nothing was added" in notice
    assert await count(maker, UsageRecord) == 2 and await count(maker, UsageImport) == 1


@pytest.mark.parametrize(("content", "message"), [
    (None, "Choose the usage file (CSV) to import."),
    (b"", "The file is empty."),
    (b" \n\n", "The file is empty."),
])
async def test_an_empty_or_missing_usage_file_is_refused_beside_the_file_field(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, content: bytes | None, message: str) -> None:
    await signed_in(client, "supervisor")
    response = await upload(client, content)
    assert response.status_code == 422
    assert field_error(response.text, "file") is not None and message in field_error(response.text, "file")
    assert await count(maker, UsageImport) == 0


# ---------------------------------------------------------------- bill runs


@pytest.mark.parametrize(("period", "message"), [
    ("2026-13", "Give the month as 2026-10."),
    ("október", "Give the month as 2026-10."),
    ("2026-11", "2026-11 has not ended yet: it can be billed from 2026-12-01."),
])
async def test_a_bad_period_is_refused_beside_the_field_keeping_what_was_typed_and_starting_nothing(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch,
        period: str, message: str) -> None:
    await signed_in(client, "supervisor")
    response = await start_run(client, monkeypatch, period)
    assert response.status_code == 422
    assert field_error(response.text, "period") == message
    assert f'value="{period}"' in response.text
    assert await count(maker, BillRun) == 0


async def test_the_form_proposes_the_previous_month(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    await signed_in(client, "supervisor")
    with on_billing_day(monkeypatch):
        page = await client.get("/billing/runs")
    assert 'name="period" type="text" value="2026-10"' in page.text


async def test_the_run_page_shows_the_preview_with_the_flagged_invoice(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    service = await heavy_roamer(maker, monkeypatch)
    await signed_in(client, "supervisor")
    started = await start_run(client, monkeypatch)
    assert started.status_code == 303 and started.headers["location"] == "/billing/runs/2026-10"
    [september] = await invoices_for(maker, SEP)
    [october] = await invoices_for(maker, OCT)
    assert october.status == "draft" and october.anomaly
    page = await client.get("/billing/runs/2026-10")
    body = text_of(page)
    assert page.status_code == 200 and 'id="preview"' in page.text
    assert 'hx-trigger="every 1s"' not in page.text  # drafted: nothing to follow
    flagged = page.text[page.text.index('id="anomalies"'):page.text.index('id="largest"')]
    assert october.buyer_name in flagged and f'href="/invoices/{october.id}"' in flagged
    assert f'href="/customers/{await payer_of(maker, service)}"' in flagged
    assert october.account_number in flagged
    # Gross against the account's average (September's invoice alone), and how many times it is.
    assert october.average_gross == september.gross_total and huf(october.average_gross) in flagged
    ratio = (october.gross_total / september.gross_total).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert huf(october.gross_total) in flagged and f"{ratio}×" in flagged and ratio > 3
    assert "Usage beyond the allowances" in body and "Monthly plan fees" in body
    assert 'action="/billing/runs/2026-10/confirm"' in page.text and "This cannot be undone" in body
    listed = await client.get("/billing/runs")
    assert 'href="/billing/runs/2026-10"' in listed.text and "Drafted, to check" in listed.text


async def test_confirming_from_the_screen_issues_the_invoices_and_lists_them(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        await active_sim(maker)
        await active_sim(maker)
    await signed_in(client, "supervisor")
    await start_run(client, monkeypatch)
    confirmed = await start_run(client, monkeypatch, path="/billing/runs/2026-10/confirm")
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/billing/runs/2026-10"
    issued = await invoices_for(maker, OCT)
    assert [(i.status, i.number) for i in issued] == [("issued", "INV-2026-0000001"), ("issued", "INV-2026-0000002")]
    page = await client.get("/billing/runs/2026-10")
    issued_list = page.text[page.text.index('id="issued-invoices"'):]
    for invoice in issued:
        assert f'href="/invoices/{invoice.id}"' in issued_list and invoice.number in issued_list
    assert 'hx-trigger="every 1s"' not in page.text and 'id="preview"' not in page.text
    again = await start_run(client, monkeypatch, path="/billing/runs/2026-10/confirm")
    assert again.status_code == 409 and "The invoices of 2026-10 have been issued." in text_of(again)


async def test_confirming_a_run_that_is_still_drafting_is_refused_with_the_reason(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with on_billing_day(monkeypatch):
        async with maker() as s, s.begin():
            await runs.start_draft(s, SUPERVISOR, OCT)
    await signed_in(client, "supervisor")
    refused = await start_run(client, monkeypatch, path="/billing/runs/2026-10/confirm")
    assert refused.status_code == 409
    assert "The drafts of 2026-10 are not complete: finish the draft first." in text_of(refused)
    async with maker() as s:
        run = await s.scalar(select(BillRun))
        assert run is not None and run.status == "drafting"


async def test_a_run_at_work_polls_its_progress_and_an_interrupted_one_offers_to_continue(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        await active_sim(maker)
    with on_billing_day(monkeypatch):
        async with maker() as s, s.begin():
            await runs.start_draft(s, SUPERVISOR, OCT)  # as a request leaves it, before the batch
    await signed_in(client, "supervisor")
    polled = await client.get("/billing/runs/2026-10", headers={"hx-request": "true"})
    assert polled.status_code == 200 and "<html" not in polled.text
    assert 'hx-get="/billing/runs/2026-10" hx-trigger="every 1s"' in polled.text and "<progress" in polled.text
    assert 'id="continue-run"' not in polled.text
    # The server stopped: the run has not moved for a while and no task works on it.
    async with maker() as s, s.begin():
        run = await s.scalar(select(BillRun))
        assert run is not None
        run.updated_at = utcnow() - dt.timedelta(minutes=5)
    stalled = await client.get("/billing/runs/2026-10")
    assert 'hx-trigger="every 1s"' not in stalled.text and "The run was interrupted." in text_of(stalled)
    assert 'action="/billing/runs/2026-10/draft"' in stalled.text and 'id="continue-run"' in stalled.text
    continued = await start_run(client, monkeypatch, path="/billing/runs/2026-10/draft")
    assert continued.status_code == 303
    page = await client.get("/billing/runs/2026-10")
    assert 'id="preview"' in page.text and len(await invoices_for(maker, OCT)) == 1


async def test_a_missing_run_is_not_found(client: Client, signed_in: Any, maker: Maker, catalogue: None) -> None:
    await signed_in(client, "supervisor")
    assert (await client.get("/billing/runs/2026-10")).status_code == 404
    assert (await client.get("/billing/runs/last-month")).status_code == 404


# ---------------------------------------------------------------- invoices


async def issued_invoice(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> tuple[Service, Invoice]:
    with today_is(monkeypatch, day("2026-09-20")):
        service = await active_sim(maker)
    await import_text(maker, f"{service.number},2026-10-03 14:22:10,voice,+36201234567,125\n")
    [invoice] = await bill(maker, monkeypatch)
    return service, invoice


async def test_the_invoice_page_shows_the_lines_by_service_the_vat_summary_and_the_pdf(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    service, invoice = await issued_invoice(maker, monkeypatch)
    await signed_in(client, "agent")
    page = await client.get(f"/invoices/{invoice.id}")
    body = text_of(page)
    assert page.status_code == 200
    assert "INV-2026-0000001" in body and "Issued" in body and "2026-11-18" in body  # due: issue + 15 days
    assert invoice.buyer_name in body and f'href="/customers/{invoice.payer_id}"' in page.text
    assert invoice.account_number in body and f'href="/services/{service.id}"' in page.text
    assert "Mobile Start monthly fee" in body and "Activation fee" in body  # in the reader's language
    vat = page.text[page.text.index('id="vat"'):]
    assert "27%" in vat and huf(invoice.gross_total) in vat and huf(invoice.net_total) in vat
    assert "Usage records billed" in body
    pdf_link = re.search(r'id="invoice-pdf" href="(/documents/\d+/content)"', page.text)
    assert pdf_link and pdf_link.group(1) == f"/documents/{invoice.document_id}/content"
    pdf = await client.get(pdf_link.group(1))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"].startswith("application/pdf")


async def test_a_draft_invoice_has_no_pdf_and_a_missing_one_is_not_found(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        await active_sim(maker)
    with on_billing_day(monkeypatch):
        await runs.draft(maker, SUPERVISOR, OCT)
    [draft] = await invoices_for(maker, OCT)
    await signed_in(client, "agent")
    page = await client.get(f"/invoices/{draft.id}")
    assert page.status_code == 200 and "Draft invoice" in page.text and 'id="invoice-pdf"' not in page.text
    assert (await client.get("/invoices/999999")).status_code == 404


def _fees_box(page: Any) -> str:
    assert page.status_code == 200
    box = page.text[page.text.index('id="fees"'):]
    return box[:box.index("</section>")]


async def test_the_service_page_says_which_invoice_each_one_off_fee_is_billed_on(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        service = await active_sim(maker)  # with its activation fee
    await signed_in(client, "agent")
    fees = _fees_box(await client.get(f"/services/{service.id}"))
    assert "Activation fee" in fees and "next invoice" in fees and "/invoices/" not in fees

    await draft(maker, monkeypatch, SEP)
    [drafted] = await invoices_for(maker, SEP)
    fees = _fees_box(await client.get(f"/services/{service.id}"))
    assert f'href="/invoices/{drafted.id}"' in fees and "draft invoice" in fees and "next invoice" not in fees

    await confirm(maker, monkeypatch, SEP)
    [issued] = await invoices_for(maker, SEP)
    assert issued.number
    fees = _fees_box(await client.get(f"/services/{service.id}"))
    assert f'href="/invoices/{issued.id}"' in fees and issued.number in fees
    assert "draft invoice" not in fees and "next invoice" not in fees


async def test_the_customer_page_lists_the_invoices_the_customer_pays(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _service, invoice = await issued_invoice(maker, monkeypatch)
    await signed_in(client, "agent")
    customer = await client.get(f"/customers/{invoice.payer_id}")
    assert f'hx-get="/customers/{invoice.payer_id}/invoices"' in customer.text
    assert f'href="/accounts/{invoice.billing_account_id}/invoices"' in customer.text
    section = await client.get(f"/customers/{invoice.payer_id}/invoices", headers={"hx-request": "true"})
    body = text_of(section)
    assert section.status_code == 200 and "<html" not in section.text
    assert f'href="/invoices/{invoice.id}"' in section.text and "INV-2026-0000001" in body
    assert "2026-10" in body and "2026-11-18" in body and "Issued" in body
    account = await client.get(f"/accounts/{invoice.billing_account_id}/invoices")
    assert account.status_code == 200 and "INV-2026-0000001" in account.text
    assert (await client.get("/customers/999999/invoices")).status_code == 404


async def test_the_service_page_shows_the_rated_usage_of_a_month(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        service = await active_sim(maker)
    await import_text(maker, "".join([
        f"{service.number},2026-10-03 14:22:10,voice,+36201234567,125\n",
        f"{service.number},2026-10-04 09:00:00,sms,+36201234567,1\n",
        f"{service.number},2026-11-02 09:00:00,sms,+36207654321,1\n",
    ]))
    await signed_in(client, "agent")
    page = await client.get(f"/services/{service.id}")
    assert f'hx-get="/services/{service.id}/usage"' in page.text
    section = await client.get(f"/services/{service.id}/usage?month=2026-10", headers={"hx-request": "true"})
    body = text_of(section)
    assert section.status_code == 200 and "<html" not in section.text
    records = section.text[section.text.index('id="usage-records"'):]
    assert records.index("10-04 09:00:00") < records.index("10-03 14:22:10")  # latest first, Budapest
    assert "+36201234567" in records and "2:05" in records and "+36207654321" not in records
    assert "Call" in body and "SMS" in body
    with on_billing_day(monkeypatch):
        current = await client.get(f"/services/{service.id}/usage", headers={"hx-request": "true"})
    assert "+36207654321" in current.text and 'value="2026-11"' in current.text
    bad = await client.get(f"/services/{service.id}/usage?month=2026-99", headers={"hx-request": "true"})
    assert bad.status_code == 422 and field_error(bad.text, "month") == "Give the month as 2026-10."


async def test_universal_search_finds_an_invoice_by_its_number(
        client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _service, invoice = await issued_invoice(maker, monkeypatch)
    await signed_in(client, "agent")
    for query in ("INV-2026-0000001", "inv 2026 1"):
        found = await client.get("/search", params={"q": query}, headers={"hx-request": "true"})
        assert found.status_code == 200
        assert f'href="/invoices/{invoice.id}"' in found.text and invoice.buyer_name in found.text, query
    assert "invoice number" in text_of(found)
