"""The registry number: main number per case, sub-number per document, gap-free per year,
never reused; voiding keeps the number."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from backoffice import clock
from backoffice.audit import AuditEntry
from backoffice.documents import services
from backoffice.documents.models import Case, Document
from backoffice.errors import ConflictError, ValidationFailedError
from tests.conftest import IS_PG
from tests.customers.helpers import add_party
from tests.documents.helpers import Maker, make_pdf, numbers, register, registration

YEAR = clock.today().year


async def test_each_new_document_opens_a_case_with_the_next_main_number(maker: Maker, store_root: Path) -> None:
    first = await register(maker)
    second = await register(maker)
    assert first.registry_number == f"{YEAR}/000001-1"
    assert second.registry_number == f"{YEAR}/000002-1"


async def test_a_document_filed_in_a_case_takes_the_next_sub_number(maker: Maker, store_root: Path) -> None:
    first = await register(maker)
    reply = await register(maker, case_number=(YEAR, 1), direction="outgoing", channel="post")
    again = await register(maker, case_number=(YEAR, 1))
    assert [reply.registry_number, again.registry_number] == [f"{YEAR}/000001-2", f"{YEAR}/000001-3"]
    assert reply.case_id == first.case_id


async def test_a_case_of_an_earlier_year_continues_under_a_new_main_number(maker: Maker, store_root: Path) -> None:
    async with maker() as s, s.begin():
        old = Case(year=YEAR - 1, main_number=77, subject="Régi ügy", last_sub_number=3, opened_by="records")
        s.add(old)
    doc = await register(maker, case_number=(YEAR - 1, 77))
    assert doc.registry_number == f"{YEAR}/000001-1"
    async with maker() as s:
        case = await s.get(Case, doc.case_id)
        assert case is not None and case.predecessor_id == old.id


async def test_filing_in_an_unknown_case_is_refused_beside_the_field(maker: Maker, store_root: Path) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        await register(maker, case_number=(YEAR, 999))
    assert "case_number" in refused.value.errors
    assert await numbers(maker) == []


async def test_a_rolled_back_registration_gives_its_number_back(maker: Maker, store_root: Path) -> None:
    async with maker() as s:
        await s.begin()
        await services.register(s, None, registration(), make_pdf("abandoned"))
        await s.rollback()
    doc = await register(maker)
    assert doc.registry_number == f"{YEAR}/000001-1"


async def test_concurrent_registrations_are_numbered_without_gaps(maker: Maker, store_root: Path) -> None:
    """Many registrations at once, some into the same case and some failing: the numbers that
    commit are exactly 1..n and every case's sub-numbers are 1..k."""
    await register(maker)  # case 1
    tasks = 24 if IS_PG else 12

    async def one(i: int) -> str | None:
        async with maker() as s:
            await s.begin()
            in_case = (YEAR, 1) if i % 3 == 0 else None
            doc = await services.register(s, None, registration(case_number=in_case), make_pdf(f"letter {i}"))
            if i % 5 == 4:  # this one fails after numbering: its number must be reused, not lost
                await s.rollback()
                return None
            await s.commit()
            return doc.registry_number

    results = await asyncio.gather(*(one(i) for i in range(tasks)))
    committed = [r for r in results if r]
    async with maker() as s:
        rows = (await s.execute(select(Case.main_number, Document.sub_number).join(Document.case))).all()
    mains = sorted({m for m, _ in rows})
    assert mains == list(range(1, len(mains) + 1))
    subs_of_case_1 = sorted(sub for m, sub in rows if m == 1)
    assert subs_of_case_1 == list(range(1, len(subs_of_case_1) + 1))
    assert len(rows) == len(committed) + 1
    assert len(set(await numbers(maker))) == len(rows)


async def test_voiding_keeps_the_number_and_the_content(maker: Maker, store_root: Path) -> None:
    doc = await register(maker)
    async with maker() as s, s.begin():
        voided = await services.void(s, None, doc.id, "Tévesen iktatva, másik ügyfélé", doc.version)
    assert voided.registry_number == doc.registry_number and voided.void_reason == "Tévesen iktatva, másik ügyfélé"
    assert services.storage.current().exists(doc.content.digest)
    after = await register(maker)
    assert after.registry_number == f"{YEAR}/000002-1"  # the voided number is never reused
    async with maker() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "document")))
    assert actions.count("document.voided") == 1


async def test_voiding_needs_a_reason_and_happens_once(maker: Maker, store_root: Path) -> None:
    doc = await register(maker)
    async with maker() as s, s.begin():
        with pytest.raises(ValidationFailedError) as no_reason:
            await services.void(s, None, doc.id, "  ", doc.version)
        assert no_reason.value.field == "reason"
        await services.void(s, None, doc.id, "duplicate scan", doc.version)
    async with maker() as s, s.begin():
        with pytest.raises(ConflictError):
            await services.void(s, None, doc.id, "again", None)


async def test_a_stale_void_is_refused(maker: Maker, store_root: Path) -> None:
    doc = await register(maker)
    async with maker() as s, s.begin():
        with pytest.raises(ConflictError):
            await services.void(s, None, doc.id, "old form", doc.version - 1)


async def test_a_document_linked_to_a_customer_appears_on_the_timeline(maker: Maker, store_root: Path) -> None:
    party = await add_party(maker)
    doc = await register(maker, customer_number=party.customer_number)
    assert doc.party_id == party.id
    from backoffice.customers import services as customers

    async with maker() as s:
        entries = await customers.timeline(s, party.id)
    assert any(e.subject_type == "document" and e.subject_id == str(doc.id) for e in entries)


async def test_the_intake_queue_holds_incoming_documents_without_a_customer(maker: Maker, store_root: Path) -> None:
    party = await add_party(maker)
    loose = await register(maker)
    await register(maker, customer_number=party.customer_number)
    await register(maker, direction="internal", channel="in_person")
    async with maker() as s:
        queue = await services.intake_queue(s)
    assert [d.id for d in queue] == [loose.id]
    async with maker() as s, s.begin():
        await services.link_customer(s, None, loose.id, party.customer_number, loose.version)
    async with maker() as s:
        assert await services.intake_queue(s) == []


async def test_linking_to_an_unknown_customer_is_refused(maker: Maker, store_root: Path) -> None:
    doc = await register(maker)
    async with maker() as s, s.begin():
        with pytest.raises(ValidationFailedError) as refused:
            await services.link_customer(s, None, doc.id, "999999999", doc.version)
    assert refused.value.field == "customer_number"
