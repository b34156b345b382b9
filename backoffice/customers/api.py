"""JSON API for customers, billing accounts and contacts under /api/v1 (same services as the screens)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

from litestar import Controller, Request, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import search as universal_search
from backoffice.customers import services
from backoffice.customers.models import BillingAccount, Contact, Party
from backoffice.customers.schemas import (
    account_values,
    parse_billing_account,
    parse_contact,
    parse_party,
    parse_version,
    party_values,
)
from backoffice.web.guards import CONTACT_WRITE, CUSTOMER_READ, CUSTOMER_WRITE, roles


@dataclass
class PartyBody:
    """A party as sent by a client; every field is text and is validated like the form."""

    kind: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    birth_date: str | None = None
    birth_place: str | None = None
    mother_birth_name: str | None = None
    id_document_type: str | None = None
    id_document_number: str | None = None
    organisation_name: str | None = None
    company_registration_number: str | None = None
    tax_number: str | None = None
    eu_vat_number: str | None = None
    postal_code: str | None = None
    locality: str | None = None
    street: str | None = None
    house_number: str | None = None
    floor_door: str | None = None
    phone: str | None = None
    phone2: str | None = None
    email: str | None = None
    version: int | None = None


@dataclass
class BillingAccountBody:
    name: str | None = None
    bill_delivery: str | None = None
    delivery_email: str | None = None
    payment_method: str | None = None
    iban: str | None = None
    mandate_date: str | None = None
    postal_code: str | None = None
    locality: str | None = None
    street: str | None = None
    house_number: str | None = None
    floor_door: str | None = None
    version: int | None = None


@dataclass
class ContactBody:
    channel: str | None = None
    direction: str | None = None
    reason_id: int | None = None
    outcome: str | None = None
    notes: str | None = None


def _given(body: Any) -> dict[str, Any]:
    """The fields of a create request that carry a value."""
    return {f.name: getattr(body, f.name) for f in fields(body) if getattr(body, f.name) is not None}


async def _patch(request: Request[Any, Any, Any], body: Any) -> dict[str, str]:
    """The fields a PATCH sent, as text: a field sent as null is cleared, one left out is kept."""
    raw = await request.json()
    names = {f.name for f in fields(body)} - {"version"}
    return {k: "" if getattr(body, k) is None else str(getattr(body, k)) for k in raw if k in names}


def party_out(party: Party) -> dict[str, Any]:
    out: dict[str, Any] = {"id": party.id, "customer_number": party.customer_number,
                           "display_name": party.display_name}
    out.update(party_values(party))
    out["version"] = party.version
    out["phones"] = [cp.value for cp in party.contact_points if cp.kind == "phone"]
    out.pop("phone", None)
    out.pop("phone2", None)
    return {k: (v if v != "" else None) for k, v in out.items()}


def _money(value: Decimal) -> str:
    """Always two decimals: a new account's balance is the Python default Decimal("0"), a stored one
    comes back as 0.00, and a client must get the same text for the same amount."""
    return str(Decimal(value).quantize(Decimal("0.01")))


def account_out(account: BillingAccount) -> dict[str, Any]:
    out: dict[str, Any] = {"id": account.id, "account_number": account.account_number, "payer_id": account.payer_id,
                           "balance": _money(account.balance), "is_closed": account.is_closed}
    out.update({k: (v if v != "" else None) for k, v in account_values(account).items()})
    out["version"] = account.version
    return out


def contact_out(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id, "party_id": contact.party_id, "at": contact.at.isoformat(), "channel": contact.channel,
        "direction": contact.direction, "reason": contact.reason.code if contact.reason else None,
        "outcome": contact.outcome, "notes": contact.notes, "staff": contact.staff_name,
        "automatic": contact.automatic, "summary": contact.summary_text() or None,
        "subject_type": contact.subject_type, "subject_id": contact.subject_id,
    }


class CustomerApi(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @get("/", opt=roles(CUSTOMER_READ))
    async def search(self, db_session: AsyncSession, q: str) -> list[dict[str, Any]]:
        """Search customers by name, phone number or customer number (the agents' search)."""
        hits = await universal_search.search(db_session, q)
        return [asdict(h) for h in hits]

    @post("/", opt=roles(CUSTOMER_WRITE))
    async def create(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: PartyBody
    ) -> dict[str, Any]:
        """Create an individual or organisation customer."""
        party = await services.create_party(db_session, request.user, parse_party(_given(data)))
        return party_out(await services.get_party(db_session, party.id))

    @get("/{party_id:int}", opt=roles(CUSTOMER_READ))
    async def read(self, db_session: AsyncSession, party_id: int) -> dict[str, Any]:
        """One customer with address and contact points."""
        return party_out(await services.get_party(db_session, party_id))

    @patch("/{party_id:int}", opt=roles(CUSTOMER_WRITE))
    async def update(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, party_id: int, data: PartyBody
    ) -> dict[str, Any]:
        """Change the fields sent (null clears one); send `version` to be refused (409) if someone
        changed the customer meanwhile."""
        party = await services.get_party(db_session, party_id)
        merged = party_values(party) | await _patch(request, data)
        merged.pop("version", None)
        if data.version is not None:
            merged["version"] = str(data.version)
        await services.update_party(db_session, request.user, party_id, parse_party(merged), parse_version(merged))
        return party_out(await services.get_party(db_session, party_id))

    @get("/{party_id:int}/billing-accounts", opt=roles(CUSTOMER_READ))
    async def accounts(self, db_session: AsyncSession, party_id: int) -> list[dict[str, Any]]:
        """The billing accounts this customer pays."""
        await services.get_party(db_session, party_id)
        return [account_out(a) for a in await services.billing_accounts_of(db_session, party_id)]

    @post("/{party_id:int}/billing-accounts", opt=roles(CUSTOMER_WRITE))
    async def create_account(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, party_id: int, data: BillingAccountBody
    ) -> dict[str, Any]:
        """Open a billing account paid by this customer."""
        account = await services.create_billing_account(
            db_session, request.user, party_id, parse_billing_account(_given(data))
        )
        return account_out(account)

    @get("/{party_id:int}/contacts", opt=roles(CUSTOMER_READ))
    async def contacts(
        self, db_session: AsyncSession, party_id: int, before: int | None = None
    ) -> list[dict[str, Any]]:
        """The contact timeline, newest first, 50 at a time (`before` = the last id seen)."""
        await services.get_party(db_session, party_id)
        return [contact_out(c) for c in await services.timeline(db_session, party_id, before_id=before)]

    @post("/{party_id:int}/contacts", opt=roles(CONTACT_WRITE))
    async def record_contact(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, party_id: int, data: ContactBody
    ) -> dict[str, Any]:
        """Record a customer contact (channel, direction, reason id, outcome, notes)."""
        reasons = await services.active_reasons(db_session)
        contact = await services.record_contact(
            db_session, request.user, party_id, parse_contact(_given(data), {r.id for r in reasons})
        )
        await db_session.refresh(contact, ["reason"])
        return contact_out(contact)


class BillingAccountApi(Controller):
    path = "/api/v1/billing-accounts"
    tags = ["billing-accounts"]

    @get("/{account_id:int}", opt=roles(CUSTOMER_READ))
    async def read(self, db_session: AsyncSession, account_id: int) -> dict[str, Any]:
        """One billing account."""
        return account_out(await services.get_billing_account(db_session, account_id))

    @patch("/{account_id:int}", opt=roles(CUSTOMER_WRITE))
    async def update(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, account_id: int, data: BillingAccountBody
    ) -> dict[str, Any]:
        """Change the fields sent (null clears one); `version` guards against overwriting someone
        else's change."""
        account = await services.get_billing_account(db_session, account_id)
        merged = account_values(account) | await _patch(request, data)
        merged.pop("version", None)
        if data.version is not None:
            merged["version"] = str(data.version)
        updated = await services.update_billing_account(
            db_session, request.user, account_id, parse_billing_account(merged), parse_version(merged)
        )
        return account_out(updated)


class ContactApi(Controller):
    path = "/api/v1/contacts"
    tags = ["contacts"]

    @get("/{contact_id:int}", opt=roles(CUSTOMER_READ))
    async def read(self, db_session: AsyncSession, contact_id: int) -> dict[str, Any]:
        """One contact-log entry."""
        return contact_out(await services.get_contact(db_session, contact_id))

    @get("/reasons", opt=roles(CUSTOMER_READ))
    async def reasons(self, db_session: AsyncSession) -> list[dict[str, Any]]:
        """The active contact reasons (ids to send when recording a contact)."""
        return [{"id": r.id, "code": r.code, "name_hu": r.name_hu, "name_en": r.name_en}
                for r in await services.active_reasons(db_session)]


ROUTES = [CustomerApi, BillingAccountApi, ContactApi]
