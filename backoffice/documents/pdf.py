"""The documents domain's PDFs: the registry's year register (iktatókönyv), printed when a year is closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph, Spacer

from backoffice import pdf
from backoffice.clock import BUDAPEST


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One registry entry as printed; names and labels already in the reader's language."""

    registry_number: str  # 2026/000123-1
    registered_at: datetime  # timezone-aware; printed in Europe/Budapest
    document_type: str
    direction: str
    channel: str
    correspondent: str
    subject: str
    customer_number: str = ""
    page_count: int | None = None
    voided: bool = False
    void_reason: str | None = None


@dataclass(frozen=True)
class RegisterLabels:
    """Every fixed text of the register, translated by the caller.

    `title` may hold `%(year)s`; `page` holds `%(page)s` and `%(pages)s`.
    """

    title: str  # "Iktatókönyv %(year)s"
    registry_number: str  # "Iktatószám"
    registered_at: str  # "Iktatva"
    document_type: str  # "Irattípus"
    direction_channel: str  # "Irány / csatorna"
    correspondent: str  # "Küldő / címzett"
    subject: str  # "Tárgy"
    customer: str  # "Ügyfél"
    pages: str  # "Old."
    documents_count: str  # "Iratok"
    voided_count: str  # "Érvénytelenített"
    cases_count: str  # "Ügyiratok"
    voided: str  # "ÉRVÉNYTELENÍTVE" — printed before the void reason
    empty: str  # "Az iktatókönyvben nincs bejegyzés."
    generated: str  # "Készült"
    page: str  # "%(page)s / %(pages)s"
    note: str = ""  # an optional line under the summary, e.g. who closed the register and when
    closing: str = ""  # an optional closing clause after the last entry (newlines kept)
    thousands_separator: str = "\u00a0"


# Landscape A4 less the side margins is 269 mm; the subject takes what the others leave.
_WIDTHS_MM = (25, 24.5, 34, 29, 46, 0, 20, 9)
_SUBJECT = 5
_PAD = 2.2  # points of cell padding on each side
_CELL_FONT_SIZE = 7.5
_CASE_SHADE = colors.HexColor("#f0f0f0")
_VOID_BG = colors.HexColor("#e4e4e4")


def _local(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("registry times must be timezone-aware")
    return moment.astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")


def _count(n: int, separator: str) -> str:
    return f"{n:,}".replace(",", separator)


def _case_of(registry_number: str) -> str:
    return registry_number.rpartition("-")[0] or registry_number


def register_report(
    year: int,
    rows: list[RegisterRow],
    *,
    seller_name: str,
    generated_at: datetime,
    labels: RegisterLabels,
) -> bytes:
    """The year's register as a landscape A4 PDF, rows in the order given (registry order).

    Voided entries keep their line: printed grey with "<voided>: <reason>" under the subject.
    The same arguments give the same bytes.
    """
    st = pdf.styles()
    title = labels.title % {"year": year}
    voided = sum(1 for row in rows if row.voided)
    cases = len({_case_of(row.registry_number) for row in rows})
    sep = labels.thousands_separator
    summary = " · ".join(
        (
            f"{pdf.markup(labels.documents_count)}: <b>{_count(len(rows), sep)}</b>",
            f"{pdf.markup(labels.voided_count)}: <b>{_count(voided, sep)}</b>",
            f"{pdf.markup(labels.cases_count)}: <b>{_count(cases, sep)}</b>",
        )
    )
    story: list[Flowable] = [Paragraph(pdf.markup(title), st.title), Paragraph(summary, st.body)]
    if labels.note:
        story.append(Paragraph(pdf.markup(labels.note), st.small))
    story.append(Spacer(1, 3 * mm))
    if rows:
        story.append(_table(rows, labels, st))
    else:
        story.append(Paragraph(pdf.markup(labels.empty), st.body))
    if labels.closing:
        story += [Spacer(1, 6 * mm), Paragraph(pdf.markup(labels.closing), st.body)]

    generated = f"{labels.generated}: {_local(generated_at)}"
    return pdf.build(
        story,
        title=title,
        author=seller_name,
        header_left=seller_name,
        header_right=title,
        footer_note=generated,
        page_label=labels.page,
        landscape=True,
    )


def _table(rows: list[RegisterRow], labels: RegisterLabels, st: pdf.Styles) -> pdf.RowTable:
    usable = pdf.content_width(landscape=True)
    widths = [w * mm for w in _WIDTHS_MM]
    widths[_SUBJECT] = usable - sum(widths)

    cell = st.cell
    muted = ParagraphStyle("cell_void", parent=cell, textColor=pdf.MUTED)
    fits = _Fitter(widths)

    header_right = ParagraphStyle("cell_header_right", parent=st.cell_header, alignment=TA_RIGHT)
    header = [
        Paragraph(pdf.markup(text), st.cell_header)
        for text in (
            labels.registry_number,
            labels.registered_at,
            labels.document_type,
            labels.direction_channel,
            labels.correspondent,
            labels.subject,
            labels.customer,
        )
    ]
    header.append(Paragraph(pdf.markup(labels.pages), header_right))
    commands: list[pdf.Command] = [
        ("FONT", (0, 1), (-1, -1), pdf.FONT_CONDENSED, _CELL_FONT_SIZE, 9),
        ("FONT", (0, 1), (0, -1), pdf.FONT_CONDENSED_BOLD, _CELL_FONT_SIZE, 9),
        ("TEXTCOLOR", (0, 0), (-1, -1), pdf.INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), _PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 1.6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, pdf.INK),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, pdf.INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.8, pdf.INK),
    ]
    # Shading alternates per case, not per row: a case's sub-numbers read as one block.
    shaded: list[pdf.Command] = [("BACKGROUND", (0, 0), (-1, 0), _CASE_SHADE)]
    void: list[pdf.Command] = [("TEXTCOLOR", (0, 0), (-1, 0), pdf.MUTED), ("BACKGROUND", (0, 0), (-1, 0), _VOID_BG)]
    row_styles: dict[int, list[pdf.Command]] = {}
    data: list[list[object]] = []
    case, shade = "", True

    for index, row in enumerate(rows):
        if _case_of(row.registry_number) != case:
            case, shade = _case_of(row.registry_number), not shade
        style = muted if row.voided else cell
        subject: object
        if row.voided:
            reason = f"{labels.voided}: {row.void_reason}" if row.void_reason else labels.voided
            subject = Paragraph(
                f"{pdf.markup(row.subject)}<br/><font name='{pdf.FONT_CONDENSED_BOLD}'>{pdf.markup(reason)}</font>",
                style,
            )
            row_styles[index] = void
        else:
            subject = fits(_SUBJECT, row.subject, style)
            if shade:
                row_styles[index] = shaded
        data.append(
            [
                row.registry_number,
                _local(row.registered_at),
                fits(2, row.document_type, style),
                fits(3, f"{row.direction} / {row.channel}", style),
                fits(4, row.correspondent, style),
                subject,
                row.customer_number,
                "" if row.page_count is None else str(row.page_count),
            ]
        )

    return pdf.RowTable(header, data, widths, commands, row_styles)


class _Fitter:
    """Plain strings where the text fits its column on one line, Paragraphs where it must wrap:
    a Paragraph costs a markup parse and a wrap, which for tens of thousands of rows is most of
    the build time, and most cells are short."""

    def __init__(self, widths: list[float]) -> None:
        self._room = [w - 2 * _PAD for w in widths]

    def __call__(self, column: int, text: str, style: ParagraphStyle) -> object:
        if text.isprintable() and stringWidth(text, pdf.FONT_CONDENSED, _CELL_FONT_SIZE) <= self._room[column]:
            return text
        return Paragraph(pdf.markup(text), style)
