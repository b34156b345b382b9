"""The PDF layer every domain shares: bundled fonts, paragraph styles, page header and footer, deterministic build."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.pagesizes import landscape as _landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, LongTable, PageTemplate, TableStyle

__all__ = [
    "FONT",
    "FONT_BOLD",
    "FONT_CONDENSED",
    "FONT_CONDENSED_BOLD",
    "INK",
    "MUTED",
    "RULE",
    "Command",
    "PageFurniture",
    "RowTable",
    "Styles",
    "build",
    "content_width",
    "markup",
    "numbered_canvas",
    "register_fonts",
    "styles",
]

FONT_DIR = Path(__file__).resolve().parent / "fonts"

# Helvetica (reportlab's built-in) has no ő/ű; DejaVu covers Hungarian and most of Europe.
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_CONDENSED = "DejaVuSansCondensed"
FONT_CONDENSED_BOLD = "DejaVuSansCondensed-Bold"
_FONT_FILES = {
    FONT: "DejaVuSans.ttf",
    FONT_BOLD: "DejaVuSans-Bold.ttf",
    FONT_CONDENSED: "DejaVuSansCondensed.ttf",
    FONT_CONDENSED_BOLD: "DejaVuSansCondensed-Bold.ttf",
}

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#6e6e6e")
RULE = colors.HexColor("#9a9a9a")

MARGIN_SIDE = 14 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 18 * mm

_fonts_lock = threading.Lock()
_fonts_registered = False


def register_fonts() -> None:
    """Registers the bundled DejaVu faces and their families (so `<b>` works); safe to call often."""
    global _fonts_registered
    if _fonts_registered:
        return
    with _fonts_lock:
        if _fonts_registered:
            return
        for name, filename in _FONT_FILES.items():
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
        # No oblique faces are bundled: <i> falls back to upright rather than failing.
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
        pdfmetrics.registerFontFamily(
            FONT_CONDENSED,
            normal=FONT_CONDENSED,
            bold=FONT_CONDENSED_BOLD,
            italic=FONT_CONDENSED,
            boldItalic=FONT_CONDENSED_BOLD,
        )
        _fonts_registered = True


@dataclass(frozen=True)
class Styles:
    """The standard paragraph styles; derive variants with `ParagraphStyle(name, parent=...)`."""

    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_header: ParagraphStyle
    cell_right: ParagraphStyle


def styles() -> Styles:
    """Fresh style objects (ParagraphStyle is mutable, so callers never share one by accident)."""
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, textColor=INK, spaceAfter=4)
    cell = ParagraphStyle("cell", fontName=FONT_CONDENSED, fontSize=7.5, leading=9, textColor=INK, splitLongWords=True)
    return Styles(
        title=ParagraphStyle(
            "title", parent=body, fontName=FONT_BOLD, fontSize=16, leading=20, spaceBefore=0, spaceAfter=6
        ),
        heading=ParagraphStyle(
            "heading", parent=body, fontName=FONT_BOLD, fontSize=11.5, leading=14, spaceBefore=8, spaceAfter=4
        ),
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5, textColor=MUTED, spaceAfter=2),
        cell=cell,
        cell_header=ParagraphStyle("cell_header", parent=cell, fontName=FONT_CONDENSED_BOLD),
        cell_right=ParagraphStyle("cell_right", parent=cell, alignment=TA_RIGHT),
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def markup(text: str) -> str:
    """User text made safe for a Paragraph: `& < >` escaped, control characters dropped, newlines kept."""
    return escape(_CONTROL.sub("", text)).replace("\n", "<br/>")


Command = tuple[Any, ...]


class RowTable(Flowable):
    """A table of any length whose header row repeats on every page, laid out in time linear in
    its rows.

    reportlab's LongTable re-creates the whole remainder at every page break (cell styles for
    every remaining cell), so its time grows with the square of the rows (20,000 register rows:
    42 s, against 15 s this way); this flowable hands the frame one page-sized LongTable at a
    time, built from a window of the rows that is larger than a page. Put it directly in the
    story (not inside KeepTogether or another table): it only ever lays itself out by splitting.

    `style` applies to every page's table as if it held only the header and that page's rows;
    `row_styles[i]` are commands for data row `i` written for row 0 (e.g.
    `("TEXTCOLOR", (0, 0), (-1, 0), MUTED)`), moved onto the row wherever it lands.
    """

    def __init__(
        self,
        header: Sequence[Any],
        rows: Sequence[Sequence[Any]],
        col_widths: Sequence[float],
        style: Sequence[Command] = (),
        row_styles: Mapping[int, Sequence[Command]] | None = None,
        *,
        window: int = 64,
        _start: int = 0,
    ) -> None:
        super().__init__()
        self._header = list(header)
        self._rows = rows
        self._widths = list(col_widths)
        self._style = list(style)
        self._row_styles = row_styles or {}
        self._window = window
        self._start = _start

    def _rest(self, start: int, window: int) -> RowTable:
        return RowTable(
            self._header, self._rows, self._widths, self._style, self._row_styles, window=window, _start=start
        )

    def _table(self, stop: int) -> LongTable:
        commands = list(self._style)
        for index in range(self._start, stop):
            for name, (c0, r0), (c1, r1), *args in self._row_styles.get(index, ()):
                at = index - self._start + 1
                commands.append((name, (c0, r0 + at), (c1, r1 + at), *args))
        data = [self._header, *(list(row) for row in self._rows[self._start : stop])]
        return LongTable(data, colWidths=self._widths, repeatRows=1, style=TableStyle(commands))

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab's names
        # Always "too tall": the frame then calls split(), which lays out the real page.
        return availWidth, availHeight + 1

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        canv = getattr(self, "canv", None)
        if self._start >= len(self._rows):
            return [self._table(self._start)]  # no rows: the header alone
        window = self._window
        while True:
            stop = min(self._start + window, len(self._rows))
            table = self._table(stop)
            parts: list[Flowable] = table.splitOn(canv, availWidth, availHeight)
            if not parts:
                return []  # not even the header and one row fit here: the frame moves to the next page
            if not (len(parts) == 1 and parts[0] is table):
                placed = parts[0]._nrows - 1  # this page's rows, less the header
                # The next page holds about as many: a window a little larger than this page
                # keeps each page's table small without often having to grow it.
                return [parts[0], self._rest(self._start + placed, max(16, placed + placed // 2 + 8))]
            if stop == len(self._rows):
                return [table]
            # The whole window fits: take a bigger one rather than start a second table (and
            # a second header) further down this page.
            window *= 2

    def draw(self) -> None:  # pragma: no cover - never drawn itself: split() hands out real tables
        raise AssertionError("RowTable is laid out through split()")


@dataclass(frozen=True)
class PageFurniture:
    """What is printed on every page: a header line (left, right) and a footer (note, page X of Y).

    `page_label` is a %-format with `page` and `pages`, e.g. "%(page)s / %(pages)s".
    """

    header_left: str
    header_right: str
    footer_note: str
    page_label: str = "%(page)s / %(pages)s"

    def draw(self, canvas: Any, page: int, pages: int) -> None:
        width, height = canvas._pagesize
        left, right = MARGIN_SIDE, width - MARGIN_SIDE
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)

        header_y = height - MARGIN_TOP + 7 * mm
        canvas.setFillColor(INK)
        canvas.setFont(FONT_BOLD, 8.5)
        canvas.drawString(left, header_y, self.header_left)
        canvas.setFont(FONT, 8.5)
        canvas.drawRightString(right, header_y, self.header_right)
        canvas.line(left, header_y - 2.2 * mm, right, header_y - 2.2 * mm)

        footer_y = MARGIN_BOTTOM - 9 * mm
        canvas.line(left, footer_y + 3.5 * mm, right, footer_y + 3.5 * mm)
        canvas.setFillColor(MUTED)
        canvas.setFont(FONT, 7.5)
        canvas.drawString(left, footer_y, self.footer_note)
        canvas.setFillColor(INK)
        canvas.setFont(FONT, 8)
        canvas.drawRightString(right, footer_y, self.page_label % {"page": page, "pages": pages})
        canvas.restoreState()


def numbered_canvas(furniture: PageFurniture) -> type[Canvas]:
    """A canvasmaker that holds every page back until the end, when the page count is known,
    then draws the furniture ("page X of Y") on each page and writes them out."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._held_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            pages = len(self._held_pages)
            for number, state in enumerate(self._held_pages, start=1):
                self.__dict__.update(state)
                furniture.draw(self, number, pages)
                super().showPage()
            super().save()

    return NumberedCanvas


def build(
    story: Sequence[Flowable],
    *,
    title: str,
    author: str,
    header_left: str,
    header_right: str,
    footer_note: str,
    page_label: str = "%(page)s / %(pages)s",
    landscape: bool = False,
    subject: str = "",
) -> bytes:
    """Lays the story out on A4 with the standard header and footer and returns the PDF.

    `invariant=True` fixes the creation date and document id, so the same story gives the same
    bytes: content-addressed storage deduplicates re-generated documents and tests can compare.
    Every text here is shown as given: callers translate (and put any date into the story or note).
    """
    register_fonts()
    buffer = io.BytesIO()
    pagesize = _pagesize(landscape)
    doc = BaseDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN_SIDE,
        rightMargin=MARGIN_SIDE,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        author=author,
        subject=subject,
        creator="backoffice",
        invariant=True,
        initialFontName=FONT,
    )
    # No frame padding: the story lines up with the header and footer rules, and a table
    # `content_width()` wide fits exactly.
    frame = Frame(
        MARGIN_SIDE,
        MARGIN_BOTTOM,
        doc.width,
        doc.height,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], pagesize=pagesize)])
    furniture = PageFurniture(header_left, header_right, footer_note, page_label)
    doc.build(list(story), canvasmaker=numbered_canvas(furniture))
    return buffer.getvalue()


def _pagesize(landscape: bool) -> tuple[float, float]:
    size: tuple[float, float] = _landscape(A4) if landscape else A4
    return size


def content_width(*, landscape: bool = False) -> float:
    """The width (points) the story may use, e.g. to size a full-width table's columns."""
    return float(_pagesize(landscape)[0] - 2 * MARGIN_SIDE)
