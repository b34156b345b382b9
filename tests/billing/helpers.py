"""What the billing tests share: runs driven through the services on a chosen day, usage files
imported from text, and invoices read back with their lines."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import select

from backoffice.billing import invoices, runs, usage
from backoffice.billing.models import Invoice, InvoiceLine
from backoffice.billing.rules import Period
from tests.subscriptions.helpers import SUPERVISOR, Maker, today_is

SELLER = invoices.Seller("Demo Telekom Zrt.", "1097 Budapest IX., Könyves Kálmán körút 36.", "12345676-2-44",
                         "HU12345676", "11773016-11111018-00000000")
OCT = Period(2026, 10)
NOV = Period(2026, 11)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


async def draft(maker: Maker, monkeypatch: pytest.MonkeyPatch, period: Period = OCT,
                on: dt.date | None = None, **kwargs: Any) -> None:
    with today_is(monkeypatch, on or period.end + dt.timedelta(days=2)):
        await runs.draft(maker, SUPERVISOR, period, **kwargs)


async def confirm(maker: Maker, monkeypatch: pytest.MonkeyPatch, period: Period = OCT,
                  on: dt.date | None = None, **kwargs: Any) -> None:
    with today_is(monkeypatch, on or period.end + dt.timedelta(days=2)):
        await runs.confirm(maker, SUPERVISOR, period, SELLER, **kwargs)


async def bill(maker: Maker, monkeypatch: pytest.MonkeyPatch, period: Period = OCT) -> list[Invoice]:
    await draft(maker, monkeypatch, period)
    await confirm(maker, monkeypatch, period)
    return await invoices_for(maker, period)


async def invoices_for(maker: Maker, period: Period = OCT) -> list[Invoice]:
    async with maker() as s:
        return list(await s.scalars(select(Invoice).where(Invoice.period == str(period))
                                    .order_by(Invoice.billing_account_id)))


async def lines_of(maker: Maker, invoice_id: int) -> list[InvoiceLine]:
    async with maker() as s:
        return list(await s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
                                    .order_by(InvoiceLine.position)))


async def import_text(maker: Maker, text: str, filename: str = "usage.csv",
                      encoding: str = "utf-8") -> usage.ImportResult:
    async with maker() as s, s.begin():
        return await usage.import_usage(s, SUPERVISOR, io.BytesIO(text.encode(encoding)), filename)
