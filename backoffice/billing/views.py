"""Billing screens: the usage import, bill runs (draft → preview → confirm, worked in the background
with their progress polled), the invoice page, and the invoice and usage sections of the customer,
billing-account and service pages. Controllers are thin: parse, call the service, render."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import clock
from backoffice.billing import background, invoices, rules, runs, usage
from backoffice.billing.models import (
    InvoiceLine,
    InvoiceStatus,
    RunStatus,
)
from backoffice.customers import services as customers
from backoffice.errors import ConflictError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg, current_language
from backoffice.subscriptions import lifecycle
from backoffice.web.forms import form_data
from backoffice.web.guards import BILLING_OPERATIONS, INVOICE_READ, roles
from backoffice.web.templating import is_fragment_request, page

log = logging.getLogger("backoffice.billing")

RUN_STATUS_LABELS = {
    RunStatus.DRAFTING.value: N_("Drafting"),
    RunStatus.DRAFT.value: N_("Drafted, to check"),
    RunStatus.CONFIRMING.value: N_("Issuing"),
    RunStatus.ISSUED.value: N_("Issued"),
}
RUN_STATUS_BADGES = {RunStatus.DRAFTING.value: "state-ordered", RunStatus.DRAFT.value: "off",
                     RunStatus.CONFIRMING.value: "state-ordered", RunStatus.ISSUED.value: "ok"}
INVOICE_STATUS_LABELS = {InvoiceStatus.DRAFT.value: N_("Draft"), InvoiceStatus.ISSUED.value: N_("Issued")}
KIND_LABELS = {
    rules.ChargeKind.PLAN.value: N_("Monthly plan fees"),
    rules.ChargeKind.DISCOUNT.value: N_("Commitment discounts"),
    rules.ChargeKind.SUSPENSION.value: N_("Suspension fees"),
    rules.ChargeKind.ADDON.value: N_("Add-on fees"),
    rules.ChargeKind.FEE.value: N_("One-off fees"),
    rules.ChargeKind.USAGE.value: N_("Usage beyond the allowances"),
}
USAGE_TYPE_LABELS = invoices.USAGE_TYPE_LABELS
LABELS = {"run_status": RUN_STATUS_LABELS, "run_badge": RUN_STATUS_BADGES, "invoice_status": INVOICE_STATUS_LABELS,
          "kind": KIND_LABELS, "usage_type": USAGE_TYPE_LABELS}

USAGE_ROWS = 500  # usage records a service's usage page lists for a month (the totals count them all)
USAGE_SECTION_ROWS = 25  # and the section of the service page


# ---------------------------------------------------------------- numbers as the floor reads them


class Fmt:
    """Amounts that are not whole forints, quantities and rates, in the reader's convention."""

    @staticmethod
    def _localise(text: str) -> str:
        if current_language.get() == "hu":
            return text.replace(",", "\u00a0").replace(".", ",")
        return text.replace(",", "\u00a0")

    @classmethod
    def cents(cls, value: Decimal | int | None) -> str:
        if value is None:
            return ""
        return cls._localise(f"{Decimal(value).quantize(rules.CENT, ROUND_HALF_UP):,}") + "\u00a0Ft"

    @classmethod
    def price(cls, value: Decimal) -> str:
        """Whole prices without decimals, others with two (as the PDF prints them)."""
        if value == value.to_integral_value():
            return cls._localise(f"{value.quantize(rules.HUF):,}")
        return cls._localise(f"{value.quantize(rules.CENT, ROUND_HALF_UP):,}")

    @classmethod
    def quantity(cls, value: Decimal | int) -> str:
        text = f"{Decimal(value).quantize(rules.CENT, ROUND_HALF_UP):,}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return cls._localise(text)

    @classmethod
    def rate(cls, value: Decimal) -> str:
        return cls.quantity(value) + "%"

    @classmethod
    def ratio(cls, gross: Decimal, average: Decimal | None) -> str:
        if not average:
            return ""
        return cls._localise(f"{(gross / average).quantize(Decimal('0.1'), ROUND_HALF_UP)}") + "×"

    @staticmethod
    def unit(unit: str) -> str:
        return invoices.unit_label(unit, current_language.get())

    @classmethod
    def usage(cls, kind: str, amount: int, *, delivered: bool = False) -> str:
        """A usage quantity in its own unit: calls as minutes:seconds, data in MB, SMS in pieces.
        `delivered`: as the network wrote it (data in bytes), else in billable base units (KB)."""
        if kind in (rules.UsageType.VOICE.value, rules.UsageType.ROAMING_VOICE.value):
            return f"{amount // 60}:{amount % 60:02d}"
        if kind in (rules.UsageType.DATA.value, rules.UsageType.ROAMING_DATA.value):
            megabytes = Decimal(amount) / (1_048_576 if delivered else rules.KB)
            return cls._localise(f"{megabytes.quantize(Decimal('0.01'), ROUND_HALF_UP):,}") + "\u00a0MB"
        return str(amount)

    @staticmethod
    def month(period: str) -> str:
        """`2026-10` as people say it: "2026. október", "October 2026"."""
        try:
            p = rules.Period.parse(period)
        except ValueError:
            return period
        if current_language.get() == "hu":
            return invoices.period_label_hu(period)
        return f"{invoices.month_name(p.month, 'en')} {p.year}"

    @staticmethod
    def days(start: dt.date | None, end: dt.date | None) -> str:
        if start is None:
            return ""
        return start.isoformat() if end is None or end == start else f"{start.isoformat()} – {end.isoformat()}"


def _context(**extra: Any) -> dict[str, Any]:
    return {"fmt": Fmt, "labels": LABELS, **extra}


def _reads_invoices(request: Request[Any, Any, Any]) -> bool:
    return getattr(request.user, "role", None) in INVOICE_READ


# ---------------------------------------------------------------- bill runs


def _default_period() -> str:
    return str(rules.Period.of(clock.today()).previous())


async def _runs_page(db_session: AsyncSession, *, status: int = 200, values: dict[str, str] | None = None,
                     errors: dict[str, Any] | None = None) -> Template:
    listed = await runs.runs(db_session)
    figures = await runs.run_figures(db_session, [r.id for r in listed])
    return page("billing/runs.html", status=status, **_context(
        runs=listed, figures=figures, values=values or {"period": _default_period()}, errors=errors or {},
        working={r.period for r in listed if background.is_working(r.period)}))


@get("/billing/runs", opt=roles(BILLING_OPERATIONS), include_in_schema=False)
async def runs_page(db_session: AsyncSession) -> Template:
    return await _runs_page(db_session)


@post("/billing/runs", opt=roles(BILLING_OPERATIONS), include_in_schema=False)
async def start_run(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    values = {"period": (data.get("period") or "").strip()[:20]}
    try:
        period = runs.parse_period(values["period"])
        await runs.start_draft(db_session, request.user, period)
    except ValidationFailedError as exc:
        return await _runs_page(db_session, status=422, values=values, errors=exc.errors)
    except ConflictError as exc:
        await db_session.rollback()
        return await _runs_page(db_session, status=409, values=values, errors={"period": exc.message})
    return Redirect(f"/billing/runs/{period}", status_code=303,
                    background=background.in_background(request, period, "draft"))


def _period_in_path(text: str) -> rules.Period:
    try:
        return rules.Period.parse(text)
    except ValueError:
        raise NotFoundError("run_not_found", Msg(N_("There is no bill run for %(period)s."),
                                                 period=text[:20])) from None


def _page_number(request: Request[Any, Any, Any]) -> int:
    raw = str(request.query_params.get("page") or "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() and len(raw) < 7 else 1


async def _run_page(request: Request[Any, Any, Any], db_session: AsyncSession, period: rules.Period, *,
                    status: int = 200, banner: str = "") -> Template:
    state = await background.run_state(db_session, period, _page_number(request))
    template = "billing/_run.html" if is_fragment_request(request) else "billing/run.html"
    return page(template, status=status, **_context(
        state=state, banner=banner, reads_invoices=_reads_invoices(request),
        anomaly_factor=request.app.state.settings.anomaly_factor))


@get("/billing/runs/{period:str}", opt=roles(BILLING_OPERATIONS), include_in_schema=False)
async def run_page(period: str, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    """The run: its progress while it works (the fragment polls itself), then the preview or the
    issued invoices."""
    return await _run_page(request, db_session, _period_in_path(period))


async def _start_phase(request: Request[Any, Any, Any], db_session: AsyncSession, text: str,
                       phase: str) -> Response[Any]:
    period = _period_in_path(text)
    try:
        await background.start(db_session, request.user, period, phase)
    except (ValidationFailedError, ConflictError) as exc:
        await db_session.rollback()
        return await _run_page(request, db_session, period, status=exc.status, banner=str(exc.message))
    return Redirect(f"/billing/runs/{period}", status_code=303,
                    background=background.in_background(request, period, phase))


@post("/billing/runs/{period:str}/draft", opt=roles(BILLING_OPERATIONS), include_in_schema=False)
async def draft_run(period: str, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    """Draft again (new usage may have arrived), or continue an interrupted draft."""
    return await _start_phase(request, db_session, period, "draft")


@post("/billing/runs/{period:str}/confirm", opt=roles(BILLING_OPERATIONS), include_in_schema=False)
async def confirm_run(period: str, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    """Issue the drafts (numbers, PDFs, balances), or continue an interrupted confirmation."""
    return await _start_phase(request, db_session, period, "confirm")


# ---------------------------------------------------------------- usage import


async def _usage_page(db_session: AsyncSession, *, status: int = 200, errors: dict[str, Any] | None = None,
                      chosen: str = "") -> Template:
    return page("billing/usage.html", status=status, **_context(
        imports=await usage.recent_imports(db_session), errors=errors or {}, chosen=chosen))


@get("/billing/usage", opt=roles(BILLING_OPERATIONS), include_in_schema=False)
async def usage_page(db_session: AsyncSession) -> Template:
    return await _usage_page(db_session)


@post("/billing/usage", opt=roles(BILLING_OPERATIONS), include_in_schema=False)
async def import_usage(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _usage_page(db_session, status=422,
                                 errors={"file": Msg(N_("Choose the usage file (CSV) to import."))})
    try:
        stream = usage.read_upload(await upload.read())
        result = await usage.import_usage(db_session, request.user, stream, upload.filename)
    except ValidationFailedError as exc:
        return await _usage_page(db_session, status=422, errors=exc.errors or {"file": exc.message},
                                 chosen=upload.filename)
    outcome = "again" if result.already_imported else "done"
    return Redirect(f"/billing/usage/{result.usage_import.id}?{outcome}=1", status_code=303)


@get("/billing/usage/{import_id:int}", opt=roles(BILLING_OPERATIONS), include_in_schema=False)
async def usage_import_page(import_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    """One import's report: its counts and the rows it rejected, each with its line and reason."""
    found = await usage.get_import(db_session, import_id)
    rejects = await usage.import_rejects(db_session, import_id)
    return page("billing/usage_import.html", **_context(
        usage_import=found, rejects=rejects, reason=lambda code: str(usage.reject_message(code)),
        again=bool(request.query_params.get("again")), done=bool(request.query_params.get("done"))))


# ---------------------------------------------------------------- invoices


@dataclass
class LineGroup:
    service_id: int | None
    label: str
    lines: list[InvoiceLine]


def group_lines(lines: Sequence[InvoiceLine]) -> list[LineGroup]:
    """The lines of each service together, in the invoice's order."""
    return [LineGroup(service_id, label, list(group))
            for (service_id, label), group in itertools.groupby(lines, key=lambda x: (x.service_id, x.service_label))]


@get("/invoices/{invoice_id:int}", opt=roles(INVOICE_READ), include_in_schema=False)
async def invoice_page(invoice_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    invoice = await invoices.get_invoice(db_session, invoice_id)
    view = await invoices.invoice_view(db_session, invoice)
    return page("billing/invoice.html", **_context(
        view=view, groups=group_lines(view.lines), language=current_language.get(),
        runs_visible=getattr(request.user, "role", None) in BILLING_OPERATIONS))


@get("/customers/{party_id:int}/invoices", opt=roles(INVOICE_READ), include_in_schema=False)
async def customer_invoices(party_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    """The invoices section of the customer page (loaded into it by HTMX), or a page of its own."""
    party = await customers.get_party(db_session, party_id)
    found = await invoices.invoices_of_party(db_session, party_id)
    template = "billing/_customer_invoices.html" if is_fragment_request(request) else "billing/customer_invoices.html"
    return page(template, **_context(party=party, invoices=found))


@get("/accounts/{account_id:int}/invoices", opt=roles(INVOICE_READ), include_in_schema=False)
async def account_invoices(account_id: int, db_session: AsyncSession) -> Template:
    account = await customers.get_billing_account(db_session, account_id)
    party = await customers.get_party(db_session, account.payer_id)
    found = await invoices.invoices_of_accounts(db_session, [account_id], limit=120)
    return page("billing/account_invoices.html", **_context(account=account, party=party, invoices=found))


# ---------------------------------------------------------------- a service's usage


@get("/services/{service_id:int}/usage", opt=roles(INVOICE_READ), include_in_schema=False)
async def service_usage_section(service_id: int, request: Request[Any, Any, Any],
                                db_session: AsyncSession) -> Template:
    """The usage section of the service page: one month's rated records (the current month
    unless `month` says otherwise), loaded into the page by HTMX."""
    service = await lifecycle.get_service(db_session, service_id)
    text = str(request.query_params.get("month") or "").strip()[:20]
    errors: dict[str, Any] = {}
    period = rules.Period.of(clock.today())
    if text:
        try:
            period = runs.parse_period(text)
        except ValidationFailedError as exc:
            errors = {"month": exc.message}
    fragment = is_fragment_request(request)
    found = None if errors else await usage.service_usage(db_session, service_id, period,
                                                    USAGE_SECTION_ROWS if fragment else USAGE_ROWS)
    current = rules.Period.of(clock.today())
    following = period.next()
    template = "billing/_service_usage.html" if fragment else "billing/service_usage.html"
    return page(template, status=422 if errors else 200, **_context(
        service=service, found=found, month=text or str(period), errors=errors, limit_all=USAGE_ROWS,
        previous=None if errors else str(period.previous()),
        next=None if errors or following > current else str(following)))


ROUTES = [runs_page, start_run, run_page, draft_run, confirm_run, usage_page, import_usage, usage_import_page,
          invoice_page, customer_invoices, account_invoices, service_usage_section]
