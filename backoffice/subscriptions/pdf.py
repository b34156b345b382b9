"""The confirmation letter (visszaigazolás) every subscription action sends the subscriber: who,
which contract and service, what happens and when, and the one-off fees it brings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

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


def confirmation(letter: Confirmation, generated_at: dt.datetime) -> bytes:
    st = pdf.styles()
    cell = ParagraphStyle("conf_cell", parent=st.body, spaceAfter=0)
    cell_label = ParagraphStyle("conf_label", parent=cell, fontName=pdf.FONT_BOLD)
    cell_right = ParagraphStyle("conf_right", parent=cell, alignment=2)
    width = pdf.content_width()
    story: list[Flowable] = [
        Paragraph(pdf.markup(letter.recipient_name), cell_label),
        Paragraph(pdf.markup(letter.recipient_address), cell),
        Spacer(1, 8 * mm),
        Paragraph(pdf.markup(letter.title), st.title),
    ]

    def pairs(rows: list[tuple[str, str]]) -> Table:
        table = Table([[Paragraph(pdf.markup(label), cell_label), Paragraph(pdf.markup(value or "—"), cell)]
                       for label, value in rows], colWidths=[width * 0.32, width * 0.68])
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, pdf.RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ]))
        return table

    story += [pairs(letter.reference), Spacer(1, 5 * mm), Paragraph(pdf.markup(letter.statement), st.body),
              Spacer(1, 2 * mm)]
    if letter.details:
        story.append(pairs(letter.details))
    if letter.fees:
        story += [Spacer(1, 4 * mm), Paragraph(pdf.markup(letter.fee_heading), st.heading)]
        head = [Paragraph(pdf.markup(letter.fee_columns[0]), cell_label)] + [
            Paragraph(pdf.markup(text), ParagraphStyle("conf_head_r", parent=cell_label, alignment=2))
            for text in letter.fee_columns[1:]]
        rows = [[Paragraph(pdf.markup(name), cell)] + [Paragraph(pdf.markup(v), cell_right) for v in values]
                for name, *values in letter.fees]
        table = Table([head, *rows], colWidths=[width * 0.49, width * 0.17, width * 0.17, width * 0.17])
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, pdf.INK),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, pdf.RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ]))
        story.append(table)
    if letter.closing:
        story += [Spacer(1, 6 * mm), Paragraph(pdf.markup(letter.closing), st.body)]
    when = generated_at.astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")
    return pdf.build(
        story, title=letter.title, author=letter.seller_name, header_left=letter.seller_name,
        header_right=letter.title, footer_note=f"{letter.generated_label}: {when}", page_label=letter.page_label,
    )
