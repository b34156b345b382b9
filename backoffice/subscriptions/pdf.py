"""The confirmation letter (visszaigazolás) every subscription action sends the subscriber: who,
which contract and service, what happens and when, and the one-off fees it brings.

A letter goes out with every agent's action, inside the action's transaction, so it is drawn
straight on the canvas (a fixed layout, as ARCHITECTURE.md suggests for such documents) rather
than through platypus: the same page in about a third of the time. Text is wrapped to its
column, and a long letter continues on further pages with the standard header and footer."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from backoffice import pdf
from backoffice.clock import BUDAPEST


@dataclass(frozen=True)
class Confirmation:
    """Everything printed, already translated into the letter's language."""

    title: str
    seller_name: str
    recipient_name: str
    recipient_address: str
    reference: list[tuple[str, str]]  # customer number, contract, service, registry-style references
    statement: str  # one paragraph saying what was done or scheduled
    details: list[tuple[str, str]]  # effective date, reason, old and new plan, …
    fee_heading: str = ""
    fee_columns: tuple[str, str, str, str] = ("", "", "", "")  # item, net, VAT, gross
    fees: list[tuple[str, str, str, str]] = field(default_factory=list)
    closing: str = ""
    generated_label: str = ""
    page_label: str = ""


BODY, SMALL, TITLE, HEADING = 9.5, 8.5, 15.0, 11.0
LEADING = BODY * 1.3
Draw = Callable[[Canvas], None]


class _Pages:
    """Lays blocks out top to bottom, starting a new page when a block does not fit."""

    def __init__(self) -> None:
        self.width, self.height = A4
        self.left = pdf.MARGIN_SIDE
        self.content = self.width - 2 * pdf.MARGIN_SIDE
        self.top = self.height - pdf.MARGIN_TOP
        self.bottom = pdf.MARGIN_BOTTOM
        self.pages: list[list[Draw]] = [[]]
        self.y = self.top

    def room(self, height: float) -> None:
        if self.y - height < self.bottom and self.y < self.top:
            self.pages.append([])
            self.y = self.top

    def text(self, lines: list[str], font: str, size: float, x: float, leading: float = LEADING) -> None:
        y = self.y - size

        def draw(c: Canvas, y: float = y) -> None:
            c.setFont(font, size)
            for i, line in enumerate(lines):
                c.drawString(x, y - i * leading, line)
        self.pages[-1].append(draw)

    def paragraph(self, text: str, font: str = pdf.FONT, size: float = BODY, gap: float = 2 * mm) -> None:
        lines = simpleSplit(text, font, size, self.content) or [""]
        height = len(lines) * (size * 1.3)
        self.room(height)
        self.text(lines, font, size, self.left, size * 1.3)
        self.y -= height + gap

    def rule(self, weight: float, color: Any) -> None:
        y = self.y

        def draw(c: Canvas) -> None:
            c.setStrokeColor(color)
            c.setLineWidth(weight)
            c.line(self.left, y, self.left + self.content, y)
        self.pages[-1].append(draw)

    def pairs(self, rows: list[tuple[str, str]]) -> None:
        label_w, value_w = self.content * 0.32, self.content * 0.68
        for label, value in rows:
            label_lines = simpleSplit(label[:1].upper() + label[1:], pdf.FONT_BOLD, BODY, label_w - 6) or [""]
            value_lines = simpleSplit(value or "—", pdf.FONT, BODY, value_w - 4) or [""]
            height = max(len(label_lines), len(value_lines)) * LEADING + 5
            self.room(height)
            self.y -= 2
            self.text(label_lines, pdf.FONT_BOLD, BODY, self.left + 2)
            self.text(value_lines, pdf.FONT, BODY, self.left + label_w + 2)
            self.y -= height - 2
            self.rule(0.25, pdf.RULE)

    def fee_table(self, columns: tuple[str, str, str, str], rows: list[tuple[str, str, str, str]]) -> None:
        widths = (0.49, 0.17, 0.17, 0.17)
        edges = [self.left]
        for share in widths:
            edges.append(edges[-1] + self.content * share)

        def row(cells: tuple[str, str, str, str], font: str, weight: float, color: Any) -> None:
            name_lines = simpleSplit(cells[0], font, BODY, edges[1] - edges[0] - 4) or [""]
            height = len(name_lines) * LEADING + 5
            self.room(height)
            self.y -= 2
            self.text(name_lines, font, BODY, self.left + 2)
            y = self.y - BODY

            def draw(c: Canvas, y: float = y) -> None:
                c.setFont(font, BODY)
                for i, value in enumerate(cells[1:], start=2):
                    c.drawRightString(edges[i] - 2, y, value)
            self.pages[-1].append(draw)
            self.y -= height - 2
            self.rule(weight, color)

        row(columns, pdf.FONT_BOLD, 0.6, pdf.INK)
        for cells in rows:
            row(cells, pdf.FONT, 0.25, pdf.RULE)


def confirmation(letter: Confirmation, generated_at: dt.datetime) -> bytes:
    pdf.register_fonts()
    layout = _Pages()
    layout.paragraph(letter.recipient_name, pdf.FONT_BOLD, BODY, gap=0)
    layout.paragraph(letter.recipient_address, gap=8 * mm)
    layout.paragraph(letter.title, pdf.FONT_BOLD, TITLE, gap=3 * mm)
    layout.pairs(letter.reference)
    layout.y -= 5 * mm
    layout.paragraph(letter.statement)
    if letter.details:
        layout.pairs(letter.details)
    if letter.fees:
        layout.y -= 4 * mm
        layout.paragraph(letter.fee_heading, pdf.FONT_BOLD, HEADING, gap=1.5 * mm)
        layout.fee_table(letter.fee_columns, letter.fees)
    if letter.closing:
        layout.y -= 6 * mm
        layout.paragraph(letter.closing)

    when = generated_at.astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")
    furniture = pdf.PageFurniture(letter.seller_name, letter.title, f"{letter.generated_label}: {when}",
                                  letter.page_label or "%(page)s / %(pages)s")
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setTitle(letter.title)
    canvas.setAuthor(letter.seller_name)
    canvas.setCreator("backoffice")
    for number, page in enumerate(layout.pages, start=1):
        canvas.setFillColor(pdf.INK)
        for draw in page:
            draw(canvas)
        furniture.draw(canvas, number, len(layout.pages))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
