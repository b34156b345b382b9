"""Agent screens for customers: the customer page, party and billing-account forms, contacts."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.customers import services
from backoffice.customers.models import (
    BillDelivery,
    ConsentKind,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    IdDocumentType,
    PartyKind,
    PaymentMethod,
)
from backoffice.customers.schemas import (
    account_values,
    parse_billing_account,
    parse_contact,
    parse_party,
    parse_version,
    party_values,
)
from backoffice.errors import ConflictError, ValidationFailedError
from backoffice.web.forms import form_data
from backoffice.web.guards import CONTACT_WRITE, CUSTOMER_READ, CUSTOMER_WRITE, roles
from backoffice.web.templating import is_fragment_request, page

CHOICES = {
    "kinds": [k.value for k in PartyKind],
    "id_document_types": [t.value for t in IdDocumentType],
    "bill_deliveries": [d.value for d in BillDelivery],
    "payment_methods": [m.value for m in PaymentMethod],
    "channels": [c.value for c in ContactChannel if c != ContactChannel.SYSTEM],
    "directions": [d.value for d in ContactDirection],
    "outcomes": [o.value for o in ContactOutcome if o != ContactOutcome.DONE],
    "consent_kinds": [k.value for k in ConsentKind],
}


# ---------------------------------------------------------------- party

@get("/customers/new", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def new_party(kind: str = "individual") -> Template:
    kind = kind if kind in CHOICES["kinds"] else "individual"
    return page("customers/party_form.html", values={"kind": kind}, errors={}, party=None, choices=CHOICES)


@post("/customers", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def create_party(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    try:
        party = await services.create_party(db_session, request.user, parse_party(data))
    except ValidationFailedError as exc:
        return page("customers/party_form.html", status=422, values=data, errors=exc.errors, party=None,
                    choices=CHOICES)
    return Redirect(f"/customers/{party.id}", status_code=303)


@get("/customers/{party_id:int}", opt=roles(CUSTOMER_READ), include_in_schema=False)
async def customer_page(party_id: int, db_session: AsyncSession) -> Template:
    view = await services.customer_view(db_session, party_id)
    return page("customers/customer.html", view=view, choices=CHOICES, contact_values={}, contact_errors={})


@get("/customers/{party_id:int}/edit", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def edit_party(party_id: int, db_session: AsyncSession) -> Template:
    party = await services.get_party(db_session, party_id)
    return page("customers/party_form.html", values=party_values(party), errors={}, party=party,
                choices=CHOICES)


@post("/customers/{party_id:int}", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def update_party(party_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    party = await services.get_party(db_session, party_id)
    try:
        version = parse_version(data)
        await services.update_party(db_session, request.user, party_id, parse_party(data), version)
    except ValidationFailedError as exc:
        return page("customers/party_form.html", status=422, values=data, errors=exc.errors, party=party,
                    choices=CHOICES)
    except ConflictError as exc:
        await db_session.rollback()  # show the state as it is now, not as this request left it
        party = await services.get_party(db_session, party_id)
        return page("customers/party_form.html", status=409, values=party_values(party), errors={},
                    party=party, choices=CHOICES, conflict=str(exc.message), mine=data)
    return Redirect(f"/customers/{party_id}", status_code=303)


@post("/customers/{party_id:int}/consents", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def change_consent(party_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    granted = data.get("granted") == "1"
    await services.set_consent(db_session, request.user, party_id, data.get("kind", ""), granted)
    if is_fragment_request(request):
        consents = await services.current_consents(db_session, party_id)
        party = await services.get_party(db_session, party_id)
        return page("customers/_consents.html", party=party, consents=consents, choices=CHOICES)
    return Redirect(f"/customers/{party_id}", status_code=303)


@post("/customers/{party_id:int}/data-sheet", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def issue_data_sheet(party_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    """Print the customer's data sheet; it is registered among their documents and opened."""
    doc = await services.issue_data_sheet(db_session, request.user, party_id, request.app.state.settings.seller_name)
    return Redirect(f"/documents/{doc.id}", status_code=303)


# ---------------------------------------------------------------- billing accounts

@get("/customers/{party_id:int}/accounts/new", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def new_account(party_id: int, db_session: AsyncSession) -> Template:
    party = await services.get_party(db_session, party_id)
    values = {"bill_delivery": "email", "payment_method": "bank_transfer", "name": party.display_name}
    address = next((a for a in party.addresses if a.purpose == "registered"), None)
    if address:
        values.update({k: getattr(address, k) or "" for k in
                       ("postal_code", "locality", "street", "house_number", "floor_door")})
    email = next((cp.value for cp in party.contact_points if cp.kind == "email"), "")
    values["delivery_email"] = email
    return page("customers/account_form.html", party=party, account=None, values=values, errors={},
                choices=CHOICES)


@post("/customers/{party_id:int}/accounts", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def create_account(party_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    party = await services.get_party(db_session, party_id)
    data = await form_data(request)
    try:
        await services.create_billing_account(db_session, request.user, party_id, parse_billing_account(data))
    except ValidationFailedError as exc:
        return page("customers/account_form.html", status=422, party=party, account=None, values=data,
                    errors=exc.errors, choices=CHOICES)
    return Redirect(f"/customers/{party_id}#accounts", status_code=303)


@get("/accounts/{account_id:int}/edit", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def edit_account(account_id: int, db_session: AsyncSession) -> Template:
    account = await services.get_billing_account(db_session, account_id)
    party = await services.get_party(db_session, account.payer_id)
    return page("customers/account_form.html", party=party, account=account, values=account_values(account),
                errors={}, choices=CHOICES)


@post("/accounts/{account_id:int}", opt=roles(CUSTOMER_WRITE), include_in_schema=False)
async def update_account(account_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    account = await services.get_billing_account(db_session, account_id)
    party = await services.get_party(db_session, account.payer_id)
    data = await form_data(request)
    try:
        await services.update_billing_account(
            db_session, request.user, account_id, parse_billing_account(data), parse_version(data)
        )
    except ValidationFailedError as exc:
        return page("customers/account_form.html", status=422, party=party, account=account, values=data,
                    errors=exc.errors, choices=CHOICES)
    except ConflictError as exc:
        await db_session.rollback()  # show the state as it is now, not as this request left it
        account = await services.get_billing_account(db_session, account_id)
        party = await services.get_party(db_session, account.payer_id)
        return page("customers/account_form.html", status=409, party=party, account=account,
                    values=account_values(account), errors={}, choices=CHOICES, conflict=str(exc.message))
    return Redirect(f"/customers/{party.id}#accounts", status_code=303)


# ---------------------------------------------------------------- contact log

@post("/customers/{party_id:int}/contacts", opt=roles(CONTACT_WRITE), include_in_schema=False)
async def record_contact(party_id: int, request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    data = await form_data(request)
    reasons = await services.active_reasons(db_session)
    try:
        await services.record_contact(db_session, request.user, party_id, parse_contact(data, {r.id for r in reasons}))
    except ValidationFailedError as exc:
        view = await services.customer_view(db_session, party_id)
        template = "customers/_contact_panel.html" if is_fragment_request(request) else "customers/customer.html"
        return page(template, status=422, view=view, choices=CHOICES, contact_values=data,
                    contact_errors=exc.errors)
    if is_fragment_request(request):
        view = await services.customer_view(db_session, party_id)
        return page("customers/_contact_panel.html", view=view, choices=CHOICES, contact_values={},
                    contact_errors={}, saved=True)
    return Redirect(f"/customers/{party_id}#timeline", status_code=303)


@get("/customers/{party_id:int}/timeline", opt=roles(CUSTOMER_READ), include_in_schema=False)
async def more_timeline(party_id: int, db_session: AsyncSession, before: int | None = None) -> Template:
    contacts = await services.timeline(db_session, party_id, before_id=before, limit=services.TIMELINE_PAGE + 1)
    return page("customers/_timeline_items.html", party_id=party_id, contacts=contacts[: services.TIMELINE_PAGE],
                has_more=len(contacts) > services.TIMELINE_PAGE)


ROUTES = [
    new_party, create_party, customer_page, edit_party, update_party, change_consent, issue_data_sheet,
    new_account, create_account, edit_account, update_account, record_contact, more_timeline,
]
