"""The billing JSON API under /api/v1: usage imports, bill runs worked in the background, invoices
and their PDFs, role checks, and refusals as RFC 9457 problem details."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from backoffice.billing import background, runs
from backoffice.billing.models import BillRun, UsageImport, UsageRecord
from backoffice.documents.models import DocumentAccess
from tests.billing.helpers import OCT, day, invoices_for
from tests.customers.helpers import api_token
from tests.subscriptions.helpers import SUPERVISOR, Maker, active_sim, seed_catalogue, today_is

Client = AsyncTestClient[Litestar]
PROBLEM = "application/problem+json"


@pytest.fixture
async def catalogue(maker: Maker, store_root: Path) -> None:
    await seed_catalogue(maker)


@pytest.fixture
async def supervisor(maker: Maker) -> dict[str, str]:
    return await api_token(maker, "supervisor")


@pytest.fixture
async def agent(maker: Maker) -> dict[str, str]:
    return await api_token(maker, "agent")


@contextmanager
def on_billing_day(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with today_is(monkeypatch, day("2026-11-03")):
        yield


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code and body["detail"]
    assert body["type"] == f"urn:backoffice:problem:{code}"
    return body


async def post_usage(client: Client, headers: dict[str, str], content: bytes, name: str = "cdr.csv") -> Any:
    return await client.post("/api/v1/usage-imports", files={"file": (name, content, "text/csv")}, headers=headers)


async def until_settled(client: Client, headers: dict[str, str], period: str = "2026-10") -> dict[str, Any]:
    """Follow the run as an integration would, until its batch is done."""
    await background.wait_for_background()
    for _ in range(50):
        run: dict[str, Any] = (await client.get(f"/api/v1/bill-runs/{period}", headers=headers)).json()
        if not run["working"]:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"the run of {period} did not settle: {run}")


async def test_a_usage_file_through_the_api_reports_its_rejected_rows_and_the_same_bytes_add_nothing(
        client: Client, maker: Maker, catalogue: None, supervisor: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        sim = await active_sim(maker)
    content = (f"{sim.number},2026-10-03 14:22:10,voice,+36201234567,125\n"
               f"{sim.number},2026-10-04 10:00:00,fax,,1\n"
               "not a phone,2026-10-04 12:00:00,sms,,1\n").encode()
    created = await post_usage(client, supervisor, content)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["rows"], body["imported"], body["duplicates"], body["rejected"]) == (3, 1, 0, 2)
    assert body["already_imported"] is False
    assert [(r["line"], r["reason"], r["detail"]) for r in body["rejects"]] == [
        (2, "unknown_type", "fax"), (3, "bad_number", "not a phone")]
    assert body["rejects"][0]["message"] == "Unknown type: use voice, sms, data, roaming-voice or roaming-data."
    again = await post_usage(client, supervisor, content, "again.csv")
    assert again.status_code == 200
    assert again.json()["already_imported"] is True and again.json()["id"] == body["id"]
    assert [r["line"] for r in again.json()["rejects"]] == [2, 3]
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(UsageRecord)) == 1
    one = await client.get(f"/api/v1/usage-imports/{body['id']}", headers=supervisor)
    assert one.status_code == 200 and len(one.json()["rejects"]) == 2
    listed = await client.get("/api/v1/usage-imports", headers=supervisor)
    assert [i["id"] for i in listed.json()] == [body["id"]]


async def test_an_empty_or_missing_usage_file_is_a_problem_naming_the_field(
        client: Client, maker: Maker, catalogue: None, supervisor: dict[str, str]) -> None:
    empty = assert_problem(await post_usage(client, supervisor, b"\n"), 422, "empty_file")
    assert empty["errors"] == [{"field": "file", "message": "The file is empty."}]
    missing = await client.post("/api/v1/usage-imports", data={"other": "x"}, files={}, headers=supervisor)
    assert missing.status_code in (400, 422)
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(UsageImport)) == 0


async def test_a_bill_run_through_the_api_from_draft_to_issued_invoices_and_their_pdf(
        client: Client, maker: Maker, catalogue: None, supervisor: dict[str, str], agent: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        sim = await active_sim(maker)
    await post_usage(client, supervisor, f"{sim.number},2026-10-03 14:22:10,voice,+36201234567,125\n".encode())
    with on_billing_day(monkeypatch):
        started = await client.post("/api/v1/bill-runs", json={"period": "2026-10"}, headers=supervisor)
        assert started.status_code == 202, started.text
        assert started.headers["location"] == "/api/v1/bill-runs/2026-10"
        assert started.json()["status"] == "drafting" and started.json()["working"] is True
        drafted = await until_settled(client, supervisor)
        assert drafted["status"] == "draft" and drafted["preview"]["drafts"] == 1
        preview = drafted["preview"]
        assert set(preview["net_by_kind"]) == {"plan", "fee"} and preview["anomaly_count"] == 0
        assert preview["largest"][0]["number"] is None and preview["largest"][0]["status"] == "draft"
        listed = await client.get("/api/v1/bill-runs", headers=supervisor)
        assert [(r["period"], r["status"], r["drafts"]) for r in listed.json()] == [("2026-10", "draft", 1)]

        confirmed = await client.post("/api/v1/bill-runs/2026-10/confirm", headers=supervisor)
        assert confirmed.status_code == 202, confirmed.text
        issued = await until_settled(client, supervisor)
    assert issued["status"] == "issued" and issued["issued"] == 1 and issued["drafts"] == 0
    assert issued["issued_totals"]["gross"] == preview["gross"]

    [invoice] = await invoices_for(maker, OCT)
    by_account = await client.get("/api/v1/invoices", params={"account_id": invoice.billing_account_id},
                                  headers=agent)
    by_party = await client.get("/api/v1/invoices", params={"party_id": invoice.payer_id}, headers=agent)
    assert [i["number"] for i in by_account.json()] == [i["number"] for i in by_party.json()] == ["INV-2026-0000001"]
    one = await client.get("/api/v1/invoices/INV-2026-0000001", headers=agent)
    assert one.status_code == 200
    body = one.json()
    assert (body["status"], body["period"], body["gross"], body["due_date"]) == (
        "issued", "2026-10", str(invoice.gross_total), "2026-11-18")
    assert [line["kind"] for line in body["lines"]] == ["plan", "fee"]
    assert body["vat_totals"] == [{"vat_rate": "27.00", "net": str(invoice.net_total), "vat": str(invoice.vat_total),
                                   "gross": str(invoice.gross_total)}]
    assert body["usage_records"] == 1 and body["pdf"] == "/api/v1/invoices/INV-2026-0000001/pdf"
    pdf = await client.get(body["pdf"], headers=agent)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    async with maker() as s:  # served through the documents domain, which logs every download
        logged = await s.scalar(select(func.count()).select_from(DocumentAccess)
                                .where(DocumentAccess.document_id == invoice.document_id, DocumentAccess.via == "api"))
        assert logged == 1


async def test_bad_periods_and_refused_runs_are_problem_details(
        client: Client, maker: Maker, catalogue: None, supervisor: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with on_billing_day(monkeypatch):
        malformed = assert_problem(await client.post("/api/v1/bill-runs", json={"period": "2026-13"},
                                                     headers=supervisor), 422, "bad_period")
        assert malformed["errors"][0]["field"] == "period"
        assert_problem(await client.post("/api/v1/bill-runs", json={"period": "2026-11"}, headers=supervisor),
                       422, "period_not_over")
        assert_problem(await client.get("/api/v1/bill-runs/2026-10", headers=supervisor), 404, "run_not_found")
        assert_problem(await client.post("/api/v1/bill-runs/2026-10/confirm", headers=supervisor), 404,
                       "run_not_found")
        async with maker() as s, s.begin():
            await runs.start_draft(s, SUPERVISOR, OCT)  # a draft under way
        assert_problem(await client.post("/api/v1/bill-runs/2026-10/confirm", headers=supervisor), 409,
                       "run_not_drafted")
    async with maker() as s:
        assert [r.status for r in await s.scalars(select(BillRun))] == ["drafting"]


async def test_an_unknown_invoice_number_and_a_draft_have_no_invoice_or_pdf(
        client: Client, maker: Maker, catalogue: None, agent: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    with today_is(monkeypatch, day("2026-09-20")):
        await active_sim(maker)
    with on_billing_day(monkeypatch):
        await runs.draft(maker, SUPERVISOR, OCT)
    [draft] = await invoices_for(maker, OCT)
    assert_problem(await client.get("/api/v1/invoices/INV-2026-0000001", headers=agent), 404, "invoice_not_found")
    assert_problem(await client.get("/api/v1/invoices/INV-2026-0000001/pdf", headers=agent), 404,
                   "invoice_not_found")
    listed = await client.get("/api/v1/invoices", params={"party_id": draft.payer_id}, headers=agent)
    assert [(i["id"], i["status"], i["number"], i["pdf"]) for i in listed.json()] == [
        (draft.id, "draft", None, None)]


@pytest.mark.parametrize("role", ["agent", "records"])
async def test_agents_and_records_staff_read_invoices_but_may_not_import_usage_or_run_bills(
        client: Client, maker: Maker, catalogue: None, role: str) -> None:
    headers = await api_token(maker, role)
    for method, path in (("POST", "/api/v1/usage-imports"), ("GET", "/api/v1/usage-imports"),
                         ("GET", "/api/v1/bill-runs"), ("POST", "/api/v1/bill-runs"),
                         ("GET", "/api/v1/bill-runs/2026-10"), ("POST", "/api/v1/bill-runs/2026-10/confirm")):
        assert_problem(await client.request(method, path, headers=headers, json={"period": "2026-10"}), 403,
                       "forbidden")
    assert (await client.get("/api/v1/invoices", headers=headers)).status_code == 200


async def test_administrators_neither_run_bills_nor_read_invoices(
        client: Client, maker: Maker, catalogue: None) -> None:
    headers = await api_token(maker, "admin")
    assert_problem(await client.get("/api/v1/bill-runs", headers=headers), 403, "forbidden")
    assert_problem(await client.get("/api/v1/invoices", headers=headers), 403, "forbidden")


async def test_without_a_token_the_api_answers_401(client: Client, maker: Maker, catalogue: None) -> None:
    assert_problem(await client.get("/api/v1/bill-runs"), 401, "not_authenticated")
    assert_problem(await client.get("/api/v1/invoices/INV-2026-0000001"), 401, "not_authenticated")


async def test_every_billing_operation_is_in_the_openapi_document_under_the_billing_tag(
        client: Client, maker: Maker, catalogue: None, supervisor: dict[str, str]) -> None:
    schema = (await client.get("/schema/openapi.json", headers=supervisor)).json()
    operations = {(method.upper(), path): op for path, item in schema["paths"].items() for method, op in item.items()
                  if path.startswith(("/api/v1/usage-imports", "/api/v1/bill-runs", "/api/v1/invoices"))}
    assert {("POST", "/api/v1/usage-imports"), ("GET", "/api/v1/bill-runs"), ("POST", "/api/v1/bill-runs"),
            ("GET", "/api/v1/bill-runs/{period}"), ("POST", "/api/v1/bill-runs/{period}/confirm"),
            ("GET", "/api/v1/invoices"), ("GET", "/api/v1/invoices/{number}"),
            ("GET", "/api/v1/invoices/{number}/pdf")} <= set(operations)
    assert all(op["tags"] == ["billing"] for op in operations.values())
    upload = operations[("POST", "/api/v1/usage-imports")]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "already_imported" in upload["description"]

