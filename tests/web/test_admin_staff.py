"""Admin screens: create, disable, enable and re-role staff; bad input changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from backoffice.audit import AuditEntry
from backoffice.staff.models import StaffUser
from tests.conftest import login, post_form


async def _user(session, username):
    return await session.scalar(
        select(StaffUser).where(StaffUser.username == username).execution_options(populate_existing=True)
    )


async def test_admin_creates_a_staff_account_with_a_hashed_password(client, session):
    await login(client, "admin")
    response = await post_form(client, "/admin/users", {"username": "kiss.anna", "full_name": "Kiss Anna",
                                                         "role": "agent", "password": "hosszu-jelszo-123"})
    assert response.status_code == 303
    user = await _user(session, "kiss.anna")
    assert user.role == "agent" and user.password_hash.startswith("$argon2")
    client.cookies.clear()
    assert (await login(client, "kiss.anna", "hosszu-jelszo-123")).status_code == 303


async def test_short_password_or_bad_user_name_is_refused_and_nothing_is_created(client, session):
    await login(client, "admin")
    before = await session.scalar(select(func.count()).select_from(StaffUser))
    short = await post_form(client, "/admin/users", {"username": "kiss.anna", "role": "agent", "password": "short"})
    assert short.status_code == 422 and 'id="e-password"' in short.text
    assert 'value="kiss.anna"' in short.text
    bad = await post_form(client, "/admin/users", {"username": "Kiss Anna!", "role": "agent",
                                                   "password": "hosszu-jelszo-123"})
    assert bad.status_code == 422 and 'id="e-username"' in bad.text
    taken = await post_form(client, "/admin/users", {"username": "agent", "role": "agent",
                                                     "password": "hosszu-jelszo-123"})
    assert taken.status_code == 409
    assert await session.scalar(select(func.count()).select_from(StaffUser)) == before


async def test_admin_changes_a_role_and_the_change_is_audited(client, session):
    await login(client, "admin")
    agent = await _user(session, "agent")
    response = await post_form(client, f"/admin/users/{agent.id}",
                               {"action": "role", "role": "supervisor", "version": str(agent.version)})
    assert response.status_code == 303
    assert (await _user(session, "agent")).role == "supervisor"
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.update"))
    assert entry.before == {"role": "agent"} and entry.after == {"role": "supervisor"}


async def test_disabling_a_user_signs_them_out(app, client, session):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app, base_url="http://testserver.local") as agent_client:
        await login(agent_client, "agent")
        await login(client, "admin")
        agent = await _user(session, "agent")
        response = await post_form(client, f"/admin/users/{agent.id}",
                                   {"action": "disable", "version": str(agent.version)})
        assert response.status_code == 303
        assert (await agent_client.get("/", follow_redirects=False)).status_code == 303


async def test_admin_cannot_disable_themselves(client, session):
    await login(client, "admin")
    admin = await _user(session, "admin")
    response = await post_form(client, f"/admin/users/{admin.id}", {"action": "disable", "version": str(admin.version)})
    assert response.status_code == 422
    assert (await _user(session, "admin")).is_active


async def test_stale_version_on_a_staff_change_is_a_conflict(client, session):
    await login(client, "admin")
    agent = await _user(session, "agent")
    response = await post_form(client, f"/admin/users/{agent.id}",
                               {"action": "role", "role": "records", "version": str(agent.version + 5)})
    assert response.status_code == 409
    assert (await _user(session, "agent")).role == "agent"


async def test_admin_adds_and_retires_a_contact_reason(client, session):
    from backoffice.customers.models import ContactReason

    await login(client, "admin")
    response = await post_form(client, "/admin/contact-reasons",
                               {"code": "porting", "name_hu": "Számhordozás", "name_en": "Number porting"})
    assert response.status_code == 303
    reason = await session.scalar(select(ContactReason).where(ContactReason.code == "porting"))
    assert reason.is_active
    await post_form(client, f"/admin/contact-reasons/{reason.id}", {"active": "0"})
    await session.refresh(reason)
    assert not reason.is_active
    missing = await post_form(client, "/admin/contact-reasons", {"code": "x", "name_hu": "", "name_en": ""})
    assert missing.status_code == 422 and 'id="e-name_hu"' in missing.text


async def test_ids_beyond_64_bits_are_not_found_not_a_server_error(client):
    await login(client, "admin")
    huge = "99999999999999999999"
    assert (await post_form(client, f"/admin/users/{huge}", {"action": "disable", "version": "1"})).status_code == 404
    assert (await post_form(client, f"/admin/contact-reasons/{huge}", {"active": "0"})).status_code == 404
