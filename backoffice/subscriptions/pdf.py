"""The confirmation letter (visszaigazolás) every subscription action sends the subscriber: who,
which contract and service, what happens and when, and the one-off fees it brings.

A letter goes out with every agent's action, inside the action's transaction, so it is written
with `backoffice.pdf.direct` (raw PDF operators, a fixed encoding table, cached font subsets:
its docstring says why) rather than `drawString` or platypus: about 1 ms instead of 9. It looks
like the standard documents of `backoffice.pdf` — DejaVu Sans, the header line and the footer of
`PageFurniture` — at the same places. Text is wrapped to its column, and a long letter continues
on further pages, each with the header and a footer that counts the pages ("2 / 3")."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from backoffice import pdf
from backoffice.clock import BUDAPEST
from backoffice.pdf.direct import INK, MUTED, RULE, Face, FaceSet, Writer, wrap


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

# DejaVu Sans and its bold, the faces of backoffice.pdf.FONT and FONT_BOLD (a letter is prose, not
# tables: no condensed face), loaded as the letter's own fonts.
_FACES = FaceSet("subscriptions-letter-", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf")

PAGE_W, PAGE_H = A4
LEFT = pdf.MARGIN_SIDE
RIGHT = PAGE_W - pdf.MARGIN_SIDE
CONTENT = RIGHT - LEFT
TOP = PAGE_H - pdf.MARGIN_TOP
BOTTOM = pdf.MARGIN_BOTTOM
# Where PageFurniture puts the header and footer lines (their baselines).
HEADER_Y = TOP + 7 * mm
FOOTER_Y = pdf.MARGIN_BOTTOM - 9 * mm

RULE_THIN = 0.25
FEE_SHARES = (0.49, 0.17, 0.17, 0.17)  # item, net, VAT, gross


def _lines(text: str, face: Face, size: float, width: float) -> list[str]:
    """The text wrapped to `width`; a newline starts a new line, and an empty text is one empty line
    (it still takes its line's height, as it did with reportlab's simpleSplit)."""
    lines = [line for part in text.split("\n") if part.strip() for line in wrap(part, face, size, width)]
    return lines or [""]


class _Letter:
    """Lays blocks out top to bottom on the writer's pages, starting a new page when a block does
    not fit (unless the page is still empty: a block taller than a page is printed anyway)."""

    def __init__(self, letter: Confirmation, writer: Writer) -> None:
        self.letter = letter
        self.w = writer
        self.y = TOP
        self.new_page()

    def new_page(self) -> None:
        w, letter = self.w, self.letter
        w.new_page()
        w.text(LEFT, HEADER_Y, letter.seller_name, w.bold, SMALL)
        w.right(RIGHT, HEADER_Y, letter.title, w.regular, SMALL)
        w.rule(LEFT, RIGHT, HEADER_Y - 2.2 * mm, RULE, 0.5)
        self.y = TOP

    def room(self, height: float) -> None:
        if self.y - height < BOTTOM and self.y < TOP:
            self.new_page()

    def text(self, lines: list[str], face: Face, size: float, x: float, leading: float = LEADING) -> None:
        """Lines whose first line's top is at the current y (which is left where it was)."""
        y = self.y - size
        for index, line in enumerate(lines):
            self.w.text(x, y - index * leading, line, face, size)

    def paragraph(self, text: str, bold: bool = False, size: float = BODY, gap: float = 2 * mm) -> None:
        face = self.w.bold if bold else self.w.regular
        lines = _lines(text, face, size, CONTENT)
        height = len(lines) * (size * 1.3)
        self.room(height)
        self.text(lines, face, size, LEFT, size * 1.3)
        self.y -= height + gap

    def pairs(self, rows: list[tuple[str, str]]) -> None:
        """Label (bold, capitalised) and value rows, each under a thin rule."""
        w = self.w
        label_w, value_w = CONTENT * 0.32, CONTENT * 0.68
        for label, value in rows:
            label_lines = _lines(label[:1].upper() + label[1:], w.bold, BODY, label_w - 6)
            value_lines = _lines(value or "—", w.regular, BODY, value_w - 4)
            height = max(len(label_lines), len(value_lines)) * LEADING + 5
            self.room(height)
            self.y -= 2
            self.text(label_lines, w.bold, BODY, LEFT + 2)
            self.text(value_lines, w.regular, BODY, LEFT + label_w + 2)
            self.y -= height - 2
            w.rule(LEFT, RIGHT, self.y, RULE, RULE_THIN)

    def fee_table(self, columns: tuple[str, str, str, str], rows: list[tuple[str, str, str, str]]) -> None:
        """The item wrapped in the first column, the amounts right-aligned in the others; the header
        row in bold over a heavier rule."""
        w = self.w
        edges = [LEFT]
        for share in FEE_SHARES:
            edges.append(edges[-1] + CONTENT * share)

        def row(cells: tuple[str, str, str, str], face: Face, weight: float, color: str) -> None:
            name_lines = _lines(cells[0], face, BODY, edges[1] - edges[0] - 4)
            height = len(name_lines) * LEADING + 5
            self.room(height)
            self.y -= 2
            self.text(name_lines, face, BODY, LEFT + 2)
            y = self.y - BODY
            for edge, value in zip(edges[2:], cells[1:], strict=True):
                w.right(edge - 2, y, value, face, BODY)
            self.y -= height - 2
            w.rule(LEFT, RIGHT, self.y, color, weight)

        row(columns, w.bold, 0.6, INK)
        for cells in rows:
            row(cells, w.regular, RULE_THIN, RULE)

    def footers(self, note: str) -> None:
        """The footer of every page, once the number of pages is known."""
        w = self.w
        label = self.letter.page_label or "%(page)s / %(pages)s"
        total = len(w.pages)
        for number, page in enumerate(w.pages, start=1):
            w.page = page
            w.rule(LEFT, RIGHT, FOOTER_Y + 3.5 * mm, RULE, 0.5)
            w.text(LEFT, FOOTER_Y, note, w.regular, 7.5, MUTED)
            w.right(RIGHT, FOOTER_Y, label % {"page": number, "pages": total}, w.regular, 8)


def confirmation(letter: Confirmation, generated_at: dt.datetime) -> bytes:
    """The letter as an A4 PDF; the same letter and time give the same bytes."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(letter.title)
    canvas.setAuthor(letter.seller_name)
    canvas.setCreator("backoffice")
    writer = Writer(canvas, _FACES)
    layout = _Letter(letter, writer)
    layout.paragraph(letter.recipient_name, bold=True, gap=0)
    layout.paragraph(letter.recipient_address, gap=8 * mm)
    layout.paragraph(letter.title, bold=True, size=TITLE, gap=3 * mm)
    layout.pairs(letter.reference)
    layout.y -= 5 * mm
    layout.paragraph(letter.statement)
    if letter.details:
        layout.pairs(letter.details)
    if letter.fees:
        layout.y -= 4 * mm
        layout.paragraph(letter.fee_heading, bold=True, size=HEADING, gap=1.5 * mm)
        layout.fee_table(letter.fee_columns, letter.fees)
    if letter.closing:
        layout.y -= 6 * mm
        layout.paragraph(letter.closing)
    when = generated_at.astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")
    layout.footers(f"{letter.generated_label}: {when}")
    writer.finish()
    canvas.save()
    return buffer.getvalue()
