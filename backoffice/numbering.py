"""Gap-free counters: each value is taken inside the transaction of the row it numbers."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint, bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import Base, BigIntId, upsert_insert


class Counter(Base):
    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("name", "period"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10), default="")
    value: Mapped[int] = mapped_column(Integer, default=0)


async def next_value(session: AsyncSession, name: str, period: str = "", start: int = 1) -> int:
    """The next number of a series; the row lock holds until the caller's transaction ends,
    so a rollback gives the number back and concurrent callers never skip or share one."""
    return await reserve_block(session, name, 1, period, start)


async def reserve_block(session: AsyncSession, name: str, count: int, period: str = "", start: int = 1) -> int:
    """Take `count` consecutive numbers at once (batch seeding); returns the first."""
    result = await session.execute(_reserve_statement(upsert_insert(session)),
                                   {"name": name, "period": period, "first_value": start - 1 + count, "count": count})
    return int(result.scalar_one()) - count + 1


@functools.cache
def _reserve_statement(insert: Any) -> Any:
    """One statement, built once per dialect's `insert`: the counter row is created at
    `start - 1 + count`, or moved on by `count`, and its new value read back. Both dialects lock the
    row until the transaction ends. Core, not the ORM: nothing in the session needs refreshing (a
    batch that numbers thousands of documents in one session would otherwise have every object it
    holds scanned)."""
    table: Any = Counter.__table__
    return (insert(table).values(name=bindparam("name"), period=bindparam("period"), value=bindparam("first_value"))
            .on_conflict_do_update(index_elements=["name", "period"],
                                   set_={"value": table.c.value + bindparam("count")})
            .returning(table.c.value))
