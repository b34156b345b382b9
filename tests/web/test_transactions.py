"""One transaction per request: a save that fails at COMMIT is never reported as saved."""

from __future__ import annotations

from sqlalchemy import event, func, select

from backoffice.customers.models import Party
from tests.conftest import login, post_form
from tests.factories import party_form


async def test_a_failed_commit_answers_an_error_and_saves_nothing(app, client, session):
    await login(client, "agent")
    before = await session.scalar(select(func.count()).select_from(Party))

    def refuse_commit(conn):
        raise RuntimeError("disk full")  # what a failing COMMIT looks like to the app

    event.listen(app.state.engine.sync_engine, "commit", refuse_commit)
    try:
        response = await post_form(client, "/customers", party_form())
    finally:
        event.remove(app.state.engine.sync_engine, "commit", refuse_commit)
    assert response.status_code == 500
    assert "location" not in response.headers
    assert await session.scalar(select(func.count()).select_from(Party)) == before


async def test_a_refused_form_rolls_back_whatever_the_handler_wrote(client, session):
    await login(client, "agent")
    before = await session.scalar(select(func.count()).select_from(Party))
    response = await post_form(client, "/customers", party_form(tax_number="x", kind="organisation"))
    assert response.status_code == 422
    assert await session.scalar(select(func.count()).select_from(Party)) == before
