"""Realistic Hungarian demo customers (Faker's hu_HU name and place lists), same data for the same seed.

Rows go in with plain multi-row Core INSERTs (no RETURNING, party ids allocated up front), a chunk
per transaction, so 100,000 customers take well under a minute.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from faker.providers.address.hu_HU import Provider as HuAddress
from faker.providers.person.hu_HU import Provider as HuPerson
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stdnum.hu import anum

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
from backoffice.customers.services import format_customer_number
from backoffice.db import transaction
from backoffice.numbering import reserve_block
from backoffice.text import fold, normalise

# Faker's hu_HU names carry their real frequencies (Nagy, Kovács, Tóth... first), so weight by them.
LAST_NAMES = list(HuPerson.last_names)
LAST_WEIGHTS = list(HuPerson.last_names.values())
MALE = list(HuPerson.first_names_male)
MALE_WEIGHTS = list(HuPerson.first_names_male.values())
FEMALE = list(HuPerson.first_names_female)
FEMALE_WEIGHTS = list(HuPerson.first_names_female.values())
CITIES = list(HuAddress.real_city_names)
STREETS = list(HuAddress.frequent_street_names)
STREET_KINDS = ["utca", "utca", "utca", "út", "tér", "körút", "sor", "köz"]
BUDAPEST_DISTRICTS = ["I.", "II.", "III.", "IV.", "V.", "VI.", "VII.", "VIII.", "IX.", "X.", "XI.", "XII.", "XIII.",
                      "XIV.", "XV.", "XVI.", "XVII.", "XVIII.", "XIX.", "XX.", "XXI.", "XXII.", "XXIII."]
COMPANY_WORDS = ["Dunai", "Alföldi", "Bakonyi", "Tisza", "Mátra", "Balaton", "Pannon", "Kárpát", "Hungária", "Zemplén"]
COMPANY_TRADES = ["Építő", "Kereskedelmi", "Szolgáltató", "Informatikai", "Logisztikai", "Mezőgazdasági",
                  "Vendéglátó", "Gépészeti", "Tanácsadó", "Nyomdaipari"]
COMPANY_FORMS = [("Kft.", "09"), ("Kft.", "09"), ("Bt.", "06"), ("Zrt.", "10")]
MOBILE_PREFIXES = ["20", "30", "70"]
EMAIL_DOMAINS = ["gmail.com", "freemail.hu", "citromail.hu"]
ID_LETTERS = "ABCDEFGHJKLMNPRSTUVZ"
CHANNELS = ["phone", "phone", "email", "chat"]
OUTCOMES = ["resolved", "information_given", "follow_up"]
CONTACTS_PER_PARTY = (0, 1, 1, 2, 3)
CONSENT_SHARES = (("marketing", 0.4), ("directory_listing", 0.2), ("itemised_bill", 0.5))
CHUNK = 10000

# Every row of a table carries the same keys, so each chunk is one executemany per table.
PARTY_NULLS = dict.fromkeys([
    "family_name", "given_name", "birth_date", "birth_place", "mother_birth_name", "id_document_type",
    "id_document_number", "organisation_name", "company_registration_number", "tax_number", "eu_vat_number",
])


@lru_cache(maxsize=4096)
@lru_cache(maxsize=4096)
def _words(part: str) -> tuple[str, ...]:
    return tuple(normalise(part).split())


def _tax_number(rng: random.Random) -> str:
    core = str(rng.randint(1000000, 9999999))
    check = (10 - anum.checksum(core + "0")) % 10  # the eighth digit makes the weighted sum end in 0
    return f"{core}{check}-{rng.choice('2222223')}-{rng.randint(2, 44):02d}"


def _address(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.3:
        district = rng.randrange(len(BUDAPEST_DISTRICTS))
        locality, postal = f"Budapest {BUDAPEST_DISTRICTS[district]}", f"1{district + 1:02d}{rng.randrange(10)}"
    else:
        locality, postal = rng.choice(CITIES[1:]), str(rng.randint(2000, 9985))
    floor_door = f"{rng.randint(1, 10)}. em. {rng.randint(1, 40)}." if rng.random() < 0.35 else None
    return {
        "postal_code": postal, "locality": locality,
        "street": f"{rng.choice(STREETS)} {rng.choice(STREET_KINDS)}",
        "house_number": str(rng.randint(1, 180)), "floor_door": floor_door,
    }


def _person(rng: random.Random, family: str, given: str, mother: str) -> dict[str, Any]:
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 65 + 1))
    return {
        **PARTY_NULLS,
        "kind": "individual", "family_name": family, "given_name": given, "display_name": f"{family} {given}",
        "birth_date": birth, "birth_place": rng.choice(CITIES), "mother_birth_name": mother,
        "id_document_type": "id_card",
        "id_document_number": f"{rng.randint(100000, 999999)}{rng.choice(ID_LETTERS)}{rng.choice(ID_LETTERS)}",
    }


def _organisation(rng: random.Random) -> dict[str, Any]:
    form, form_code = rng.choice(COMPANY_FORMS)
    name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)} {form}"
    tax = _tax_number(rng)
    return {
        **PARTY_NULLS,
        "kind": "organisation", "organisation_name": name, "display_name": name,
        "company_registration_number": f"{rng.randint(1, 20):02d}-{form_code}-{rng.randint(100000, 999999)}",
        "tax_number": tax, "eu_vat_number": f"HU{tax[:8]}" if rng.random() < 0.5 else None,
    }


async def _allocate_party_ids(session: AsyncSession, count: int) -> list[int]:
    """Ids for a chunk of parties, taken so that no concurrent writer can get the same ones."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        # Drawn from the column's own sequence, so the sequence stays ahead of every id we use.
        rows = await session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('parties', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        )
        return sorted(int(i) for i in rows)
    # SQLite: `transaction()` began with BEGIN IMMEDIATE, so this transaction holds the write lock
    # until it commits and max(id) + 1... are exactly the ids SQLite itself would hand out.
    top = await session.scalar(select(func.coalesce(func.max(Party.id), 0)))
    return list(range(int(top or 0) + 1, int(top or 0) + 1 + count))


def _chunk_rows(
    rng: random.Random, party_ids: list[int], first_number: int, now: dt.datetime, reason_ids: list[int],
) -> dict[Any, list[dict[str, Any]]]:
    """Every row of one chunk; names are drawn for the whole chunk at once (weighted, fewer calls)."""
    n = len(party_ids)
    families = rng.choices(LAST_NAMES, LAST_WEIGHTS, k=n)
    males = rng.choices(MALE, MALE_WEIGHTS, k=n)
    females = rng.choices(FEMALE, FEMALE_WEIGHTS, k=n)
    mothers = rng.choices(LAST_NAMES, LAST_WEIGHTS, k=n)
    mother_given = rng.choices(FEMALE, FEMALE_WEIGHTS, k=n)
    rows: dict[Any, list[dict[str, Any]]] = {
        Party: [], Address: [], ContactPoint: [], PartyNameToken: [], Consent: [], BillingAccount: [], Contact: [],
    }
    parties, addresses, points, tokens = rows[Party], rows[Address], rows[ContactPoint], rows[PartyNameToken]
    consents, accounts, contacts = rows[Consent], rows[BillingAccount], rows[Contact]
    for i, party_id in enumerate(party_ids):
        r = rng.random()
        if r < 0.08:
            data = _organisation(rng)
            words = set(_words(data["organisation_name"]))
        else:
            given = females[i] if r < 0.54 else males[i]
            data = _person(rng, families[i], given, f"{mothers[i]} {mother_given[i]}")
            words = {*_words(families[i]), *_words(given)}
        created = now - dt.timedelta(days=rng.randrange(3651), seconds=rng.randrange(86401))
        number = format_customer_number(first_number + i)
        data.update(id=party_id, customer_number=number, created_at=created, updated_at=created, version=1)
        parties.append(data)
        sort_name = normalise(data["display_name"])[:300]
        tokens.extend({"token": w, "party_id": party_id, "sort_name": sort_name} for w in sorted(words))

        address = _address(rng)
        addresses.append({"party_id": party_id, "purpose": "registered", **address})
        points.append({"party_id": party_id, "kind": "phone", "label": "mobile",
                       "value": f"+36{rng.choice(MOBILE_PREFIXES)}{rng.randint(1000000, 9999999)}"})
        if rng.random() < 0.25:
            points.append({"party_id": party_id, "kind": "phone", "label": "home",
                           "value": f"+361{rng.randint(2000000, 9999999)}"})
        base = fold(data["display_name"]).replace(" ", ".").replace(".kft.", "").strip(".")
        email = f"{base}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}"
        points.append({"party_id": party_id, "kind": "email", "value": email, "label": None})

        given_on = (created + dt.timedelta(days=1)).date()
        for kind, share in CONSENT_SHARES:
            if rng.random() < share:
                consents.append({"party_id": party_id, "kind": kind, "given_on": given_on, "withdrawn_on": None})
        paper = rng.random() < 0.15
        accounts.append({
            "account_number": f"{number}-01", "payer_id": party_id, "name": data["display_name"],
            "bill_delivery": "paper" if paper else rng.choice(["email", "portal"]),
            "delivery_email": None if paper else email, "payment_method": "bank_transfer",
            "iban": None, "mandate_date": None, "balance": 0, "is_closed": False,
            "created_at": created, "updated_at": created, "version": 1, **address,
        })
        if reason_ids:
            for _ in range(rng.choice(CONTACTS_PER_PARTY)):
                contacts.append({
                    "party_id": party_id,
                    "at": now - dt.timedelta(days=rng.randrange(366), minutes=rng.randrange(1441)),
                    "channel": rng.choice(CHANNELS), "direction": "inbound", "reason_id": rng.choice(reason_ids),
                    "outcome": rng.choice(OUTCOMES), "notes": "", "staff_id": None, "staff_name": "seed",
                    "automatic": False, "subject_type": None, "subject_id": None, "summary": "",
                    "summary_params": None,
                })
    return rows


async def seed_customers(
    maker: async_sessionmaker[AsyncSession], count: int, seed: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Adds `count` customers with addresses, phones, consents, billing accounts and contacts."""
    rng = random.Random(seed)
    async with transaction(maker) as session:
        reason_ids = list(await session.scalars(select(ContactReason.id).order_by(ContactReason.id)))
    now = dt.datetime.now(dt.UTC)
    done = 0
    while done < count:
        n = min(CHUNK, count - done)
        async with transaction(maker) as session:
            first_number = await reserve_block(session, "customer_number", n, start=100000001)
            party_ids = await _allocate_party_ids(session, n)
            for model, rows in _chunk_rows(rng, party_ids, first_number, now, reason_ids).items():
                if rows:
                    # The table's insert, not the ORM's bulk path: one executemany, nothing fetched back.
                    await session.execute(model.__table__.insert(), rows)
        done += n
        if progress:
            progress(n)
    return done
