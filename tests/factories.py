"""Factories for realistic Hungarian test data (built, then added to an AsyncSession)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

from backoffice.customers.models import Contact
from backoffice.customers.schemas import AddressInput, BillingAccountInput, PartyInput


class AddressFactory(factory.Factory):
    class Meta:
        model = AddressInput

    postal_code = "1117"
    locality = "Budapest XI."
    street = "Október huszonharmadika utca"
    house_number = factory.Sequence(lambda n: str(n % 150 + 1))
    floor_door = None


class PartyInputFactory(factory.Factory):
    """An individual customer as the service takes it."""

    class Meta:
        model = PartyInput

    kind = "individual"
    family_name = "Kovács"
    given_name = factory.Iterator(["János", "Éva", "Zoltán", "Katalin", "Ödön"])
    birth_date = dt.date(1980, 5, 17)
    birth_place = "Debrecen"
    mother_birth_name = "Szabó Mária"
    id_document_type = "id_card"
    id_document_number = factory.Sequence(lambda n: f"{123456 + n}AB")
    address = factory.SubFactory(AddressFactory)
    phones = factory.Sequence(lambda n: [f"+363012{n:05d}"])
    email = factory.Sequence(lambda n: f"ugyfel{n}@example.hu")


class OrganisationInputFactory(PartyInputFactory):
    kind = "organisation"
    family_name = None
    given_name = None
    birth_date = None
    birth_place = None
    mother_birth_name = None
    id_document_type = None
    id_document_number = None
    organisation_name = factory.Sequence(lambda n: f"Pannon Építő {n} Kft.")
    company_registration_number = "01-09-123456"
    tax_number = "12345676-2-41"
    eu_vat_number = "HU12345676"


def party_form(**overrides: Any) -> dict[str, str]:
    """A valid individual-customer form as a browser submits it."""
    data = {
        "kind": "individual", "family_name": "Nagy", "given_name": "Erzsébet", "birth_date": "1975-03-02",
        "birth_place": "Szeged", "mother_birth_name": "Tóth Ilona", "id_document_type": "id_card",
        "id_document_number": "654321AB", "postal_code": "6720", "locality": "Szeged", "street": "Kárász utca",
        "house_number": "5", "floor_door": "", "phone": "06 30 123 4567", "phone2": "",
        "email": "nagy.erzsebet@example.hu",
    }
    data.update(overrides)
    return data


def account_form(**overrides: Any) -> dict[str, str]:
    data = {
        "name": "", "bill_delivery": "email", "delivery_email": "szamla@example.hu", "payment_method": "bank_transfer",
        "iban": "", "mandate_date": "", "postal_code": "6720", "locality": "Szeged", "street": "Kárász utca",
        "house_number": "5", "floor_door": "",
    }
    data.update(overrides)
    return data


def organisation_form(**overrides: Any) -> dict[str, str]:
    """A valid organisation-customer form as a browser submits it."""
    data = {
        "kind": "organisation", "organisation_name": "Tisza Távközlési Kft.", "tax_number": "12345676-2-41",
        "company_registration_number": "06-09-123456", "eu_vat_number": "HU12345676", "postal_code": "6720",
        "locality": "Szeged", "street": "Tisza Lajos körút", "house_number": "12", "floor_door": "",
        "phone": "06 62 123 456", "phone2": "", "email": "iroda@tisza-tav.example.hu",
    }
    data.update(overrides)
    return data


class BillingAccountInputFactory(factory.Factory):
    """A billing account as the service takes it: e-mailed bills, paid by bank transfer."""

    class Meta:
        model = BillingAccountInput

    name = ""
    bill_delivery = "email"
    delivery_email = factory.Sequence(lambda n: f"szamla{n}@example.hu")
    payment_method = "bank_transfer"
    iban = None
    mandate_date = None
    address = factory.SubFactory(AddressFactory)


class ContactFactory(factory.Factory):
    """A contact-log entry an agent wrote at wrap-up (a model row, for bulk set-up)."""

    class Meta:
        model = Contact

    party_id = None
    at = factory.Sequence(lambda n: dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=7 * n))
    channel = factory.Iterator(["phone", "email", "chat", "in_person", "letter"])
    direction = factory.Iterator(["inbound", "outbound"])
    reason_id = None
    outcome = factory.Iterator(["resolved", "information_given", "follow_up"])
    notes = factory.Sequence(lambda n: f"Hívás #{n}: az ügyfél a számláról érdeklődött.")
    staff_id = None
    staff_name = "agent"
    automatic = False
    summary = ""
