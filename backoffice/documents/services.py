"""Every operation on the registry: register (incoming, or outgoing from any domain), void, link
to a customer, open content (logged), and the queries the screens and the API read.

Services never commit: the caller's transaction (one per request, one per intake chunk) does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from backoffice import audit, clock
from backoffice.actors import Principal
from backoffice.customers import services as customers
from backoffice.db import WRITE_INTENT, as_loaded, flush_versioned, insert_rows, storable_id, upsert_insert, utcnow
from backoffice.documents import storage
from backoffice.documents.content import ContentRefused, examine
from backoffice.documents.models import (
    AccessAction,
    Case,
    Channel,
    Direction,
    Document,
    DocumentAccess,
    DocumentType,
    StoredContent,
    case_number,
    registry_number,
)
from backoffice.documents.schemas import REGISTRY_NUMBER, DocumentFilter, RegistrationInput
from backoffice.errors import (
    ConflictError,
    DomainError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationFailedError,
)
from backoffice.i18n import N_, Msg, current_language, gettext, label
from backoffice.numbering import reserve_block
from backoffice.search import SearchHit
from backoffice.text import human_size

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# Above this size, hashing and checking a file runs on a worker thread, not the event loop.
_THREAD_THRESHOLD = 512 * 1024

FILE_PLAN: list[tuple[str, str, str]] = [
    ("subscriber_contract", "Előfizetői szerződés", "Subscriber contract"),
    ("id_copy", "Személyazonosító okmány másolata", "ID copy"),
    ("payer_consent", "Számlafizetői hozzájárulás", "Payer consent"),
    ("ownership_transfer", "Átírási nyilatkozat", "Ownership transfer declaration"),
    ("complaint_letter", "Panasz / számlapanasz levél", "Complaint / bill query letter"),
    ("invoice", "Számla", "Invoice"),
    ("credit_note", "Jóváíró számla", "Credit note"),
    ("confirmation", "Visszaigazolás", "Confirmation"),
    ("general_correspondence", "Általános levelezés", "General correspondence"),
    ("disposal_record", "Selejtezési jegyzőkönyv", "Disposal record"),
]


async def seed_file_plan(session: AsyncSession) -> None:
    """The file plan's document types; adds what is missing, changes nothing that exists."""
    existing = set((await session.scalars(select(DocumentType.code))).all())
    for order, (code, name_hu, name_en) in enumerate(FILE_PLAN):
        if code not in existing:
            session.add(DocumentType(code=code, name_hu=name_hu, name_en=name_en, active=True, sort_order=order))
    await session.flush()


async def document_types(session: AsyncSession, active_only: bool = True) -> list[DocumentType]:
    stmt = select(DocumentType).order_by(DocumentType.sort_order, DocumentType.id)
    if active_only:
        stmt = stmt.where(DocumentType.active.is_(True))
    return list(await session.scalars(stmt))


# ---------------------------------------------------------------- registration

class DuplicateContentError(ConflictError):
    """The same bytes are registered already; the form offers to register them again anyway."""


@dataclass(frozen=True)
class Examined:
    digest: str
    media_type: str
    page_count: int | None
    size: int


def examine_content(data: bytes, max_bytes: int) -> Examined:
    """Size, type by content, pages and digest; raises the field error the form shows."""
    if len(data) > max_bytes:
        raise PayloadTooLargeError(
            "file_too_large",
            Msg(N_("The file is larger than the limit of %(limit)s."), limit=human_size(max_bytes)),
            field="file",
        )
    try:
        info = examine(data)
    except ContentRefused as exc:
        raise ValidationFailedError(exc.code, exc.message, field="file") from exc
    return Examined(storage.digest_of(data), info.media_type, info.page_count, len(data))


async def examine_content_async(data: bytes, max_bytes: int) -> Examined:
    if len(data) > _THREAD_THRESHOLD:
        return await asyncio.to_thread(examine_content, data, max_bytes)
    return examine_content(data, max_bytes)


_TYPE_BY_CODE = select(DocumentType).where(DocumentType.code == bindparam("code"), DocumentType.active.is_(True))


async def _type_by_code(session: AsyncSession, code: str) -> DocumentType | None:
    return (await session.execute(_TYPE_BY_CODE, {"code": code})).scalar_one_or_none()


@dataclass
class _Links:
    """What a batch of registrations looked up already: types, customers and cases by their keys."""

    types: dict[str, DocumentType | None] = field(default_factory=dict)
    parties: dict[str, int | None] = field(default_factory=dict)
    cases: dict[tuple[int, int], Case | None] = field(default_factory=dict)


async def _resolve_links(
    session: AsyncSession, data: RegistrationInput, known: _Links | None = None
) -> tuple[DocumentType, int | None, Case | None]:
    known = known or _Links()
    errors: dict[str, Msg | str] = {}
    if data.document_type not in known.types:
        known.types[data.document_type] = await _type_by_code(session, data.document_type)
    doc_type = known.types[data.document_type]
    if doc_type is None:
        errors["document_type"] = Msg(N_("Choose one of the offered values."))
    party_id = None
    if data.customer_number:
        if data.customer_number not in known.parties:
            party = await customers.party_by_customer_number(session, data.customer_number)
            known.parties[data.customer_number] = party.id if party is not None else None
        party_id = known.parties[data.customer_number]
        if party_id is None:
            errors["customer_number"] = Msg(N_("There is no customer with this number."))
    case = None
    if data.case_number:
        year, main = data.case_number
        if data.case_number not in known.cases:
            known.cases[data.case_number] = (await session.execute(
                select(Case).where(Case.year == year, Case.main_number == main)
            )).scalar_one_or_none()
        case = known.cases[data.case_number]
        if case is None:
            errors["case_number"] = Msg(N_("There is no case %(number)s."), number=case_number(year, main))
    if errors:
        raise ValidationFailedError("validation_failed", Msg(N_("Some fields need correcting.")), errors=errors)
    assert doc_type is not None
    return doc_type, party_id, case


async def registry_numbers_with_content(session: AsyncSession, digest: str, limit: int = 5) -> list[str]:
    rows = await session.scalars(
        select(Document.registry_number)
        .join(StoredContent, StoredContent.id == Document.content_id)
        .where(StoredContent.algorithm == storage.ALGORITHM, StoredContent.digest == digest)
        .order_by(Document.id)
        .limit(limit)
    )
    return list(rows)


async def _registry_numbers_with_contents(
    session: AsyncSession, digests: set[str], limit: int = 5
) -> dict[str, list[str]]:
    """`registry_numbers_with_content` for several digests at once."""
    if len(digests) == 1:
        [digest] = digests
        numbers = await registry_numbers_with_content(session, digest, limit)
        return {digest: numbers} if numbers else {}
    found: dict[str, list[str]] = {}
    if not digests:
        return found
    rows = await session.execute(
        select(StoredContent.digest, Document.registry_number)
        .join(StoredContent, StoredContent.id == Document.content_id)
        .where(StoredContent.algorithm == storage.ALGORITHM, StoredContent.digest.in_(sorted(digests)))
        .order_by(Document.id)
    )
    for digest, number in rows:
        numbers = found.setdefault(digest, [])
        if len(numbers) < limit:
            numbers.append(number)
    return found


def _duplicate(numbers: list[str]) -> DuplicateContentError:
    return DuplicateContentError(
        "duplicate_content",
        Msg(N_("This file is already registered as %(numbers)s."), numbers=", ".join(numbers)),
        field="file",
        current=numbers,
    )


@dataclass
class NewDocument:
    """One document for `register_many`: what `register` takes for one."""

    data: RegistrationInput
    content: bytes
    filename: str = ""
    intake_key: str | None = None
    examined: Examined | None = None
    # Off when the action the document confirms writes the customer's contact-log entry itself.
    log_contact: bool = True


async def register(
    session: AsyncSession,
    actor: Principal | None,
    data: RegistrationInput,
    content: bytes,
    *,
    filename: str = "",
    intake_key: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    examined: Examined | None = None,
    log_contact: bool = True,
) -> Document:
    """Register one document: check everything first, then store the bytes (complete on disk
    before the row can commit), number it inside this transaction, audit and log it."""
    [result] = await register_many(
        session, actor, [NewDocument(data, content, filename, intake_key, examined, log_contact)], max_bytes=max_bytes)
    if isinstance(result, DomainError):
        raise result
    return result


@dataclass
class _Checked:
    index: int
    entry: NewDocument
    doc_type: DocumentType
    party_id: int | None
    case: Case | None
    info: Examined


async def register_many(
    session: AsyncSession,
    actor: Principal | None,
    entries: list[NewDocument],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    known_parties: dict[str, int] | None = None,
) -> list[Document | DomainError]:
    """Register documents in the order given, with the checks and numbering of `register` but one
    statement per step for all of them rather than per document (bulk intake registers hundreds
    a minute). A refused entry gets its error in its place and writes nothing; the others are
    registered. An entry whose bytes equal an earlier entry's is a duplicate of that one."""
    results: list[Document | DomainError | None] = [None] * len(entries)
    known = _Links()
    # The customers named, in one statement rather than one per document (`known_parties`: the
    # caller has just looked them up).
    known.parties.update(known_parties or {})
    known.parties.update(await customers.party_ids_by_customer_number(
        session, {e.data.customer_number for e in entries if e.data.customer_number} - set(known.parties)))
    checked: list[_Checked] = []
    for index, entry in enumerate(entries):
        try:
            doc_type, party_id, case = await _resolve_links(session, entry.data, known)
            info = entry.examined or await examine_content_async(entry.content, max_bytes)
        except DomainError as exc:
            results[index] = exc
            continue
        checked.append(_Checked(index, entry, doc_type, party_id, case, info))

    existing = await _registry_numbers_with_contents(
        session, {c.info.digest for c in checked if not c.entry.data.allow_duplicate})
    accepted: list[_Checked] = []
    first_here: dict[str, int] = {}  # digest -> index of the entry registering it in this call
    duplicates_here: list[tuple[int, str]] = []
    for c in checked:
        digest = c.info.digest
        if not c.entry.data.allow_duplicate:
            if existing.get(digest):
                results[c.index] = _duplicate(existing[digest])
                continue
            if digest in first_here:
                duplicates_here.append((c.index, digest))
                continue
        first_here.setdefault(digest, c.index)
        accepted.append(c)

    documents = await _number_and_insert(session, actor, accepted) if accepted else []
    numbers_of: dict[str, list[str]] = {}
    for c, document in zip(accepted, documents, strict=True):
        results[c.index] = document
        numbers_of.setdefault(c.info.digest, []).append(document.registry_number)
    for index, digest in duplicates_here:
        results[index] = _duplicate(numbers_of[digest][:5])
    return [r for r in results if r is not None]


async def _number_and_insert(
    session: AsyncSession, actor: Principal | None, accepted: list[_Checked]
) -> list[Document]:
    stored, writes = await _claim_contents(session, [(c.entry.content, c.info) for c in accepted])
    # Written and fsynced before the rows are inserted, so before anything can commit. (Writing
    # them while the rows are inserted was measured slower: the writer threads and the inserts
    # contend for the interpreter lock.)
    await _write_contents(writes)
    return await _insert_documents(session, actor, accepted, stored)


async def _insert_documents(
    session: AsyncSession, actor: Principal | None, accepted: list[_Checked], stored: dict[str, StoredContent]
) -> list[Document]:
    now = utcnow()
    year = clock.today().year
    opening = [c for c in accepted if c.case is None or c.case.year != year]
    main = await reserve_block(session, "registry", len(opening), str(year)) if opening else 0
    # Cases and documents are written at once (`insert_rows`), not through the session's flush:
    # registering is append-only, and a bill run registers thousands.
    opened_by = getattr(actor, "username", "system")
    cases = await insert_rows(session, Case, [dict(
        year=year, main_number=main + n, subject=c.entry.data.subject[:300], party_id=c.party_id,
        predecessor_id=c.case.id if c.case is not None else None, last_sub_number=1, opened_by=opened_by,
        closed_at=None, created_at=now, updated_at=now) for n, c in enumerate(opening)])
    case_of = {c.index: case for c, case in zip(opening, cases, strict=True)}
    rows = []
    for c in accepted:
        data, info = c.entry.data, c.info
        case = case_of.get(c.index)
        if case is not None:
            sub_number = 1
        else:
            assert c.case is not None
            case = case_of[c.index] = c.case
            sub_number = int((await session.execute(
                update(Case).where(Case.id == case.id)
                .values(last_sub_number=Case.last_sub_number + 1)
                .returning(Case.last_sub_number)
            )).scalar_one())
        rows.append(dict(
            case_id=case.id,
            sub_number=sub_number,
            registry_number=registry_number(case.year, case.main_number, sub_number),
            document_type_id=c.doc_type.id,
            direction=data.direction,
            channel=data.channel,
            correspondent=data.correspondent,
            subject=data.subject,
            occurred_at=data.occurred_at or now,
            page_count=data.page_count or info.page_count,
            party_id=c.party_id,
            content_id=stored[info.digest].id,
            original_filename=_display_filename(c.entry.filename),
            registered_at=now,
            registered_by_id=getattr(actor, "id", None),
            registered_by=getattr(actor, "username", "system"),
            voided_at=None,
            voided_by=None,
            void_reason=None,
            intake_key=c.entry.intake_key,
            created_at=now,
            updated_at=now,
            version=1,
        ))
    documents = await insert_rows(session, Document, rows)
    opened = {id(case) for case in cases}
    audited = []
    for c, document in zip(accepted, documents, strict=True):
        # Its relations set as loaded, not as changes (the rows hold them already).
        case = case_of[c.index]
        set_committed_value(document, "case", case)
        if id(case) in opened:  # a new case's one document
            set_committed_value(case, "documents", [document])
        set_committed_value(document, "document_type", c.doc_type)
        set_committed_value(document, "content", stored[c.info.digest])
        audited.append(("document.registered", "document", document.id, _snapshot(document)))
        if c.party_id is not None and c.entry.log_contact:
            await customers.log_action(
                session, actor, c.party_id,
                Msg(N_("Document %(number)s registered: %(subject)s"), number=document.registry_number,
                    subject=c.entry.data.subject[:120]),
                "document", document.id,
            )
    await audit.record_many(session, actor, audited)
    return documents


async def register_outgoing(
    session: AsyncSession,
    actor: Principal | None,
    *,
    pdf: bytes,
    document_type: str,
    recipient: str,
    subject: str,
    party_id: int | None = None,
    filename: str = "",
    case: str | None = None,
    log_contact: bool = True,
) -> Document:
    """The one call every domain makes for a PDF it generated (confirmation, invoice, letter,
    disposal record): it is registered as outgoing, channel generated, sent now. `log_contact`
    False leaves the customer's contact log to the caller (an action that logs itself)."""
    [document] = await register_outgoing_many(
        session, actor, [OutgoingPdf(pdf, document_type, recipient, subject, party_id, filename, case)],
        log_contact=log_contact)
    return document


@dataclass(frozen=True)
class OutgoingPdf:
    """One generated PDF for `register_outgoing_many`."""

    pdf: bytes
    document_type: str
    recipient: str
    subject: str
    party_id: int | None = None
    filename: str = ""
    case: str | None = None


async def register_outgoing_many(
    session: AsyncSession, actor: Principal | None, items: list[OutgoingPdf], *, log_contact: bool = True,
) -> list[Document]:
    """`register_outgoing` for many PDFs with a statement per step for all of them (a bill run
    files its invoices a chunk at a time). Any refusal refuses the whole call."""
    from backoffice.documents.schemas import parse_case_number

    party_ids = {item.party_id for item in items if item.party_id is not None}
    customer_numbers = await customers.customer_numbers(session, party_ids)
    if party_ids - set(customer_numbers):
        raise NotFoundError("customer_not_found", Msg(N_("There is no such customer.")))
    now = utcnow()
    entries = [
        NewDocument(
            RegistrationInput(
                document_type=item.document_type,
                direction=Direction.OUTGOING.value,
                channel=Channel.GENERATED.value,
                correspondent=item.recipient[:200],
                subject=item.subject[:300],
                occurred_at=now,
                customer_number=customer_numbers.get(item.party_id) if item.party_id is not None else None,
                case_number=parse_case_number(item.case) if item.case else None,
                allow_duplicate=True,  # a regenerated confirmation may equal an earlier one byte for byte
            ),
            item.pdf, item.filename or f"{item.document_type}.pdf", examined=_examined_own_pdf(item.pdf),
            log_contact=log_contact)
        for item in items
    ]
    largest = max((len(item.pdf) for item in items), default=0)
    results = await register_many(session, actor, entries, max_bytes=max(DEFAULT_MAX_BYTES, largest),
                                  known_parties={number: party_id for party_id, number in customer_numbers.items()})
    documents = []
    for result in results:
        if isinstance(result, DomainError):
            raise result
        documents.append(result)
    return documents


_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def _examined_own_pdf(pdf: bytes) -> Examined | None:
    """What examining would find in a PDF this application drew itself, without parsing it: every
    reportlab page is one `/Type /Page` object. None (examine it fully) if it does not look like one."""
    pages = len(_PAGE_OBJECT.findall(pdf))
    if not pdf.startswith(b"%PDF-") or pages < 1 or b"%%EOF" not in pdf[-64:]:
        return None
    return Examined(storage.digest_of(pdf), "application/pdf", pages, len(pdf))


@functools.cache
def _claim_statement(dialect_insert: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the row, in the dialect's form (composed once)."""
    table = StoredContent.__table__
    return (dialect_insert(table).on_conflict_do_nothing(index_elements=["algorithm", "digest"])
            .returning(*table.columns))


async def _claim_contents(
    session: AsyncSession, contents: list[tuple[bytes, Examined]]
) -> tuple[dict[str, StoredContent], list[tuple[str, bytes]]]:
    """The content rows, claimed in this transaction before the files are written: a concurrent
    registration of the same bytes waits on them, and a rollback lets the orphan sweep below
    remove a file that no committed row names. Also the files that must be written."""
    unique = {info.digest: (content, info) for content, info in contents}
    # The rows inserted come back as entities; only bytes stored before need reading.
    rows = [dict(algorithm=storage.ALGORITHM, digest=info.digest, size_bytes=info.size, media_type=info.media_type,
                 location="primary", created_at=utcnow()) for _content, info in unique.values()]
    connection = await session.connection()
    result = await connection.execute(_claim_statement(upsert_insert(session)), rows[0] if len(rows) == 1 else rows)
    claimed = {row.digest: row for row in as_loaded(session, StoredContent, [dict(r) for r in result.mappings()])}
    inserted = set(claimed)
    store = storage.current()
    writes = []
    for digest, (content, _info) in unique.items():
        if digest in inserted:
            _track_new_content(session, digest)
            writes.append((digest, content))
        elif not store.exists(digest):
            writes.append((digest, content))  # a lost file comes back with the same bytes
    earlier = sorted(set(unique) - inserted)
    if earlier:
        claimed.update((row.digest, row) for row in await session.scalars(
            select(StoredContent).where(StoredContent.algorithm == storage.ALGORITHM,
                                        StoredContent.digest.in_(earlier))))
    return claimed, writes


async def _write_contents(writes: list[tuple[str, bytes]]) -> None:
    store = storage.current()
    if writes:
        # Each file is fsynced before its row can commit; several at once let the disk take the
        # flushes together instead of one after another. Even one goes to a thread: the server's
        # event loop serves other requests while the disk flushes.
        results = await asyncio.gather(*(asyncio.to_thread(store.put, digest, content) for digest, content in writes),
                                       return_exceptions=True)
        for outcome in results:
            if isinstance(outcome, BaseException):
                raise outcome


# A file written for a transaction that then rolled back is removed by a sweep that claims its
# digest row first (and so waits for anyone else registering the same bytes), then deletes the
# file only if no committed row names it.
_sweeps: set[asyncio.Task[None]] = set()


def _track_new_content(session: AsyncSession, digest: str) -> None:
    info = session.info
    info.setdefault("documents.new_contents", set()).add(digest)
    if info.get("documents.sweep_hooked"):
        return
    info["documents.sweep_hooked"] = True
    engine = session.bind
    sync_session = session.sync_session

    def _committed(_s: Any) -> None:
        info.pop("documents.new_contents", None)

    def _rolled_back(_s: Any) -> None:
        digests = info.pop("documents.new_contents", None)
        if not digests or not isinstance(engine, AsyncEngine):
            return
        task = asyncio.get_running_loop().create_task(sweep_orphans(engine, sorted(digests)))
        _sweeps.add(task)
        task.add_done_callback(_sweeps.discard)

    event.listen(sync_session, "after_commit", _committed)
    event.listen(sync_session, "after_rollback", _rolled_back)


async def sweep_orphans(engine: AsyncEngine, digests: list[str]) -> None:
    store = storage.current()
    token = WRITE_INTENT.set(True)
    try:
        for digest in digests:
            async with AsyncSession(engine) as session:
                await session.begin()
                claimed = (await session.execute(
                    upsert_insert(session)(StoredContent)
                    .values(algorithm=storage.ALGORITHM, digest=digest, size_bytes=0, media_type="",
                            location="sweep", created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["algorithm", "digest"])
                    .returning(StoredContent.id)
                )).scalar_one_or_none()
                if claimed is not None:
                    store.delete(digest)
                await session.rollback()
    finally:
        WRITE_INTENT.reset(token)


async def finish_sweeps() -> None:
    """Wait for pending orphan sweeps (tests, and the CLI before it exits)."""
    while _sweeps:
        await asyncio.gather(*list(_sweeps), return_exceptions=True)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def _display_filename(name: str) -> str:
    """The name as the sender gave it, for people to read: the last path part, no control
    characters. It is never used to build a path."""
    base = re.split(r"[/\\]", name or "")[-1]
    return _UNSAFE.sub("_", base).strip()[:255]


def _snapshot(doc: Document) -> dict[str, Any]:
    return {
        "registry_number": doc.registry_number,
        "document_type_id": doc.document_type_id,
        "direction": doc.direction,
        "channel": doc.channel,
        "correspondent": doc.correspondent,
        "subject": doc.subject,
        "occurred_at": doc.occurred_at.isoformat() if doc.occurred_at else None,
        "page_count": doc.page_count,
        "party_id": doc.party_id,
        "content_id": doc.content_id,
        "voided": doc.voided_at is not None,
        "void_reason": doc.void_reason,
    }


# ---------------------------------------------------------------- changes after registration

async def get_document(session: AsyncSession, document_id: int) -> Document:
    doc = None
    if storable_id(document_id):
        doc = (await session.execute(
            select(Document).options(joinedload(Document.case)).where(Document.id == document_id)
        )).scalar_one_or_none()
    if doc is None:
        raise NotFoundError("document_not_found", Msg(N_("There is no such document.")))
    return doc


def _stale() -> ConflictError:
    return ConflictError(
        "stale_document",
        Msg(N_("Someone else changed this document after you opened it. Check it and try again.")),
    )


async def void(
    session: AsyncSession, actor: Principal | None, document_id: int, reason: str, version: int | None
) -> Document:
    """A voided entry keeps its number and its content; the reason is recorded."""
    reason = " ".join((reason or "").split())
    if len(reason) < 3:
        raise ValidationFailedError("void_reason_required", Msg(N_("Give the reason for voiding.")), field="reason")
    if len(reason) > 500:
        raise ValidationFailedError("void_reason_too_long", Msg(N_("At most %(max)s characters."), max=500),
                                    field="reason")
    doc = await get_document(session, document_id)
    if version is not None and doc.version != version:
        raise _stale()
    if doc.voided_at is not None:
        raise ConflictError("already_voided", Msg(N_("This document is voided already.")))
    before = _snapshot(doc)
    doc.voided_at = utcnow()
    doc.voided_by = getattr(actor, "username", "system")
    doc.void_reason = reason
    await flush_versioned(session, _stale())
    await audit.record(session, actor, "document.voided", "document", doc.id, before, _snapshot(doc))
    if doc.party_id is not None:
        await customers.log_action(
            session, actor, doc.party_id,
            Msg(N_("Document %(number)s voided: %(reason)s"), number=doc.registry_number, reason=reason[:120]),
            "document", doc.id,
        )
    return doc


async def link_customer(
    session: AsyncSession, actor: Principal | None, document_id: int, customer_number: str, version: int | None
) -> Document:
    """Assign a document from the intake queue to a customer (its case follows if it has none)."""
    number = (customer_number or "").strip()
    if not re.fullmatch(r"[0-9]{9}", number):
        raise ValidationFailedError("bad_customer_number", Msg(N_("A customer number has 9 digits.")),
                                    field="customer_number")
    party = await customers.party_by_customer_number(session, number)
    if party is None:
        raise ValidationFailedError("no_such_customer", Msg(N_("There is no customer with this number.")),
                                    field="customer_number")
    doc = await get_document(session, document_id)
    if version is not None and doc.version != version:
        raise _stale()
    if doc.voided_at is not None:
        raise ConflictError("voided", Msg(N_("A voided document cannot be changed.")))
    before = _snapshot(doc)
    doc.party_id = party.id
    if doc.case.party_id is None:
        doc.case.party_id = party.id
    await flush_versioned(session, _stale())
    await audit.record(session, actor, "document.linked", "document", doc.id, before, _snapshot(doc))
    await customers.log_action(
        session, actor, party.id,
        Msg(N_("Document %(number)s linked to the customer: %(subject)s"), number=doc.registry_number,
            subject=doc.subject[:120]),
        "document", doc.id,
    )
    return doc


async def open_content(
    session: AsyncSession, actor: Principal | None, document_id: int, action: AccessAction, via: str = "web"
) -> tuple[Document, Path]:
    """Every view and download of content goes through here and is logged before it is served."""
    doc = await get_document(session, document_id)
    path = storage.current().path(doc.content.digest)
    if not path.is_file():
        raise NotFoundError("content_missing",
                            Msg(N_("The stored content of this document is missing. Tell the records team.")))
    session.add(DocumentAccess(document_id=doc.id, at=utcnow(), actor_id=getattr(actor, "id", None),
                               actor_name=getattr(actor, "username", "system"), action=action.value, via=via))
    await session.flush()
    return doc, path


def download_name(doc: Document) -> str:
    from backoffice.documents.content import EXTENSIONS

    return doc.registry_number.replace("/", "-") + EXTENSIONS.get(doc.content.media_type, "")


# ---------------------------------------------------------------- reading

async def access_entries(session: AsyncSession, document_id: int, limit: int = 200) -> list[DocumentAccess]:
    rows = await session.scalars(
        select(DocumentAccess).where(DocumentAccess.document_id == document_id)
        .order_by(DocumentAccess.at.desc(), DocumentAccess.id.desc()).limit(limit)
    )
    return list(rows)


async def same_content(session: AsyncSession, doc: Document) -> list[Document]:
    rows = await session.scalars(
        select(Document).where(Document.content_id == doc.content_id, Document.id != doc.id).order_by(Document.id)
    )
    return list(rows)


async def document_by_registry_number(session: AsyncSession, number: str) -> Document | None:
    """The document with this registry number (other domains name signed documents by it)."""
    return (await session.execute(select(Document).where(Document.registry_number == number))).scalar_one_or_none()


async def get_case(session: AsyncSession, case_id: int) -> Case:
    case = None
    if storable_id(case_id):
        case = (await session.execute(
            select(Case).options(selectinload(Case.documents)).where(Case.id == case_id)
        )).scalar_one_or_none()
    if case is None:
        raise NotFoundError("case_not_found", Msg(N_("There is no such case.")))
    return case


async def case_by_id(session: AsyncSession, case_id: int | None) -> Case | None:
    return await session.get(Case, case_id) if case_id is not None else None


async def documents_of_party(session: AsyncSession, party_id: int, limit: int = 10) -> list[Document]:
    rows = await session.scalars(
        select(Document).where(Document.party_id == party_id)
        .order_by(Document.registered_at.desc(), Document.id.desc()).limit(limit)
    )
    return list(rows)


async def intake_queue(session: AsyncSession, limit: int = 100) -> list[Document]:
    """Incoming documents not yet linked to a customer, oldest first."""
    rows = await session.scalars(
        select(Document)
        .where(Document.direction == Direction.INCOMING.value, Document.party_id.is_(None),
               Document.voided_at.is_(None))
        .order_by(Document.registered_at, Document.id).limit(limit)
    )
    return list(rows)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), clock.BUDAPEST).astimezone(dt.UTC)


async def search_documents(
    session: AsyncSession, flt: DocumentFilter, limit: int = 50, offset: int = 0
) -> tuple[list[Document], bool]:
    """Newest first; the second value says whether there are more after this page."""
    stmt = select(Document).options(joinedload(Document.case))
    if flt.registry_number:
        number = flt.registry_number.strip()
        match = REGISTRY_NUMBER.fullmatch(number)
        if match:
            stmt = stmt.where(Document.registry_number == _canonical(match))
        else:
            stmt = stmt.where(Document.registry_number.startswith(_canonical_prefix(number)))
    if flt.party_id is not None:
        stmt = stmt.where(Document.party_id == flt.party_id if storable_id(flt.party_id) else Document.id < 0)
    if flt.document_type:
        stmt = stmt.join(DocumentType, DocumentType.id == Document.document_type_id).where(
            DocumentType.code == flt.document_type)
    if flt.direction:
        stmt = stmt.where(Document.direction == flt.direction)
    if flt.date_from:
        stmt = stmt.where(Document.registered_at >= _day_start(flt.date_from))
    if flt.date_to:
        stmt = stmt.where(Document.registered_at < _day_start(flt.date_to + dt.timedelta(days=1)))
    if not flt.include_voided:
        stmt = stmt.where(Document.voided_at.is_(None))
    rows = list(await session.scalars(
        stmt.order_by(Document.registered_at.desc(), Document.id.desc()).offset(offset).limit(limit + 1)
    ))
    return rows[:limit], len(rows) > limit


def _canonical(match: re.Match[str]) -> str:
    return registry_number(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _canonical_prefix(text: str) -> str:
    """`2026/123` finds the case 2026/000123's documents; `2026/` the year's."""
    match = re.fullmatch(r"(\d{4})/(\d{1,6})-?", text)
    if match:
        return case_number(int(match.group(1)), int(match.group(2))) + "-"
    return text


async def register_of_year(session: AsyncSession, year: int) -> list[Document]:
    """The year's registry in number order: every case of the year and its documents."""
    rows = await session.scalars(
        select(Document).join(Case, Case.id == Document.case_id)
        .options(joinedload(Document.case))
        .where(Case.year == year).order_by(Case.main_number, Document.sub_number)
    )
    return list(rows)


async def party_or_none(session: AsyncSession, party_id: int | None) -> Any:
    """The linked customer, through the customers domain's own loader."""
    if party_id is None or not storable_id(party_id):
        return None
    try:
        return await customers.get_party(session, party_id)
    except NotFoundError:
        return None


async def party_id_by_number(session: AsyncSession, customer_number: str) -> int:
    """The customer's id, or -1 (which matches nothing) when there is no such customer."""
    party = await customers.party_by_customer_number(session, customer_number.strip()[:12])
    return party.id if party is not None else -1


PREVIEW_MAX_PIXELS = 1800


def _render_preview(path: Path, page: int) -> bytes:
    from PIL import Image

    with Image.open(path) as image:
        frames = int(getattr(image, "n_frames", 1) or 1)
        image.seek(max(0, min(page, frames) - 1))
        frame = image.convert("RGB") if image.mode not in ("RGB", "L", "1") else image.copy()
    frame.thumbnail((PREVIEW_MAX_PIXELS, PREVIEW_MAX_PIXELS))
    out = io.BytesIO()
    frame.save(out, format="PNG", optimize=False)
    return out.getvalue()


async def preview_png(path: Path, media_type: str, page: int = 1) -> bytes:
    """A page of a stored image as PNG, for scans the browser cannot show itself (TIFF)."""
    if not media_type.startswith("image/"):
        raise NotFoundError("no_preview", Msg(N_("There is no image preview for this document.")))
    return await asyncio.to_thread(_render_preview, path, page)


def _register_labels() -> Any:
    from backoffice.documents.pdf import RegisterLabels

    return RegisterLabels(
        title=gettext(N_("Register of %(year)s")),
        registry_number=gettext(N_("Registry number")),
        registered_at=gettext(N_("Registered")),
        document_type=gettext(N_("Document type")),
        direction_channel=gettext(N_("Direction / channel")),
        correspondent=gettext(N_("Sender or recipient")),
        subject=gettext(N_("Subject")),
        customer=gettext(N_("Customer")),
        pages=gettext(N_("Pp.")),
        documents_count=gettext(N_("Documents")),
        voided_count=gettext(N_("Voided")),
        cases_count=gettext(N_("Cases")),
        voided=gettext(N_("VOIDED")),
        empty=gettext(N_("The register has no entries.")),
        generated=gettext(N_("Printed")),
        page=gettext(N_("%(page)s / %(pages)s")),
        thousands_separator="\u00a0" if current_language.get() == "hu" else ",",
    )


async def register_report_pdf(session: AsyncSession, year: int, seller_name: str) -> bytes:
    """The year's register (iktatókönyv) as a PDF list, in number order, in the reader's language."""
    from backoffice.documents.pdf import RegisterRow, register_report

    docs = await register_of_year(session, year)
    numbers = await customers.customer_numbers(session, {d.party_id for d in docs if d.party_id is not None})
    lang = current_language.get()
    rows = [
        RegisterRow(
            registry_number=d.registry_number, registered_at=d.registered_at,
            document_type=d.document_type.name(lang), direction=label(d.direction), channel=label(d.channel),
            correspondent=d.correspondent, subject=d.subject,
            customer_number=numbers.get(d.party_id, "") if d.party_id is not None else "",
            page_count=d.page_count, voided=d.voided_at is not None, void_reason=d.void_reason,
        )
        for d in docs
    ]
    return await asyncio.to_thread(register_report, year, rows, seller_name=seller_name, generated_at=utcnow(),
                                   labels=_register_labels())


# ---------------------------------------------------------------- universal search

async def search_by_registry_number(session: AsyncSession, query: str, limit: int) -> list[SearchHit]:
    text = query.strip()
    match = REGISTRY_NUMBER.fullmatch(text)
    if match:
        stmt = select(Document).where(Document.registry_number == _canonical(match))
    elif re.fullmatch(r"\d{4}/\d{1,6}", text):
        stmt = select(Document).where(Document.registry_number.startswith(_canonical_prefix(text)))
    else:
        return []
    docs = list(await session.scalars(stmt.order_by(Document.id).limit(limit)))
    hits = []
    for doc in docs:
        detail = f"{doc.document_type.name(current_language.get())} · {doc.correspondent}"
        hits.append(SearchHit("registry_number", f"{doc.registry_number} · {doc.subject}", detail,
                              f"/documents/{doc.id}", 100))
    return hits


def register_search() -> None:
    from backoffice import search

    search.register("documents.registry_number", search_by_registry_number)
