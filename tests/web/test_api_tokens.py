"""Bearer tokens act with their user's role until revoked or the user is disabled."""

from __future__ import annotations

from sqlalchemy import update

from backoffice.staff import services as staff
from backoffice.staff.models import StaffUser


async def _token(session, username="agent"):
    token = await staff.create_token(session, username)
    await session.commit()
    return {"Authorization": f"Bearer {token}"}, token


async def test_a_token_opens_the_api_until_it_is_revoked(client, session):
    headers, token = await _token(session)
    assert (await client.get("/api/v1/contacts/reasons", headers=headers)).status_code == 200
    assert await staff.revoke_tokens(session, token=token) == 1
    await session.commit()
    refused = await client.get("/api/v1/contacts/reasons", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_a_disabled_users_token_is_refused(client, session):
    headers, _ = await _token(session)
    await session.execute(update(StaffUser).where(StaffUser.username == "agent").values(is_active=False))
    await session.commit()
    assert (await client.get("/api/v1/contacts/reasons", headers=headers)).status_code == 401


async def test_a_token_acts_with_its_users_role(client, session):
    headers, _ = await _token(session, "records")
    response = await client.post("/api/v1/customers", json={"kind": "individual"}, headers=headers)
    assert response.status_code == 403
