"""`make bench`: the invoice PDF renderer against a bare reportlab canvas carrying the same text.

A typical invoice (2 services, 10 lines, 40 itemised usage records: two pages) is rendered RUNS times
after a warm-up; so is the "bare canvas": the very strings the invoice prints (recorded from one
render), on the same pages at the same places, in the same DejaVu faces (the shared ones from
backoffice.pdf), drawn with `drawString` only and saved with reportlab's defaults — no layout, no
formatting, no rules or fills. The target is a ratio of at most RATIO_MAX. Also timed: a one-page
invoice (the same lines, no itemised usage) and one with 2,000 usage records. Pure CPU: no database,
no files. Figures are printed as `name: value unit`.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from run import figure, note

from backoffice import pdf
from backoffice.billing.pdf import (
    InvoicePdfData,
    PdfLine,
    PdfParty,
    PdfUsage,
    PdfVatTotal,
    render_invoice,
)
from backoffice.pdf.direct import Writer

RUNS = 300
WARMUP = 30
LONG_RUNS = 5
# The issue's target: the invoice costs at most this many bare canvas pages with the same text.
RATIO_MAX = 3.0

SERVICES = ("+36 30 123 4567", "+36 70 765 4321")
VAT = Decimal("27.00")


def line(description: str, service: str, net: int, quantity: str = "1", unit: str = "hó",
         unit_price: str | None = None, period: str = "2026.10.01–2026.10.31") -> PdfLine:
    vat = (Decimal(net) * VAT / 100).quantize(Decimal(1))
    return PdfLine(description, service, period, Decimal(quantity), unit,
                   Decimal(unit_price if unit_price is not None else net), Decimal(net), VAT, vat, Decimal(net) + vat)


def usage(count: int) -> list[PdfUsage]:
    records = []
    for index in range(count):
        kind = ("Hívás", "SMS", "Adat", "Hívás", "Roaming adat")[index % 5]
        records.append(PdfUsage(
            service=SERVICES[0] if index < count * 3 // 5 else SERVICES[1],
            started=f"2026.10.{1 + index % 28:02d} {8 + index % 12:02d}:{index % 60:02d}:{index * 7 % 60:02d}",
            kind=kind,
            destination="internet.telekom" if "Adat" in kind else f"+36 20 {index % 1000:03d} {index * 37 % 10000:04d}",
            quantity={"Hívás": "3:25", "SMS": "1 db"}.get(kind, "12,4 MB"),
            charge=Decimal(index % 4) * Decimal("35.50"),
        ))
    return records


def typical_invoice(usage_count: int = 40) -> InvoicePdfData:
    first, second = SERVICES
    lines = [
        line("Mobil 25 díjcsomag havidíja", first, 4990),
        line("Adatjegy 5 GB havidíja", first, 1990),
        line("Belföldi hívások díjcsomagon felül", first, 1172, "33", "perc", "35.50", ""),
        line("SMS díjcsomagon felül", first, 150, "6", "db", "25", ""),
        line("Hívásrészletező szolgáltatás", first, 200, period=""),
        line("Mobil 10 díjcsomag havidíja (22/31 nap)", second, 2123, "22", "nap", "2990", "2026.10.10–2026.10.31"),
        line("Roaming adatforgalom (EU)", second, 318, "12.5", "MB", "25.40", ""),
        line("Belföldi hívások díjcsomagon felül", second, 426, "12", "perc", "35.50", ""),
        line("SIM-csere díja", second, 2000, "1", "db", period=""),
        line("Számlakezelési díj", "", 390, period=""),
    ]
    net = sum((item.net for item in lines), Decimal(0))
    vat = (net * VAT / 100).quantize(Decimal(1))
    return InvoicePdfData(
        number="INV-2026-0012345",
        issue_date=dt.date(2026, 11, 2),
        fulfilment_date=dt.date(2026, 10, 31),
        due_date=dt.date(2026, 11, 17),
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        seller=PdfParty("Dunatel Távközlési Zrt.", "1117 Budapest XI., Október huszonharmadika utca 8.",
                        "12345678-2-43", "HU12345678"),
        seller_bank_account="11773016-11111018-00000000",
        buyer=PdfParty("Kőműves Ödönné Szűts Erzsébet", "6720 Szeged, Fűzfa utca 12. 3/14", None),
        customer_number="C-0012345",
        account_number="BA-0067890",
        payment_method="Csoportos beszedés",
        lines=lines,
        vat_totals=[PdfVatTotal(VAT, net, vat, net + vat)],
        net_total=net,
        vat_total=vat,
        gross_total=net + vat,
        usage=usage(usage_count),
    )


Drawn = tuple[int, str, float, float, float, str]  # page, font, size, x, y, text


def recorded_text(data: InvoicePdfData) -> list[Drawn]:
    """Every string one render prints, with its page, face, size and place (right-aligned strings at
    their computed left edge)."""
    # The shared font (backoffice.pdf) with the same TrueType face as the invoice's own.
    stock = {pdfmetrics.getFont(name).face.name: name
             for name in (pdf.FONT, pdf.FONT_BOLD, pdf.FONT_CONDENSED, pdf.FONT_CONDENSED_BOLD)}
    drawn: list[Drawn] = []
    original = Writer.text

    def record(self: Any, x: float, y: float, text: str, face: Any, size: float, color: Any = pdf.INK) -> None:
        drawn.append((self.pages.index(self.page), stock[face.font.face.name], size, x, y, text))
        original(self, x, y, text, face, size, color)

    Writer.text = record  # type: ignore[method-assign]
    try:
        render_invoice(data)
    finally:
        Writer.text = original  # type: ignore[method-assign]
    return drawn


def bare_canvas(drawn: list[Drawn]) -> Callable[[], bytes]:
    pages = 1 + max(page for page, *_ in drawn)
    by_page = [[item[1:] for item in drawn if item[0] == page] for page in range(pages)]

    def render() -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
        for strings in by_page:
            for font, size, x, y, text in strings:
                canvas.setFont(font, size)
                canvas.drawString(x, y, text)
            canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    return render


def timed(render: Callable[[], bytes], runs: int, warmup: int) -> tuple[float, float]:
    """Mean wall and CPU milliseconds per render."""
    for _ in range(warmup):
        render()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        render()
    return (time.perf_counter() - wall) * 1000 / runs, (time.process_time() - cpu) * 1000 / runs


def main() -> int:
    pdf.register_fonts()
    data = typical_invoice()
    drawn = recorded_text(data)
    pages = 1 + max(page for page, *_ in drawn)
    note(f"typical invoice: {len(data.lines)} lines, {len(data.usage or ())} usage records, "
         f"{pages} pages, {len(drawn)} strings, {len(render_invoice(data))} bytes")

    invoice_ms, invoice_cpu = timed(lambda: render_invoice(data), RUNS, WARMUP)
    bare_ms, _ = timed(bare_canvas(drawn), RUNS, WARMUP)
    one_page = replace(data, usage=None)
    one_page_ms, _ = timed(lambda: render_invoice(one_page), RUNS, WARMUP)
    long = typical_invoice(2000)
    long_ms, _ = timed(lambda: render_invoice(long), LONG_RUNS, 1)

    figure("invoice pdf", invoice_ms, "ms")
    figure("bare canvas page", bare_ms, "ms")
    figure("invoice pdf / bare canvas", invoice_ms / bare_ms, "x")
    figure("invoice pdfs per core", 1000 / invoice_cpu, "/s")
    figure("invoice pdf, one page", one_page_ms, "ms")
    figure("invoice pdf, 2000 usage records", long_ms, "ms")
    ratio = invoice_ms / bare_ms
    if ratio > RATIO_MAX:
        note(f"invoice pdf costs {ratio:.2f} bare canvas pages, more than the target {RATIO_MAX}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
