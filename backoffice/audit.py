"""The append-only audit log: who changed what, when, with the before and after state."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

from sqlalchemy import JSON, Index, String, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import Base, BigIntId, IdMixin, UTCDateTime, utcnow


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_log"
    # The admin screen filters by object and by user.
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_actor_name", "actor_name"),
    )

    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigIntId, nullable=True, index=True)
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


_TABLE: Any = AuditEntry.__table__
_INSERT: Any = insert(_TABLE)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: Any, fields: list[str] | None = None) -> dict[str, Any]:
    """The column values of a mapped object, made JSON-safe, for before/after records."""
    names = fields or [c.key for c in obj.__table__.columns]
    return {n: _jsonable(getattr(obj, n)) for n in names}


async def record(
    session: AsyncSession,
    actor: Any,
    action: str,
    entity_type: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add one audit row in the caller's transaction; actor None means the system. Written at once,
    as a plain INSERT: nothing reads an audit row back in the request that writes it, and changes
    still pending in the session are left for their own flush."""
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after.get(k) for k in sorted(changed)}
    await _write(session, [_row(utcnow(), actor, action, entity_type, entity_id, before, after)])


async def search_entries(
    session: AsyncSession,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if actor:
        stmt = stmt.where(AuditEntry.actor_name == actor)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    result = await session.scalars(stmt.limit(limit).offset(offset))
    return list(result)


async def record_many(session: AsyncSession, actor: Any, rows: list[tuple[str, str, Any, dict[str, Any]]]) -> None:
    """Many audit rows `(action, entity_type, entity_id, after)` in one statement (batches: the
    session would insert its objects one at a time to learn each id, which nobody needs here)."""
    if not rows:
        return
    now = utcnow()
    await _write(session, [_row(now, actor, action, entity_type, entity_id, None, after)
                           for action, entity_type, entity_id, after in rows])


def _row(at: dt.datetime, actor: Any, action: str, entity_type: str, entity_id: Any,
         before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    return {"at": at, "actor_id": getattr(actor, "id", None),
            "actor_name": getattr(actor, "username", None) or "system", "action": action,
            "entity_type": entity_type, "entity_id": str(entity_id),
            "before": _jsonable(before) if before is not None else None,
            "after": _jsonable(after) if after is not None else None}


async def _write(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    """Plain INSERTs on the session's connection (no flush of what the session holds pending).
    One row is a plain execute: the executemany path costs more than the row (an action audits one)."""
    connection = await session.connection()
    await connection.execute(_INSERT, values[0] if len(values) == 1 else values)

