"""Validation and normalisation of every identifier the product accepts (pure, no I/O).

Each function returns the normalised value or raises InvalidIdentifier with a message
that says what is wrong; the caller names the field.
"""

from __future__ import annotations

import re

import phonenumbers
from stdnum import iban as std_iban
from stdnum.eu import vat as std_eu_vat
from stdnum.exceptions import ValidationError
from stdnum.hu import anum as std_anum

from backoffice.i18n import N_, Msg


class InvalidIdentifierError(ValueError):
    def __init__(self, message: Msg) -> None:
        super().__init__(str(message))
        self.message = message


_PHONE_CHARS = re.compile(r"^\+?[0-9 ()./-]+$")


def phone_e164(raw: str, region: str = "HU") -> str:
    """`06 30 123 4567`, `+36 30 123-4567`, `0036301234567` → `+36301234567`."""
    text = raw.strip()
    # Only digits and the usual separators: otherwise letters were silently dropped (`06301234567x`),
    # read as vanity letters (`+36 30 ABC 4567`) or an extension was cut off without a word.
    if not _PHONE_CHARS.match(text):
        raise InvalidIdentifierError(Msg(N_("This is not a phone number.")))
    if text.startswith("00"):
        text = "+" + text[2:]
    # Hungarian trunk prefix 06 is not understood by libphonenumber's HU metadata alone.
    digits = re.sub(r"[^0-9+]", "", text)
    if region == "HU" and digits.startswith("06"):
        text = "+36" + digits[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifierError(Msg(N_("This is not a phone number."))) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifierError(Msg(N_("This phone number does not exist: check the area code and length.")))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]{2,}$")


def email(raw: str) -> str:
    text = raw.strip()
    if not _EMAIL.match(text) or len(text) > 254:
        raise InvalidIdentifierError(Msg(N_("This is not an e-mail address.")))
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


_TAX = re.compile(r"^([0-9]{8})-?([0-9])-?([0-9]{2})$")


def hu_tax_number(raw: str) -> str:
    """Hungarian tax number `12345678-1-42`: the first eight digits carry the anum check digit."""
    text = re.sub(r"\s", "", raw)
    match = _TAX.match(text)
    if not match:
        raise InvalidIdentifierError(Msg(N_("A tax number has the form 12345678-1-42.")))
    core, vat_code, county = match.groups()
    if not std_anum.is_valid(core):
        raise InvalidIdentifierError(Msg(N_("The first eight digits of the tax number fail their check digit.")))
    if vat_code not in "12345":
        raise InvalidIdentifierError(Msg(N_("The ninth digit of the tax number (VAT code) must be 1 to 5.")))
    if not (2 <= int(county) <= 44 or int(county) == 51):
        raise InvalidIdentifierError(Msg(N_("The last two digits of the tax number are not a valid county code.")))
    return f"{core}-{vat_code}-{county}"


def eu_vat(raw: str) -> str:
    try:
        return str(std_eu_vat.validate(raw))
    except ValidationError as exc:
        raise InvalidIdentifierError(Msg(N_("This is not a valid EU VAT number."))) from exc


def iban(raw: str) -> str:
    try:
        return str(std_iban.validate(raw))
    except ValidationError as exc:
        raise InvalidIdentifierError(Msg(N_("This is not a valid IBAN: check the digits."))) from exc


def iban_display(value: str) -> str:
    return str(std_iban.format(value))


_COMPANY_REG = re.compile(r"^([0-9]{2})-?([0-9]{2})-?([0-9]{6})$")


def company_registration_number(raw: str) -> str:
    """Cégjegyzékszám `01-09-123456`: court code 01–20, company form 01–23, serial."""
    text = re.sub(r"\s", "", raw)
    match = _COMPANY_REG.match(text)
    if not match:
        raise InvalidIdentifierError(Msg(N_("A company registration number has the form 01-09-123456.")))
    court, form, serial = match.groups()
    if not 1 <= int(court) <= 20:
        raise InvalidIdentifierError(Msg(N_("The first two digits (court) must be 01 to 20.")))
    if not 1 <= int(form) <= 23:
        raise InvalidIdentifierError(Msg(N_("The middle two digits (company form) must be 01 to 23.")))
    return f"{court}-{form}-{serial}"


_POSTAL = re.compile(r"^[1-9][0-9]{3}$")  # ASCII digits only: \d would take ١٢٣


def postal_code(raw: str) -> str:
    text = raw.strip()
    if not _POSTAL.match(text):
        raise InvalidIdentifierError(Msg(N_("A postal code is four digits, not starting with 0.")))
    return text


_ID_DOC = re.compile(r"^[A-Z0-9]{6,12}$")


def id_document_number(raw: str) -> str:
    text = re.sub(r"[\s-]", "", raw).upper()
    if not _ID_DOC.match(text):
        raise InvalidIdentifierError(Msg(N_("An ID document number is 6 to 12 letters and digits.")))
    return text
