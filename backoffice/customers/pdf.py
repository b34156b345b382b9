"""The customer data sheet (ügyféladatlap): what the operator holds about a customer, as a PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from backoffice import pdf
from backoffice.clock import BUDAPEST


@dataclass(frozen=True)
class Section:
    heading: str
    rows: list[tuple[str, str]]  # (label, value), already translated
    empty: str = ""


def data_sheet(
    *, title: str, intro: str, sections: list[Section], seller_name: str, generated_at: dt.datetime,
    generated_label: str, page_label: str,
) -> bytes:
    st = pdf.styles()
    # A letter to a customer reads at body size, not at the dense size of a register.
    cell = ParagraphStyle("sheet_cell", parent=st.body, spaceAfter=0)
    cell_label = ParagraphStyle("sheet_label", parent=cell, fontName=pdf.FONT_BOLD)
    width = pdf.content_width()
    story: list[Flowable] = [
        Paragraph(pdf.markup(title), st.title), Paragraph(pdf.markup(intro), st.body), Spacer(1, 2 * mm),
    ]
    for section in sections:
        story.append(Paragraph(pdf.markup(section.heading), st.heading))
        if not section.rows:
            story.append(Paragraph(pdf.markup(section.empty), st.small))
            continue
        table = Table(
            [[Paragraph(pdf.markup(label[:1].upper() + label[1:]), cell_label),
              Paragraph(pdf.markup(value or "—"), cell)] for label, value in section.rows],
            colWidths=[width * 0.32, width * 0.68],
        )
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, pdf.RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ]))
        story.append(table)
    when = generated_at.astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")
    return pdf.build(
        story, title=title, author=seller_name, header_left=seller_name, header_right=title,
        footer_note=f"{generated_label}: {when}", page_label=page_label,
    )
