"""The audit log: every state change leaves a row; rows can be filtered; none can be changed."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from backoffice.audit import AuditEntry
from tests.conftest import login, post_form
from tests.factories import party_form


async def _entries(session, action):
    return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_creating_a_customer_writes_an_audit_row_with_who_and_what(client, session):
    await login(client, "agent")
    response = await post_form(client, "/customers", party_form())
    assert response.status_code == 303
    [entry] = await _entries(session, "party.create")
    assert entry.actor_name == "agent"
    assert entry.before is None
    assert entry.after["family_name"] == "Nagy"
    assert entry.at is not None and entry.at.tzinfo is not None


async def test_sign_in_is_audited(client, session):
    await login(client, "agent")
    assert [e.actor_name for e in await _entries(session, "staff.sign_in")] == ["agent"]


async def test_audit_rows_cannot_be_updated_or_deleted(session, client):
    await login(client, "agent")
    [entry] = await _entries(session, "staff.sign_in")
    entry_id = entry.id
    with pytest.raises(DBAPIError):
        await session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(actor_name="someone"))
    await session.rollback()
    with pytest.raises(DBAPIError):
        await session.execute(delete(AuditEntry).where(AuditEntry.id == entry_id))
    await session.rollback()
    assert (await session.execute(text("SELECT count(*) FROM audit_log"))).scalar_one() == 1


async def test_admin_filters_the_audit_log_by_user_and_action(client, session):
    await login(client, "agent")
    await post_form(client, "/customers", party_form())
    client.cookies.clear()
    await login(client, "admin")
    page = await client.get("/admin/audit", params={"actor": "agent", "action": "party."})
    assert page.status_code == 200
    assert "party.create" in page.text
    assert "staff.sign_in" not in page.text
    by_admin = await client.get("/admin/audit", params={"actor": "admin"})
    assert "party.create" not in by_admin.text and "staff.sign_in" in by_admin.text


async def test_bad_audit_filter_date_is_reported_beside_the_field(client):
    await login(client, "admin")
    page = await client.get("/admin/audit", params={"since": "yesterday"})
    assert page.status_code == 422
    assert 'id="e-since"' in page.text
    assert 'value="yesterday"' in page.text


async def test_odd_audit_filters_are_answered_not_a_server_error(client):
    await login(client, "admin")
    far = await client.get("/admin/audit", params={"until": "9999-12-31"})
    assert far.status_code == 422 and 'id="e-until"' in far.text
    control = await client.get("/admin/audit", params={"actor": "adm\x00in"})
    assert control.status_code == 422 and 'id="e-actor"' in control.text


async def test_a_percent_sign_in_the_action_filter_is_a_letter_not_a_wildcard(client):
    await login(client, "admin")
    page = await client.get("/admin/audit", params={"action": "%"})
    assert page.status_code == 200
    assert "staff.sign_in" not in page.text
