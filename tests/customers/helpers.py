"""What the customer tests share: set-up through the services, database state, form parsing."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.audit import AuditEntry
from backoffice.customers import services
from backoffice.customers.models import (
    Address,
    BillingAccount,
    Consent,
    Contact,
    ContactPoint,
    ContactReason,
    Party,
    PartyNameToken,
)
from backoffice.numbering import Counter
from backoffice.staff.services import create_token
from tests.factories import BillingAccountInputFactory, PartyInputFactory

Maker = async_sessionmaker[AsyncSession]

COUNTED = {
    "parties": Party, "addresses": Address, "contact_points": ContactPoint, "name_tokens": PartyNameToken,
    "consents": Consent, "billing_accounts": BillingAccount, "contacts": Contact, "audit": AuditEntry,
}


async def db_state(maker: Maker) -> dict[str, Any]:
    """Row counts, counter values and row versions: equal before and after means nothing changed."""
    async with maker() as s:
        state: dict[str, Any] = {name: await s.scalar(select(func.count()).select_from(model))
                                 for name, model in COUNTED.items()}
        state["counters"] = sorted((await s.execute(select(Counter.name, Counter.value))).all())
        state["party_versions"] = sorted((await s.execute(select(Party.id, Party.version))).all())
        state["account_versions"] = sorted((await s.execute(select(BillingAccount.id, BillingAccount.version))).all())
    return state


async def add_party(maker: Maker, factory: Any = PartyInputFactory, **overrides: Any) -> Party:
    """A customer created through the service, committed (its addresses and contact points loaded)."""
    async with maker() as s, s.begin():
        party = await services.create_party(s, None, factory.build(**overrides))
        party = await services.get_party(s, party.id)
    return party


async def add_account(maker: Maker, payer_id: int, **overrides: Any) -> BillingAccount:
    async with maker() as s, s.begin():
        return await services.create_billing_account(s, None, payer_id, BillingAccountInputFactory.build(**overrides))


async def load_party(maker: Maker, party_id: int) -> Party:
    async with maker() as s:
        return await services.get_party(s, party_id)


async def load_account(maker: Maker, account_id: int) -> BillingAccount:
    async with maker() as s:
        return await services.get_billing_account(s, account_id)


async def audit_rows(maker: Maker, action: str) -> list[AuditEntry]:
    async with maker() as s:
        return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


async def contacts_of(maker: Maker, party_id: int) -> list[Contact]:
    async with maker() as s:
        return list(await s.scalars(select(Contact).where(Contact.party_id == party_id).order_by(Contact.id)))


async def reason(maker: Maker, code: str) -> ContactReason:
    async with maker() as s:
        found = await s.scalar(select(ContactReason).where(ContactReason.code == code))
    assert found is not None, code
    return found


async def api_token(maker: Maker, username: str) -> dict[str, str]:
    """Authorization headers with a fresh bearer token of that staff user."""
    async with maker() as s, s.begin():
        token = await create_token(s, username)
    return {"Authorization": f"Bearer {token}"}


def field_error(page: str, field: str) -> str | None:
    """The message shown beside a form field (`<p class="error" id="e-FIELD">`), or None."""
    match = re.search(rf'<p class="error" id="e-{re.escape(field)}">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)).strip() if match else None


def field_errors(page: str) -> dict[str, str]:
    return {m.group(1): html.unescape(m.group(2)).strip()
            for m in re.finditer(r'<p class="error" id="e-([\w-]+)">(.*?)</p>', page, re.S)}


def input_value(page: str, field: str) -> str | None:
    """What an <input name=FIELD> holds in the rendered form (or the selected option of a select)."""
    match = re.search(rf'<input[^>]*\bname="{re.escape(field)}"[^>]*\bvalue="([^"]*)"', page)
    if match:
        return html.unescape(match.group(1))
    select_match = re.search(rf'<select[^>]*\bname="{re.escape(field)}"[^>]*>(.*?)</select>', page, re.S)
    if select_match:
        option = re.search(r'<option value="([^"]*)"\s*selected', select_match.group(1))
        return html.unescape(option.group(1)) if option else ""
    return None
