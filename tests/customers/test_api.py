"""The JSON API under /api/v1: same services and rules as the screens, errors as problem details."""

from __future__ import annotations

import re

import pytest
from litestar.routes import HTTPRoute

from tests.conftest import login
from tests.customers.helpers import (
    add_account,
    add_party,
    api_token,
    audit_rows,
    contacts_of,
    db_state,
    load_party,
    reason,
)

PROBLEM = "application/problem+json"
IBAN = "HU42 1177 3016 1111 1018 0000 0000"

NEW_PERSON = {
    "kind": "individual", "family_name": "Horváth", "given_name": "Ákos", "birth_date": "1988-09-30",
    "birth_place": "Pécs", "mother_birth_name": "Balogh Judit", "id_document_type": "passport",
    "id_document_number": "BA1234567", "postal_code": "7621", "locality": "Pécs", "street": "Király utca",
    "house_number": "12", "floor_door": "2/4", "phone": "06 30 123 4567", "email": "horvath.akos@example.hu",
}
NEW_ACCOUNT = {
    "bill_delivery": "email", "delivery_email": "szamla@example.hu", "payment_method": "direct_debit",
    "iban": IBAN, "mandate_date": "2026-01-10", "postal_code": "7621", "locality": "Pécs", "street": "Király utca",
    "house_number": "12",
}


@pytest.fixture
async def agent_api(maker):
    return await api_token(maker, "agent")


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"] == f"urn:backoffice:problem:{body['code']}"
    if code is not None:
        assert body["code"] == code
    return body


# ---------------------------------------------------------------- customers

async def test_a_token_holder_creates_reads_and_searches_a_customer(client, maker, agent_api):
    created = await client.post("/api/v1/customers", json=NEW_PERSON, headers=agent_api)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["display_name"] == "Horváth Ákos" and body["version"] == 1
    assert body["phones"] == ["+36301234567"] and body["id_document_number"] == "BA1234567"
    assert len(body["customer_number"]) == 9
    read = await client.get(f"/api/v1/customers/{body['id']}", headers=agent_api)
    assert read.status_code == 200 and read.json() == body
    hits = await client.get("/api/v1/customers", params={"q": "horvath akos"}, headers=agent_api)
    assert hits.status_code == 200
    assert [h["url"] for h in hits.json()] == [f"/customers/{body['id']}"]
    by_phone = await client.get("/api/v1/customers", params={"q": "+36 30 123 4567"}, headers=agent_api)
    assert by_phone.json()[0]["kind"] == "phone"
    [audited] = await audit_rows(maker, "party.create")
    assert audited.actor_name == "agent"


async def test_a_bearer_request_needs_no_csrf_token(client, maker, agent_api):
    assert not client.cookies  # never visited a page: no CSRF cookie
    response = await client.post("/api/v1/customers", json=NEW_PERSON, headers=agent_api)
    assert response.status_code == 201


async def test_a_cookie_signed_in_client_posting_to_the_api_without_csrf_is_refused(agent, maker):
    before = await db_state(maker)
    response = await agent.post("/api/v1/customers", json=NEW_PERSON)
    assert_problem(response, 403, "csrf_failed")
    assert await db_state(maker) == before


async def test_a_cookie_signed_in_client_with_the_csrf_header_may_use_the_api(agent):
    response = await agent.post("/api/v1/customers", json=NEW_PERSON,
                                headers={"x-csrftoken": agent.cookies.get("bo_csrf")})
    assert response.status_code == 201


async def test_patch_changes_only_the_fields_sent(client, maker, agent_api):
    party = await add_party(maker, family_name="Kovács", given_name="János")

    response = await client.patch(f"/api/v1/customers/{party.id}", json={"family_name": "Kiss", "version": 1},
                                  headers=agent_api)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["display_name"], body["given_name"], body["version"]) == ("Kiss János", "János", 2)
    assert body["phones"] == [cp.value for cp in party.contact_points if cp.kind == "phone"]
    [update] = await audit_rows(maker, "party.update")
    assert set(update.after) == {"display_name", "family_name"}
    assert (await contacts_of(maker, party.id))[-1].summary == "Customer data changed"


async def test_patch_with_a_stale_version_is_a_409_problem_and_changes_nothing(client, maker, agent_api):
    # Names the factory never gives, so that the first change is a change whatever it drew.
    party = await add_party(maker)
    first = await client.patch(f"/api/v1/customers/{party.id}", json={"given_name": "Ödönke", "version": 1},
                               headers=agent_api)
    assert first.status_code == 200 and first.json()["version"] == 2
    before = await db_state(maker)

    response = await client.patch(f"/api/v1/customers/{party.id}", json={"given_name": "Pálka", "version": 1},
                                  headers=agent_api)

    assert_problem(response, 409, "stale_version")
    assert await db_state(maker) == before
    assert (await load_party(maker, party.id)).given_name == "Ödönke"


async def test_patch_cannot_turn_an_individual_into_an_organisation(client, maker, agent_api):
    party = await add_party(maker)
    response = await client.patch(f"/api/v1/customers/{party.id}",
                                  json={"kind": "organisation", "organisation_name": "X Kft.",
                                        "tax_number": "12345676-2-41"}, headers=agent_api)
    body = assert_problem(response, 422, "kind_fixed")
    assert body["errors"][0]["field"] == "kind"


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "06 30 123 45"), ("email", "horvath@"), ("postal_code", "762"), ("birth_date", "1988-13-01"),
     ("id_document_number", "x"), ("family_name", ""), ("street", "Király\x00utca"), ("kind", "cyborg")],
)
async def test_bad_input_is_a_422_problem_naming_the_field(client, maker, agent_api, field, value):
    before = await db_state(maker)
    response = await client.post("/api/v1/customers", json={**NEW_PERSON, field: value}, headers=agent_api)

    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == [field]
    assert all(e["message"] for e in body["errors"])
    assert await db_state(maker) == before


async def test_an_organisation_with_a_bad_tax_number_is_a_422_problem(client, maker, agent_api):
    org = {"kind": "organisation", "organisation_name": "Dráva Net Kft.", "tax_number": "12345678-2-41",
           "eu_vat_number": "HU12345678", "postal_code": "7621", "locality": "Pécs", "street": "Király utca",
           "house_number": "1"}
    body = assert_problem(await client.post("/api/v1/customers", json=org, headers=agent_api), 422)
    assert {e["field"] for e in body["errors"]} == {"tax_number", "eu_vat_number"}


@pytest.mark.parametrize(
    "payload",
    [{**NEW_PERSON, "family_name": 42}, {**NEW_PERSON, "phone": ["06 30 123 4567"]}, [NEW_PERSON], "Horváth",
     {**NEW_PERSON, "version": "one"}],
)
async def test_wrong_json_types_are_a_400_problem(client, maker, agent_api, payload):
    before = await db_state(maker)
    body = assert_problem(await client.post("/api/v1/customers", json=payload, headers=agent_api), 400)
    assert body["code"] == "bad_request"
    assert await db_state(maker) == before


async def test_a_body_that_is_not_json_is_a_400_problem(client, agent_api):
    response = await client.post("/api/v1/customers", content=b"{family_name: ",
                                 headers={**agent_api, "content-type": "application/json"})
    assert_problem(response, 400)


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [("GET", "/api/v1/customers/424242", "party_not_found"),
     ("PATCH", "/api/v1/customers/424242", "party_not_found"),
     ("GET", "/api/v1/customers/424242/billing-accounts", "party_not_found"),
     ("GET", "/api/v1/customers/424242/contacts", "party_not_found"),
     ("GET", "/api/v1/billing-accounts/424242", "billing_account_not_found"),
     ("PATCH", "/api/v1/billing-accounts/424242", "billing_account_not_found"),
     ("GET", "/api/v1/contacts/424242", "contact_not_found"),
     ("GET", "/api/v1/customers/99999999999999999999", "party_not_found"),
     ("GET", "/api/v1/billing-accounts/-99999999999999999999", "billing_account_not_found"),
     ("GET", "/api/v1/contacts/99999999999999999999", "contact_not_found")],
)
async def test_an_unknown_id_is_a_404_problem(client, agent_api, method, path, code):
    response = await client.request(method, path, headers=agent_api, json={} if method == "PATCH" else None)
    assert_problem(response, 404, code)


async def test_records_staff_can_read_but_not_create_customers(client, maker):
    records = await api_token(maker, "records")
    party = await add_party(maker)
    before = await db_state(maker)

    assert (await client.get(f"/api/v1/customers/{party.id}", headers=records)).status_code == 200
    assert_problem(await client.post("/api/v1/customers", json=NEW_PERSON, headers=records), 403, "forbidden")
    assert_problem(await client.patch(f"/api/v1/customers/{party.id}", json={"given_name": "X"}, headers=records),
                   403, "forbidden")
    assert_problem(await client.post(f"/api/v1/customers/{party.id}/billing-accounts", json=NEW_ACCOUNT,
                                     headers=records), 403, "forbidden")
    assert await db_state(maker) == before


async def test_admins_have_no_access_to_customer_data(client, maker):
    admin = await api_token(maker, "admin")
    party = await add_party(maker)
    assert_problem(await client.get(f"/api/v1/customers/{party.id}", headers=admin), 403, "forbidden")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer bo_not-a-real-token"}, {"Authorization": "Basic x"}])
async def test_no_valid_token_is_a_401_problem(client, maker, headers):
    party = await add_party(maker)
    response = await client.get(f"/api/v1/customers/{party.id}", headers=headers)
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_write_with_an_unknown_bearer_token_is_a_401_problem(client, maker):
    before = await db_state(maker)
    response = await client.post("/api/v1/customers", json=NEW_PERSON,
                                 headers={"Authorization": "Bearer bo_not-a-real-token"})
    assert_problem(response, 401, "not_authenticated")
    assert await db_state(maker) == before


async def test_a_write_with_no_credentials_at_all_is_a_401_problem(client, maker):
    response = await client.post("/api/v1/customers", json=NEW_PERSON)
    assert_problem(response, 401, "not_authenticated")


# ---------------------------------------------------------------- billing accounts

async def test_a_token_holder_opens_lists_reads_and_patches_billing_accounts(client, maker, agent_api):
    party = await add_party(maker)

    created = await client.post(f"/api/v1/customers/{party.id}/billing-accounts", json=NEW_ACCOUNT,
                                headers=agent_api)

    assert created.status_code == 201, created.text
    account = created.json()
    assert account["account_number"] == f"{party.customer_number}-01"
    assert (account["iban"], account["mandate_date"], account["balance"]) == (
        "HU42117730161111101800000000", "2026-01-10", "0.00"  # money as text with two decimals
    )
    listed = await client.get(f"/api/v1/customers/{party.id}/billing-accounts", headers=agent_api)
    assert [a["id"] for a in listed.json()] == [account["id"]]
    read = await client.get(f"/api/v1/billing-accounts/{account['id']}", headers=agent_api)
    assert read.json() == account

    patched = await client.patch(f"/api/v1/billing-accounts/{account['id']}",
                                 json={"payment_method": "bank_transfer", "version": 1}, headers=agent_api)

    assert patched.status_code == 200, patched.text
    assert (patched.json()["payment_method"], patched.json()["iban"], patched.json()["version"]) == (
        "bank_transfer", None, 2
    )
    [update] = await audit_rows(maker, "billing_account.update")
    assert set(update.after) == {"payment_method", "iban", "mandate_date"}


async def test_a_bad_iban_over_the_api_is_a_422_problem_and_nothing_saved(client, maker, agent_api):
    party = await add_party(maker)
    before = await db_state(maker)
    response = await client.post(f"/api/v1/customers/{party.id}/billing-accounts",
                                 json={**NEW_ACCOUNT, "iban": "HU43 1177 3016 1111 1018 0000 0000"}, headers=agent_api)
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [{"field": "iban", "message": "This is not a valid IBAN: check the digits."}]
    assert await db_state(maker) == before


async def test_direct_debit_over_the_api_needs_iban_and_mandate_date(client, maker, agent_api):
    party = await add_party(maker)
    account = {k: v for k, v in NEW_ACCOUNT.items() if k not in ("iban", "mandate_date")}
    body = assert_problem(await client.post(f"/api/v1/customers/{party.id}/billing-accounts", json=account,
                                            headers=agent_api), 422)
    assert {e["field"] for e in body["errors"]} == {"iban", "mandate_date"}


async def test_a_stale_billing_account_patch_is_a_409_problem(client, maker, agent_api):
    party = await add_party(maker)
    account = await add_account(maker, party.id)
    first = await client.patch(f"/api/v1/billing-accounts/{account.id}", json={"bill_delivery": "paper", "version": 1},
                               headers=agent_api)
    assert first.status_code == 200
    before = await db_state(maker)
    response = await client.patch(f"/api/v1/billing-accounts/{account.id}", json={"name": "Új", "version": 1},
                                  headers=agent_api)
    assert_problem(response, 409, "stale_version")
    assert await db_state(maker) == before


# ---------------------------------------------------------------- contacts

async def test_the_active_reasons_are_listed_with_their_ids(client, maker, agent_api):
    response = await client.get("/api/v1/contacts/reasons", headers=agent_api)
    assert response.status_code == 200
    reasons = response.json()
    assert reasons[0]["code"] == "billing_question"
    assert {"id", "code", "name_hu", "name_en"} == set(reasons[0])
    assert (await reason(maker, "other")).id in {r["id"] for r in reasons}


async def test_a_token_holder_records_and_reads_contacts(client, maker, agent_api):
    party = await add_party(maker)
    payment = await reason(maker, "payment")

    created = await client.post(f"/api/v1/customers/{party.id}/contacts", headers=agent_api, json={
        "channel": "email", "direction": "inbound", "reason_id": payment.id, "outcome": "information_given",
        "notes": "Átutalási adatokat kért."})

    assert created.status_code == 201, created.text
    contact = created.json()
    assert (contact["reason"], contact["channel"], contact["staff"], contact["automatic"]) == (
        "payment", "email", "agent", False
    )
    read = await client.get(f"/api/v1/contacts/{contact['id']}", headers=agent_api)
    assert read.json()["notes"] == "Átutalási adatokat kért."
    timeline = await client.get(f"/api/v1/customers/{party.id}/contacts", headers=agent_api)
    assert [(c["id"] == contact["id"], c["summary"]) for c in timeline.json()] == [
        (True, None), (False, "Customer created"),  # newest first
    ]
    older = await client.get(f"/api/v1/customers/{party.id}/contacts", params={"before": contact["id"]},
                             headers=agent_api)
    assert [c["summary"] for c in older.json()] == ["Customer created"]


async def test_records_staff_may_record_a_contact_over_the_api(client, maker):
    records = await api_token(maker, "records")
    party = await add_party(maker)
    response = await client.post(f"/api/v1/customers/{party.id}/contacts", headers=records, json={
        "channel": "letter", "direction": "outbound", "reason_id": (await reason(maker, "other")).id,
        "outcome": "resolved"})
    assert response.status_code == 201 and response.json()["staff"] == "records"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"reason_id": 999999}, "reason_id"), ({"channel": "system"}, "channel"), ({"outcome": None}, "outcome"),
     ({"notes": "x" * 4001}, "notes")],
)
async def test_bad_contact_input_over_the_api_is_a_422_problem(client, maker, agent_api, change, field):
    party = await add_party(maker)
    payload = {"channel": "phone", "direction": "inbound", "reason_id": (await reason(maker, "other")).id,
               "outcome": "resolved", **change}
    before = await db_state(maker)
    body = assert_problem(await client.post(f"/api/v1/customers/{party.id}/contacts", json=payload,
                                            headers=agent_api), 422)
    assert [e["field"] for e in body["errors"]] == [field]
    assert await db_state(maker) == before


async def test_a_reason_id_of_the_wrong_type_is_a_400_problem(client, maker, agent_api):
    party = await add_party(maker)
    response = await client.post(f"/api/v1/customers/{party.id}/contacts", headers=agent_api, json={
        "channel": "phone", "direction": "inbound", "reason_id": "payment", "outcome": "resolved"})
    assert_problem(response, 400, "bad_request")


# ---------------------------------------------------------------- the OpenAPI document

async def test_the_openapi_document_is_for_staff_only(client):
    assert (await client.get("/schema/openapi.json", follow_redirects=False)).status_code in (401, 303)


async def test_the_openapi_document_lists_every_api_operation_with_its_tag(app, client):
    await login(client, "agent")
    document = (await client.get("/schema/openapi.json")).json()
    domain_of = {}  # each operation's expected tag: its domain's, or for the first domains the path's area
    for route in app.routes:
        if not (isinstance(route, HTTPRoute) and route.path.startswith("/api/v1")):
            continue
        path = re.sub(r":\w+\}", "}", route.path)
        for handler in route.route_handlers:
            module = handler.fn.__module__
            for method in handler.http_methods - {"HEAD", "OPTIONS"}:
                domain_of[(path, method.lower())] = {
                    "backoffice.subscriptions.api": "subscriptions", "backoffice.billing.api": "billing",
                }.get(module, path.split("/")[3])
    listed = {(path, method): op for path, ops in document["paths"].items() for method, op in ops.items()
              if path.startswith("/api/v1")}

    assert set(listed) == set(domain_of) and len(domain_of) >= 12
    for key, op in listed.items():
        assert op.get("tags") == [domain_of[key]], (key, op.get("tags"))
        assert op.get("summary") or op.get("description"), key
    assert {tag for op in listed.values() for tag in op["tags"]} == {
        "customers", "billing-accounts", "contacts", "documents", "subscriptions", "billing"}
    assert not [path for path in document["paths"]
                if path.startswith(("/customers", "/accounts", "/search", "/documents", "/services", "/contracts"))]


async def test_patch_with_null_clears_an_optional_field_and_leaves_out_the_rest(client, agent_api):
    headers = agent_api
    created = await client.post("/api/v1/customers", json=NEW_PERSON, headers=headers)
    assert created.status_code == 201, created.text
    party = created.json()
    assert party["email"] is not None
    cleared = await client.patch(f"/api/v1/customers/{party['id']}", json={"email": None}, headers=headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["email"] is None
    assert cleared.json()["family_name"] == party["family_name"]
    required = await client.patch(f"/api/v1/customers/{party['id']}", json={"family_name": None}, headers=headers)
    assert_problem(required, 422, "validation_failed")
