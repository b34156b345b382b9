"""Hungarian addresses: Budapest localities carry their district, which the postal code decides."""

from __future__ import annotations

import pytest

from backoffice.customers.schemas import parse_party
from backoffice.errors import ValidationFailedError
from tests.factories import party_form


@pytest.mark.parametrize(("postal", "locality", "expected"), [
    ("1117", "Budapest", "Budapest XI."),
    ("1117", "budapest", "Budapest XI."),
    ("1117", "Budapest XI.", "Budapest XI."),
    ("1117", "Budapest xi", "Budapest XI."),
    ("1117", "Budapest 11", "Budapest XI."),
    ("1011", "Budapest", "Budapest I."),
    ("1239", "Budapest", "Budapest XXIII."),
    ("1117", "Budapest, XI. ker.", "Budapest XI."),
    ("1117", "budapest XI. kerület", "Budapest XI."),
    ("6720", "Szeged", "Szeged"),
])
def test_budapest_locality_is_completed_with_the_district_of_its_postal_code(postal, locality, expected):
    party = parse_party(party_form(postal_code=postal, locality=locality))
    assert party.address is not None and party.address.locality == expected


@pytest.mark.parametrize(("postal", "locality", "field"), [
    ("1117", "Budapest V.", "locality"),   # 1117 is in district XI
    ("6720", "Budapest", "postal_code"),   # not a Budapest postal code
    ("1247", "Budapest", "postal_code"),   # there is no district 24
    ("1117", "Bp.", "locality"),           # the abbreviation is not an address
    ("1117", "Szeged", "locality"),        # 1xxx postal codes are Budapest's
    ("1١١٧", "Budapest", "postal_code"),   # Arabic-Indic digits are not a postal code
])
def test_budapest_address_that_contradicts_its_postal_code_is_refused(postal, locality, field):
    with pytest.raises(ValidationFailedError) as refused:
        parse_party(party_form(postal_code=postal, locality=locality))
    assert field in refused.value.errors
