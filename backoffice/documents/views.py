"""Agent and records screens: register a document, the intake queue, search, the case and
document pages with the inline viewer, content (logged), void, and the year's register."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import File, Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import clock
from backoffice.documents import services
from backoffice.documents.models import AccessAction, Channel, Direction, Document
from backoffice.documents.schemas import parse_filter, parse_registration
from backoffice.errors import ConflictError, DomainError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg, current_language
from backoffice.text import human_size
from backoffice.web.forms import form_data
from backoffice.web.guards import DOCUMENT_READ, DOCUMENT_VOID, DOCUMENT_WRITE, REGISTER_REPORT, roles
from backoffice.web.templating import is_fragment_request, page

PAGE_SIZE = 50
CHOICES = {
    "directions": [d.value for d in Direction],
    # Generated documents register themselves; people register what arrives or leaves by hand.
    "channels": [c.value for c in Channel if c != Channel.GENERATED],
}


def _max_bytes(request: Request[Any, Any, Any]) -> int:
    return int(request.app.state.settings.max_upload_bytes)


async def _form_context(db_session: AsyncSession, request: Request[Any, Any, Any], **extra: Any) -> dict[str, Any]:
    types = await services.document_types(db_session)
    lang = current_language.get()
    return {
        "types": [(t.code, t.name(lang)) for t in types],
        "choices": CHOICES,
        "max_bytes": _max_bytes(request),
        "max_label": human_size(_max_bytes(request)),
        "now_year": clock.today().year,
        **extra,
    }


# ---------------------------------------------------------------- register

@get("/documents/new", opt=roles(DOCUMENT_WRITE), include_in_schema=False)
async def new_document(
    request: Request[Any, Any, Any], db_session: AsyncSession, party: int | None = None, case: str | None = None
) -> Template:
    values: dict[str, Any] = {"direction": "incoming", "channel": "post",
                              "occurred_at": dt.datetime.now(clock.BUDAPEST).strftime("%Y-%m-%dT%H:%M")}
    customer = None
    if party is not None:
        customer = await services.party_or_none(db_session, party)
        if customer is not None:
            values["customer_number"] = customer.customer_number
    if case:
        values["case_number"] = case[:20]
    return page("documents/register.html", **await _form_context(db_session, request, values=values, errors={},
                                                                  customer=customer))


@post("/documents", opt=roles(DOCUMENT_WRITE), include_in_schema=False)
async def register_document(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    form = await request.form()
    values = {k: v for k in form.keys() if isinstance(v := form.get(k), str)}
    upload = form.get("file")
    errors: dict[str, Any] = {}
    content = b""
    filename = ""
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read()
        filename = upload.filename
    else:
        errors["file"] = Msg(N_("Choose the file to register."))
    status = 422
    duplicate_of: list[str] = []
    try:
        codes = {t.code for t in await services.document_types(db_session)}
        data = parse_registration(values, type_codes=codes)
        if errors:
            raise ValidationFailedError("validation_failed", Msg(N_("Some fields need correcting.")), errors=errors)
        doc = await services.register(db_session, request.user, data, content, filename=filename,
                                      max_bytes=_max_bytes(request))
    except services.DuplicateContentError as exc:
        errors.update(exc.errors)
        duplicate_of = list(exc.current or [])
        status = 409
    except DomainError as exc:
        errors.update(exc.errors or {"file": exc.message})
        status = exc.status
    else:
        return Redirect(f"/documents/{doc.id}", status_code=303)
    if "file" not in errors and content:
        # Browsers cannot refill a file field: say so, rather than letting the file vanish silently.
        errors["file"] = Msg(N_("Choose the file again: a browser does not keep it after a correction."))
    return page("documents/register.html", status=status,
                **await _form_context(db_session, request, values=values, errors=errors, customer=None,
                                      duplicate_of=duplicate_of, chosen=filename))


# ---------------------------------------------------------------- lists

@get("/documents", opt=roles(DOCUMENT_READ), include_in_schema=False)
async def document_list(request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    params = dict(request.query_params)
    flt, errors = parse_filter(params)
    page_number = max(1, min(_int(params.get("page"), 1), 10_000))
    docs, has_more = await services.search_documents(db_session, flt, limit=PAGE_SIZE,
                                                     offset=(page_number - 1) * PAGE_SIZE)
    party = await services.party_or_none(db_session, flt.party_id) if flt.party_id is not None else None
    context = await _form_context(db_session, request, values=params, errors=errors, docs=docs,
                                  has_more=has_more, page_number=page_number, party=party)
    if is_fragment_request(request):
        return page("documents/_list_results.html", **context)
    return page("documents/list.html", **context)


def _int(raw: Any, default: int) -> int:
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return default


@get("/documents/intake", opt=roles(DOCUMENT_WRITE), include_in_schema=False)
async def intake_queue(db_session: AsyncSession) -> Template:
    docs = await services.intake_queue(db_session)
    return page("documents/intake.html", docs=docs, errors={}, values={})


@get("/customers/{party_id:int}/documents", opt=roles(DOCUMENT_READ), include_in_schema=False)
async def customer_documents(party_id: int, db_session: AsyncSession) -> Template:
    """The documents section of the customer page (loaded into it by HTMX)."""
    party = await services.party_or_none(db_session, party_id)
    if party is None:
        raise NotFoundError("customer_not_found", Msg(N_("There is no such customer.")))
    docs = await services.documents_of_party(db_session, party_id, limit=11)
    return page("documents/_customer_documents.html", party=party, docs=docs[:10], has_more=len(docs) > 10)


@get("/documents/cases/{case_id:int}", opt=roles(DOCUMENT_READ), include_in_schema=False)
async def case_page(case_id: int, db_session: AsyncSession) -> Template:
    case = await services.get_case(db_session, case_id)
    party = await services.party_or_none(db_session, case.party_id) if case.party_id else None
    predecessor = await services.case_by_id(db_session, case.predecessor_id)
    return page("documents/case.html", case=case, party=party, predecessor=predecessor)


# ---------------------------------------------------------------- one document

async def _document_context(db_session: AsyncSession, request: Request[Any, Any, Any], doc: Document,
                            **extra: Any) -> dict[str, Any]:
    party = await services.party_or_none(db_session, doc.party_id) if doc.party_id else None
    show_log = request.user.role == "records"
    return {
        "doc": doc,
        "party": party,
        "same_content": await services.same_content(db_session, doc),
        "access": await services.access_entries(db_session, doc.id) if show_log else None,
        "type_name": doc.document_type.name(current_language.get()),
        "errors": {},
        "values": {},
        **extra,
    }


@get("/documents/{document_id:int}", opt=roles(DOCUMENT_READ), include_in_schema=False)
async def document_page(document_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Template:
    doc = await services.get_document(db_session, document_id)
    return page("documents/document.html", **await _document_context(db_session, request, doc))


@get("/documents/{document_id:int}/content", opt=roles(DOCUMENT_READ), include_in_schema=False)
async def document_content(
    document_id: int, request: Request[Any, Any, Any], db_session: AsyncSession, download: bool = False
) -> File:
    action = AccessAction.DOWNLOAD if download else AccessAction.VIEW
    doc, path = await services.open_content(db_session, request.user, document_id, action)
    return File(
        path=path,
        filename=services.download_name(doc),
        media_type=doc.content.media_type,
        content_disposition_type="attachment" if download else "inline",
        # Each view is logged: a cached copy would be a view the log never saw.
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@get("/documents/{document_id:int}/preview", opt=roles(DOCUMENT_READ), include_in_schema=False)
async def document_preview(
    document_id: int, request: Request[Any, Any, Any], db_session: AsyncSession, page_number: int = 1
) -> Response[bytes]:
    """TIFF scans, which browsers cannot show, as a PNG of one page (a logged view)."""
    doc, path = await services.open_content(db_session, request.user, document_id, AccessAction.VIEW)
    png = await services.preview_png(path, doc.content.media_type, page_number)
    return Response(png, media_type="image/png",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@post("/documents/{document_id:int}/void", opt=roles(DOCUMENT_VOID), include_in_schema=False)
async def void_document(document_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    try:
        await services.void(db_session, request.user, document_id, data.get("reason", ""), _version(data))
    except (ValidationFailedError, ConflictError) as exc:
        if isinstance(exc, ConflictError):
            await db_session.rollback()
        doc = await services.get_document(db_session, document_id)
        return page("documents/document.html", status=exc.status,
                    **await _document_context(db_session, request, doc, errors=exc.errors or {"reason": exc.message},
                                              values=data, open_void=True))
    return Redirect(f"/documents/{document_id}", status_code=303)


@post("/documents/{document_id:int}/customer", opt=roles(DOCUMENT_WRITE), include_in_schema=False)
async def link_customer(document_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    back = "/documents/intake" if data.get("from") == "intake" else f"/documents/{document_id}"
    try:
        await services.link_customer(db_session, request.user, document_id, data.get("customer_number", ""),
                                     _version(data))
    except (ValidationFailedError, ConflictError) as exc:
        if isinstance(exc, ConflictError):
            await db_session.rollback()
        errors = exc.errors or {"customer_number": exc.message}
        if data.get("from") == "intake":
            docs = await services.intake_queue(db_session)
            return page("documents/intake.html", status=exc.status, docs=docs,
                        errors={document_id: errors}, values={document_id: data})
        doc = await services.get_document(db_session, document_id)
        return page("documents/document.html", status=exc.status,
                    **await _document_context(db_session, request, doc, errors=errors, values=data))
    return Redirect(back, status_code=303)


def _version(data: dict[str, str]) -> int | None:
    raw = data.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


# ---------------------------------------------------------------- the year's register

@get("/documents/register/{year:int}", opt=roles(REGISTER_REPORT), include_in_schema=False)
async def register_report(year: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[bytes]:
    if not 2000 <= year <= clock.today().year:
        raise NotFoundError("no_register", Msg(N_("There is no register for that year.")))
    pdf = await services.register_report_pdf(db_session, year, request.app.state.settings.seller_name)
    return Response(
        pdf, media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="register-{year}.pdf"', "Cache-Control": "no-store"},
    )


ROUTES = [
    new_document, register_document, document_list, intake_queue, customer_documents, case_page, document_page,
    document_content, document_preview, void_document, link_customer, register_report,
]
