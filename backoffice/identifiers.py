"""Validation and normalisation of every identifier the product accepts (pure, no I/O).

Each function returns the normalised value or raises InvalidIdentifier with a message
that says what is wrong; the caller names the field.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from stdnum import iban as std_iban
from stdnum import imei as std_imei
from stdnum import imsi as std_imsi
from stdnum import luhn as std_luhn
from stdnum import mac as std_mac
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


@functools.lru_cache(maxsize=65536)  # every page lists numbers; parsing one costs more than the rest of its row
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


# ---------------------------------------------------------------- identifiers of services

def _digits_only(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw)


def iccid(raw: str) -> str:
    """A SIM card's number: 19 or 20 digits, the last a Luhn check digit (89 36 … for Hungary)."""
    text = _digits_only(raw)
    if not text.isdigit() or not 19 <= len(text) <= 20:
        raise InvalidIdentifierError(Msg(N_("An ICCID is 19 or 20 digits.")))
    if not text.startswith("89"):
        raise InvalidIdentifierError(Msg(N_("An ICCID starts with 89 (telecommunications).")))
    if not std_luhn.is_valid(text):
        raise InvalidIdentifierError(Msg(N_("This ICCID's check digit is wrong: check the number on the card.")))
    return text


def imsi(raw: str) -> str:
    """A subscriber identity on a Hungarian network: 15 digits starting with the MCC 216."""
    text = _digits_only(raw)
    try:
        value = std_imsi.validate(text)
    except ValidationError as exc:
        raise InvalidIdentifierError(Msg(N_("An IMSI is 15 digits."))) from exc
    if not value.startswith("216"):
        raise InvalidIdentifierError(Msg(N_("This IMSI is not of a Hungarian network (it must start with 216).")))
    return str(value)


def imei(raw: str) -> str:
    """A handset's identity: 15 digits with a Luhn check digit (or 14 without it, or a 16-digit IMEISV)."""
    text = _digits_only(raw)
    try:
        return str(std_imei.validate(text))
    except ValidationError as exc:
        raise InvalidIdentifierError(Msg(N_("This is not a valid IMEI: check the 15 digits (*#06# on the phone)."))) \
            from exc


def mac_address(raw: str) -> str:
    """A CPE's MAC address in any common notation, returned as `00:1a:2b:3c:4d:5e`."""
    bare = re.sub(r"[\s:.-]", "", raw).lower()
    text = ":".join(bare[i:i + 2] for i in range(0, 12, 2)) if len(bare) == 12 else raw.strip()
    try:
        value = str(std_mac.validate(text))
    except ValidationError as exc:
        raise InvalidIdentifierError(Msg(N_("This is not a MAC address (six pairs of hex digits)."))) from exc
    if value == "00:00:00:00:00:00" or int(value.split(":")[0], 16) & 1:
        raise InvalidIdentifierError(Msg(N_("This MAC address cannot belong to a device.")))
    return value
