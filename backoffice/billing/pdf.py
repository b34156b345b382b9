"""The invoice PDF (számla): the data of one issued invoice in, the PDF's bytes out, nothing else.

A bill run issues tens of thousands of invoices, so the page is written with `backoffice.pdf.direct`
(raw PDF operators on a reportlab canvas, a fixed encoding table, cached font subsets, pages
deflated without ASCII85; its docstring says why each), in two faces (DejaVu Sans Condensed and
its bold) rather than four: half the file and half the work.

The layout follows a Hungarian telecom bill: seller and invoice data at the top, the amount due
in a band, the lines grouped by service, the VAT summary and totals, the payment details, then the
itemised usage in two columns (with its header and the current service repeated on each column).
Every page carries the page number ("1/3 oldal"); continuation pages repeat the invoice number.
The same data gives the same bytes (`invariant=True`).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from backoffice.pdf.direct import HAIRLINE, INK, MUTED, RULE, FaceSet, Writer, fit, rgb, wrap

__all__ = [
    "NO_ITEMISED_USAGE",
    "InvoicePdfData",
    "PdfLine",
    "PdfParty",
    "PdfUsage",
    "PdfVatTotal",
    "render_invoice",
]


# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class PdfParty:
    name: str
    address: str  # one line, e.g. "1117 Budapest XI., Október huszonharmadika utca 8. 2/5"
    tax_number: str | None  # "12345678-1-42" for organisations and the seller; None for most individuals
    eu_vat_number: str | None = None


@dataclass(frozen=True)
class PdfLine:
    description: str  # "Mobil 25 díjcsomag havidíja (22/31 nap)"
    service: str  # the service's number as people see it ("+36 30 123 4567"), "" for account-level lines
    period: str  # "2026.10.10–2026.10.31", "" for a one-off fee
    quantity: Decimal  # days, minutes, SMS, MB or pieces
    unit: str  # "nap", "perc", "db", "MB", "hó"
    unit_price: Decimal  # net, may have 2 decimals
    net: Decimal  # whole forints
    vat_rate: Decimal  # 27.00
    vat: Decimal  # whole forints (the line's VAT, informational)
    gross: Decimal  # whole forints


@dataclass(frozen=True)
class PdfVatTotal:
    rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True)
class PdfUsage:
    service: str  # "+36 30 123 4567"
    started: str  # local time, "2026.10.03 14:22:10"
    kind: str  # "Hívás", "SMS", "Adat", "Roaming hívás", "Roaming adat"
    destination: str  # called number, APN or ""
    quantity: str  # "3:25", "12,4 MB", "1 db"
    charge: Decimal  # net Ft, 2 decimals (0 inside the allowance)


@dataclass(frozen=True)
class InvoicePdfData:
    number: str  # "INV-2026-0000001"
    issue_date: dt.date
    fulfilment_date: dt.date  # teljesítés dátuma: the last day of the billing period
    due_date: dt.date
    period_start: dt.date
    period_end: dt.date  # inclusive
    seller: PdfParty
    seller_bank_account: str  # "11773016-11111018-00000000"
    buyer: PdfParty
    customer_number: str
    account_number: str
    payment_method: str  # a Hungarian label: "Banki átutalás", "Csoportos beszedés", "Postai csekk"
    lines: Sequence[PdfLine]
    vat_totals: Sequence[PdfVatTotal]
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal
    usage: Sequence[PdfUsage] | None  # None: no consent to an itemised bill; a list (maybe empty): print it


NO_ITEMISED_USAGE = (
    "Részletes forgalmi kimutatást az előfizető nem kért, ezért a számla a forgalom tételes részletezését "
    "nem tartalmazza."
)
NO_USAGE = "A számlázási időszakban nem volt részletezhető forgalom."


# ---------------------------------------------------------------- formatting

NBSP = "\u00a0"  # printed as a space; keeps "12 345 Ft" on one line
_ONE = Decimal(1)
_CENT = Decimal("0.01")
_NUMBER = str.maketrans({",": NBSP, ".": ","})


def _date(day: dt.date) -> str:
    return f"{day.year}.{day.month:02d}.{day.day:02d}."


def _forints(amount: Decimal) -> str:
    """Whole forints, thousands apart: "12 345" (the Ft goes in the column header or after)."""
    return f"{amount.quantize(_ONE, ROUND_HALF_UP):,}".translate(_NUMBER)


def _huf(amount: Decimal) -> str:
    return f"{_forints(amount)}{NBSP}Ft"


def _cents(amount: Decimal) -> str:
    """Two decimals with a decimal comma: "1 234,50"."""
    return f"{amount.quantize(_CENT, ROUND_HALF_UP):,}".translate(_NUMBER)


def _unit_price(amount: Decimal) -> str:
    """Whole prices without decimals ("4 990"), others with two ("35,50")."""
    if amount == amount.to_integral_value():
        return _forints(amount)
    return _cents(amount)


def _quantity(value: Decimal) -> str:
    """Up to two decimals, trailing zeros dropped: "22", "12,5", "0,71"."""
    text = f"{value.quantize(_CENT, ROUND_HALF_UP):,}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.translate(_NUMBER)


def _rate(rate: Decimal) -> str:
    text = f"{rate.quantize(_CENT, ROUND_HALF_UP)}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')}%"


# ---------------------------------------------------------------- fonts and colours

# Condensed throughout: a bill is mostly tables, and two faces instead of four halve the file (the
# embedded subsets are most of it: 12–20 KB each) and the work of writing it.
_FACES = FaceSet("billing-invoice-", "DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf")

PAGE_W, PAGE_H = A4
LEFT = 14 * mm
RIGHT = PAGE_W - 14 * mm
WIDTH = RIGHT - LEFT
TOP = PAGE_H - 14 * mm
BOTTOM = 19 * mm  # the lowest baseline of content; the footer sits below

ACCENT = rgb(HexColor("#0f3d62"))
TINT = rgb(HexColor("#e9f0f6"))
BAND = rgb(HexColor("#eef1f4"))
ZEBRA = rgb(HexColor("#f5f7f9"))
WHITE = rgb(HexColor("#ffffff"))
ON_ACCENT = rgb(HexColor("#c9d9e8"))


# ---------------------------------------------------------------- layout

BODY = 8.5
SMALL = 7.5
CELL = 7.5  # table text
CELL_SMALL = 6.8
USAGE = 6.8
USAGE_ROW = 9.2

# Lines table: (header, right edge or left edge, aligned right?)
_LINE_COLUMNS: tuple[tuple[str, float, bool], ...] = (
    ("Megnevezés", LEFT + 3, False),
    ("Mennyiség", LEFT + 238, True),
    ("Egység", LEFT + 244, False),
    ("Egységár", LEFT + 312, True),
    ("Nettó", LEFT + 366, True),
    ("ÁFA-kulcs", LEFT + 410, True),
    ("ÁFA-összeg", LEFT + 462, True),
    ("Bruttó", RIGHT - 3, True),
)
_DESCRIPTION_WIDTH = 196.0

_USAGE_GUTTER = 10.0
_USAGE_COL = (WIDTH - _USAGE_GUTTER) / 2
# Usage columns relative to a column's left edge: (header, edge, right-aligned?)
_USAGE_COLUMNS: tuple[tuple[str, float, bool], ...] = (
    ("Időpont", 2, False),
    ("Típus", 70, False),
    ("Hívott fél / cél", 119, False),
    ("Mennyiség", 214, True),
    ("Díj (Ft)", _USAGE_COL - 2, True),
)
_DESTINATION_WIDTH = 214 - 40 - 119


class _Invoice:
    def __init__(self, data: InvoicePdfData, writer: Writer) -> None:
        self.data = data
        self.w = writer
        self.y = TOP

    # -- pages

    def first_page(self) -> None:
        self.w.new_page()
        self.header()

    def next_page(self) -> None:
        """A continuation page: its running head repeats the invoice number and whose bill it is."""
        w, d = self.w, self.data
        w.new_page()
        w.rect(0, PAGE_H - 3 * mm, PAGE_W, 3 * mm, ACCENT)
        y = TOP - 2
        head = f"Számla {d.number}"
        w.text(LEFT, y, head, w.bold, 9.5, ACCENT)
        customer = f" · Ügyfélszám: {d.customer_number}"
        room = WIDTH - w.bold.width(head, 9.5) - w.regular.width(customer, SMALL) - 24
        w.right(RIGHT, y, fit(d.buyer.name, w.regular, SMALL, room) + customer, w.regular, SMALL, MUTED)
        w.text(LEFT, y - 11, d.seller.name, w.regular, SMALL, MUTED)
        w.right(RIGHT, y - 11, f"Számlázási időszak: {self.period()}", w.regular, SMALL, MUTED)
        w.rule(LEFT, RIGHT, y - 16, RULE, 0.6)
        self.y = y - 30

    def room(self, height: float) -> bool:
        """Starts a new page unless `height` fits above the bottom margin; True when it did."""
        if self.y - height < BOTTOM:
            self.next_page()
            return True
        return False

    def footers(self) -> None:
        w, d = self.w, self.data
        total = len(w.pages)
        for number, page in enumerate(w.pages, start=1):
            w.page = page
            y = 10 * mm
            w.rule(LEFT, RIGHT, y + 9, HAIRLINE, 0.5)
            w.text(LEFT, y, f"{d.seller.name} · Számla sorszáma: {d.number}", w.regular, 6.8, MUTED)
            w.right(RIGHT, y, f"{number}/{total} oldal", w.regular, SMALL, INK)

    def period(self) -> str:
        return f"{_date(self.data.period_start)}–{_date(self.data.period_end)}"

    # -- page one

    def header(self) -> None:
        w, d = self.w, self.data
        seller = d.seller
        w.rect(0, PAGE_H - 4 * mm, PAGE_W, 4 * mm, ACCENT)
        y = PAGE_H - 16 * mm
        w.text(LEFT, y, seller.name, w.bold, 14, ACCENT)
        w.right(RIGHT, y - 2, "Számla", w.bold, 22, ACCENT)
        y -= 13
        w.text(LEFT, y, seller.address, w.regular, SMALL, MUTED)
        w.right(RIGHT, y - 6, f"Sorszám: {d.number}", w.bold, 10)
        y -= 10
        tax = f"Adószám: {seller.tax_number}" if seller.tax_number else ""
        if seller.eu_vat_number:
            tax = f"{tax}   Közösségi adószám: {seller.eu_vat_number}".strip()
        if tax:
            w.text(LEFT, y, tax, w.regular, SMALL, MUTED)
            y -= 10
        w.text(LEFT, y, f"Bankszámlaszám: {d.seller_bank_account}", w.regular, SMALL, MUTED)
        y -= 9
        w.rule(LEFT, RIGHT, y, RULE, 0.6)
        self.y = y - 16
        self.parties()
        self.amount_due()

    def parties(self) -> None:
        w, d = self.w, self.data
        top = self.y
        # The buyer, left (where a window envelope shows the address).
        y = top - 4
        w.text(LEFT, y, "VEVŐ (ELŐFIZETŐ)", w.bold, 6.8, MUTED)
        y -= 15
        for line in wrap(d.buyer.name, w.bold, 11, 240):
            w.text(LEFT, y, line, w.bold, 11)
            y -= 13.5
        for line in wrap(d.buyer.address, w.regular, 9, 240):
            w.text(LEFT, y, line, w.regular, 9)
            y -= 12
        if d.buyer.tax_number:
            w.text(LEFT, y, f"Adószám: {d.buyer.tax_number}", w.regular, 9)
            y -= 12
        if d.buyer.eu_vat_number:
            w.text(LEFT, y, f"Közösségi adószám: {d.buyer.eu_vat_number}", w.regular, 9)
            y -= 12
        left_bottom = y

        # The invoice's data, right, in a tinted box.
        facts = (
            ("Számla sorszáma", d.number),
            ("Kiállítás dátuma", _date(d.issue_date)),
            ("Teljesítés dátuma", _date(d.fulfilment_date)),
            ("Fizetési határidő", _date(d.due_date)),
            ("Számlázási időszak", self.period()),
            ("Ügyfélszám", d.customer_number),
            ("Számlázási fiók", d.account_number),
            ("Fizetési mód", d.payment_method),
        )
        x0 = LEFT + WIDTH * 0.52
        row = 13.0
        height = len(facts) * row + 8
        w.rect(x0, top - height, RIGHT - x0, height, TINT)
        y = top - 4 - 9
        for index, (label, value) in enumerate(facts):
            w.text(x0 + 8, y, label, w.regular, 8, MUTED)
            w.right(RIGHT - 8, y, fit(value, w.bold, 8.5, RIGHT - x0 - 100), w.bold, 8.5)
            if index < len(facts) - 1:
                w.rule(x0 + 8, RIGHT - 8, y - 4, WHITE, 0.8)
            y -= row
        self.y = min(left_bottom, top - height) - 12

    def amount_due(self) -> None:
        w, d = self.w, self.data
        height = 38.0
        y0 = self.y - height
        w.rect(LEFT, y0, WIDTH, height, ACCENT)
        w.text(LEFT + 10, y0 + 22, f"Fizetési határidő: {_date(d.due_date)}", w.bold, 10, WHITE)
        w.text(LEFT + 10, y0 + 9, f"{d.payment_method} · Számlázási időszak: {self.period()}", w.regular, 7.8,
               ON_ACCENT)
        w.right(RIGHT - 10, y0 + 14, f"Fizetendő: {_huf(d.gross_total)}", w.bold, 17, WHITE)
        self.y = y0 - 20

    # -- the lines

    def lines_header(self) -> None:
        w = self.w
        y = self.y
        w.rect(LEFT, y - 14, WIDTH, 14, BAND)
        for label, edge, right in _LINE_COLUMNS:
            if right:
                w.right(edge, y - 9.5, label, w.bold, 7)
            else:
                w.text(edge, y - 9.5, label, w.bold, 7)
        self.y = y - 14

    def group(self, service: str, continued: bool = False) -> None:
        w = self.w
        label = service or "Számlázási fiókhoz tartozó tételek"
        if continued:
            label += " (folytatás)"
        y = self.y - 13
        w.text(LEFT + 3, y + 3.5, label, w.bold, 8.5, ACCENT)
        w.rule(LEFT, RIGHT, y, ACCENT, 0.6)
        self.y = y

    def lines(self) -> None:
        w, d = self.w, self.data
        w.text(LEFT, self.y, "Számlatételek", w.bold, 11)
        w.right(RIGHT, self.y, "Összegek forintban", w.regular, 7, MUTED)
        self.y -= 6
        self.lines_header()
        service: str | None = None
        columns = [edge for _, edge, _ in _LINE_COLUMNS]
        for line in d.lines:
            described = wrap(line.description, w.regular, CELL, _DESCRIPTION_WIDTH)
            height = 5 + len(described) * 9.5 + (8.5 if line.period else 0)
            new_group = line.service != service
            if self.room(height + (13 if new_group else 0)):
                self.lines_header()
                if not new_group:
                    self.group(line.service, continued=True)
            if new_group:
                self.group(line.service)
                service = line.service
            y = self.y - 11
            # The first line with its figures, then the rest: text extraction reads a line as a row.
            w.text(columns[0], y, described[0], w.regular, CELL)
            w.right(columns[1], y, _quantity(line.quantity), w.regular, CELL)
            w.text(columns[2], y, line.unit, w.regular, CELL)
            w.right(columns[3], y, _unit_price(line.unit_price), w.regular, CELL)
            w.right(columns[4], y, _forints(line.net), w.regular, CELL)
            w.right(columns[5], y, _rate(line.vat_rate), w.regular, CELL)
            w.right(columns[6], y, _forints(line.vat), w.regular, CELL)
            w.right(columns[7], y, _forints(line.gross), w.bold, CELL)
            for index in range(1, len(described)):
                w.text(columns[0], y - index * 9.5, described[index], w.regular, CELL)
            if line.period:
                w.text(columns[0], y - len(described) * 9.5 + 1, line.period, w.regular, CELL_SMALL, MUTED)
            self.y -= height
            w.rule(LEFT, RIGHT, self.y)
        self.y -= 18

    # -- totals and payment

    def totals(self) -> None:
        w, d = self.w, self.data
        rows = len(d.vat_totals)
        height = 16 + 14 + rows * 13 + 16
        self.room(max(height, 92))
        top = self.y

        # VAT summary, left.
        x0, x1 = LEFT, LEFT + 290
        edges = (x0 + 4, x0 + 130, x0 + 205, x1 - 4)
        w.text(x0, top, "ÁFA-összesítő", w.bold, 9.5)
        y = top - 6
        w.rect(x0, y - 14, x1 - x0, 14, BAND)
        w.text(edges[0], y - 9.5, "ÁFA-kulcs", w.bold, 7)
        for label, edge in zip(("Nettó (Ft)", "ÁFA (Ft)", "Bruttó (Ft)"), edges[1:], strict=True):
            w.right(edge, y - 9.5, label, w.bold, 7)
        y -= 14
        for total in d.vat_totals:
            y -= 13
            w.text(edges[0], y + 4, _rate(total.rate), w.regular, CELL)
            w.right(edges[1], y + 4, _forints(total.net), w.regular, CELL)
            w.right(edges[2], y + 4, _forints(total.vat), w.regular, CELL)
            w.right(edges[3], y + 4, _forints(total.gross), w.regular, CELL)
            w.rule(x0, x1, y)
        y -= 13
        w.text(edges[0], y + 4, "Összesen", w.bold, CELL)
        w.right(edges[1], y + 4, _forints(d.net_total), w.bold, CELL)
        w.right(edges[2], y + 4, _forints(d.vat_total), w.bold, CELL)
        w.right(edges[3], y + 4, _forints(d.gross_total), w.bold, CELL)
        w.rule(x0, x1, y, INK, 0.6)
        left_bottom = y

        # Invoice totals, right.
        x0 = LEFT + 320
        y = top
        w.text(x0, y, "A számla összesítése", w.bold, 9.5)
        y -= 6
        for label, amount in (
            ("Nettó összesen", d.net_total),
            ("ÁFA összesen", d.vat_total),
            ("Bruttó összesen", d.gross_total),
        ):
            y -= 13
            w.text(x0 + 4, y + 4, label, w.regular, BODY)
            w.right(RIGHT - 4, y + 4, _huf(amount), w.regular, BODY)
            w.rule(x0, RIGHT, y)
        y -= 26
        w.rect(x0, y, RIGHT - x0, 24, TINT)
        w.right(RIGHT - 6, y + 8, f"Fizetendő: {_huf(d.gross_total)}", w.bold, 12.5, ACCENT)
        self.y = min(left_bottom, y) - 20

    def payment(self) -> None:
        w, d = self.w, self.data
        pairs = (
            (("Fizetési mód", d.payment_method), ("Fizetési határidő", _date(d.due_date))),
            (("Kedvezményezett", d.seller.name), ("Fizetendő összeg", _huf(d.gross_total))),
            (("Bankszámlaszám", d.seller_bank_account), ("Közlemény", d.number)),
        )
        height = 14 + len(pairs) * 13 + 22
        self.room(height)
        w.text(LEFT, self.y, "Fizetési információk", w.bold, 9.5)
        y = self.y - 6
        box = len(pairs) * 13 + 8
        w.rect(LEFT, y - box, WIDTH, box, BAND)
        y -= 4
        half = WIDTH / 2
        for (label_a, value_a), (label_b, value_b) in pairs:
            y -= 13
            w.text(LEFT + 8, y + 4, label_a, w.regular, 8, MUTED)
            w.text(LEFT + 98, y + 4, value_a, w.bold, BODY)
            w.text(LEFT + half + 8, y + 4, label_b, w.regular, 8, MUTED)
            w.text(LEFT + half + 98, y + 4, value_b, w.bold, BODY)
        y -= 8 + 11
        w.text(LEFT, y, "Átutalás esetén kérjük, a közleményben a számla sorszámát tüntesse fel.", w.regular,
               7, MUTED)
        self.y = y - 20

    # -- the itemised usage

    def usage(self) -> None:
        w, d = self.w, self.data
        if d.usage is None:
            self.room(24)
            w.text(LEFT, self.y, "Részletes forgalmi kimutatás", w.bold, 9.5)
            self.y -= 13
            for line in wrap(NO_ITEMISED_USAGE, w.regular, BODY, WIDTH):
                w.text(LEFT, self.y, line, w.regular, BODY, MUTED)
                self.y -= 11
            return
        # The heading with at least a few rows under it; otherwise it starts the next page.
        self.room(24 + 14 + 13 + 4 * USAGE_ROW)
        w.text(LEFT, self.y, "Részletes forgalmi kimutatás", w.bold, 11)
        w.right(RIGHT, self.y, "Nettó díjak forintban; a díjcsomagban foglalt forgalom díja 0", w.regular, 7,
                MUTED)
        self.y -= 8
        if not d.usage:
            self.y -= 12
            w.text(LEFT, self.y, NO_USAGE, w.regular, BODY, MUTED)
            self.y -= 12
            return
        self.usage_columns(d.usage)

    def usage_columns(self, usage: Sequence[PdfUsage]) -> None:
        """Two columns per page, each with the column header and the current service at its top."""
        w = self.w
        regular, bold, text, right, rect, rule = w.regular, w.bold, w.text, w.right, w.rect, w.rule
        col_top = self.y
        column = 0
        x = LEFT
        service: str | None = None
        stripe = False
        edges = [(x_off, right_aligned) for _, x_off, right_aligned in _USAGE_COLUMNS]

        def column_header(x: float, y: float) -> float:
            rect(x, y - 13, _USAGE_COL, 13, BAND)
            for label, x_off, right_aligned in _USAGE_COLUMNS:
                if right_aligned:
                    right(x + x_off, y - 9, label, bold, 6.8)
                else:
                    text(x + x_off, y - 9, label, bold, 6.8)
            return y - 13

        def group_row(x: float, y: float, label: str) -> float:
            y -= 12
            text(x + 3, y + 3.5, label, bold, 7.8, ACCENT)
            rule(x, x + _USAGE_COL, y, ACCENT, 0.5)
            return y

        y = lowest = column_header(x, col_top)
        for record in usage:
            new_group = record.service != service
            needed = USAGE_ROW + (12 if new_group else 0)
            if y - needed < BOTTOM:
                lowest = min(lowest, y)
                if column == 0:
                    column, x, y = 1, LEFT + _USAGE_COL + _USAGE_GUTTER, col_top
                else:
                    self.next_page()
                    col_top = self.y
                    column, x, y, lowest = 0, LEFT, col_top, col_top
                y = column_header(x, y)
                stripe = False
                if not new_group:
                    y = group_row(x, y, f"{service} (folytatás)")
            if new_group:
                service = record.service
                y = group_row(x, y, service or "Számlázási fiók")
                stripe = False
            y -= USAGE_ROW
            if stripe:
                rect(x, y, _USAGE_COL, USAGE_ROW, ZEBRA)
            stripe = not stripe
            base = y + 2.6
            text(x + edges[0][0], base, record.started, regular, USAGE)
            text(x + edges[1][0], base, record.kind, regular, USAGE)
            if record.destination:
                destination = fit(record.destination, regular, USAGE, _DESTINATION_WIDTH)
                text(x + edges[2][0], base, destination, regular, USAGE)
            right(x + edges[3][0], base, record.quantity, regular, USAGE)
            right(x + edges[4][0], base, _cents(record.charge), regular, USAGE)
        self.y = min(lowest, y)


def render_invoice(data: InvoicePdfData) -> bytes:
    """The invoice as an A4 PDF; the same data gives the same bytes."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(f"Számla {data.number}")
    canvas.setAuthor(data.seller.name)
    canvas.setSubject(f"{data.buyer.name}, {_date(data.period_start)}–{_date(data.period_end)}")
    canvas.setCreator("backoffice")
    writer = Writer(canvas, _FACES)
    invoice = _Invoice(data, writer)
    invoice.first_page()
    invoice.lines()
    invoice.totals()
    invoice.payment()
    invoice.usage()
    invoice.footers()
    writer.finish()
    canvas.save()
    return buffer.getvalue()
