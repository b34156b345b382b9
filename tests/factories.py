"""Factories for realistic Hungarian test data (built, then added to an AsyncSession)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

from backoffice.customers.schemas import AddressInput, PartyInput


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
        "house_number": "5", "floor_door": "", "phone": "06 30 123 4567", "phone2": "", "email": "nagy.erzsebet@example.hu",
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
