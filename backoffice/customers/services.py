"""Every operation on customers, billing accounts and the contact log.

Services never commit: the caller's transaction (one per request, one per batch item) does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.util import identity_key

from backoffice import audit, clock, identifiers
from backoffice.actors import Principal
from backoffice.customers.models import (
    Address,
    BillingAccount,
    Consent,
    ConsentKind,
    Contact,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactPoint,
    ContactReason,
    Party,
    PartyKind,
    PartyNameToken,
    address_line,
)
from backoffice.customers.schemas import BillingAccountInput, ContactInput, PartyInput
from backoffice.db import flush_versioned, storable_id
from backoffice.errors import ConflictError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.numbering import next_value
from backoffice.search import SearchHit
from backoffice.text import normalise

TIMELINE_PAGE = 50
PARTY_AUDIT_FIELDS = [
    "kind", "display_name", "family_name", "given_name", "birth_date", "birth_place",
    "mother_birth_name", "id_document_type", "id_document_number", "organisation_name",
    "company_registration_number", "tax_number", "eu_vat_number",
]


# ---------------------------------------------------------------- names and tokens

def name_tokens(party: Party | PartyInput) -> set[str]:
    parts = [party.family_name, party.given_name, party.organisation_name]
    return {tok[:100] for p in parts if p for tok in normalise(p).split() if tok}


def display_name(data: PartyInput | Party) -> str:
    if data.kind == PartyKind.ORGANISATION:
        return data.organisation_name or ""
    # Hungarian order: family name first.
    return f"{data.family_name} {data.given_name}".strip()


def format_customer_number(value: int) -> str:
    return f"{value:09d}"


# ---------------------------------------------------------------- parties

async def _write_tokens(session: AsyncSession, party: Party) -> None:
    await session.execute(delete(PartyNameToken).where(PartyNameToken.party_id == party.id))
    sort_name = normalise(party.display_name)[:300]
    session.add_all(
        PartyNameToken(token=tok, party_id=party.id, sort_name=sort_name) for tok in sorted(name_tokens(party))
    )


def _apply_contact_points(party: Party, data: PartyInput) -> None:
    wanted = [("phone", p) for p in data.phones] + ([("email", data.email)] if data.email else [])
    existing = {(cp.kind, cp.value): cp for cp in party.contact_points}
    party.contact_points[:] = [existing.get(key) or ContactPoint(kind=key[0], value=key[1]) for key in wanted]


def _apply_address(party: Party, data: PartyInput) -> None:
    if data.address is None:
        return
    current = next((a for a in party.addresses if a.purpose == "registered"), None)
    if current is None:
        current = Address(purpose="registered")
        party.addresses.append(current)
    for key, value in vars(data.address).items():
        setattr(current, key, value)


def party_snapshot(party: Party) -> dict[str, Any]:
    snap = audit.snapshot(party, PARTY_AUDIT_FIELDS)
    snap["addresses"] = [a.one_line() for a in party.addresses]
    snap["contact_points"] = [f"{cp.kind}:{cp.value}" for cp in party.contact_points]
    return snap


async def create_party(session: AsyncSession, actor: Principal | None, data: PartyInput) -> Party:
    number = await next_value(session, "customer_number", start=100000001)
    party = Party(
        customer_number=format_customer_number(number), display_name=display_name(data), **data.party_fields()
    )
    party.addresses = []
    party.contact_points = []
    _apply_address(party, data)
    _apply_contact_points(party, data)
    session.add(party)
    await session.flush()
    await _write_tokens(session, party)
    await audit.record(session, actor, "party.create", "party", party.id, None, party_snapshot(party))
    await log_action(session, actor, party.id, Msg(N_("Customer created")), "party", party.id)
    return party


# The reads of the customer page (and of every action on a customer), composed once: under
# SQLAlchemy 2.1, composing a statement costs more than running these indexed reads.
_PARTY = (select(Party).where(Party.id == bindparam("party_id"))
          # joined, not select-in: one round trip; a party has a handful of addresses and contact points
          .options(joinedload(Party.addresses), joinedload(Party.contact_points)))


async def get_party(session: AsyncSession, party_id: int) -> Party:
    party = None if not storable_id(party_id) else (
        await session.scalars(_PARTY, {"party_id": party_id})).unique().first()
    if party is None:
        raise NotFoundError("party_not_found", Msg(N_("There is no such customer.")))
    return party


def _stale(what: Msg, current: Any = None) -> ConflictError:
    return ConflictError(
        "stale_version",
        Msg(N_("Someone else changed this %(what)s while you were editing. Here is the current state; "
               "make your change again."), what=what),
        current=current,
    )


async def _lock_party(session: AsyncSession, party_id: int) -> None:
    """Serialise changes to one party's dependent rows (PostgreSQL row lock; SQLite's writers
    are serialised by BEGIN IMMEDIATE already)."""
    await session.execute(select(Party.id).where(Party.id == party_id).with_for_update())


def check_version(obj: Any, expected: int | None, what: Msg) -> None:
    if expected is not None and expected != obj.version:
        raise _stale(what, obj)


async def update_party(
    session: AsyncSession, actor: Principal | None, party_id: int, data: PartyInput, expected_version: int | None
) -> Party:
    party = await get_party(session, party_id)
    check_version(party, expected_version, Msg(N_("customer")))
    if data.kind != party.kind:
        raise ValidationFailedError(
            "kind_fixed", Msg(N_("An individual cannot become an organisation or the reverse.")), field="kind"
        )
    before = party_snapshot(party)
    for key, value in data.party_fields().items():
        setattr(party, key, value)
    party.display_name = display_name(data)
    _apply_address(party, data)
    _apply_contact_points(party, data)
    after = party_snapshot(party)
    if before == after:
        return party
    party.updated_at = dt.datetime.now(dt.UTC)
    await flush_versioned(session, _stale(Msg(N_("customer"))))
    await _write_tokens(session, party)
    await audit.record(session, actor, "party.update", "party", party.id, before, after)
    await log_action(session, actor, party.id, Msg(N_("Customer data changed")), "party", party.id)
    return party


# ---------------------------------------------------------------- consents

_CONSENTS = select(Consent).where(Consent.party_id == bindparam("party_id"), Consent.withdrawn_on.is_(None))


async def current_consents(session: AsyncSession, party_id: int) -> dict[str, Consent]:
    rows = await session.scalars(_CONSENTS, {"party_id": party_id})
    return {c.kind: c for c in rows}


async def set_consent(
    session: AsyncSession, actor: Principal | None, party_id: int, kind: str, granted: bool, on: dt.date | None = None
) -> Consent | None:
    if kind not in {k.value for k in ConsentKind}:
        raise ValidationFailedError("unknown_consent", Msg(N_("There is no such consent.")), field="kind")
    await get_party(session, party_id)
    await _lock_party(session, party_id)  # a double click or two agents at once: one open row only
    day = on or clock.today()
    current = (await current_consents(session, party_id)).get(kind)
    if granted and current is None:
        consent = Consent(party_id=party_id, kind=kind, given_on=day)
        session.add(consent)
        await session.flush()
        await audit.record(session, actor, "consent.give", "party", party_id, None, {"kind": kind, "given_on": day})
        await log_action(session, actor, party_id, Msg(N_("Consent given: %(kind)s"), kind=kind), "consent", consent.id)
        return consent
    if not granted and current is not None:
        if day < current.given_on:
            raise ValidationFailedError(
                "withdrawn_before_given", Msg(N_("A consent cannot be withdrawn before it was given.")), field="on"
            )
        current.withdrawn_on = day
        await audit.record(
            session, actor, "consent.withdraw", "party", party_id,
            {"kind": kind, "withdrawn_on": None}, {"kind": kind, "withdrawn_on": day},
        )
        await log_action(
            session, actor, party_id, Msg(N_("Consent withdrawn: %(kind)s"), kind=kind), "consent", current.id
        )
        return current
    return current


# ---------------------------------------------------------------- billing accounts

BA_AUDIT_FIELDS = [
    "name", "bill_delivery", "delivery_email", "payment_method", "iban", "mandate_date",
    "postal_code", "locality", "street", "house_number", "floor_door", "is_closed",
]


def _apply_billing(account: BillingAccount, data: BillingAccountInput) -> None:
    account.name = data.name
    account.bill_delivery = data.bill_delivery
    account.delivery_email = data.delivery_email
    account.payment_method = data.payment_method
    account.iban = data.iban
    account.mandate_date = data.mandate_date
    for key, value in vars(data.address).items():
        setattr(account, key, value)


async def create_billing_account(
    session: AsyncSession, actor: Principal | None, payer_id: int, data: BillingAccountInput
) -> BillingAccount:
    party = await get_party(session, payer_id)
    # Two agents opening accounts for one payer at once must not pick the same next number.
    await _lock_party(session, party.id)
    # Account numbers are the customer number plus a per-payer sequence; they need not be gap-free.
    taken = set(await session.scalars(select(BillingAccount.account_number).where(BillingAccount.payer_id == party.id)))
    seq = len(taken) + 1
    while f"{party.customer_number}-{seq:02d}" in taken:
        seq += 1
    account = BillingAccount(account_number=f"{party.customer_number}-{seq:02d}", payer_id=party.id)
    _apply_billing(account, data)
    session.add(account)
    await session.flush()
    await audit.record(
        session, actor, "billing_account.create", "billing_account", account.id, None,
        audit.snapshot(account, ["account_number", *BA_AUDIT_FIELDS]),
    )
    await log_action(
        session, actor, party.id, Msg(N_("Billing account %(number)s opened"), number=account.account_number),
        "billing_account", account.id,
    )
    return account


async def get_billing_account(session: AsyncSession, account_id: int) -> BillingAccount:
    account = await session.get(BillingAccount, account_id) if storable_id(account_id) else None
    if account is None:
        raise NotFoundError("billing_account_not_found", Msg(N_("There is no such billing account.")))
    return account


async def update_billing_account(
    session: AsyncSession, actor: Principal | None, account_id: int, data: BillingAccountInput,
    expected_version: int | None,
) -> BillingAccount:
    account = await get_billing_account(session, account_id)
    check_version(account, expected_version, Msg(N_("billing account")))
    before = audit.snapshot(account, BA_AUDIT_FIELDS)
    _apply_billing(account, data)
    after = audit.snapshot(account, BA_AUDIT_FIELDS)
    if before == after:
        return account
    await flush_versioned(session, _stale(Msg(N_("billing account"))))
    await audit.record(session, actor, "billing_account.update", "billing_account", account.id, before, after)
    await log_action(
        session, actor, account.payer_id,
        Msg(N_("Billing account %(number)s changed"), number=account.account_number), "billing_account", account.id,
    )
    return account


_ACCOUNTS = (select(BillingAccount).where(BillingAccount.payer_id == bindparam("party_id"))
             .order_by(BillingAccount.account_number))


async def billing_accounts_of(session: AsyncSession, party_id: int) -> list[BillingAccount]:
    return list(await session.scalars(_ACCOUNTS, {"party_id": party_id}))


# ---------------------------------------------------------------- contact log

_ACTIVE_REASONS = (select(ContactReason).where(ContactReason.is_active.is_(True))
                   .order_by(ContactReason.sort_order, ContactReason.code))


async def active_reasons(session: AsyncSession) -> list[ContactReason]:
    return list(await session.scalars(_ACTIVE_REASONS))


async def record_contact(
    session: AsyncSession, actor: Principal, party_id: int, data: ContactInput
) -> Contact:
    await get_party(session, party_id)
    contact = Contact(
        party_id=party_id,
        at=dt.datetime.now(dt.UTC),
        channel=data.channel,
        direction=data.direction,
        reason_id=data.reason_id,
        outcome=data.outcome,
        notes=data.notes,
        staff_id=actor.id,
        staff_name=actor.username,
        automatic=False,
    )
    session.add(contact)
    await session.flush()
    await audit.record(
        session, actor, "contact.record", "contact", contact.id, None,
        audit.snapshot(contact, ["party_id", "channel", "direction", "reason_id", "outcome", "notes"]),
    )
    return contact


_LOG_ACTION: Any = insert(Contact)


async def log_action(
    session: AsyncSession,
    actor: Principal | None,
    party_id: int,
    summary: Msg | str,
    subject_type: str | None = None,
    subject_id: Any = None,
) -> None:
    """The automatic contact-log entry every action writes. The summary is kept as its message
    id and parameters, so each reader sees it in their own language. Written at once, as a plain
    INSERT (like the audit row beside it): nothing reads it back in the same request."""
    msgid, params = (summary.msgid, summary.params) if isinstance(summary, Msg) else (summary, {})
    connection = await session.connection()
    await connection.execute(_LOG_ACTION, {
        "party_id": party_id,
        "at": dt.datetime.now(dt.UTC),
        "channel": ContactChannel.SYSTEM.value,
        "direction": ContactDirection.INTERNAL.value,
        "reason_id": None,
        "outcome": ContactOutcome.DONE.value,
        "notes": "",
        "staff_id": getattr(actor, "id", None),
        "staff_name": getattr(actor, "username", "system"),
        "automatic": True,
        "subject_type": subject_type,
        "subject_id": None if subject_id is None else str(subject_id),
        "summary": msgid[:300],
        "summary_params": params or None,
    })


_TIMELINE = (select(Contact).where(Contact.party_id == bindparam("party_id"))
             .order_by(Contact.at.desc(), Contact.id.desc()).limit(bindparam("limit")))


async def timeline(
    session: AsyncSession, party_id: int, before_id: int | None = None, limit: int = TIMELINE_PAGE
) -> list[Contact]:
    """Newest first; `before_id` is the last contact already shown. The order is (time, id), and
    the next page starts after that pair: ids need not rise with time (back-dated notes, imports)."""
    if before_id is None:  # the first page, on every customer page: composed once
        return list(await session.scalars(_TIMELINE, {"party_id": party_id, "limit": limit}))
    stmt = select(Contact).where(Contact.party_id == party_id)
    if before_id is not None:
        last = (await session.execute(
            select(Contact.at).where(Contact.id == before_id, Contact.party_id == party_id)
        )).scalar_one_or_none() if storable_id(before_id) else None
        if last is None:
            return []
        stmt = stmt.where(or_(Contact.at < last, and_(Contact.at == last, Contact.id < before_id)))
    rows = await session.scalars(stmt.order_by(Contact.at.desc(), Contact.id.desc()).limit(limit))
    return list(rows)


async def get_contact(session: AsyncSession, contact_id: int) -> Contact:
    contact = await session.get(Contact, contact_id) if storable_id(contact_id) else None
    if contact is None:
        raise NotFoundError("contact_not_found", Msg(N_("There is no such contact.")))
    return contact


# ---------------------------------------------------------------- the customer page

@dataclass
class CustomerView:
    party: Party
    consents: dict[str, Consent]
    accounts: list[BillingAccount]
    contacts: list[Contact]
    reasons: list[ContactReason]
    has_more_contacts: bool


async def customer_view(session: AsyncSession, party_id: int) -> CustomerView:
    """Everything the customer page shows, in a fixed number of statements whatever the size."""
    party = await get_party(session, party_id)  # one statement: the party with addresses and contact points
    consents = await current_consents(session, party_id)
    accounts = await billing_accounts_of(session, party_id)
    contacts = await timeline(session, party_id, limit=TIMELINE_PAGE + 1)
    reasons = await active_reasons(session)
    return CustomerView(
        party, consents, accounts, contacts[:TIMELINE_PAGE], reasons, len(contacts) > TIMELINE_PAGE
    )


# ---------------------------------------------------------------- search providers

def _party_hit(party: Any, kind: str, score: int, detail: str) -> SearchHit:
    return SearchHit(kind, party.display_name, detail, f"/customers/{party.id}", score)


# What a hit shows, as plain columns: a search reads twenty rows, not twenty entities.
_HIT_COLUMNS = (
    Party.id, Party.display_name, Party.customer_number,
    Address.postal_code, Address.locality, Address.street, Address.house_number, Address.floor_door,
)


def _hits_select() -> Any:
    """Parties with their registered address beside them, in one statement (add joins and filters)."""
    return select(*_HIT_COLUMNS).select_from(Party).outerjoin(
        Address, and_(Address.party_id == Party.id, Address.purpose == "registered")
    )


async def _parties_with_address(session: AsyncSession, stmt: Any) -> list[tuple[Any, str]]:
    """Runs a `_hits_select`: each party once, in the select's order, with its address line."""
    seen: dict[int, tuple[Any, str]] = {}
    for row in (await session.execute(stmt)).all():
        if row.id not in seen:
            line = address_line(row.postal_code, row.locality, row.street, row.house_number, row.floor_door) \
                if row.street else ""
            seen[row.id] = (row, line)
    return list(seen.values())


def _prefix_range(column: Any, word: str) -> Any:
    """`column` starts with `word`, as a range the index can scan: [word, word with last letter + 1)."""
    return and_(column >= word, column < word[:-1] + chr(ord(word[-1]) + 1))


async def search_by_name(session: AsyncSession, query: str, limit: int) -> list[SearchHit]:
    words = normalise(query).split()
    if not words or not any(ch.isalpha() for ch in query):
        return []
    words = list(dict.fromkeys(words))[:5]
    # The longest word drives: its tokens are walked in (token, name) order straight off the
    # index, and a candidate is kept when every other word starts a word of its normalised name
    # (tested on the same index entry, no further lookup). The first `limit` survivors end the
    # walk, so a common name costs little more than a rare one.
    driver = max(words, key=len)
    t = aliased(PartyNameToken)
    spaced_name = literal(" ") + t.sort_name
    ranked = select(t.party_id, t.token, t.sort_name).where(
        _prefix_range(t.token, driver),
        # normalised words are [a-z0-9] only, so they carry no LIKE wildcard
        *(spaced_name.like(f"% {word}%") for word in words if word != driver),
    )
    # A few spare rows: a party can match the driver with two of its words (dropped below).
    ranked_sub = ranked.order_by(t.token, t.sort_name, t.party_id).limit(limit + 5).subquery()
    stmt = (
        _hits_select()
        .add_columns(ranked_sub.c.sort_name)
        .join(ranked_sub, ranked_sub.c.party_id == Party.id)
        .order_by(ranked_sub.c.token, ranked_sub.c.sort_name, Party.id, Address.id)
    )
    hits = []
    whole_name = {" ".join(words), " ".join(reversed(words))}
    for party, address in await _parties_with_address(session, stmt):
        # a whole-name match first, then names whose words all start as typed, in name order
        score = 60 if party.sort_name in whole_name else 50
        hits.append(_party_hit(party, "name", score, f"{party.customer_number} · {address}"))
    return hits[:limit]


async def search_by_phone(session: AsyncSession, query: str, limit: int) -> list[SearchHit]:
    if sum(ch.isdigit() for ch in query) < 6 or any(ch.isalpha() for ch in query):
        return []
    try:
        e164 = identifiers.phone_e164(query)
    except identifiers.InvalidIdentifierError:
        return []
    stmt = (
        _hits_select().join(ContactPoint, ContactPoint.party_id == Party.id)
        .where(ContactPoint.kind == "phone", ContactPoint.value == e164)
        .order_by(ContactPoint.id, Address.id)
        .limit(limit)
    )
    display = identifiers.phone_display(e164)
    return [
        _party_hit(p, "phone", 90, f"{p.customer_number} · {display} · {address}")
        for p, address in await _parties_with_address(session, stmt)
    ]


async def search_by_customer_number(session: AsyncSession, query: str, limit: int) -> list[SearchHit]:
    text = query.strip()
    if not re.fullmatch(r"[0-9]{9}(-[0-9]{1,3})?", text):
        return []
    number = text.split("-")[0]
    stmt = (
        _hits_select()
        .where(Party.customer_number == number)
        .order_by(Party.id, Address.id)
        .limit(limit)
    )
    hits = [
        _party_hit(p, "customer_number", 100, f"{p.customer_number} · {addr}")
        for p, addr in await _parties_with_address(session, stmt)
    ]
    if "-" in text:
        account = await session.scalar(select(BillingAccount).where(BillingAccount.account_number == text))
        if account is not None:
            hits = [
                SearchHit("account_number", h.label, f"{account.account_number} · {h.detail}", h.url, 100)
                for h in hits
            ]
    return hits


def register_search() -> None:
    from backoffice import search

    search.register("customers.customer_number", search_by_customer_number)
    search.register("customers.phone", search_by_phone)
    search.register("customers.name", search_by_name)


async def party_by_customer_number(session: AsyncSession, number: str) -> Party | None:
    """The party with this customer number (other domains link to customers by it)."""
    return (await session.execute(select(Party).where(Party.customer_number == number))).scalar_one_or_none()


async def party_ids_by_customer_number(session: AsyncSession, numbers: set[str]) -> dict[str, int]:
    """The ids of the parties with these customer numbers (unknown numbers are left out)."""
    if not numbers:
        return {}
    rows = await session.execute(
        select(Party.customer_number, Party.id).where(Party.customer_number.in_(sorted(numbers))))
    return {str(number): int(pid) for number, pid in rows}


async def customer_numbers(session: AsyncSession, party_ids: set[int]) -> dict[int, str]:
    """Customer numbers of many parties (lists and reports of other domains): those the session
    has loaded already from it, the rest in one statement."""
    numbers: dict[int, str] = {}
    loaded = session.sync_session.identity_map
    for pid in party_ids:  # a party the caller has just read needs no statement (a letter to its subscriber)
        party = loaded.get(identity_key(Party, pid))
        if party is not None and "customer_number" in party.__dict__:
            numbers[pid] = party.customer_number
    rest = sorted(party_ids - set(numbers))
    if rest:
        rows = await session.execute(select(Party.id, Party.customer_number).where(Party.id.in_(rest)))
        numbers.update((int(pid), str(number)) for pid, number in rows)
    return numbers


@dataclass(frozen=True)
class Buyer:
    """What an invoice copies about the account it bills: the payer as the bill shows them."""

    account_id: int
    account_number: str
    payer_id: int
    customer_number: str
    name: str
    address: str
    tax_number: str | None
    eu_vat_number: str | None
    payment_method: str


async def buyers(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, Buyer]:
    """The invoice heading of many billing accounts in one statement (the bill run)."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(BillingAccount, Party.customer_number, Party.display_name, Party.tax_number, Party.eu_vat_number)
        .join(Party, Party.id == BillingAccount.payer_id).where(BillingAccount.id.in_(sorted(account_ids))))
    return {
        account.id: Buyer(account.id, account.account_number, account.payer_id, str(number),
                          account.name or str(name), account.address_line(), tax, vat, account.payment_method)
        for account, number, name, tax, vat in rows
    }


async def consenting(session: AsyncSession, party_ids: set[int], kind: str, day: dt.date) -> set[int]:
    """Which of the parties had given the consent `kind` on `day`."""
    if not party_ids:
        return set()
    rows = await session.scalars(select(Consent.party_id).where(
        Consent.party_id.in_(sorted(party_ids)), Consent.kind == kind, Consent.given_on <= day,
        or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > day)))
    return set(rows)


async def add_to_balance(session: AsyncSession, amounts: Mapping[int, decimal.Decimal]) -> None:
    """Add issued invoices' gross to their accounts' balances (positive balance = owed to us)."""
    if amounts:
        table: Any = BillingAccount.__table__  # Core: one UPDATE run for many parameter sets
        await session.execute(
            update(table).where(table.c.id == bindparam("account_id"))
            .values(balance=table.c.balance + bindparam("amount")),
            [{"account_id": k, "amount": v} for k, v in amounts.items()])


# ---------------------------------------------------------------- the data sheet

async def issue_data_sheet(session: AsyncSession, actor: Principal | None, party_id: int, seller_name: str) -> Any:
    """Print what we hold about the customer (in Hungarian, the customer's language) and register
    it as an outgoing confirmation in the customer's documents; returns the registered document."""
    from backoffice.customers.pdf import Section, data_sheet
    from backoffice.documents import services as documents
    from backoffice.i18n import current_language, gettext, label

    party = await get_party(session, party_id)
    consents = await current_consents(session, party_id)
    accounts = await billing_accounts_of(session, party_id)
    token = current_language.set("hu")
    try:
        details: list[tuple[str, str]] = [(gettext(N_("Customer number")), party.customer_number)]
        if party.kind == PartyKind.INDIVIDUAL.value:
            details += [
                (gettext(N_("Name")), f"{party.family_name or ''} {party.given_name or ''}".strip()),
                (gettext(N_("Born")), f"{party.birth_place or ''}, {party.birth_date or ''}".strip(", ")),
                (gettext(N_("Mother's birth name")), party.mother_birth_name or ""),
                (gettext(N_("ID document")), " ".join(filter(None, [
                    label(party.id_document_type) if party.id_document_type else "", party.id_document_number]))),
            ]
        else:
            details += [
                (gettext(N_("Organisation")), party.organisation_name or ""),
                (gettext(N_("Company registration number")), party.company_registration_number or ""),
                (gettext(N_("Tax number")), party.tax_number or ""),
                (gettext(N_("EU VAT number")), party.eu_vat_number or ""),
            ]
        details += [(gettext(N_("Address")), a.one_line()) for a in party.addresses]
        details += [(label(cp.kind), cp.value) for cp in party.contact_points]
        consent_rows = [
            (label(kind.value),
             gettext(N_("given on %(date)s"), date=consents[kind.value].given_on.isoformat())
             if kind.value in consents else gettext(N_("not given")))
            for kind in ConsentKind
        ]
        account_rows = [
            (a.account_number, " · ".join(filter(None, [
                label(a.bill_delivery), a.delivery_email, label(a.payment_method), a.address_line()])))
            for a in accounts
        ]
        title = gettext(N_("Customer data sheet"))
        content = await asyncio.to_thread(
            data_sheet,
            title=title,
            intro=gettext(N_("The data %(seller)s holds about %(name)s on the day this sheet was printed."),
                          seller=seller_name, name=party.display_name),
            sections=[
                Section(gettext(N_("Customer data")), details),
                Section(gettext(N_("Consents")), consent_rows),
                Section(gettext(N_("Billing accounts")), account_rows, gettext(N_("No billing account yet."))),
            ],
            seller_name=seller_name,
            generated_at=dt.datetime.now(dt.UTC),
            generated_label=gettext(N_("Printed")),
            page_label=gettext(N_("%(page)s / %(pages)s")),
        )
    finally:
        current_language.reset(token)
    return await documents.register_outgoing(
        session, actor, pdf=content, document_type="confirmation", recipient=party.display_name,
        subject=f"{title} · {party.customer_number}", party_id=party.id,
        filename=f"adatlap-{party.customer_number}.pdf",
    )
