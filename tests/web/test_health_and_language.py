"""Health check, UI language per user, error pages."""

from __future__ import annotations

from sqlalchemy import select

from backoffice.staff.models import StaffUser
from tests.conftest import login, post_form


async def test_healthz_reports_the_database_state(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["database"]["dialect"] in ("sqlite", "postgresql")


async def test_login_page_is_hungarian_by_default(client):
    page = await client.get("/login")
    assert "Bejelentkezés" in page.text


async def test_a_user_switches_the_ui_language_and_it_sticks(client, session):
    await login(client, "agent")  # the test users start in English
    assert "Sign out" in (await client.get("/")).text
    response = await post_form(client, "/language", {"language": "hu", "next": "/"})
    assert response.status_code == 303
    assert "Kijelentkezés" in (await client.get("/")).text
    user = await session.scalar(select(StaffUser).where(StaffUser.username == "agent"))
    assert user.language == "hu"


async def test_unknown_page_answers_404_not_500(client):
    await login(client, "agent")
    response = await client.get("/customers/999999")
    assert response.status_code == 404
    api = await client.get("/api/v1/customers/999999")
    assert api.status_code in (401, 404)


async def test_a_non_numeric_id_is_a_client_error_not_a_server_error(client):
    await login(client, "agent")
    response = await client.get("/customers/abc")
    assert 400 <= response.status_code < 500
