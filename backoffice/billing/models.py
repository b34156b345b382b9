"""Tables of the billing domain: imported usage (rated on import), bill runs, invoices and their
lines. An issued invoice is immutable: the service layer refuses, the session refuses to flush a
change (see services.py), and database triggers refuse any UPDATE or DELETE (migration 0005)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import Base, BigIntId, IdMixin, UTCDateTime, utcnow

Money = Numeric(14, 2)
UnitPrice = Numeric(12, 4)


class UsageImport(IdMixin, Base):
    """One imported usage file: the same bytes imported again are recognised by their hash."""

    __tablename__ = "usage_imports"

    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)  # already imported from another file
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


class UsageReject(IdMixin, Base):
    """A row of a usage file that was not imported, with its line number and why (never dropped silently)."""

    __tablename__ = "usage_rejects"
    __table_args__ = (Index("ix_usage_rejects_import", "import_id", "line_no"),)

    import_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("usage_imports.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))  # a code; rules.REJECT_MESSAGES says it in words
    detail: Mapped[str] = mapped_column(String(200), default="")  # the offending value
    raw: Mapped[str] = mapped_column(String(500), default="")


class UsageRecord(IdMixin, Base):
    """One call, SMS or data session, rated when imported: the plan and payer in force at its time,
    its billable base units (seconds, pieces, KB), how many fell inside the allowance, and the
    charge. `invoice_id` is set when an invoice (draft or issued) takes it."""

    __tablename__ = "usage_records"
    __table_args__ = (
        UniqueConstraint("service_id", "started_at", "usage_type", "destination", name="uq_usage_records_natural"),
        # Two indexes only: every index costs each of the millions of inserts. `invoice_id` is left
        # out so that marking records billed rewrites no index entry; reads by invoice name the
        # invoice's account and period end, so this one serves them too.
        Index("ix_usage_records_billing", "billing_account_id", "usage_date"),
    )

    service_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("services.id"))
    billing_account_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("billing_accounts.id"))
    plan_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("plans.id"))
    import_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("usage_imports.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    usage_date: Mapped[dt.date] = mapped_column(Date)  # in Europe/Budapest
    usage_month: Mapped[str] = mapped_column(String(7))  # "2026-10": the allowance's month
    usage_type: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(40), default="")
    quantity: Mapped[int] = mapped_column(BigInteger)  # seconds, pieces or bytes as delivered
    units: Mapped[int] = mapped_column(BigInteger)
    included_units: Mapped[int] = mapped_column(BigInteger)
    charged_units: Mapped[int] = mapped_column(BigInteger)
    unit_price: Mapped[decimal.Decimal] = mapped_column(UnitPrice)  # per minute / SMS / MB when rated
    vat_rate: Mapped[decimal.Decimal] = mapped_column(Numeric(5, 2))
    amount: Mapped[decimal.Decimal] = mapped_column(Money)
    invoice_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("invoices.id"), nullable=True)


class RunStatus(enum.StrEnum):
    DRAFTING = "drafting"  # computing drafts (an interrupted run resumes here)
    DRAFT = "draft"  # drafts ready for the preview
    CONFIRMING = "confirming"  # issuing numbers and PDFs (an interrupted run resumes here)
    ISSUED = "issued"  # every draft issued


class BillRun(IdMixin, Base):
    """The bill run of one period. Its figures are what the screen and the terminal show while it
    works and afterwards."""

    __tablename__ = "bill_runs"

    period: Mapped[str] = mapped_column(String(7), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.DRAFTING.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    drafted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    accounts_total: Mapped[int] = mapped_column(Integer, default=0)
    accounts_done: Mapped[int] = mapped_column(Integer, default=0)
    invoices_issued: Mapped[int] = mapped_column(Integer, default=0)


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"


class Invoice(IdMixin, Base):
    """One invoice per billing account and period: computed as a draft, numbered and given its
    PDF when the run is confirmed. The buyer's data is copied in as it stood."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("billing_account_id", "period", name="uq_invoices_account_period"),
        Index("ix_invoices_run", "bill_run_id", "status", "id"),
    )

    bill_run_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("bill_runs.id"))
    billing_account_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("billing_accounts.id"))
    payer_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("parties.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.DRAFT.value)
    number: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    issue_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    fulfilment_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    net_total: Mapped[decimal.Decimal] = mapped_column(Money)
    vat_total: Mapped[decimal.Decimal] = mapped_column(Money)
    gross_total: Mapped[decimal.Decimal] = mapped_column(Money)
    average_gross: Mapped[decimal.Decimal | None] = mapped_column(Money, nullable=True)
    anomaly: Mapped[bool] = mapped_column(Boolean, default=False)
    # The services whose subscriber consented to an itemised bill: their usage is listed on the PDF.
    itemised_services: Mapped[list[int]] = mapped_column(JSON, default=list)
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_address: Mapped[str] = mapped_column(String(300))
    buyer_tax_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    buyer_eu_vat_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    customer_number: Mapped[str] = mapped_column(String(20))
    account_number: Mapped[str] = mapped_column(String(20))
    payment_method: Mapped[str] = mapped_column(String(16))
    document_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("documents.id"), nullable=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    issued_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class InvoiceLine(IdMixin, Base):
    """A line of an invoice. `service_fee_id` is unique: a one-off fee is billed once."""

    __tablename__ = "invoice_lines"
    __table_args__ = (Index("ix_invoice_lines_invoice", "invoice_id", "position"),)

    invoice_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("invoices.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    service_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("services.id"), nullable=True)
    service_label: Mapped[str] = mapped_column(String(40), default="")
    item_code: Mapped[str] = mapped_column(String(40), default="")
    description_hu: Mapped[str] = mapped_column(String(200))
    description_en: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    period_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # the last day (inclusive)
    quantity: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2))
    unit: Mapped[str] = mapped_column(String(8))
    unit_price: Mapped[decimal.Decimal] = mapped_column(UnitPrice)
    net: Mapped[decimal.Decimal] = mapped_column(Money)
    vat_rate: Mapped[decimal.Decimal] = mapped_column(Numeric(5, 2))
    vat: Mapped[decimal.Decimal] = mapped_column(Money)
    gross: Mapped[decimal.Decimal] = mapped_column(Money)
    service_fee_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("service_fees.id"), nullable=True,
                                                       unique=True)
    note: Mapped[str] = mapped_column(Text, default="")

    def description(self, language: str) -> str:
        return self.description_hu if language == "hu" else self.description_en
