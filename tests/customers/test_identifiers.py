"""Every identifier the customer screens accept: normalised when valid, refused with a reason when not."""

from __future__ import annotations

import pytest

from backoffice import identifiers
from backoffice.identifiers import InvalidIdentifierError


def refused_message(check, raw: str) -> str:
    with pytest.raises(InvalidIdentifierError) as info:
        check(raw)
    message = info.value.message.msgid  # the English source text, whatever the language
    assert message, "a refusal must say what is wrong"
    return message


# ---------------------------------------------------------------- phone numbers (E.164, region HU)

@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 30 123 4567", "+36301234567"),
        ("+36 30 123-4567", "+36301234567"),
        ("0036301234567", "+36301234567"),
        ("0036 30 1234567", "+36301234567"),
        ("+36301234567", "+36301234567"),
        ("06301234567", "+36301234567"),
        ("(06 30) 123 4567", "+36301234567"),
        ("06/30/123-4567", "+36301234567"),
        ("06 20 987 6543", "+36209876543"),
        ("06-1-234-5678", "+3612345678"),  # Budapest landline
        ("06 62 123 456", "+3662123456"),  # Szeged landline
        ("  06 30 123 4567  ", "+36301234567"),
    ],
)
def test_phone_numbers_in_any_usual_hungarian_format_are_stored_in_e164(typed, stored):
    assert identifiers.phone_e164(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "06 30 123 456",  # a digit short
        "06 30 123 45678",  # a digit too many
        "+36 1 234 567",  # Budapest number a digit short
        "1234",
        "06",
        "+36",
    ],
)
def test_phone_numbers_of_the_wrong_length_are_refused(typed):
    assert "phone number" in refused_message(identifiers.phone_e164, typed)


@pytest.mark.parametrize(
    "typed",
    [
        "06 30 ABC 4567",
        "+36 30 ABC 4567",  # not read as vanity letters
        "06 30 123 4567x",  # a stray letter is not silently dropped
        "tel: 06301234567",
        "+36301234567 ext 12",  # an extension is not silently cut off
        "harminc",
        "++36301234567",
    ],
)
def test_phone_numbers_with_letters_or_stray_signs_are_refused(typed):
    assert "phone number" in refused_message(identifiers.phone_e164, typed)


def test_phone_display_groups_a_stored_number_for_reading():
    assert identifiers.phone_display("+36301234567") == "+36 30 123 4567"
    assert identifiers.phone_display("not a number") == "not a number"


# ---------------------------------------------------------------- Hungarian tax number (adószám)

@pytest.mark.parametrize(
    "typed",
    ["12345676-2-41", "12345676 2 41", "12345676241", " 12345676-2-41 ", "12345676-241", "1234 5676-2-41"],
)
def test_tax_number_with_valid_anum_check_digit_is_accepted_with_or_without_dashes(typed):
    assert identifiers.hu_tax_number(typed) == "12345676-2-41"


def test_tax_number_whose_first_eight_digits_fail_the_anum_check_digit_is_refused():
    assert "check digit" in refused_message(identifiers.hu_tax_number, "12345678-2-41")


@pytest.mark.parametrize("vat_code", ["0", "6", "9"])
def test_tax_number_with_a_vat_code_outside_1_to_5_is_refused(vat_code):
    assert "VAT code" in refused_message(identifiers.hu_tax_number, f"12345676-{vat_code}-41")


@pytest.mark.parametrize("county", ["00", "01", "45", "50", "99"])
def test_tax_number_with_an_unknown_county_code_is_refused(county):
    assert "county" in refused_message(identifiers.hu_tax_number, f"12345676-2-{county}")


@pytest.mark.parametrize("county", ["02", "20", "44", "51"])
def test_tax_number_county_codes_at_the_edges_of_the_ranges_are_accepted(county):
    assert identifiers.hu_tax_number(f"12345676-2-{county}").endswith(f"-{county}")


@pytest.mark.parametrize("typed", ["1234567-2-41", "123456760-2-41", "12345676-2-4", "ABCDEFGH-2-41", "12345676/2/41"])
def test_tax_number_of_the_wrong_shape_is_refused_with_the_expected_form(typed):
    assert "12345678-1-42" in refused_message(identifiers.hu_tax_number, typed)


# ---------------------------------------------------------------- EU VAT number (stdnum.eu.vat)

@pytest.mark.parametrize(
    ("typed", "stored"),
    [("HU12345676", "HU12345676"), ("hu 12345676", "HU12345676"), ("HU-1234-5676", "HU12345676"),
     ("DE136695976", "DE136695976")],
)
def test_eu_vat_number_with_a_valid_checksum_is_accepted_and_compacted(typed, stored):
    assert identifiers.eu_vat(typed) == stored


@pytest.mark.parametrize("typed", ["HU12345678", "DE136695977", "XX12345676", "12345676", "HU1234567"])
def test_eu_vat_number_with_a_bad_checksum_country_or_length_is_refused(typed):
    assert "EU VAT" in refused_message(identifiers.eu_vat, typed)


# ---------------------------------------------------------------- IBAN (stdnum.iban)

@pytest.mark.parametrize(
    "typed",
    ["HU42 1177 3016 1111 1018 0000 0000", "HU42117730161111101800000000", "hu42 1177 3016 1111 1018 0000 0000"],
)
def test_hungarian_iban_typed_with_spaces_or_lower_case_is_accepted_and_compacted(typed):
    assert identifiers.iban(typed) == "HU42117730161111101800000000"


def test_iban_is_shown_in_groups_of_four():
    assert identifiers.iban_display("HU42117730161111101800000000") == "HU42 1177 3016 1111 1018 0000 0000"


@pytest.mark.parametrize(
    "typed",
    [
        "HU43 1177 3016 1111 1018 0000 0000",  # bad check digits
        "HU42 1177 3016 1111 1018 0000 0001",  # one digit changed
        "HU42 1177 3016 1111 1018 0000",  # too short for a Hungarian IBAN
        "117730161111101800000000",  # bank account number without the country
        "IBAN",
    ],
)
def test_iban_with_bad_check_digits_or_length_is_refused(typed):
    assert "IBAN" in refused_message(identifiers.iban, typed)


# ---------------------------------------------------------------- company registration number (cégjegyzékszám)

@pytest.mark.parametrize("typed", ["01-09-123456", "0109123456", "01 09 123456", "01-09 123456"])
def test_company_registration_number_is_accepted_in_usual_formats(typed):
    assert identifiers.company_registration_number(typed) == "01-09-123456"


@pytest.mark.parametrize(
    ("typed", "says"),
    [("00-09-123456", "court"), ("21-09-123456", "court"), ("01-00-123456", "company form"),
     ("01-24-123456", "company form"), ("01-09-12345", "01-09-123456"), ("01-09-1234567", "01-09-123456"),
     ("Cg. 01-09-123456", "01-09-123456")],
)
def test_company_registration_number_with_bad_court_form_or_length_is_refused(typed, says):
    assert says in refused_message(identifiers.company_registration_number, typed)


# ---------------------------------------------------------------- postal code

@pytest.mark.parametrize(("typed", "stored"), [("1117", "1117"), (" 6720 ", "6720"), ("9999", "9999")])
def test_postal_code_of_four_digits_is_accepted(typed, stored):
    assert identifiers.postal_code(typed) == stored


@pytest.mark.parametrize("typed", ["0117", "117", "11170", "11a7", "H-1117", "1 117"])
def test_postal_code_not_four_digits_or_starting_with_zero_is_refused(typed):
    assert "four digits" in refused_message(identifiers.postal_code, typed)


# ---------------------------------------------------------------- e-mail

@pytest.mark.parametrize(
    ("typed", "stored"),
    [("nagy.erzsebet@example.hu", "nagy.erzsebet@example.hu"), ("Nagy.E@Example.HU", "Nagy.E@example.hu"),
     ("  iroda+szamla@tisza-tav.example.hu ", "iroda+szamla@tisza-tav.example.hu")],
)
def test_email_is_accepted_with_its_domain_lower_cased(typed, stored):
    assert identifiers.email(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["nagy", "nagy@", "@example.hu", "nagy@example", "nagy@example.h", "nagy erzsebet@example.hu",
     "nagy@@example.hu", "nagy\x00@example.hu", "a" * 250 + "@example.hu"],
)
def test_malformed_email_is_refused(typed):
    assert "e-mail" in refused_message(identifiers.email, typed)


# ---------------------------------------------------------------- ID document number

@pytest.mark.parametrize(
    ("typed", "stored"),
    [("123456AB", "123456AB"), ("123456ab", "123456AB"), ("12 34 56-AB", "123456AB"), ("BA1234567", "BA1234567")],
)
def test_id_document_number_is_upper_cased_without_spaces_or_dashes(typed, stored):
    assert identifiers.id_document_number(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "1234567890123", "12345!AB", "123456ÁB", "123_456AB"])
def test_id_document_number_not_6_to_12_letters_and_digits_is_refused(typed):
    assert "6 to 12" in refused_message(identifiers.id_document_number, typed)


@pytest.mark.parametrize(("check", "typed"), [
    (identifiers.postal_code, "1١٢٣"),
    (identifiers.company_registration_number, "٠١-٠٩-١٢٣٤٥٦"),
    (identifiers.hu_tax_number, "١٢٣٤٥٦٧٦-2-41"),
    (identifiers.phone_e164, "06 ٣٠ 123 4567"),
])
def test_digits_of_other_scripts_are_refused(check, typed):
    with pytest.raises(identifiers.InvalidIdentifierError):
        check(typed)
