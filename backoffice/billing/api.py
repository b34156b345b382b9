"""JSON API for billing under /api/v1: usage imports, bill runs and invoices (the same services as
the screens; refusals as RFC 9457 problem details)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.billing import background, invoices, runs, usage
from backoffice.billing.models import BillRun, Invoice, InvoiceLine, InvoiceStatus, UsageImport, UsageReject
from backoffice.db import storable_id
from backoffice.documents import services as documents
from backoffice.documents.models import AccessAction
from backoffice.errors import NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.web.guards import BILLING_OPERATIONS, INVOICE_READ, roles

INVOICE_LIST_LIMIT = 100


@dataclass
class UsageFileForm:
    """multipart/form-data with the CSV in `file`."""

    file: UploadFile | None = None


@dataclass
class RunBody:
    period: str = ""  # the month, e.g. "2026-10"


# ---------------------------------------------------------------- what the API answers


def _money(value: Decimal | int | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def import_out(found: UsageImport, rejects: list[tuple[int, str, str]], already_imported: bool) -> dict[str, Any]:
    return {
        "id": found.id, "filename": found.filename, "sha256": found.sha256, "imported_at": _iso(found.imported_at),
        "imported_by": found.imported_by, "already_imported": already_imported, "rows": found.rows_total,
        "imported": found.rows_imported, "duplicates": found.rows_duplicate, "rejected": found.rows_rejected,
        "rejects": [{"line": line, "reason": reason, "message": str(usage.reject_message(reason)), "detail": detail}
                    for line, reason, detail in rejects],
    }


def invoice_head(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id, "number": invoice.number, "status": invoice.status, "period": invoice.period,
        "billing_account_id": invoice.billing_account_id, "account_number": invoice.account_number,
        "payer_id": invoice.payer_id, "customer_number": invoice.customer_number, "buyer_name": invoice.buyer_name,
        "issue_date": _iso(invoice.issue_date), "fulfilment_date": _iso(invoice.fulfilment_date),
        "due_date": _iso(invoice.due_date), "net": _money(invoice.net_total), "vat": _money(invoice.vat_total),
        "gross": _money(invoice.gross_total), "currency": "HUF",
        "pdf": f"/api/v1/invoices/{invoice.number}/pdf" if invoice.number and invoice.document_id else None,
    }


def line_out(line: InvoiceLine) -> dict[str, Any]:
    return {
        "position": line.position, "kind": line.kind, "service_id": line.service_id,
        "service_label": line.service_label, "item_code": line.item_code or None,
        "description_hu": line.description_hu, "description_en": line.description_en,
        "period_start": _iso(line.period_start), "period_end": _iso(line.period_end),
        "quantity": str(line.quantity), "unit": line.unit, "unit_price": str(line.unit_price),
        "net": _money(line.net), "vat_rate": _money(line.vat_rate), "vat": _money(line.vat),
        "gross": _money(line.gross),
    }


def invoice_out(view: invoices.InvoiceView) -> dict[str, Any]:
    invoice = view.invoice
    return {
        **invoice_head(invoice),
        "buyer": {"name": invoice.buyer_name, "address": invoice.buyer_address,
                  "tax_number": invoice.buyer_tax_number, "eu_vat_number": invoice.buyer_eu_vat_number},
        "payment_method": invoice.payment_method, "issued_at": _iso(invoice.issued_at),
        "issued_by": invoice.issued_by, "document_id": invoice.document_id, "usage_records": view.usage_count,
        "lines": [line_out(line) for line in view.lines],
        "vat_totals": [{"vat_rate": _money(t.rate), "net": _money(t.net), "vat": _money(t.vat),
                        "gross": _money(t.gross)} for t in view.vat_totals],
    }


def _flagged_out(invoice: Invoice) -> dict[str, Any]:
    return {**invoice_head(invoice), "average_gross": _money(invoice.average_gross), "anomaly": invoice.anomaly}


def run_out(state: background.RunState) -> dict[str, Any]:
    run, f = state.run, state.figures
    progress = state.progress
    out: dict[str, Any] = {
        "period": run.period, "status": run.status, "working": state.working, "interrupted": state.interrupted,
        "failure": str(state.failure) if state.failure else None,
        "progress": None if progress is None else {"phase": progress[0], "done": progress[1], "total": progress[2]},
        "created_at": _iso(run.created_at), "created_by": run.created_by, "drafted_at": _iso(run.drafted_at),
        "confirmed_at": _iso(run.confirmed_at), "confirmed_by": run.confirmed_by,
        "accounts_total": run.accounts_total, "accounts_done": run.accounts_done,
        "drafts": f.drafts, "issued": f.issued,
        "issued_totals": {"net": _money(f.issued_net), "vat": _money(f.issued_vat), "gross": _money(f.issued_gross)},
        "preview": None,
    }
    if state.preview is not None:
        p = state.preview
        out["preview"] = {
            "drafts": p.drafts, "net": _money(p.net), "vat": _money(p.vat), "gross": _money(p.gross),
            "net_by_kind": {kind: _money(net) for kind, net in p.by_kind},
            "anomaly_count": p.anomaly_count, "anomalies": [_flagged_out(i) for i in p.anomalies],
            "largest": [_flagged_out(i) for i in p.largest],
        }
    return out


def _run_row(run: BillRun, f: runs.RunFigures) -> dict[str, Any]:
    return {"period": run.period, "status": run.status, "working": background.is_working(run.period),
            "accounts_total": run.accounts_total, "drafts": f.drafts, "issued": f.issued, "gross": _money(f.gross),
            "created_at": _iso(run.created_at), "created_by": run.created_by, "confirmed_at": _iso(run.confirmed_at)}


def _not_found() -> NotFoundError:
    return NotFoundError("invoice_not_found", Msg(N_("There is no such invoice.")))


# ---------------------------------------------------------------- the controller


class BillingApi(Controller):
    path = "/api/v1"
    tags = ["billing"]

    # -------------------------------------------------------- usage

    @post("/usage-imports", opt=roles(BILLING_OPERATIONS), status_code=201,
          description=(
              "Import a usage CSV sent as multipart/form-data in `file`: one record a line (service number, "
              "start time, type voice/sms/data/roaming-voice/roaming-data, destination, quantity in seconds, "
              "pieces or bytes; a header line optional; `,` or `;`). 201 with the counts and the rejected rows "
              "(line, reason code, message, offending value); the same bytes again answer 200 with "
              "`already_imported: true` and add nothing. No or an empty file: 422."))
    async def import_usage(
        self, request: Request[Any, Any, Any], db_session: AsyncSession,
        data: Annotated[UsageFileForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[dict[str, Any]]:
        if not isinstance(data.file, UploadFile) or not data.file.filename:
            raise ValidationFailedError("file_required", Msg(N_("Choose the usage file (CSV) to import.")),
                                        field="file")
        stream = usage.read_upload(await data.file.read())
        result = await usage.import_usage(db_session, request.user, stream, data.file.filename)
        found = result.usage_import
        rejects = [(r.line_no, r.reason, r.detail) for r in result.rejects]
        if result.already_imported:
            rejects = [(r.line_no, r.reason, r.detail) for r in await usage.import_rejects(db_session, found.id)]
        return Response(import_out(found, rejects, result.already_imported),
                        status_code=200 if result.already_imported else 201)

    @get("/usage-imports", opt=roles(BILLING_OPERATIONS),
          description="The latest imports, newest first (their rejected rows: `GET /usage-imports/{id}`).")
    async def imports(self, db_session: AsyncSession) -> list[dict[str, Any]]:
        return [{**import_out(i, [], False), "rejects": None} for i in await usage.recent_imports(db_session)]

    @get("/usage-imports/{import_id:int}", opt=roles(BILLING_OPERATIONS),
          description="One import with its stored rejected rows (the first 500).")
    async def usage_import(self, db_session: AsyncSession, import_id: int) -> dict[str, Any]:
        found = await usage.get_import(db_session, import_id)
        rejects: list[UsageReject] = await usage.import_rejects(db_session, import_id)
        return import_out(found, [(r.line_no, r.reason, r.detail) for r in rejects], False)

    # -------------------------------------------------------- bill runs

    @get("/bill-runs", opt=roles(BILLING_OPERATIONS),
          description="The latest runs, newest period first, with their invoice counts and gross total.")
    async def bill_runs(self, db_session: AsyncSession) -> list[dict[str, Any]]:
        listed = await runs.runs(db_session)
        figures = await runs.run_figures(db_session, [r.id for r in listed])
        return [_run_row(r, figures[r.id]) for r in listed]

    @post("/bill-runs", opt=roles(BILLING_OPERATIONS), status_code=202,
          description=(
              'Draft the invoices of `period` (e.g. "2026-10") in the background: 202 at once; follow it with '
              "`GET /bill-runs/{period}`. A month that has not ended, or a malformed one, is a 422; a run being "
              "confirmed, a 409. Starting a drafted month again recomputes its drafts; an interrupted run "
              "carries on."))
    async def start_run(self, request: Request[Any, Any, Any], db_session: AsyncSession,
                        data: RunBody) -> Response[dict[str, Any]]:
        period = runs.parse_period(str(data.period or "")[:20])
        await background.start(db_session, request.user, period, "draft")
        return await self._accepted(request, db_session, period, "draft")

    @get("/bill-runs/{period:str}", opt=roles(BILLING_OPERATIONS),
          description=(
              "The run: status, progress (`draft`: accounts; `confirm`: invoices), whether it is working or was "
              "interrupted, and once drafted the preview (totals, net by kind of charge, the flagged invoices "
              "and the largest ones)."))
    async def bill_run(self, db_session: AsyncSession, period: str) -> dict[str, Any]:
        return run_out(await background.run_state(db_session, runs.parse_period(period[:20])))

    @post("/bill-runs/{period:str}/confirm", opt=roles(BILLING_OPERATIONS), status_code=202,
          description=(
              "Issue the drafts of a drafted run in the background (numbers, PDFs, balances): 202 at once. It "
              "cannot be undone. A run still drafting or already issued is a 409; an interrupted confirmation "
              "carries on."))
    async def confirm_run(self, request: Request[Any, Any, Any], db_session: AsyncSession,
                          period: str) -> Response[dict[str, Any]]:
        month = runs.parse_period(period[:20])
        await background.start(db_session, request.user, month, "confirm")
        return await self._accepted(request, db_session, month, "confirm")

    async def _accepted(self, request: Request[Any, Any, Any], db_session: AsyncSession, period: Any,
                        phase: str) -> Response[dict[str, Any]]:
        body = run_out(await background.run_state(db_session, period))
        body["working"], body["interrupted"] = True, False
        return Response(body, status_code=202, headers={"Location": f"/api/v1/bill-runs/{period}"},
                        background=background.in_background(request, period, phase))

    # -------------------------------------------------------- invoices

    @get("/invoices", opt=roles(INVOICE_READ),
          description=(
              "Invoices of a billing account (`account_id`) or of a payer (`party_id`), issued ones and drafts, "
              "newest period first; without either, the latest issued invoices."))
    async def invoice_list(
        self, db_session: AsyncSession,
        account_id: Annotated[int | None, Parameter(description="A billing account's id.")] = None,
        party_id: Annotated[int | None, Parameter(description="The payer's (customer's) id.")] = None,
    ) -> list[dict[str, Any]]:
        if account_id is not None:
            found = await invoices.invoices_of_accounts(db_session, [account_id] if storable_id(account_id) else [],
                                                        limit=INVOICE_LIST_LIMIT)
        elif party_id is not None:
            found = await invoices.invoices_of_party(db_session, party_id, limit=INVOICE_LIST_LIMIT) \
                if storable_id(party_id) else []
        else:
            found = await invoices.latest_issued(db_session, limit=INVOICE_LIST_LIMIT)
        return [invoice_head(i) for i in found]

    @get("/invoices/{number:str}", opt=roles(INVOICE_READ),
          description=(
              "One issued invoice by its number (`INV-2026-0000001`): buyer, dates, lines, totals per VAT rate, "
              "the count of usage records it billed."))
    async def invoice(self, db_session: AsyncSession, number: str) -> dict[str, Any]:
        found = await invoices.invoice_by_number(db_session, number[:40])
        return invoice_out(await invoices.invoice_view(db_session, found))

    @get("/invoices/{number:str}/pdf", opt=roles(INVOICE_READ), media_type="application/pdf",
          description="The issued invoice's PDF, as registered in the payer's documents (the download is logged).")
    async def invoice_pdf(self, request: Request[Any, Any, Any], db_session: AsyncSession, number: str) -> File:
        found = await invoices.invoice_by_number(db_session, number[:40])
        if found.status != InvoiceStatus.ISSUED.value or found.document_id is None:
            raise _not_found()
        _doc, path = await documents.open_content(db_session, request.user, found.document_id,
                                                  AccessAction.DOWNLOAD, via="api")
        return File(path=path, filename=f"{found.number}.pdf", media_type="application/pdf",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


ROUTES = [BillingApi]
