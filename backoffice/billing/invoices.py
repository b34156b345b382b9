"""Invoices: issuing a draft (number, PDF, registration, balance), reading them for the screens and
the API, the universal-search provider, and the guard that keeps an issued invoice unchanged."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.dates import get_month_names
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backoffice import audit, clock, numbering
from backoffice.actors import Principal
from backoffice.billing import pdf as invoice_pdf
from backoffice.billing import rules
from backoffice.billing.models import Invoice, InvoiceLine, InvoiceStatus, UsageRecord
from backoffice.customers import services as customers
from backoffice.db import storable_id, utcnow
from backoffice.documents import services as documents
from backoffice.errors import ConflictError, NotFoundError
from backoffice.i18n import N_, Msg, translations
from backoffice.search import SearchHit
from backoffice.search import register as register_provider
from backoffice.subscriptions import feed

UNITS = {"month": ("hó", "month"), "day": ("nap", "days"), "min": ("perc", "min"), "sms": ("db", "SMS"),
         "mb": ("MB", "MB"), "pcs": ("db", "pcs")}
USAGE_TYPE_LABELS = {
    rules.UsageType.VOICE.value: N_("Call"),
    rules.UsageType.SMS.value: N_("SMS"),
    rules.UsageType.DATA.value: N_("Data"),
    rules.UsageType.ROAMING_VOICE.value: N_("Roaming call"),
    rules.UsageType.ROAMING_DATA.value: N_("Roaming data"),
}


def hungarian(msgid: str) -> str:
    """A catalogue text in Hungarian whoever is signed in: an invoice is a Hungarian document."""
    return translations("hu").gettext(msgid)


def month_name(month: int, language: str) -> str:
    return str(get_month_names("wide", context="stand-alone", locale=language)[month])


@dataclass(frozen=True)
class Seller:
    name: str
    address: str
    tax_number: str
    eu_vat_number: str | None
    bank_account: str

    @classmethod
    def from_settings(cls, settings: Any) -> Seller:
        return cls(settings.seller_name, settings.seller_address, settings.seller_tax_number,
                   settings.seller_eu_vat_number or None, settings.seller_bank_account)


def unit_label(unit: str, language: str) -> str:
    hu, en = UNITS.get(unit, (unit, unit))
    return hu if language == "hu" else en


def period_label_hu(period: str) -> str:
    p = rules.Period.parse(period)
    return f"{p.year}. {month_name(p.month, 'hu')}"


# ---------------------------------------------------------------------------------------------
# Immutability
# ---------------------------------------------------------------------------------------------


def _issued_change() -> ConflictError:
    return ConflictError("invoice_issued", Msg(N_("An issued invoice cannot be changed.")))


def _was_issued(invoice: Invoice) -> bool:
    from sqlalchemy import inspect

    history = inspect(invoice).attrs.status.history
    before = history.deleted[0] if history.deleted else invoice.status
    return before == InvoiceStatus.ISSUED.value


@event.listens_for(Session, "before_flush")
def _refuse_issued_changes(session: Session, _context: Any, _instances: Any) -> None:
    """Whatever code path tries, the session does not write a change to an issued invoice or to
    any line once written (lines are never edited; drafts are discarded whole)."""
    for obj in session.dirty:
        if isinstance(obj, Invoice) and _was_issued(obj) and session.is_modified(obj):
            raise _issued_change()
        if isinstance(obj, InvoiceLine) and session.is_modified(obj):
            raise _issued_change()
    for obj in session.deleted:
        if (isinstance(obj, Invoice) and _was_issued(obj)) or isinstance(obj, InvoiceLine):
            raise _issued_change()


# ---------------------------------------------------------------------------------------------
# Issuing
# ---------------------------------------------------------------------------------------------


def _usage_quantity(kind: str, quantity: int) -> str:
    if kind in ("voice", "roaming_voice"):
        return f"{quantity // 60}:{quantity % 60:02d}"
    if kind in ("data", "roaming_data"):
        return f"{Decimal(quantity) / 1_048_576:.1f} MB".replace(".", ",")
    return f"{quantity} db"


def pdf_data(invoice: Invoice, lines: Sequence[InvoiceLine], usage: Sequence[Any] | None,
             seller: Seller) -> invoice_pdf.InvoicePdfData:
    period = rules.Period.parse(invoice.period)
    totals = rules.vat_totals((line.net, line.vat_rate) for line in lines)
    assert invoice.number and invoice.issue_date and invoice.due_date
    return invoice_pdf.InvoicePdfData(
        number=invoice.number, issue_date=invoice.issue_date, fulfilment_date=invoice.fulfilment_date,
        due_date=invoice.due_date, period_start=period.start, period_end=period.last_day,
        seller=invoice_pdf.PdfParty(seller.name, seller.address, seller.tax_number, seller.eu_vat_number),
        seller_bank_account=seller.bank_account,
        buyer=invoice_pdf.PdfParty(invoice.buyer_name, invoice.buyer_address, invoice.buyer_tax_number,
                                   invoice.buyer_eu_vat_number),
        customer_number=invoice.customer_number, account_number=invoice.account_number,
        payment_method=hungarian(invoice.payment_method).capitalize(),
        lines=[invoice_pdf.PdfLine(
            line.description_hu, line.service_label,
            "" if line.period_start is None else _period_text(line.period_start, line.period_end),
            line.quantity, unit_label(line.unit, "hu"), line.unit_price, line.net, line.vat_rate, line.vat, line.gross)
            for line in lines],
        vat_totals=[invoice_pdf.PdfVatTotal(t.rate, t.net, t.vat, t.gross) for t in totals],
        net_total=invoice.net_total, vat_total=invoice.vat_total, gross_total=invoice.gross_total,
        usage=None if not invoice.itemised_services else [
            invoice_pdf.PdfUsage(service, _local(started), hungarian(USAGE_TYPE_LABELS.get(kind, kind)), destination,
                                 _usage_quantity(kind, quantity), amount)
            for service, started, kind, destination, quantity, amount in usage or ()],
    )


def _period_text(start: dt.date, end: dt.date | None) -> str:
    first = start.strftime("%Y.%m.%d.")
    return first if end is None or end == start else f"{first}–{end.strftime('%Y.%m.%d.')}"


def _local(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(clock.BUDAPEST).strftime("%Y.%m.%d %H:%M:%S")


async def issue(session: AsyncSession, actor: Principal | None, invoice_ids: Sequence[int], seller: Seller,
                issue_date: dt.date, due_days: int) -> list[Invoice]:
    """Issue drafts in id order: they take the next numbers of the year (a block, in this
    transaction: a rollback gives them back), their PDFs are registered in the payers' documents,
    and the gross is added to each account's balance."""
    invoices = [i for i in await session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids))
                                                 .order_by(Invoice.id)) if i.status == InvoiceStatus.DRAFT.value]
    if not invoices:
        return []
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in await session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id.in_(invoice_ids))
                                      .order_by(InvoiceLine.invoice_id, InvoiceLine.position)):
        lines[line.invoice_id].append(line)
    usage = await _itemised_usage(session, invoices)
    labels = await feed.service_labels(session, {s for i in invoices for s in i.itemised_services})
    first = await numbering.reserve_block(session, "invoice", len(invoices), str(issue_date.year))
    outgoing = []
    for sequence, invoice in enumerate(invoices, start=first):
        invoice.number = rules.invoice_number(issue_date.year, sequence)
        invoice.issue_date = issue_date
        invoice.due_date = rules.due_date(issue_date, due_days)
        content = invoice_pdf.render_invoice(pdf_data(
            invoice, lines[invoice.id],
            [(labels[r.service_id], r.started_at, r.usage_type, r.destination, r.quantity, r.amount)
             for r in usage.get(invoice.id, ())], seller))
        invoice.pdf_sha256 = hashlib.sha256(content).hexdigest()
        outgoing.append(documents.OutgoingPdf(
            content, "invoice", invoice.buyer_name, f"Számla {invoice.number} ({period_label_hu(invoice.period)})",
            invoice.payer_id, f"{invoice.number}.pdf"))
    registered = await documents.register_outgoing_many(session, actor, outgoing, log_contact=False)
    balances: dict[int, Decimal] = defaultdict(Decimal)
    now, who = utcnow(), getattr(actor, "username", "system")
    audited = []
    for invoice, document in zip(invoices, registered, strict=True):
        invoice.document_id = document.id
        invoice.status = InvoiceStatus.ISSUED.value
        invoice.issued_at, invoice.issued_by = now, who
        balances[invoice.billing_account_id] += invoice.gross_total
        audited.append(("invoice.issue", "invoice", invoice.id, {
            "number": invoice.number, "account": invoice.account_number, "period": invoice.period,
            "gross": str(invoice.gross_total), "document": document.registry_number}))
    await session.flush()
    await audit.record_many(session, actor, audited)
    await customers.add_to_balance(session, balances)
    return invoices


@dataclass(frozen=True)
class _Usage:
    service_id: int
    started_at: dt.datetime
    usage_type: str
    destination: str
    quantity: int
    amount: Decimal


async def _itemised_usage(session: AsyncSession, invoices: Sequence[Invoice]) -> dict[int, list[_Usage]]:
    """The usage each invoice lists, for the services whose subscriber consented (plain rows:
    thousands of ORM objects in the session would slow every later statement of the chunk)."""
    wanted = {i.id: set(i.itemised_services) for i in invoices if i.itemised_services}
    result: dict[int, list[_Usage]] = defaultdict(list)
    if not wanted:
        return result
    accounts = sorted({i.billing_account_id for i in invoices if i.id in wanted})
    end = max(rules.Period.parse(i.period).end for i in invoices)
    rows = await session.execute(
        select(UsageRecord.invoice_id, UsageRecord.service_id, UsageRecord.started_at, UsageRecord.usage_type,
               UsageRecord.destination, UsageRecord.quantity, UsageRecord.amount)
        .where(UsageRecord.billing_account_id.in_(accounts), UsageRecord.usage_date < end,
               UsageRecord.invoice_id.in_(sorted(wanted)))
        .order_by(UsageRecord.invoice_id, UsageRecord.service_id, UsageRecord.started_at))
    for invoice_id, service_id, started_at, usage_type, destination, quantity, amount in rows:
        if invoice_id is not None and service_id in wanted[invoice_id]:
            result[invoice_id].append(_Usage(service_id, started_at, usage_type, destination, quantity, amount))
    return result


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass
class InvoiceView:
    invoice: Invoice
    lines: list[InvoiceLine]
    vat_totals: list[rules.VatTotal]
    usage_count: int


async def get_invoice(session: AsyncSession, invoice_id: int) -> Invoice:
    invoice = await session.get(Invoice, invoice_id) if storable_id(invoice_id) else None
    if invoice is None:
        raise NotFoundError("invoice_not_found", Msg(N_("There is no such invoice.")))
    return invoice


async def invoice_by_number(session: AsyncSession, number: str) -> Invoice:
    invoice = await session.scalar(select(Invoice).where(Invoice.number == normalise_number(number)))
    if invoice is None:
        raise NotFoundError("invoice_not_found", Msg(N_("There is no such invoice.")))
    return invoice


async def invoice_view(session: AsyncSession, invoice: Invoice) -> InvoiceView:
    from sqlalchemy import func

    lines = list(await session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                                       .order_by(InvoiceLine.position)))
    count = await session.scalar(select(func.count()).select_from(UsageRecord)
                                 .where(UsageRecord.billing_account_id == invoice.billing_account_id,
                                        UsageRecord.usage_date < rules.Period.parse(invoice.period).end,
                                        UsageRecord.invoice_id == invoice.id)) or 0
    return InvoiceView(invoice, lines, rules.vat_totals((line.net, line.vat_rate) for line in lines), int(count))


async def invoices_of_accounts(session: AsyncSession, account_ids: Sequence[int], limit: int = 24) -> list[Invoice]:
    """The latest invoices of some accounts, issued ones and drafts, newest period first."""
    if not account_ids:
        return []
    return list(await session.scalars(
        select(Invoice).where(Invoice.billing_account_id.in_(sorted(account_ids)))
        .order_by(Invoice.period.desc(), Invoice.id.desc()).limit(limit)))


@dataclass(frozen=True)
class FeeBilling:
    """The invoice a one-off fee is on: an issued one with its number, or a draft (number None)."""

    invoice_id: int
    number: str | None


async def invoices_of_fees(session: AsyncSession, fee_ids: Sequence[int]) -> dict[int, FeeBilling]:
    """For each one-off fee already on an invoice, that invoice; a fee left out is still to be
    billed (a discarded draft gives its fees back)."""
    if not fee_ids:
        return {}
    rows = await session.execute(
        select(InvoiceLine.service_fee_id, Invoice.id, Invoice.number, Invoice.status)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.service_fee_id.in_(sorted(fee_ids))))
    return {fee_id: FeeBilling(invoice_id, number if status == InvoiceStatus.ISSUED.value else None)
            for fee_id, invoice_id, number, status in rows if fee_id is not None}


async def latest_issued(session: AsyncSession, limit: int = 100) -> list[Invoice]:
    return list(await session.scalars(select(Invoice).where(Invoice.status == InvoiceStatus.ISSUED.value)
                                      .order_by(Invoice.id.desc()).limit(limit)))


async def invoices_of_party(session: AsyncSession, party_id: int, limit: int = 24) -> list[Invoice]:
    return list(await session.scalars(
        select(Invoice).where(Invoice.payer_id == party_id)
        .order_by(Invoice.period.desc(), Invoice.id.desc()).limit(limit)))


_NUMBER = re.compile(r"^(?:inv)?[\s-]*(\d{4})[\s/-]+(\d{1,7})$", re.IGNORECASE)


def normalise_number(text: str) -> str:
    """`INV-2026-0000001`, `inv 2026 1` and `2026/1` all name the same invoice."""
    match = _NUMBER.match(text.strip())
    return rules.invoice_number(int(match[1]), int(match[2])) if match else text.strip().upper()


async def search_invoice_number(session: AsyncSession, query: str, limit: int) -> list[SearchHit]:
    text = query.strip()
    if not _NUMBER.match(text) or (not text[:3].lower() == "inv" and "-" not in text and "/" not in text):
        return []
    invoice = await session.scalar(select(Invoice).where(Invoice.number == normalise_number(text)))
    if invoice is None:
        return []
    return [SearchHit("invoice_number", f"{invoice.number} · {invoice.buyer_name}",
                      f"{invoice.period} · {invoice.gross_total:,.0f} Ft".replace(",", " "),
                      f"/invoices/{invoice.id}", 95)]


def register_search() -> None:
    register_provider("invoice_number", search_invoice_number)
