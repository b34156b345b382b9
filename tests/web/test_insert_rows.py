"""`db.insert_rows`: append-only rows written at once, handed back as loaded entities of the session."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backoffice.audit import AuditEntry
from backoffice.db import insert_rows, utcnow


def _row(action: str) -> dict[str, object]:
    return {"at": utcnow(), "actor_id": None, "actor_name": "system", "action": action, "entity_type": "test",
            "entity_id": "1", "before": None, "after": {"n": 1}}


async def test_rows_are_written_at_once_and_come_back_as_unchanged_entities_with_their_ids(maker):
    async with maker() as session, session.begin():
        first, second = await insert_rows(session, AuditEntry, [_row("test.first"), _row("test.second")])
        assert first.id is not None and second.id > first.id
        assert first in session and not session.dirty and not session.new  # nothing left to flush
        assert (first.action, second.after) == ("test.first", {"n": 1})
        # Read back in the same transaction: the same objects, from the identity map.
        found = await session.get(AuditEntry, second.id)
        assert found is second
    async with maker() as session:
        actions = (await session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "test")
                                         .order_by(AuditEntry.id))).all()
        assert actions == ["test.first", "test.second"]


async def test_writing_rows_leaves_the_sessions_pending_changes_pending(maker):
    async with maker() as session, session.begin():
        pending = AuditEntry(**_row("test.pending"))
        session.add(pending)
        [written] = await insert_rows(session, AuditEntry, [_row("test.written")])
        assert pending in session.new and pending.id is None
        await session.flush()
        assert pending.id > written.id


async def test_a_row_that_leaves_a_column_out_is_refused_before_anything_is_written(maker):
    row = _row("test.partial")
    del row["after"]
    async with maker() as session, session.begin():
        with pytest.raises(ValueError, match="after"):
            await insert_rows(session, AuditEntry, [row])
        count = await session.scalar(select(func.count()).select_from(AuditEntry)
                                     .where(AuditEntry.entity_type == "test"))
        assert count == 0


async def test_a_rolled_back_transaction_keeps_none_of_the_rows(maker):
    async with maker() as session:
        await insert_rows(session, AuditEntry, [_row("test.gone")])
        await session.rollback()
        count = await session.scalar(select(func.count()).select_from(AuditEntry)
                                     .where(AuditEntry.action == "test.gone"))
        assert count == 0
