"""The identifiers of services: ICCID (Luhn), IMSI (Hungarian MCC), IMEI, MAC — each wrong one
refused with a message that says what is wrong."""

from __future__ import annotations

import pytest

from backoffice import identifiers
from backoffice.identifiers import InvalidIdentifierError


@pytest.mark.parametrize(("raw", "normal"), [
    ("8936300000000000012", "8936300000000000012"),
    ("8936 3000 0000 0000 0022", "89363000000000000022"),
])
def test_a_valid_iccid_is_kept_without_spaces(raw: str, normal: str) -> None:
    assert identifiers.iccid(raw) == normal


@pytest.mark.parametrize(("raw", "says"), [
    ("8936300000000000013", "check digit"),  # one digit off: the Luhn check fails
    ("893630000000000001", "19 or 20 digits"),
    ("89363000000000000A1", "19 or 20 digits"),
    ("1236300000000000015", "starts with 89"),
])
def test_a_wrong_iccid_is_refused_saying_why(raw: str, says: str) -> None:
    with pytest.raises(InvalidIdentifierError) as refused:
        identifiers.iccid(raw)
    assert says in refused.value.message.msgid


def test_an_imsi_must_be_of_a_hungarian_network() -> None:
    assert identifiers.imsi("216 30 1234567890") == "216301234567890"
    with pytest.raises(InvalidIdentifierError) as german:
        identifiers.imsi("262011234567890")  # a German network
    assert "216" in german.value.message.msgid
    with pytest.raises(InvalidIdentifierError) as short:
        identifiers.imsi("21630123")
    assert "15 digits" in short.value.message.msgid


def test_an_imei_is_checked_by_its_luhn_digit() -> None:
    assert identifiers.imei("35-209900-176148-1") == "352099001761481"
    with pytest.raises(InvalidIdentifierError):
        identifiers.imei("352099001761482")


@pytest.mark.parametrize(("raw", "normal"), [
    ("00:1A:2B:3C:4D:5E", "00:1a:2b:3c:4d:5e"), ("00-1a-2b-3c-4d-5e", "00:1a:2b:3c:4d:5e"),
    ("001a.2b3c.4d5e", "00:1a:2b:3c:4d:5e"),
])
def test_a_mac_address_is_accepted_in_any_common_notation(raw: str, normal: str) -> None:
    assert identifiers.mac_address(raw) == normal


@pytest.mark.parametrize("raw", ["00:1a:2b:3c:4d", "zz:1a:2b:3c:4d:5e", "00:00:00:00:00:00", "01:00:5e:00:00:01"])
def test_a_mac_address_that_no_device_can_have_is_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        identifiers.mac_address(raw)
