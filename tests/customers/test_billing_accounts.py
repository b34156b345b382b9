"""Opening and changing billing accounts through the agent's forms."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from backoffice import clock
from backoffice.customers.models import BillingAccount
from tests.conftest import post_form
from tests.customers.helpers import (
    add_account,
    add_party,
    audit_rows,
    contacts_of,
    db_state,
    field_error,
    field_errors,
    input_value,
    load_account,
)
from tests.factories import account_form

IBAN = "HU42 1177 3016 1111 1018 0000 0000"
IBAN_STORED = "HU42117730161111101800000000"


async def accounts_of(maker, party_id: int) -> list[BillingAccount]:
    async with maker() as s:
        return list(await s.scalars(
            select(BillingAccount).where(BillingAccount.payer_id == party_id).order_by(BillingAccount.id)
        ))


async def test_agent_opens_a_billing_account_numbered_after_the_customer_number(agent, maker):
    party = await add_party(maker)

    response = await post_form(agent, f"/customers/{party.id}/accounts", account_form(name="Otthoni számla"))

    assert response.status_code == 303
    assert response.headers["location"] == f"/customers/{party.id}#accounts"
    [account] = await accounts_of(maker, party.id)
    assert account.account_number == f"{party.customer_number}-01"
    assert (account.name, account.bill_delivery, account.delivery_email, account.payment_method) == (
        "Otthoni számla", "email", "szamla@example.hu", "bank_transfer"
    )
    assert account.iban is None and account.mandate_date is None
    assert account.address_line() == "6720 Szeged, Kárász utca 5"
    page = await agent.get(f"/customers/{party.id}")
    assert account.account_number in page.text


async def test_the_second_account_of_a_payer_gets_the_next_sequence_number(agent, maker):
    party = await add_party(maker)
    other = await add_party(maker)
    await add_account(maker, other.id)
    path = f"/customers/{party.id}/accounts"

    assert (await post_form(agent, path, account_form())).status_code == 303
    assert (await post_form(agent, path, account_form(bill_delivery="paper"))).status_code == 303

    numbers = [a.account_number for a in await accounts_of(maker, party.id)]
    assert numbers == [f"{party.customer_number}-01", f"{party.customer_number}-02"]


async def test_opening_an_account_writes_an_audit_row_and_an_automatic_contact_entry(agent, maker):
    party = await add_party(maker)
    await post_form(agent, f"/customers/{party.id}/accounts", account_form())
    [account] = await accounts_of(maker, party.id)

    [created] = await audit_rows(maker, "billing_account.create")
    assert created.entity_id == str(account.id) and created.actor_name == "agent"
    assert created.before is None
    assert created.after["account_number"] == account.account_number
    assert created.after["payment_method"] == "bank_transfer"
    entry = (await contacts_of(maker, party.id))[-1]
    assert entry.automatic and entry.summary == "Billing account %(number)s opened"
    assert entry.summary_params == {"number": account.account_number}
    assert entry.subject_type == "billing_account" and entry.subject_id == str(account.id)


async def test_direct_debit_with_an_iban_and_mandate_date_is_saved_compacted(agent, maker):
    party = await add_party(maker)
    form = account_form(payment_method="direct_debit", iban=IBAN, mandate_date="2026-01-15")

    assert (await post_form(agent, f"/customers/{party.id}/accounts", form)).status_code == 303

    [account] = await accounts_of(maker, party.id)
    assert (account.payment_method, account.iban, account.mandate_date) == (
        "direct_debit", IBAN_STORED, dt.date(2026, 1, 15)
    )


async def refused(agent, maker, path, form, expected_fields):
    before = await db_state(maker)
    response = await post_form(agent, path, form)
    assert response.status_code == 422, response.text
    assert set(field_errors(response.text)) == set(expected_fields), field_errors(response.text)
    assert await db_state(maker) == before, "a refused form must change nothing"
    return response


async def test_direct_debit_requires_an_iban_and_a_mandate_date(agent, maker):
    party = await add_party(maker)
    response = await refused(agent, maker, f"/customers/{party.id}/accounts",
                             account_form(payment_method="direct_debit"), {"iban", "mandate_date"})
    assert field_error(response.text, "iban") == "This field is required."
    assert field_error(response.text, "mandate_date") == "This field is required."
    assert input_value(response.text, "payment_method") == "direct_debit"


@pytest.mark.parametrize("bad_iban", ["HU43 1177 3016 1111 1018 0000 0000", "HU42 1177 3016", "12345678"])
async def test_a_bad_iban_is_refused_beside_the_field_and_nothing_is_saved(agent, maker, bad_iban):
    party = await add_party(maker)
    form = account_form(payment_method="direct_debit", iban=bad_iban, mandate_date="2026-01-15")

    response = await refused(agent, maker, f"/customers/{party.id}/accounts", form, {"iban"})

    assert "not a valid IBAN" in field_error(response.text, "iban")
    assert input_value(response.text, "iban") == bad_iban
    assert input_value(response.text, "mandate_date") == "2026-01-15"


async def test_email_delivery_requires_an_email_address(agent, maker):
    party = await add_party(maker)
    response = await refused(agent, maker, f"/customers/{party.id}/accounts", account_form(delivery_email=""),
                             {"delivery_email"})
    assert field_error(response.text, "delivery_email") == "This field is required."


async def test_paper_delivery_needs_no_email_address(agent, maker):
    party = await add_party(maker)
    form = account_form(bill_delivery="paper", delivery_email="")
    assert (await post_form(agent, f"/customers/{party.id}/accounts", form)).status_code == 303
    [account] = await accounts_of(maker, party.id)
    assert account.bill_delivery == "paper" and account.delivery_email is None


@pytest.mark.parametrize(
    ("field", "typed", "says"),
    [("delivery_email", "szamla.example.hu", "not an e-mail address"),
     ("bill_delivery", "pigeon", "Choose one of the offered values"),
     ("payment_method", "", "Choose one."),
     ("postal_code", "672", "four digits"),
     ("locality", "", "This field is required."),
     ("house_number", "5\x00", "control characters"),
     ("name", "N" * 201, "At most 200 characters")],
)
async def test_each_bad_account_field_is_refused_beside_the_field(agent, maker, field, typed, says):
    party = await add_party(maker)
    response = await refused(agent, maker, f"/customers/{party.id}/accounts", account_form(**{field: typed}),
                             {field})
    assert says in field_error(response.text, field)


async def test_a_mandate_date_more_than_a_year_ahead_is_refused(agent, maker):
    party = await add_party(maker)
    far = (clock.today() + dt.timedelta(days=400)).isoformat()
    form = account_form(payment_method="direct_debit", iban=IBAN, mandate_date=far)
    response = await refused(agent, maker, f"/customers/{party.id}/accounts", form, {"mandate_date"})
    assert "too far in the future" in field_error(response.text, "mandate_date")


async def test_an_account_for_an_unknown_customer_answers_404(agent, maker):
    before = await db_state(maker)
    assert (await post_form(agent, "/customers/424242/accounts", account_form())).status_code == 404
    assert await db_state(maker) == before


# ---------------------------------------------------------------- editing

async def test_editing_an_account_audits_only_the_changed_fields_and_logs_a_contact(agent, maker):
    party = await add_party(maker)
    account = await add_account(maker, party.id)
    form = account_form(delivery_email=account.delivery_email, postal_code=account.postal_code,
                        locality=account.locality, street=account.street, house_number=account.house_number,
                        payment_method="direct_debit", iban=IBAN, mandate_date="2026-02-01", version="1")

    response = await post_form(agent, f"/accounts/{account.id}", form)

    assert response.status_code == 303 and response.headers["location"] == f"/customers/{party.id}#accounts"
    changed = await load_account(maker, account.id)
    assert (changed.payment_method, changed.iban, changed.version) == ("direct_debit", IBAN_STORED, 2)
    [update] = await audit_rows(maker, "billing_account.update")
    assert update.before == {"iban": None, "mandate_date": None, "payment_method": "bank_transfer"}
    assert update.after == {"iban": IBAN_STORED, "mandate_date": "2026-02-01", "payment_method": "direct_debit"}
    entry = (await contacts_of(maker, party.id))[-1]
    assert entry.automatic and entry.summary == "Billing account %(number)s changed"


async def test_the_account_edit_form_shows_the_stored_values(agent, maker):
    party = await add_party(maker)
    account = await add_account(maker, party.id, payment_method="direct_debit", iban=IBAN_STORED,
                                mandate_date=dt.date(2025, 12, 1))
    page = await agent.get(f"/accounts/{account.id}/edit")
    assert page.status_code == 200
    assert account.account_number in page.text
    assert input_value(page.text, "iban") == IBAN_STORED
    assert input_value(page.text, "mandate_date") == "2025-12-01"
    assert input_value(page.text, "version") == "1"


async def test_a_bad_iban_on_edit_is_refused_and_the_account_is_unchanged(agent, maker):
    party = await add_party(maker)
    account = await add_account(maker, party.id)
    form = account_form(payment_method="direct_debit", iban="HU00 1177 3016 1111 1018 0000 0000",
                        mandate_date="2026-02-01", version="1")
    await refused(agent, maker, f"/accounts/{account.id}", form, {"iban"})
    assert (await load_account(maker, account.id)).payment_method == "bank_transfer"


async def test_a_stale_account_edit_gets_409_with_the_current_state_and_changes_nothing(agent, maker):
    party = await add_party(maker)
    account = await add_account(maker, party.id)
    first = account_form(bill_delivery="paper", version="1")
    assert (await post_form(agent, f"/accounts/{account.id}", first)).status_code == 303
    before = await db_state(maker)

    response = await post_form(agent, f"/accounts/{account.id}", account_form(name="Régi űrlap", version="1"))

    assert response.status_code == 409
    assert "Someone else changed this billing account" in response.text
    assert input_value(response.text, "bill_delivery") == "paper"
    assert input_value(response.text, "version") == "2"
    assert await db_state(maker) == before
    assert (await load_account(maker, account.id)).name == ""


async def test_editing_an_unknown_account_answers_404(agent):
    assert (await agent.get("/accounts/424242/edit")).status_code == 404
    assert (await post_form(agent, "/accounts/424242", account_form(version="1"))).status_code == 404
