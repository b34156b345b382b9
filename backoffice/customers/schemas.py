"""Input structures of the customers domain, parsed and validated from forms or JSON alike."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from backoffice import clock, identifiers
from backoffice.customers.models import (
    BillDelivery,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    IdDocumentType,
    PartyKind,
    PaymentMethod,
)
from backoffice.i18n import N_, Msg
from backoffice.validation import Collector


@dataclass
class AddressInput:
    postal_code: str
    locality: str
    street: str
    house_number: str
    floor_door: str | None = None


@dataclass
class PartyInput:
    kind: str
    family_name: str | None = None
    given_name: str | None = None
    birth_date: dt.date | None = None
    birth_place: str | None = None
    mother_birth_name: str | None = None
    id_document_type: str | None = None
    id_document_number: str | None = None
    organisation_name: str | None = None
    company_registration_number: str | None = None
    tax_number: str | None = None
    eu_vat_number: str | None = None
    address: AddressInput | None = None
    phones: list[str] = field(default_factory=list)
    email: str | None = None

    def party_fields(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("address", "phones", "email"):
            data.pop(key)
        return data


@dataclass
class BillingAccountInput:
    name: str
    bill_delivery: str
    delivery_email: str | None
    payment_method: str
    iban: str | None
    mandate_date: dt.date | None
    address: AddressInput


@dataclass
class ContactInput:
    channel: str
    direction: str
    reason_id: int | None
    outcome: str
    notes: str


MIN_AGE = 14


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier; 29 February falls back to the 28th (a bare
    date.replace raised on leap days, so every individual was refused with a 500)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _address(c: Collector) -> AddressInput | None:
    postal = c.identifier("postal_code", identifiers.postal_code, required=True)
    locality = c.text("locality", required=True, max_length=100)
    street = c.text("street", required=True, max_length=200)
    house = c.text("house_number", required=True, max_length=20)
    floor_door = c.text("floor_door", max_length=40)
    if postal and locality:
        locality = _budapest_district(c, postal, locality)
    if postal and locality and street and house:
        return AddressInput(postal, locality, street, house, floor_door)
    return None


ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI",
         "XVII", "XVIII", "XIX", "XX", "XXI", "XXII", "XXIII"]


def _budapest_district(c: Collector, postal: str, locality: str) -> str | None:
    """Budapest addresses name their district (`Budapest XI.`), which the postal code gives
    (1117: digits two and three, 11). A bare `Budapest` is completed; a mismatch is refused."""
    words = [w for w in re.split(r"[\s.,]+", locality) if w]
    if not words or words[0].casefold() != "budapest":
        if postal.startswith("1"):  # every 1xxx postal code is in Budapest
            c.fail("locality", Msg(N_("Write Budapest and the district, e.g. Budapest XI.")))
            return None
        return locality
    if not postal.startswith("1") or not 1 <= int(postal[1:3]) <= 23:
        c.fail("postal_code", Msg(N_("Budapest postal codes are 1011 to 1239.")))
        return None
    district = ROMAN[int(postal[1:3]) - 1]
    rest = [w for w in words[1:] if w.casefold() not in ("ker", "kerület", "kerulet")]
    given = rest[0].upper() if rest else None
    if given is not None and given != district and given != str(int(postal[1:3])):
        c.fail("locality", Msg(N_("Postal code %(code)s is in district %(district)s."), code=postal,
                               district=f"{district}."))
        return None
    return f"Budapest {district}."


def parse_party(data: Mapping[str, Any]) -> PartyInput:
    """Raises ValidationFailedError with one message per bad field; nothing is partly taken."""
    c = Collector(data)
    kind = c.choice("kind", [k.value for k in PartyKind])
    result = PartyInput(kind=kind or PartyKind.INDIVIDUAL.value)
    if kind == PartyKind.INDIVIDUAL:
        result.family_name = c.text("family_name", required=True, max_length=100)
        result.given_name = c.text("given_name", required=True, max_length=100)
        result.birth_date = c.date("birth_date", required=True, past=True)
        if result.birth_date and result.birth_date > years_before(clock.today(), MIN_AGE):
            c.fail("birth_date", Msg(N_("A subscriber must be at least 14 years old.")))
        result.birth_place = c.text("birth_place", required=True, max_length=100)
        result.mother_birth_name = c.text("mother_birth_name", required=True, max_length=200)
        result.id_document_type = c.choice("id_document_type", [t.value for t in IdDocumentType], required=False)
        result.id_document_number = c.identifier("id_document_number", identifiers.id_document_number)
        if result.id_document_number and not result.id_document_type:
            c.fail("id_document_type", Msg(N_("Say which document this number belongs to.")))
    elif kind == PartyKind.ORGANISATION:
        result.organisation_name = c.text("organisation_name", required=True, max_length=300)
        result.company_registration_number = c.identifier(
            "company_registration_number", identifiers.company_registration_number
        )
        result.tax_number = c.identifier("tax_number", identifiers.hu_tax_number, required=True)
        result.eu_vat_number = c.identifier("eu_vat_number", identifiers.eu_vat)
        if result.eu_vat_number and result.tax_number and result.eu_vat_number.startswith("HU"):
            if result.eu_vat_number[2:] != result.tax_number[:8]:
                c.fail("eu_vat_number", Msg(N_(
                    "A Hungarian EU VAT number repeats the first eight digits of the tax number.")))
    result.address = _address(c)
    for name in ("phone", "phone2"):
        phone = c.identifier(name, identifiers.phone_e164)
        if phone and phone not in result.phones:
            result.phones.append(phone)
    result.email = c.identifier("email", identifiers.email)
    c.check()
    return result


def parse_billing_account(data: Mapping[str, Any]) -> BillingAccountInput:
    c = Collector(data)
    name = c.text("name", max_length=200) or ""
    delivery = c.choice("bill_delivery", [d.value for d in BillDelivery])
    delivery_email = c.identifier("delivery_email", identifiers.email, required=delivery == BillDelivery.EMAIL)
    method = c.choice("payment_method", [m.value for m in PaymentMethod])
    direct = method == PaymentMethod.DIRECT_DEBIT
    iban = c.identifier("iban", identifiers.iban, required=direct)
    mandate = c.date("mandate_date", required=direct)
    if mandate and mandate > clock.today() + dt.timedelta(days=366):
        c.fail("mandate_date", Msg(N_("The mandate date is too far in the future.")))
    address = _address(c)
    c.check()
    assert delivery and method and address  # guaranteed by check()
    return BillingAccountInput(
        name=name,
        bill_delivery=delivery,
        delivery_email=delivery_email,
        payment_method=method,
        iban=iban if direct else None,
        mandate_date=mandate if direct else None,
        address=address,
    )


def parse_contact(data: Mapping[str, Any], reason_ids: set[int]) -> ContactInput:
    c = Collector(data)
    channel = c.choice("channel", [ch.value for ch in ContactChannel if ch != ContactChannel.SYSTEM])
    direction = c.choice("direction", [d.value for d in ContactDirection])
    reason_id = c.integer("reason_id", required=True)
    if reason_id is not None and reason_id not in reason_ids:
        c.fail("reason_id", Msg(N_("Choose one of the offered values.")))
    outcome = c.choice("outcome", [o.value for o in ContactOutcome])
    notes = c.text("notes", max_length=4000) or ""
    c.check()
    assert channel and direction and outcome
    return ContactInput(channel, direction, reason_id, outcome, notes)


def parse_version(data: Mapping[str, Any]) -> int | None:
    c = Collector(data)
    return c.integer("version")


PARTY_FIELDS = [
    "kind", "family_name", "given_name", "birth_date", "birth_place", "mother_birth_name", "id_document_type",
    "id_document_number", "organisation_name", "company_registration_number", "tax_number", "eu_vat_number",
]
ADDRESS_FIELDS = ["postal_code", "locality", "street", "house_number", "floor_door"]
ACCOUNT_FIELDS = [
    "name", "bill_delivery", "delivery_email", "payment_method", "iban", "mandate_date", *ADDRESS_FIELDS,
]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def party_values(party: Any) -> dict[str, str]:
    """A stored party as the flat field set its form (and a PATCH body) uses."""
    values = {k: _text(getattr(party, k)) for k in PARTY_FIELDS}
    address = next((a for a in party.addresses if a.purpose == "registered"), None)
    for key in ADDRESS_FIELDS:
        values[key] = _text(getattr(address, key)) if address else ""
    phones = [cp.value for cp in party.contact_points if cp.kind == "phone"]
    values["phone"] = phones[0] if phones else ""
    values["phone2"] = phones[1] if len(phones) > 1 else ""
    values["email"] = next((cp.value for cp in party.contact_points if cp.kind == "email"), "")
    values["version"] = str(party.version)
    return values


def account_values(account: Any) -> dict[str, str]:
    values = {k: _text(getattr(account, k)) for k in ACCOUNT_FIELDS}
    values["version"] = str(account.version)
    return values
