"""JSON API for the registry under /api/v1/documents (the same services as the screens)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, fields
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.documents import services
from backoffice.documents.models import AccessAction, Document
from backoffice.documents.schemas import parse_filter, parse_registration
from backoffice.errors import ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.web.guards import DOCUMENT_READ, DOCUMENT_VOID, DOCUMENT_WRITE, roles


@dataclass
class RegisterForm:
    """multipart/form-data: the file and its metadata (the same fields as the screen's form)."""

    file: UploadFile | None = None
    document_type: str | None = None
    direction: str | None = None
    channel: str | None = None
    correspondent: str | None = None
    subject: str | None = None
    occurred_at: str | None = None
    page_count: str | None = None
    customer_number: str | None = None
    case_number: str | None = None
    allow_duplicate: str | None = None


@dataclass
class VoidBody:
    reason: str = ""
    version: int | None = None


@dataclass
class LinkBody:
    customer_number: str = ""
    version: int | None = None


def document_out(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "registry_number": doc.registry_number,
        "case_number": doc.case.number,
        "document_type": doc.document_type.code,
        "direction": doc.direction,
        "channel": doc.channel,
        "correspondent": doc.correspondent,
        "subject": doc.subject,
        "occurred_at": doc.occurred_at.isoformat() if doc.occurred_at else None,
        "page_count": doc.page_count,
        "party_id": doc.party_id,
        "media_type": doc.content.media_type,
        "size_bytes": doc.content.size_bytes,
        "hash_algorithm": doc.content.algorithm,
        "hash": doc.content.digest,
        "original_filename": doc.original_filename or None,
        "registered_at": doc.registered_at.isoformat(),
        "registered_by": doc.registered_by,
        "voided_at": doc.voided_at.isoformat() if doc.voided_at else None,
        "void_reason": doc.void_reason,
        "version": doc.version,
    }


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


class DocumentApi(Controller):
    path = "/api/v1/documents"
    tags = ["documents"]

    @post("/", opt=roles(DOCUMENT_WRITE), status_code=201)
    async def register(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        data: Annotated[RegisterForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> dict[str, Any]:
        """Register a document: `file` plus its metadata. A file already registered is refused
        (409) unless `allow_duplicate` is true; too large → 413; not a PDF/JPEG/PNG/TIFF → 422."""
        values = {f.name: getattr(data, f.name) for f in fields(data)
                  if f.name != "file" and isinstance(getattr(data, f.name), str)}
        registration = parse_registration(values)
        if not isinstance(data.file, UploadFile):
            raise ValidationFailedError("file_required", Msg(N_("Choose the file to register.")), field="file")
        content = await data.file.read()
        doc = await services.register(db_session, request.user, registration, content,
                                      filename=data.file.filename or "",
                                      max_bytes=int(request.app.state.settings.max_upload_bytes))
        return document_out(await services.get_document(db_session, doc.id))

    @get("/", opt=roles(DOCUMENT_READ))
    async def search(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """Search by `registry_number` (whole or a case's prefix), `party` (customer id),
        `customer_number`, `document_type`, `direction`, `date_from`/`date_to` (registration
        date) and `hide_voided`; newest first."""
        params = dict(request.query_params)
        flt, errors = parse_filter(params)
        if errors:
            raise ValidationFailedError("validation_failed", Msg(N_("Some fields need correcting.")), errors=errors)
        if params.get("customer_number"):
            flt.party_id = await services.party_id_by_number(db_session, str(params["customer_number"]))
        docs, has_more = await services.search_documents(db_session, flt, limit=max(1, min(limit, 200)),
                                                         offset=max(0, min(offset, 10_000_000)))
        return {"items": [document_out(d) for d in docs], "has_more": has_more}

    @get("/{document_id:int}", opt=roles(DOCUMENT_READ))
    async def read(self, db_session: AsyncSession, document_id: int) -> dict[str, Any]:
        """One document's metadata."""
        return document_out(await services.get_document(db_session, document_id))

    @get("/{document_id:int}/content", opt=roles(DOCUMENT_READ), media_type="application/octet-stream")
    async def content(self, request: Request[Any, Any, Any], db_session: AsyncSession, document_id: int) -> File:
        """The stored original, byte for byte (logged as a download)."""
        doc, path = await services.open_content(db_session, request.user, document_id, AccessAction.DOWNLOAD,
                                                via="api")
        return File(path=path, filename=services.download_name(doc), media_type=doc.content.media_type,
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                             "Repr-Digest": f"sha-256=:{_b64(doc.content.digest)}:"})

    @post("/{document_id:int}/void", opt=roles(DOCUMENT_VOID), status_code=200)
    async def void(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, document_id: int, data: VoidBody
    ) -> dict[str, Any]:
        """Void the entry with a reason; it keeps its number and content. Send `version` to be
        refused (409) if it changed meanwhile."""
        doc = await services.void(db_session, request.user, document_id, data.reason, data.version)
        return document_out(doc)

    @post("/{document_id:int}/customer", opt=roles(DOCUMENT_WRITE), status_code=200)
    async def link(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, document_id: int, data: LinkBody
    ) -> dict[str, Any]:
        """Link the document to the customer with `customer_number` (the intake queue's action)."""
        doc = await services.link_customer(db_session, request.user, document_id, data.customer_number, data.version)
        return document_out(doc)


ROUTES = [DocumentApi]
