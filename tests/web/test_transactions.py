"""One transaction per request: a save that fails at COMMIT is never reported as saved."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, func, select

from backoffice.customers.models import Party
from tests.conftest import IS_PG, login, post_form
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


@pytest.mark.skipif(IS_PG, reason="SQLite's single write lock")
async def test_a_request_that_fails_csrf_never_waits_for_the_write_lock(client, settings):
    """The session lookup only reads: a POST carrying any session cookie must not take SQLite's
    write lock before its CSRF token (and body) have been checked."""
    await login(client, "agent")
    db_file = settings.database_url.split("///", 1)[1]
    holder = sqlite3.connect(db_file, timeout=1)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock meanwhile
    try:
        response = await asyncio.wait_for(
            client.post("/customers", data={"_csrf_token": "forged"}, follow_redirects=False), timeout=5
        )
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 403


@pytest.mark.skipif(IS_PG, reason="SQLite's single write lock")
async def test_pages_are_read_while_another_writer_holds_the_lock(client, settings):
    await login(client, "agent")
    db_file = settings.database_url.split("///", 1)[1]
    holder = sqlite3.connect(db_file, timeout=1)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = await asyncio.wait_for(client.get("/search", params={"q": "kovacs"}), timeout=5)
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 200


@pytest.mark.skipif(IS_PG, reason="SQLite's writers' queue")
async def test_a_writer_waits_its_turn_behind_another_process_and_then_saves(client, session, settings):
    """Several server workers write one SQLite file: a writer queues on the file lock beside the
    database (here held as another process would hold it, on its own open file) instead of
    SQLite's sleep-and-retry, and saves as soon as that writer lets go."""
    await login(client, "agent")
    before = await session.scalar(select(func.count()).select_from(Party))
    db_file = settings.database_url.split("///", 1)[1]
    other = os.open(f"{db_file}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)
    # The test client serves the request while this test waits for it, so the other writer lets
    # go from a thread of its own.
    threading.Timer(0.5, fcntl.flock, (other, fcntl.LOCK_UN)).start()
    started = time.monotonic()
    try:
        response = await post_form(client, "/customers", party_form())
    finally:
        os.close(other)
    waited = time.monotonic() - started
    assert response.status_code == 303
    assert 0.45 <= waited < 10  # its turn came when the other writer let go, not at a timeout
    assert await session.scalar(select(func.count()).select_from(Party)) == before + 1
