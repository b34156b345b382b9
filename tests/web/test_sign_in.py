"""Staff sign-in: argon2 passwords, lockout, session rotation, sign-out, idle timeout."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from backoffice.staff.models import StaffSession, StaffUser
from backoffice.staff.services import token_digest
from tests.conftest import PASSWORD, csrf_token, login, post_form


async def test_passwords_are_stored_as_argon2_hashes(session):
    user = await session.scalar(select(StaffUser).where(StaffUser.username == "agent"))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


async def test_right_password_signs_in_and_opens_the_start_page(client):
    response = await login(client, "agent")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert (await client.get("/")).status_code == 200


def english(client):
    client.cookies.set("bo_lang", "en", domain="testserver.local")


async def test_wrong_password_is_refused_with_a_message_and_keeps_the_user_name(client):
    english(client)
    response = await login(client, "agent", "not the password")
    assert response.status_code == 422
    assert "Wrong user name or password." in response.text
    assert 'value="agent"' in response.text
    assert "bo_session" not in client.cookies


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    english(client)
    response = await login(client, "nobody", "whatever")
    assert response.status_code == 422
    assert "Wrong user name or password." in response.text


async def test_disabled_user_cannot_sign_in(client, session):
    await session.execute(update(StaffUser).where(StaffUser.username == "agent").values(is_active=False))
    await session.commit()
    assert (await login(client, "agent")).status_code == 422


async def test_ten_failed_attempts_lock_the_account_for_fifteen_minutes(client, session):
    english(client)
    for _ in range(10):
        assert (await login(client, "agent", "wrong")).status_code == 422
    response = await login(client, "agent")  # even the right password is refused now
    assert response.status_code == 422
    assert "locked" in response.text
    user = await session.scalar(select(StaffUser).where(StaffUser.username == "agent"))
    now = dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=14) < user.locked_until - now <= dt.timedelta(minutes=15)


async def test_nine_failures_then_success_resets_the_counter(client, session):
    for _ in range(9):
        await login(client, "agent", "wrong")
    assert (await login(client, "agent")).status_code == 303
    user = await session.scalar(select(StaffUser).where(StaffUser.username == "agent"))
    assert user.failed_attempts == 0 and user.locked_until is None


async def test_lock_expires_after_fifteen_minutes(client, session):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await session.execute(update(StaffUser).where(StaffUser.username == "agent").values(locked_until=past))
    await session.commit()
    assert (await login(client, "agent")).status_code == 303


async def test_session_id_rotates_at_sign_in(client, session):
    await login(client, "agent")
    first = client.cookies.get("bo_session")
    await login(client, "supervisor")  # signing in again from the same browser
    second = client.cookies.get("bo_session")
    assert first and second and first != second
    rows = list(await session.scalars(select(StaffSession.token_hash)))
    assert token_digest(first) not in rows
    assert token_digest(second) in rows


async def test_a_session_id_planted_before_sign_in_is_not_adopted(client, session):
    client.cookies.set("bo_session", "attacker-chosen-value", domain="testserver.local")
    response = await login(client, "agent")
    issued = response.headers["set-cookie"].split("bo_session=")[1].split(";")[0]
    assert issued and issued != "attacker-chosen-value"
    rows = list(await session.scalars(select(StaffSession.token_hash)))
    assert rows == [token_digest(issued)]


async def test_sign_out_ends_the_session_and_the_old_cookie_no_longer_works(client, app):
    await login(client, "agent")
    old = client.cookies.get("bo_session")
    response = await post_form(client, "/logout", {})
    assert response.status_code == 303
    client.cookies.set("bo_session", old)  # replay the old cookie
    after = await client.get("/", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")


async def test_idle_session_expires_after_thirty_minutes(client, session):
    await login(client, "agent")
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    await session.execute(update(StaffSession).values(last_seen_at=stale))
    await session.commit()
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_activity_keeps_the_session_alive(client, session):
    await login(client, "agent")
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=29)
    await session.execute(update(StaffSession).values(last_seen_at=recent))
    await session.commit()
    assert (await client.get("/")).status_code == 200
    seen = await session.scalar(select(StaffSession.last_seen_at).execution_options(populate_existing=True))
    assert dt.datetime.now(dt.UTC) - seen < dt.timedelta(minutes=1)


async def test_session_cookie_is_http_only_and_same_site(client):
    response = await login(client, "agent")
    cookie = response.headers["set-cookie"]
    assert "bo_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


async def test_login_redirects_only_to_local_paths(client):
    token = await csrf_token(client)
    response = await client.post(
        "/login", data={"username": "agent", "password": PASSWORD, "_csrf_token": token,
                        "next": "https://evil.example/"}, follow_redirects=False,
    )
    assert response.headers["location"] == "/"


async def test_unauthenticated_page_request_goes_to_login_with_next(client):
    response = await client.get("/customers/1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/customers/1"


async def test_disabling_a_user_ends_their_sessions(client, session):
    await login(client, "agent")
    await session.execute(update(StaffUser).where(StaffUser.username == "agent").values(is_active=False))
    await session.commit()
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 303
