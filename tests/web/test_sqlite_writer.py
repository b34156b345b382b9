"""SQLite: the writing transactions of a server take turns on one connection of their own, and a
request's writes run on the event loop's thread once its transaction has begun."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from backoffice.audit import AuditEntry
from backoffice.db import INLINE_WRITES, WRITE_INTENT, insert_rows, utcnow
from tests.conftest import IS_PG

pytestmark = pytest.mark.skipif(IS_PG, reason="SQLite's writer connection")


def _row(action: str) -> dict[str, object]:
    return {"at": utcnow(), "actor_id": None, "actor_name": "system", "action": action, "entity_type": "test",
            "entity_id": "1", "before": None, "after": None}


async def _driver(session):
    """The driver connection the session's statements run on now."""
    return (await (await session.connection()).get_raw_connection()).driver_connection


async def _count(maker, action: str) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)
                                        .where(AuditEntry.action == action)))


async def test_every_writing_transaction_runs_on_the_same_connection_and_gives_the_pooled_one_back(maker):
    WRITE_INTENT.set(True)
    async with maker() as first, maker() as second:
        # Two sessions at once hold two pooled connections…
        await first.execute(text("SELECT 1"))
        await first.commit()
        WRITE_INTENT.set(False)
        await second.execute(text("SELECT 1"))
        own = await _driver(second)
        WRITE_INTENT.set(True)
        await second.commit()
        # …but their writing transactions, one after the other, run on one connection.
        await insert_rows(first, AuditEntry, [_row("test.first")])
        writer = await _driver(first)
        await first.commit()
        await insert_rows(second, AuditEntry, [_row("test.second")])
        assert await _driver(second) is writer
        assert writer is not own
        await second.commit()
        # Committed, the session's own connection is its own again.
        WRITE_INTENT.set(False)
        assert await _driver(second) is own
        WRITE_INTENT.set(True)
    assert await _count(maker, "test.first") == 1
    assert await _count(maker, "test.second") == 1


async def test_a_rolled_back_writer_leaves_nothing_behind_and_the_next_writer_begins(maker):
    WRITE_INTENT.set(True)
    async with maker() as session:
        await insert_rows(session, AuditEntry, [_row("test.rolled_back")])
        await session.rollback()
    async with maker() as session, session.begin():
        await insert_rows(session, AuditEntry, [_row("test.after_rollback")])
    assert await _count(maker, "test.rolled_back") == 0
    assert await _count(maker, "test.after_rollback") == 1


async def test_a_writer_closed_mid_transaction_is_rolled_back_and_the_next_writer_begins(maker):
    WRITE_INTENT.set(True)
    session = maker()
    await insert_rows(session, AuditEntry, [_row("test.abandoned")])
    await session.close()  # handed back to the pool without COMMIT or ROLLBACK
    async with maker() as session, session.begin():
        await insert_rows(session, AuditEntry, [_row("test.next")])
    assert await _count(maker, "test.abandoned") == 0
    assert await _count(maker, "test.next") == 1


async def _write_thread(maker) -> int:
    """The thread that ran an INSERT inside a writing transaction."""
    seen: list[int] = []
    async with maker() as session, session.begin():
        driver = await _driver(session)
        await driver._execute(driver._conn.create_function, "seen_thread", 0,
                              lambda: seen.append(threading.get_ident()) or 0)
        await session.execute(text("INSERT INTO counters (name, period, value) "
                                   "VALUES ('test-thread', 'x', seen_thread())"))
        await session.execute(text("DELETE FROM counters WHERE name = 'test-thread'"))
    return seen[0]


async def test_a_requests_writes_run_on_the_event_loops_thread_and_a_batchs_on_the_drivers(maker):
    WRITE_INTENT.set(True)
    INLINE_WRITES.set(True)  # as the web layer sets it for every request
    assert await _write_thread(maker) == threading.get_ident()
    INLINE_WRITES.set(False)  # a background batch, a command
    assert await _write_thread(maker) != threading.get_ident()
