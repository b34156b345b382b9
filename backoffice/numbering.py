"""Gap-free counters: each value is taken inside the transaction of the row it numbers."""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint, update
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
    await session.execute(
        upsert_insert(session)(Counter)
        .values(name=name, period=period, value=start - 1)
        .on_conflict_do_nothing(index_elements=["name", "period"])
    )
    result = await session.execute(
        update(Counter)
        .where(Counter.name == name, Counter.period == period)
        .values(value=Counter.value + count)
        .returning(Counter.value)
        # Nothing to refresh in the session: sparing the scan of every object it holds matters to a
        # batch that numbers thousands of documents in one session.
        .execution_options(synchronize_session=False)
    )
    return int(result.scalar_one()) - count + 1
