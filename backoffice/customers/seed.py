"""Realistic Hungarian demo customers (Faker's hu_HU name and place lists), same data for the same seed.

Rows go in with bulk INSERTs, a chunk per transaction, so 100,000 customers take seconds.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from typing import Any

from faker.providers.address.hu_HU import Provider as HuAddress
from faker.providers.person.hu_HU import Provider as HuPerson
from sqlalchemy import insert, select
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
from backoffice.customers.services import format_customer_number, normalise
from backoffice.db import transaction
from backoffice.numbering import reserve_block

LAST_NAMES = list(HuPerson.last_names)
MALE = list(HuPerson.first_names_male)
FEMALE = list(HuPerson.first_names_female)
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
CHUNK = 5000


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def _tax_number(rng: random.Random) -> str:
    core = str(rng.randint(1000000, 9999999))
    check = (10 - anum.checksum(core + "0")) % 10  # the eighth digit makes the weighted sum end in 0
    return f"{core}{check}-{rng.choice('2222223')}-{rng.randint(2, 44):02d}"


def _address(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.3:
        district = rng.randrange(len(BUDAPEST_DISTRICTS))
        locality, postal = f"Budapest {BUDAPEST_DISTRICTS[district]}", f"1{district + 1:02d}{rng.randint(0, 9)}"
    else:
        locality, postal = rng.choice(CITIES[1:]), str(rng.randint(2000, 9985))
    floor_door = f"{rng.randint(1, 10)}. em. {rng.randint(1, 40)}." if rng.random() < 0.35 else None
    return {
        "postal_code": postal, "locality": locality,
        "street": f"{rng.choice(STREETS)} {rng.choice(STREET_KINDS)}",
        "house_number": str(rng.randint(1, 180)), "floor_door": floor_door,
    }


def _person(rng: random.Random) -> dict[str, Any]:
    female = rng.random() < 0.5
    family = rng.choice(LAST_NAMES)
    given = rng.choice(FEMALE if female else MALE)
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 65))
    return {
        "kind": "individual", "family_name": family, "given_name": given, "display_name": f"{family} {given}",
        "birth_date": birth, "birth_place": rng.choice(CITIES),
        "mother_birth_name": f"{rng.choice(LAST_NAMES)} {rng.choice(FEMALE)}",
        "id_document_type": "id_card",
        "id_document_number": f"{rng.randint(100000, 999999)}{rng.choice('ABCDEFGHJKLMNPRSTUVZ')}"
                              f"{rng.choice('ABCDEFGHJKLMNPRSTUVZ')}",
    }


def _organisation(rng: random.Random) -> dict[str, Any]:
    form, form_code = rng.choice(COMPANY_FORMS)
    name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)} {form}"
    tax = _tax_number(rng)
    return {
        "kind": "organisation", "organisation_name": name, "display_name": name,
        "company_registration_number": f"{rng.randint(1, 20):02d}-{form_code}-{rng.randint(100000, 999999)}",
        "tax_number": tax, "eu_vat_number": f"HU{tax[:8]}" if rng.random() < 0.5 else None,
    }


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
            parties = []
            for i in range(n):
                data = _organisation(rng) if rng.random() < 0.08 else _person(rng)
                stamp = now - dt.timedelta(days=rng.randint(0, 3650), seconds=rng.randint(0, 86400))
                data.update(customer_number=format_customer_number(first_number + i), created_at=stamp,
                            updated_at=stamp, version=1)
                parties.append(data)
            ids = list(await session.scalars(
                insert(Party).returning(Party.id, sort_by_parameter_order=True), parties
            ))
            addresses, points, tokens, consents, accounts, contacts = [], [], [], [], [], []
            for party_id, data in zip(ids, parties, strict=True):
                address = _address(rng)
                addresses.append({"party_id": party_id, "purpose": "registered", **address})
                phone = f"+36{rng.choice(MOBILE_PREFIXES)}{rng.randint(1000000, 9999999)}"
                points.append({"party_id": party_id, "kind": "phone", "value": phone, "label": "mobile"})
                if rng.random() < 0.25:
                    points.append({"party_id": party_id, "kind": "phone",
                                   "value": f"+361{rng.randint(2000000, 9999999)}", "label": "home"})
                base = _ascii(data["display_name"]).replace(" ", ".").replace(".kft.", "").strip(".")
                email = f"{base}{rng.randint(1, 999)}@{rng.choice(['gmail.com', 'freemail.hu', 'citromail.hu'])}"
                points.append({"party_id": party_id, "kind": "email", "value": email, "label": None})
                words = {w for part in (data.get("family_name"), data.get("given_name"), data.get("organisation_name"))
                         if part for w in normalise(part).split()}
                tokens.extend({"token": w, "party_id": party_id} for w in sorted(words))
                given = (data["created_at"] + dt.timedelta(days=1)).date()
                for kind, share in (("marketing", 0.4), ("directory_listing", 0.2), ("itemised_bill", 0.5)):
                    if rng.random() < share:
                        consents.append({"party_id": party_id, "kind": kind, "given_on": given, "withdrawn_on": None})
                paper = rng.random() < 0.15
                accounts.append({
                    "account_number": f"{data['customer_number']}-01", "payer_id": party_id,
                    "name": data["display_name"], "bill_delivery": "paper" if paper else rng.choice(["email", "portal"]),
                    "delivery_email": None if paper else email, "payment_method": "bank_transfer",
                    "iban": None, "mandate_date": None, "balance": 0, "is_closed": False,
                    "created_at": data["created_at"], "updated_at": data["created_at"], "version": 1, **address,
                })
                for _ in range(rng.choice((0, 1, 1, 2, 3))):
                    if not reason_ids:
                        break
                    at = now - dt.timedelta(days=rng.randint(0, 365), minutes=rng.randint(0, 1440))
                    contacts.append({
                        "party_id": party_id, "at": at, "channel": rng.choice(["phone", "phone", "email", "chat"]),
                        "direction": "inbound", "reason_id": rng.choice(reason_ids),
                        "outcome": rng.choice(["resolved", "information_given", "follow_up"]),
                        "notes": "", "staff_id": None, "staff_name": "seed", "automatic": False,
                        "subject_type": None, "subject_id": None, "summary": "", "summary_params": None,
                    })
            for model, rows in ((Address, addresses), (ContactPoint, points), (PartyNameToken, tokens),
                                (Consent, consents), (BillingAccount, accounts), (Contact, contacts)):
                if rows:
                    await session.execute(insert(model), rows)
        done += n
        if progress:
            progress(n)
    return done
