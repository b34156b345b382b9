"""What the document tests share: real files of each accepted type, registration through the
service, and the state of the registry (rows and stored files)."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.documents import services
from backoffice.documents.models import Case, Document, DocumentAccess, StoredContent
from backoffice.documents.schemas import RegistrationInput
from backoffice.numbering import Counter

Maker = async_sessionmaker[AsyncSession]


def make_pdf(text: str = "Tisztelt Ügyfélszolgálat!", pages: int = 1) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for page in range(pages):
        pdf.drawString(72, 770, f"{text} ({page + 1}/{pages})")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_image(kind: str = "PNG", colour: tuple[int, int, int] = (200, 30, 30), frames: int = 1) -> bytes:
    buffer = io.BytesIO()
    images = [Image.new("RGB", (64, 48), (colour[0], colour[1], (colour[2] + 40 * i) % 256)) for i in range(frames)]
    if frames > 1:
        images[0].save(buffer, format=kind, save_all=True, append_images=images[1:])
    else:
        images[0].save(buffer, format=kind)
    return buffer.getvalue()


def registration(**overrides: Any) -> RegistrationInput:
    values: dict[str, Any] = {
        "document_type": "complaint_letter",
        "direction": "incoming",
        "channel": "post",
        "correspondent": "Kovács Éva",
        "subject": "Számlapanasz, 2026. októberi számla",
    }
    values.update(overrides)
    return RegistrationInput(**values)


_letters = itertools.count(1)


async def register(maker: Maker, content: bytes | None = None, **overrides: Any) -> Document:
    """One document registered and committed, as a request would (each with its own letter)."""
    content = make_pdf(f"Levél {next(_letters)}") if content is None else content
    async with maker() as s, s.begin():
        doc = await services.register(s, None, registration(**overrides), content,
                                      filename="levél.pdf")
    return doc


async def registry_state(maker: Maker, store_root: Path) -> dict[str, Any]:
    async with maker() as s:
        return {
            "documents": await s.scalar(select(func.count()).select_from(Document)),
            "cases": await s.scalar(select(func.count()).select_from(Case)),
            "contents": await s.scalar(select(func.count()).select_from(StoredContent)),
            "access": await s.scalar(select(func.count()).select_from(DocumentAccess)),
            "counters": sorted((await s.execute(select(Counter.name, Counter.period, Counter.value))).all()),
            "files": sorted(p.name for p in store_root.rglob("*") if p.is_file()),
        }


async def numbers(maker: Maker) -> list[str]:
    async with maker() as s:
        return list(await s.scalars(select(Document.registry_number).order_by(Document.id)))
