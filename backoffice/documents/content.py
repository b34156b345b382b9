"""What a file really is: its type read from its bytes (never from its name), its page count,
and whether it is whole. Pure functions; the service turns a refusal into a field message."""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError

from backoffice.i18n import N_, Msg

PDF, JPEG, PNG, TIFF = "application/pdf", "image/jpeg", "image/png", "image/tiff"
ACCEPTED = (PDF, JPEG, PNG, TIFF)
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", TIFF: ".tif"}
_PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", TIFF: "TIFF"}

logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged input is refused, not logged as noise


@dataclass(frozen=True)
class ContentInfo:
    media_type: str
    page_count: int | None


class ContentRefused(Exception):  # noqa: N818 - a refusal with a reason, not a programming error
    def __init__(self, code: str, message: Msg) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


def sniff(data: bytes) -> str | None:
    head = data[:1024]
    if head.startswith(b"%PDF-") or (b"%PDF-" in head and not head.startswith(b"MZ")):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    return None


def examine(data: bytes) -> ContentInfo:
    """The file's type and pages, or ContentRefused saying why it cannot be registered."""
    if not data:
        raise ContentRefused("empty_file", Msg(N_("The file is empty.")))
    media_type = sniff(data)
    if media_type is None:
        raise ContentRefused(
            "unsupported_type",
            Msg(N_("This is not a PDF, JPEG, PNG or TIFF file (whatever its name says).")),
        )
    if media_type == PDF:
        return ContentInfo(PDF, _pdf_pages(data))
    return ContentInfo(media_type, _image_pages(data, media_type))


def _pdf_pages(data: bytes) -> int | None:
    if b"%%EOF" not in data[-2048:]:
        raise ContentRefused("truncated_pdf", Msg(N_("The PDF is incomplete: it ends before its last part.")))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                return None  # registered as received; its pages cannot be counted without the password
            pages = len(reader.pages)
    except FileNotDecryptedError:
        return None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            AssertionError, OSError) as exc:
        raise ContentRefused("damaged_pdf", Msg(N_("The PDF is damaged and cannot be read."))) from exc
    if pages < 1:
        raise ContentRefused("damaged_pdf", Msg(N_("The PDF has no pages.")))
    return pages


def _image_pages(data: bytes, media_type: str) -> int:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != _PILLOW_FORMATS[media_type]:
                    raise ContentRefused("damaged_image", Msg(N_("The image is damaged and cannot be read.")))
                frames = int(getattr(image, "n_frames", 1) or 1)
                image.load()  # decodes the pixels: a cut-off scan fails here
    except ContentRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ContentRefused("image_too_large", Msg(N_("The image has too many pixels to be a scan."))) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, KeyError, IndexError) as exc:
        raise ContentRefused("damaged_image", Msg(N_("The image is damaged and cannot be read."))) from exc
    return frames
