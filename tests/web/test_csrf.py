"""Every unsafe request from a browser carries a valid CSRF token; bearer requests need none."""

from __future__ import annotations

from sqlalchemy import func, select

from backoffice.customers.models import Party
from tests.conftest import PASSWORD, login
from tests.factories import party_form


async def test_sign_in_without_a_csrf_token_is_refused(client):
    await client.get("/login")
    response = await client.post("/login", data={"username": "agent", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403


async def test_forged_csrf_token_is_refused_and_nothing_changes(client, session):
    await login(client, "agent")
    before = await session.scalar(select(func.count()).select_from(Party))
    response = await client.post("/customers", data={**party_form(), "_csrf_token": "forged"},
                                 follow_redirects=False)
    assert response.status_code == 403
    assert "expired" in response.text or "did not come from this site" in response.text
    assert await session.scalar(select(func.count()).select_from(Party)) == before


async def test_missing_csrf_header_on_htmx_post_is_refused(client):
    await login(client, "agent")
    response = await client.post("/customers/1/consents", data={"kind": "marketing", "granted": "1"},
                                 headers={"hx-request": "true"})
    assert response.status_code == 403


async def test_api_with_session_cookie_needs_csrf(client):
    await login(client, "agent")
    response = await client.post("/api/v1/customers", json={"kind": "individual"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "csrf_failed"


async def test_sign_out_without_csrf_is_refused(client):
    await login(client, "agent")
    response = await client.post("/logout", follow_redirects=False)
    assert response.status_code == 403
    assert (await client.get("/")).status_code == 200


async def test_a_page_gives_a_new_visitor_a_token_cookie_and_renders_an_existing_one_unchanged(client):
    first = await client.get("/login")
    token = first.cookies.get("bo_csrf")
    assert token and f'value="{token}"' in first.text
    # The cookie came back: the same token in the form, and no new cookie.
    again = await client.get("/login")
    assert "bo_csrf" not in again.cookies and f'value="{token}"' in again.text
    await login(client, "agent")
    page = await client.get("/customers/new")
    assert page.status_code == 200 and client.cookies.get("bo_csrf") in page.text
