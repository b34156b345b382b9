"""Fixed-layout pages written as raw PDF operators on a reportlab canvas, for documents drawn by the
thousand or inside a request (invoices, confirmation letters): no platypus, and the hot paths skip
what reportlab would redo for every string and every document.

- text goes into one text object per page as raw operators; each string is encoded with one
  `str.translate` against a table fixed at start-up, instead of `drawString`'s per-character
  subset bookkeeping, bidi check and width sum (a string with a character outside the table takes
  reportlab's own `splitString`, so nothing is ever lost);
- every document first assigns the same characters (ASCII and Hungarian's accented letters) the
  same codes, so the embedded font subsets are the same for nearly every document, and the costly
  part of embedding them — cutting the TrueType subset, compressing it, its widths and ToUnicode
  map — is kept in a small cache. The cache changes no byte (a test compares against reportlab's
  own embedding). Each document kind loads the bundled faces it uses once, as font objects of its
  own (`FaceSet`), so no other document's fonts behave differently;
- page contents are deflated only, not also ASCII85-encoded in pure Python as reportlab's default
  would (that alone was a third of an invoice's time);
- a document uses two faces, a regular and a bold: every face embedded is a subset of 12–20 KB
  and work for every document.

A document makes a `Canvas(..., invariant=True, pageCompression=1)`, a `Writer` on it with its
`FaceSet`, calls `new_page()` and draws with `text`/`right`/`rect`/`rule` (coordinates in points,
colours as `rgb()` operands), then `finish()` and `canvas.save()`. Text is wrapped and cut with
`wrap`/`fit`, which measure with the same cached widths.
"""

from __future__ import annotations

import threading
import zlib
from pathlib import Path
from typing import Any

from reportlab.lib.colors import Color, HexColor
from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, SUBSETN, TTFont, makeToUnicodeCMap
from reportlab.pdfgen.canvas import Canvas

from backoffice import pdf

__all__ = [
    "HAIRLINE",
    "INK",
    "MUTED",
    "RULE",
    "SEED",
    "CachedFont",
    "Face",
    "FaceSet",
    "Page",
    "Writer",
    "fit",
    "rgb",
    "wrap",
]


# ---------------------------------------------------------------- fonts

# The characters every document assigns first, in this order (after ASCII, which reportlab puts in
# place itself): Hungarian's accented letters and the typography of dates, periods and amounts.
# They get the same codes in every document, which is what lets strings be encoded by one
# translate table and font subsets be reused. At most 31 (reportlab's codes 1–31).
SEED = "áéíóöőúüűÁÉÍÓÖŐÚÜŰ–—·„”’…€°×äÄ"

_Parts = tuple[bytes, bytes, bytes, int]  # widths array, compressed ToUnicode map, compressed subset, its length
_parts_cache: dict[tuple[str, str, tuple[int, ...]], _Parts] = {}
_PARTS_CACHE_MAX = 64


class CachedFont(TTFont):  # type: ignore[misc]
    """reportlab's TrueType font, with the document-independent part of embedding a subset cached.

    Mirrors `TTFont.addObjects` and `TTFontFace.addSubsetObjects` object for object, so the PDF is
    the same byte for byte (tests check it against the originals)."""

    def addObjects(self, doc: Any) -> None:  # noqa: N802 - reportlab's name
        if not doc.compression:
            super().addObjects(doc)
            return
        state = self.state[doc]
        state.frozen = 1
        face = self.face
        for n, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            base_name = (b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX))).decode("pdfdoc")
            widths, cmap, font_file, length1 = self._parts(doc, base_name, subset)

            font = pdfdoc.PDFTrueTypeFont()
            font.__Comment__ = f"Font {self.fontName} subset {n}"
            font.Name = internal_name
            font.BaseFont = base_name
            font.FirstChar = 0
            font.LastChar = len(subset) - 1
            font.Widths = _Formatted(widths)
            font.ToUnicode = doc.Reference(_compressed(cmap), "toUnicodeCMap:" + base_name)

            file_stream = _compressed(font_file, Length1=length1)
            file_ref = doc.Reference(file_stream, f"fontFile:{face.filename}({base_name})")
            flags = (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
            descriptor = pdfdoc.PDFDictionary(
                {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": flags,
                    "FontBBox": pdfdoc.PDFArray(face.bbox),
                    "FontName": pdfdoc.PDFName(base_name),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "FontFile2": file_ref,
                    "MissingWidth": face.defaultWidth,
                }
            )
            font.FontDescriptor = doc.Reference(descriptor, "fontDescriptor:" + base_name)
            doc.Reference(font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = font
        del self.state[doc]

    def _parts(self, doc: Any, base_name: str, subset: list[int]) -> _Parts:
        # Keyed by the font's own name too: faces of different document kinds share this cache.
        key = (self.fontName, base_name, tuple(subset))
        parts = _parts_cache.get(key)
        if parts is None:
            face = self.face
            widths = pdfdoc.PDFArray([face.getCharWidth(code) for code in subset]).format(doc)
            cmap = zlib.compress(makeToUnicodeCMap(base_name, subset).encode("utf8"))
            raw = face.makeSubset(subset)
            parts = (widths, cmap, zlib.compress(raw), len(raw))
            if len(_parts_cache) >= _PARTS_CACHE_MAX:
                _parts_cache.clear()  # only documents with unusual characters get here; start afresh
            _parts_cache[key] = parts
        return parts


class _Formatted(pdfdoc.PDFObject):  # type: ignore[misc]
    """An object already in its PDF form (a cached widths array)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


def _compressed(content: bytes, **entries: Any) -> Any:
    """A stream whose content is already deflated: reportlab leaves a stream with a Filter alone."""
    dictionary = pdfdoc.PDFDictionary(dict(entries))
    dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
    return pdfdoc.PDFStream(dictionary, content)


class _Widths(dict[str, int]):
    """Advance widths (1/1000 em) by character; characters the face lacks get its default."""

    def __init__(self, font: Any) -> None:
        face = font.face
        super().__init__((chr(code), width) for code, width in face.charWidths.items())
        self.default = face.defaultWidth

    def __missing__(self, char: str) -> int:
        width: int = self.default
        return width


class Face:
    """One typeface: its reportlab font, widths, and the table that encodes a string for the page."""

    __slots__ = ("font", "seed", "table", "widths")

    def __init__(self, name: str, path: Path) -> None:
        # Not registered with pdfmetrics: it would hand back the shared font of the same face
        # (registerFont keeps one font per face name), and nothing here looks fonts up by name.
        self.font = CachedFont(name, str(path), asciiReadable=True)
        self.widths = _Widths(self.font)
        self.seed: list[tuple[int, bytes]] = []
        self.table: dict[int, str | None] = {}

    def start(self, doc: Any) -> str:
        """Assigns the seed characters in `doc` and returns the font's resource name there."""
        seed = self.font.splitString(SEED, doc)
        if not self.table:
            self.seed = seed
            self.table = _encoding_table(self.font.state[doc].assignments)
        elif seed != self.seed:  # pragma: no cover - reportlab changed how it assigns codes
            raise RuntimeError(f"{self.font.fontName}: codes differ between documents")
        name: str = self.font.getSubsetInternalName(0, doc)
        return name

    def width(self, text: str, size: float) -> float:
        return sum(map(self.widths.__getitem__, text)) * size * 0.001


def _encoding_table(assignments: dict[int, int]) -> dict[int, str | None]:
    """`str.translate` table from a character to its escaped code in the page's first subset.

    Characters outside it stay as they are, non-ASCII, which sends the string the slow way."""
    table: dict[int, str | None] = {}
    for code in range(128):
        if 32 <= code < 127:
            table[code] = "\\" + chr(code) if chr(code) in "\\()" else chr(code)
        else:
            table[code] = None  # control characters print nothing…
    table[9] = " "  # …except a tab, which is a space
    table[0xA0] = " "  # a no-break space is printed as a space (reportlab does the same)
    for char in SEED:
        assigned = assignments.get(ord(char))
        if assigned is not None and assigned < 256:
            table[ord(char)] = f"\\{assigned:03o}"
    return table


_CONTROLS: dict[int, str | None] = {code: None for code in (*range(32), 127)} | {9: " "}


class FaceSet:
    """A document kind's regular and bold face: bundled TrueType files (under backoffice/pdf/fonts)
    loaded on first use, once per process, as fonts of that kind's own.

    `prefix` makes the fonts' internal names unique to the kind ("billing-invoice-" gives
    "billing-invoice-DejaVuSansCondensed"), so two kinds with the same file never share a font's
    state or cached subsets by accident."""

    def __init__(self, prefix: str, regular: str, bold: str) -> None:
        self._files = (regular, bold)
        self._prefix = prefix
        self._lock = threading.Lock()
        self._faces: tuple[Face, Face] | None = None

    def faces(self) -> tuple[Face, Face]:
        """(regular, bold); loading a face parses its TrueType file, so it is done once."""
        faces = self._faces
        if faces is None:
            with self._lock:
                faces = self._faces
                if faces is None:
                    regular, bold = (Face(self._prefix + Path(name).stem, pdf.FONT_DIR / name) for name in self._files)
                    faces = self._faces = (regular, bold)
        return faces


# ---------------------------------------------------------------- page drawing


def rgb(color: Color) -> str:
    """A colour as the operands of `rg`/`RG`, worked out once rather than for every string."""
    return f"{color.red:.3f} {color.green:.3f} {color.blue:.3f}"


INK = rgb(pdf.INK)
MUTED = rgb(pdf.MUTED)
RULE = rgb(pdf.RULE)
HAIRLINE = rgb(HexColor("#d5dae0"))  # the light rule between table rows


class Page:
    __slots__ = ("font", "graphics", "ink", "text")

    def __init__(self) -> None:
        self.graphics: list[str] = []
        self.text: list[str] = []
        self.font = ""
        self.ink = ""


class Writer:
    """Collects pages of raw PDF operators: fills and rules first, then one text object on top.

    Pages are kept until `finish()`, so a document can go back over them (`page = pages[i]`) once
    it knows how many there are, e.g. to number them."""

    def __init__(self, canvas: Canvas, faces: FaceSet) -> None:
        self.canvas = canvas
        doc = canvas._doc
        self.doc = doc
        self.regular, self.bold = faces.faces()
        # Fixed order, so that the resource names (/F1 … /F4) are the same in every document.
        self.names = {face: face.start(doc) for face in (self.regular, self.bold)}
        self._tf: dict[tuple[Face, float], str] = {}
        self.pages: list[Page] = []
        self.page = Page()

    def new_page(self) -> None:
        self.page = Page()
        self.pages.append(self.page)

    def text(self, x: float, y: float, text: str, face: Face, size: float, color: str = INK) -> None:
        page = self.page
        out = page.text
        tf = self._tf.get((face, size))
        if tf is None:
            tf = self._tf[(face, size)] = f"{self.names[face]} {size:g} Tf"
        if page.font != tf:
            out.append(tf)
            page.font = tf
        if page.ink != color:
            out.append(f"{color} rg")
            page.ink = color
        encoded = text.translate(face.table)
        if encoded.isascii():
            out.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm ({encoded}) Tj")
            return
        # A character outside the table: reportlab assigns it a code (maybe in another subset).
        out.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm")
        font = face.font
        for subset, chunk in font.splitString(text.translate(_CONTROLS), self.doc):
            escaped = "".join(f"\\{byte:03o}" if byte < 32 or byte > 126 or byte in b"\\()" else chr(byte)
                              for byte in chunk)
            out.append(f"{font.getSubsetInternalName(subset, self.doc)} {size:g} Tf ({escaped}) Tj")
        page.font = ""

    def right(self, x: float, y: float, text: str, face: Face, size: float, color: str = INK) -> None:
        self.text(x - face.width(text, size), y, text, face, size, color)

    def rect(self, x: float, y: float, w: float, h: float, color: str) -> None:
        self.page.graphics.append(f"{color} rg {x:.2f} {y:.2f} {w:.2f} {h:.2f} re f")

    def rule(self, x0: float, x1: float, y: float, color: str = HAIRLINE, weight: float = 0.5) -> None:
        self.page.graphics.append(f"{color} RG {weight:g} w {x0:.2f} {y:.2f} m {x1:.2f} {y:.2f} l S")

    def finish(self) -> None:
        for page in self.pages:
            graphics = "\n".join(page.graphics)
            text = "\n".join(page.text)
            self.canvas.addLiteral(f"q\n{graphics}\nBT\n{text}\nET\nQ")
            self.canvas.showPage()
        # reportlab would wrap each deflated page in ASCII85 (rl_config.useA85), in pure Python: a
        # third of the whole render, for a 7-bit-clean file nobody needs. A page whose Contents is
        # already set is left alone, so give it the deflated stream it would have without ASCII85.
        for page in self.doc.Pages.pages:
            if not page.Contents and isinstance(page.stream, str):
                page.Contents = _compressed(zlib.compress(page.stream.encode("utf8")))


def wrap(text: str, face: Face, size: float, width: float) -> list[str]:
    """Greedy word wrap at spaces (not at no-break spaces); a word wider than the column is cut
    where it must be."""
    if face.width(text, size) <= width:
        return [text]
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if face.width(candidate, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while face.width(word, size) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and face.width(word[:cut], size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines or [""]


def fit(text: str, face: Face, size: float, width: float) -> str:
    """The text cut to the column with an ellipsis (e.g. a usage record's long APN)."""
    if face.width(text, size) <= width:
        return text
    while text and face.width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"
