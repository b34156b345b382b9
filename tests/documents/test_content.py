"""Stored content: named by the SHA-256 of the untouched original, type checked by content,
size limited, duplicates flagged, no orphan file after a failed registration, every view logged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from backoffice.documents import services, storage
from backoffice.documents.models import AccessAction, DocumentAccess, StoredContent
from backoffice.errors import PayloadTooLargeError, ValidationFailedError
from tests.documents.helpers import Maker, make_image, make_pdf, register, registration, registry_state


async def test_content_is_stored_under_its_sha256_and_reads_back_unchanged(maker: Maker, store_root: Path) -> None:
    original = make_pdf("Felmondás", pages=3)
    doc = await register(maker, original)
    digest = hashlib.sha256(original).hexdigest()
    assert (doc.content.algorithm, doc.content.digest) == ("sha256", digest)
    path = store_root / "sha256" / digest[:2] / digest
    assert path.read_bytes() == original
    assert doc.content.size_bytes == len(original) and doc.content.media_type == "application/pdf"
    assert doc.page_count == 3  # counted from the PDF when the form leaves it empty
    assert not list(path.parent.glob(".tmp-*"))  # written to a temporary name, then renamed


@pytest.mark.parametrize(("kind", "media_type", "frames"), [
    ("PNG", "image/png", 1), ("JPEG", "image/jpeg", 1), ("TIFF", "image/tiff", 3),
])
async def test_scans_are_accepted_by_content_with_their_pages(
    maker: Maker, store_root: Path, kind: str, media_type: str, frames: int
) -> None:
    doc = await register(maker, make_image(kind, frames=frames))
    assert doc.content.media_type == media_type and doc.page_count == frames


async def test_a_duplicate_is_flagged_with_the_registry_number_of_the_first(maker: Maker, store_root: Path) -> None:
    content = make_pdf("ugyanaz")
    first = await register(maker, content)
    with pytest.raises(services.DuplicateContentError) as duplicate:
        await register(maker, content)
    assert first.registry_number in str(duplicate.value.message) and duplicate.value.field == "file"
    again = await register(maker, content, allow_duplicate=True)
    assert again.content_id == first.content_id  # the same bytes are stored once
    assert len([p for p in store_root.rglob("*") if p.is_file()]) == 1


BAD_FILES = {
    "empty": b"",
    "exe named pdf": b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode",
    "text": b"Kedves Szolgaltato, ez egy sima szoveg.",
    "truncated pdf": make_pdf("csonka", pages=2)[:-400],
    "pdf header only": b"%PDF-1.4\n%%EOF\n",
    "truncated png": make_image("PNG")[:60],
    "truncated jpeg": make_image("JPEG")[:200],
}


@pytest.mark.parametrize("name", list(BAD_FILES))
async def test_a_bad_file_is_refused_and_nothing_is_registered(maker: Maker, store_root: Path, name: str) -> None:
    before = await registry_state(maker, store_root)
    with pytest.raises(ValidationFailedError) as refused:
        await register(maker, BAD_FILES[name])
    assert refused.value.field == "file" and refused.value.status == 422
    assert await registry_state(maker, store_root) == before


async def test_a_file_over_the_size_limit_is_refused_with_413(maker: Maker, store_root: Path) -> None:
    before = await registry_state(maker, store_root)
    async with maker() as s, s.begin():
        with pytest.raises(PayloadTooLargeError) as refused:
            await services.register(s, None, registration(), make_pdf("nagy") + b"\n" * 2048, max_bytes=1024)
    assert refused.value.status == 413 and refused.value.field == "file"
    assert refused.value.message.params == {"limit": "1 KB"}
    assert await registry_state(maker, store_root) == before


async def test_a_registration_rolled_back_after_storing_leaves_no_orphan_file(maker: Maker, store_root: Path) -> None:
    before = await registry_state(maker, store_root)
    async with maker() as s:
        await s.begin()
        doc = await services.register(s, None, registration(), make_pdf("félbehagyott"))
        assert storage.current().exists(doc.content.digest)  # on disk before the commit
        await s.rollback()
    await services.finish_sweeps()
    assert await registry_state(maker, store_root) == before


async def test_a_rollback_never_removes_content_that_a_committed_document_uses(
    maker: Maker, store_root: Path
) -> None:
    content = make_pdf("közös")
    kept = await register(maker, content)
    async with maker() as s:
        await s.begin()
        await services.register(s, None, registration(allow_duplicate=True), content)
        await s.rollback()
    await services.finish_sweeps()
    assert storage.current().path(kept.content.digest).read_bytes() == content


async def test_every_view_and_download_is_logged(maker: Maker, store_root: Path) -> None:
    doc = await register(maker)
    async with maker() as s, s.begin():
        _, path = await services.open_content(s, None, doc.id, AccessAction.VIEW)
        await services.open_content(s, None, doc.id, AccessAction.DOWNLOAD, via="api")
    assert path.read_bytes()[:5] == b"%PDF-"
    async with maker() as s:
        rows = list(await s.scalars(select(DocumentAccess).order_by(DocumentAccess.id)))
    assert [(r.document_id, r.action, r.via, r.actor_name) for r in rows] == [
        (doc.id, "view", "web", "system"), (doc.id, "download", "api", "system")]


async def test_the_access_log_cannot_be_changed(maker: Maker, store_root: Path) -> None:
    doc = await register(maker)
    async with maker() as s, s.begin():
        await services.open_content(s, None, doc.id, AccessAction.VIEW)
    async with maker() as s:
        await s.begin()
        row = (await s.scalars(select(DocumentAccess))).one()
        row.actor_name = "someone else"
        with pytest.raises(Exception, match="append-only"):
            await s.flush()
        await s.rollback()


async def test_a_file_name_is_kept_for_display_and_never_used_as_a_path(maker: Maker, store_root: Path) -> None:
    async with maker() as s, s.begin():
        doc = await services.register(s, None, registration(), make_pdf("név"), filename="../../etc/passwd\x00.pdf")
    assert doc.original_filename == "passwd_.pdf"
    stored = [p for p in store_root.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [doc.content.digest]
    async with maker() as s:
        assert await s.scalar(select(StoredContent.digest)) == doc.content.digest
