"""Creating and editing customers through the agent's forms, and recording their consents."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from backoffice import clock
from backoffice.customers import schemas
from backoffice.customers.models import Consent, PartyNameToken
from backoffice.errors import ValidationFailedError
from tests.conftest import csrf_token, post_form
from tests.customers.helpers import (
    add_party,
    audit_rows,
    contacts_of,
    db_state,
    field_error,
    field_errors,
    input_value,
    load_party,
)
from tests.factories import OrganisationInputFactory, organisation_form, party_form

REQUIRED = "This field is required."


def party_id_from(response) -> int:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/customers/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


# ---------------------------------------------------------------- creating

async def test_agent_creates_an_individual_and_is_sent_to_the_customer_page(agent, maker):
    response = await post_form(agent, "/customers", party_form(email="Nagy.Erzsebet@Example.HU"))
    party = await load_party(maker, party_id_from(response))

    assert party.kind == "individual"
    assert party.display_name == "Nagy Erzsébet"  # Hungarian order, family name first
    assert re.fullmatch(r"\d{9}", party.customer_number)
    assert party.birth_date == dt.date(1975, 3, 2)
    assert party.id_document_number == "654321AB"
    assert [(a.postal_code, a.locality, a.street, a.house_number) for a in party.addresses] == [
        ("6720", "Szeged", "Kárász utca", "5")
    ]
    assert sorted((cp.kind, cp.value) for cp in party.contact_points) == [
        ("email", "Nagy.Erzsebet@example.hu"), ("phone", "+36301234567"),
    ]
    page = await agent.get(response.headers["location"])
    assert page.status_code == 200
    assert "Nagy Erzsébet" in page.text and party.customer_number in page.text


async def test_creating_a_customer_writes_an_audit_row_and_an_automatic_contact_entry(agent, maker):
    party_id = party_id_from(await post_form(agent, "/customers", party_form()))

    [created] = await audit_rows(maker, "party.create")
    assert created.entity_id == str(party_id) and created.actor_name == "agent"
    assert created.before is None and created.after["family_name"] == "Nagy"
    [entry] = await contacts_of(maker, party_id)
    assert entry.automatic and entry.summary == "Customer created" and entry.staff_name == "agent"


async def test_agent_creates_an_organisation_with_normalised_identifiers(agent, maker):
    form = organisation_form(tax_number="12345676 2 41", eu_vat_number="hu 1234 5676",
                             company_registration_number="0609123456")
    party = await load_party(maker, party_id_from(await post_form(agent, "/customers", form)))

    assert party.kind == "organisation"
    assert party.display_name == "Tisza Távközlési Kft."
    assert party.tax_number == "12345676-2-41"
    assert party.eu_vat_number == "HU12345676"
    assert party.company_registration_number == "06-09-123456"
    assert party.family_name is None and party.birth_date is None
    assert {cp.value for cp in party.contact_points} == {"+3662123456", "iroda@tisza-tav.example.hu"}


async def test_the_form_may_carry_the_csrf_token_as_a_field_instead_of_a_header(agent, maker):
    token = await csrf_token(agent, "/customers/new")
    response = await agent.post("/customers", data={**party_form(), "_csrf_token": token}, follow_redirects=False)
    await load_party(maker, party_id_from(response))


async def test_a_form_without_csrf_token_is_refused_and_saves_nothing(agent, maker):
    before = await db_state(maker)
    response = await agent.post("/customers", data=party_form(), follow_redirects=False)
    assert response.status_code == 403
    assert await db_state(maker) == before


async def test_records_staff_cannot_create_customers(client, signed_in, maker):
    await signed_in(client, "records")
    before = await db_state(maker)
    response = await post_form(client, "/customers", party_form())
    assert response.status_code == 403
    assert await db_state(maker) == before


# ---------------------------------------------------------------- refusing bad input

BAD_INDIVIDUAL = [
    ("phone", "06 30 123 45", "phone number does not exist"),
    ("phone", "06 30 ABC 4567", "not a phone number"),
    ("phone2", "+36 1 234 567", "phone number does not exist"),
    ("email", "nagy.erzsebet@", "not an e-mail address"),
    ("postal_code", "0720", "four digits"),
    ("postal_code", "67200", "four digits"),
    ("id_document_number", "12-3", "6 to 12 letters and digits"),
    ("birth_date", "1975-02-30", "YYYY-MM-DD"),
    ("birth_date", "tegnap", "YYYY-MM-DD"),
    ("birth_date", "2999-01-01", "cannot be in the future"),
    ("birth_date", "1850-01-01", "too far in the past"),
    ("id_document_type", "diploma", "Choose one of the offered values"),
    ("family_name", "N" * 101, "At most 100 characters"),
]

BAD_ORGANISATION = [
    ("tax_number", "12345678-2-41", "check digit"),
    ("tax_number", "12345676-7-41", "VAT code"),
    ("tax_number", "12345676-2-99", "county code"),
    ("tax_number", "1234-5676", "12345678-1-42"),
    ("eu_vat_number", "HU12345678", "not a valid EU VAT number"),
    ("eu_vat_number", "HU23456787", "repeats the first eight digits"),  # valid VAT, another company's
    ("company_registration_number", "25-09-123456", "court"),
    ("company_registration_number", "01-30-123456", "company form"),
    ("company_registration_number", "01-09-1234", "01-09-123456"),
]


async def assert_refused_beside_field(agent, maker, form, field, says, path="/customers"):
    before = await db_state(maker)
    response = await post_form(agent, path, form)

    assert response.status_code == 422, response.text
    assert says in (field_error(response.text, field) or ""), field_errors(response.text)
    assert await db_state(maker) == before, "a refused form must change nothing"
    return response


@pytest.mark.parametrize(("field", "typed", "says"), BAD_INDIVIDUAL)
async def test_each_bad_individual_field_is_refused_beside_the_field_keeping_what_was_typed(
    agent, maker, field, typed, says
):
    response = await assert_refused_beside_field(agent, maker, party_form(**{field: typed}), field, says)
    if field != "id_document_type":
        assert input_value(response.text, field) == typed
    # the rest of the form is kept too
    assert input_value(response.text, "family_name") == party_form(**{field: typed})["family_name"]
    assert input_value(response.text, "street") == "Kárász utca"


@pytest.mark.parametrize(("field", "typed", "says"), BAD_ORGANISATION)
async def test_each_bad_organisation_identifier_is_refused_beside_the_field_keeping_what_was_typed(
    agent, maker, field, typed, says
):
    response = await assert_refused_beside_field(agent, maker, organisation_form(**{field: typed}), field, says)
    assert input_value(response.text, field) == typed
    assert input_value(response.text, "organisation_name") == "Tisza Távközlési Kft."


async def test_every_bad_field_gets_its_own_message_at_once(agent, maker):
    form = party_form(phone="12", email="x", postal_code="1", id_document_number="?")
    response = await assert_refused_beside_field(agent, maker, form, "phone", "phone number")
    assert set(field_errors(response.text)) == {"phone", "email", "postal_code", "id_document_number"}


@pytest.mark.parametrize(
    "missing",
    ["family_name", "given_name", "birth_date", "birth_place", "mother_birth_name", "postal_code", "locality",
     "street", "house_number"],
)
async def test_a_missing_required_individual_field_is_named(agent, maker, missing):
    await assert_refused_beside_field(agent, maker, party_form(**{missing: "  "}), missing, REQUIRED)


@pytest.mark.parametrize("missing", ["organisation_name", "tax_number", "postal_code"])
async def test_a_missing_required_organisation_field_is_named(agent, maker, missing):
    await assert_refused_beside_field(agent, maker, organisation_form(**{missing: ""}), missing, REQUIRED)


async def test_an_empty_individual_form_names_every_required_field(agent, maker):
    response = await assert_refused_beside_field(agent, maker, {"kind": "individual"}, "family_name", REQUIRED)
    assert set(field_errors(response.text)) == {
        "family_name", "given_name", "birth_date", "birth_place", "mother_birth_name", "postal_code", "locality",
        "street", "house_number",
    }


async def test_a_document_number_without_its_document_type_is_refused(agent, maker):
    await assert_refused_beside_field(
        agent, maker, party_form(id_document_type=""), "id_document_type", "Say which document"
    )


def fourteenth_birthday_today() -> dt.date:
    """The birth date of someone turning 14 today, by the application's clock (Budapest), not the
    machine's (29 February counts from the 28th)."""
    today = clock.today()
    day = 28 if (today.month, today.day) == (2, 29) else today.day
    return dt.date(today.year - 14, today.month, day)


async def test_a_customer_younger_than_14_is_refused(agent, maker):
    too_young = fourteenth_birthday_today() + dt.timedelta(days=1)
    await assert_refused_beside_field(
        agent, maker, party_form(birth_date=too_young.isoformat()), "birth_date", "at least 14 years old"
    )


async def test_a_customer_turning_14_today_is_accepted(agent, maker):
    birthday = fourteenth_birthday_today()
    party = await load_party(maker, party_id_from(
        await post_form(agent, "/customers", party_form(birth_date=birthday.isoformat()))
    ))
    assert party.birth_date == birthday


class _LeapDay(dt.date):
    @classmethod
    def today(cls):
        return cls(2028, 2, 29)


def test_the_age_limit_works_on_29_february(monkeypatch):
    monkeypatch.setattr(clock, "today", _LeapDay.today)

    assert schemas.parse_party(party_form(birth_date="2014-02-28")).birth_date == dt.date(2014, 2, 28)
    with pytest.raises(ValidationFailedError) as info:
        schemas.parse_party(party_form(birth_date="2014-03-01"))
    assert set(info.value.errors) == {"birth_date"}


@pytest.mark.parametrize(
    ("field", "typed"),
    [("family_name", "Nagy\x00"), ("given_name", "Erz\x1bsébet"), ("street", "Kárász\x07utca"),
     ("mother_birth_name", "Tóth\x08Ilona"), ("email", "nagy\x00@example.hu"), ("phone", "06301234567\x00"),
     ("postal_code", "6720\x00")],
)
async def test_control_characters_are_refused_beside_the_field(agent, maker, field, typed):
    await assert_refused_beside_field(agent, maker, party_form(**{field: typed}), field, "control characters")


async def test_an_unknown_kind_of_customer_is_refused(agent, maker):
    # `kind` is a hidden field, so only a tampered form gets here: its message is the banner
    before = await db_state(maker)
    response = await post_form(agent, "/customers", party_form(kind="robot"))
    assert response.status_code == 422
    assert 'class="error banner" role="alert">Choose one of the offered values.' in response.text
    assert await db_state(maker) == before


async def test_a_long_organisation_name_whose_words_share_100_letters_is_saved_and_indexed(agent, maker):
    name = "A" * 120 + " " + "A" * 110
    party_id = party_id_from(await post_form(agent, "/customers", organisation_form(organisation_name=name)))

    party = await load_party(maker, party_id)
    assert party.organisation_name == name
    async with maker() as s:
        tokens = list(await s.scalars(select(PartyNameToken.token).where(PartyNameToken.party_id == party_id)))
    assert tokens == ["a" * 100]


# ---------------------------------------------------------------- editing

async def test_the_edit_form_shows_the_stored_values_and_version(agent, maker):
    party = await add_party(maker, family_name="Kovács", given_name="János", phones=["+36301234567"])
    page = await agent.get(f"/customers/{party.id}/edit")

    assert page.status_code == 200
    assert input_value(page.text, "family_name") == "Kovács"
    assert input_value(page.text, "phone") == "+36301234567"
    assert input_value(page.text, "version") == "1"


async def test_editing_a_customer_changes_it_and_audits_only_the_changed_fields(agent, maker):
    party = await add_party(maker, family_name="Kovács", given_name="János", phones=["+36301234567"])
    form = {**(await _edit_values(agent, party.id)), "family_name": "Kiss", "phone": "06 20 987 6543"}

    response = await post_form(agent, f"/customers/{party.id}", form)

    assert response.status_code == 303 and response.headers["location"] == f"/customers/{party.id}"
    changed = await load_party(maker, party.id)
    assert changed.display_name == "Kiss János" and changed.version == 2
    assert [cp.value for cp in changed.contact_points if cp.kind == "phone"] == ["+36209876543"]
    [update] = await audit_rows(maker, "party.update")
    assert update.entity_id == str(party.id) and update.actor_name == "agent"
    assert update.before == {"contact_points": ["phone:+36301234567", f"email:{party.contact_points[1].value}"],
                             "display_name": "Kovács János", "family_name": "Kovács"}
    assert update.after == {"contact_points": ["phone:+36209876543", f"email:{party.contact_points[1].value}"],
                            "display_name": "Kiss János", "family_name": "Kiss"}


async def test_editing_a_customer_writes_an_automatic_contact_entry(agent, maker):
    party = await add_party(maker)
    form = {**(await _edit_values(agent, party.id)), "street": "Petőfi Sándor utca"}

    assert (await post_form(agent, f"/customers/{party.id}", form)).status_code == 303

    entries = await contacts_of(maker, party.id)
    assert [e.summary for e in entries if e.automatic] == ["Customer created", "Customer data changed"]
    assert entries[-1].staff_name == "agent" and entries[-1].subject_type == "party"
    [update] = await audit_rows(maker, "party.update")
    assert set(update.after) == {"addresses"}


async def test_saving_an_unchanged_form_changes_nothing(agent, maker):
    party = await add_party(maker)
    form = await _edit_values(agent, party.id)
    before = await db_state(maker)

    assert (await post_form(agent, f"/customers/{party.id}", form)).status_code == 303
    assert await db_state(maker) == before


async def test_a_stale_edit_gets_409_with_the_current_state_and_changes_nothing(agent, maker):
    party = await add_party(maker, family_name="Kovács", given_name="János")
    stale_form = await _edit_values(agent, party.id)
    first = {**stale_form, "family_name": "Szabó"}
    assert (await post_form(agent, f"/customers/{party.id}", first)).status_code == 303
    before = await db_state(maker)

    response = await post_form(agent, f"/customers/{party.id}", {**stale_form, "given_name": "Péter"})

    assert response.status_code == 409
    assert "Someone else changed this customer" in response.text
    assert input_value(response.text, "family_name") == "Szabó"  # the current state, not the stale form
    assert input_value(response.text, "given_name") == "János"
    assert input_value(response.text, "version") == "2"  # so that the agent can make the change again
    assert await db_state(maker) == before
    assert (await load_party(maker, party.id)).display_name == "Szabó János"


async def test_bad_input_on_edit_is_refused_beside_the_field_and_changes_nothing(agent, maker):
    party = await add_party(maker)
    form = {**(await _edit_values(agent, party.id)), "family_name": "Kiss", "tax_number": "x", "phone": "06 30"}

    response = await assert_refused_beside_field(agent, maker, form, "phone", "phone number",
                                                 path=f"/customers/{party.id}")
    assert input_value(response.text, "family_name") == "Kiss"
    assert (await load_party(maker, party.id)).family_name == party.family_name


async def test_an_individual_cannot_be_turned_into_an_organisation(agent, maker):
    party = await add_party(maker)
    form = {**organisation_form(), "version": "1"}
    before = await db_state(maker)

    response = await post_form(agent, f"/customers/{party.id}", form)

    # `kind` is a hidden field, so the rule is named in the banner
    assert response.status_code == 422
    assert "An individual cannot become an organisation or the reverse." in response.text
    assert await db_state(maker) == before
    assert (await load_party(maker, party.id)).kind == "individual"


async def test_editing_an_unknown_customer_answers_404(agent):
    assert (await post_form(agent, "/customers/987654", party_form(version="1"))).status_code == 404
    assert (await agent.get("/customers/987654/edit")).status_code == 404
    assert (await agent.get("/customers/987654")).status_code == 404
    assert (await agent.get("/customers/99999999999999999999")).status_code == 404  # beyond 64 bits


async def _edit_values(agent, party_id: int) -> dict[str, str]:
    """The edit form as the browser would submit it unchanged."""
    page = (await agent.get(f"/customers/{party_id}/edit")).text
    names = set(re.findall(r'<(?:input|select)[^>]*\bname="(\w+)"', page)) - {"_csrf_token"}
    return {name: input_value(page, name) or "" for name in names}


# ---------------------------------------------------------------- consents

async def consents_of(maker, party_id: int) -> list[Consent]:
    async with maker() as s:
        return list(await s.scalars(select(Consent).where(Consent.party_id == party_id).order_by(Consent.id)))


async def test_giving_a_consent_records_the_date_audit_and_contact_entry(agent, maker):
    party = await add_party(maker)

    response = await post_form(agent, f"/customers/{party.id}/consents", {"kind": "marketing", "granted": "1"})

    assert response.status_code == 303
    [consent] = await consents_of(maker, party.id)
    assert (consent.kind, consent.given_on, consent.withdrawn_on) == ("marketing", clock.today(), None)
    [given] = await audit_rows(maker, "consent.give")
    assert given.after == {"kind": "marketing", "given_on": clock.today().isoformat()}
    assert (await contacts_of(maker, party.id))[-1].summary == "Consent given: %(kind)s"
    page = (await agent.get(f"/customers/{party.id}")).text
    assert f"given on {clock.today()}" in page


async def test_withdrawing_a_consent_keeps_its_history_with_the_withdrawal_date(agent, maker):
    party = await add_party(maker)
    path = f"/customers/{party.id}/consents"
    for granted in ("1", "0", "1"):
        assert (await post_form(agent, path, {"kind": "itemised_bill", "granted": granted})).status_code == 303

    first, second = await consents_of(maker, party.id)
    assert first.withdrawn_on == clock.today() and first.given_on == clock.today()
    assert second.withdrawn_on is None
    [withdrawn] = await audit_rows(maker, "consent.withdraw")
    assert withdrawn.before == {"withdrawn_on": None}
    assert withdrawn.after == {"withdrawn_on": clock.today().isoformat()}
    summaries = [c.summary for c in await contacts_of(maker, party.id) if c.subject_type == "consent"]
    assert summaries == ["Consent given: %(kind)s", "Consent withdrawn: %(kind)s", "Consent given: %(kind)s"]


async def test_giving_a_consent_twice_or_withdrawing_one_never_given_changes_nothing(agent, maker):
    party = await add_party(maker)
    path = f"/customers/{party.id}/consents"
    await post_form(agent, path, {"kind": "directory_listing", "granted": "1"})
    before = await db_state(maker)

    assert (await post_form(agent, path, {"kind": "directory_listing", "granted": "1"})).status_code == 303
    assert (await post_form(agent, path, {"kind": "marketing", "granted": "0"})).status_code == 303
    assert await db_state(maker) == before


async def test_a_consent_changed_over_htmx_answers_the_consent_fragment(agent, maker):
    party = await add_party(maker)

    response = await post_form(agent, f"/customers/{party.id}/consents", {"kind": "marketing", "granted": "1"},
                               headers={"hx-request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.text
    assert f"given on {clock.today()}" in response.text and "Withdraw" in response.text


async def test_an_unknown_consent_is_refused_and_nothing_saved(agent, maker):
    party = await add_party(maker, OrganisationInputFactory)
    before = await db_state(maker)
    response = await post_form(agent, f"/customers/{party.id}/consents", {"kind": "everything", "granted": "1"})
    assert response.status_code == 422
    assert "no such consent" in response.text
    assert await db_state(maker) == before
