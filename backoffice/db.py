"""Declarative base, shared column mixins, engine and session helpers."""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import functools
import logging
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, MetaData, String, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, make_transient_to_detached, mapped_column
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY, so 64-bit ids are BIGINT on PostgreSQL only.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), str: String()}


class IdMixin:
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CodedNameMixin:
    """A catalogue entry: a stable code, a name in Hungarian and English, offered or not, an order."""

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_hu: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def name(self, language: str) -> str:
        return self.name_hu if language == "hu" else self.name_en


class VersionedMixin:
    """Rows that agents edit carry a version counter; a stale write raises StaleDataError."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - a declared_attr takes the class
        return {"version_id_col": cls.version}  # type: ignore[attr-defined]


# Whether the current unit of work may write. Requests with a safe method set it False so
# that SQLite readers run concurrently; everything else takes the write lock at BEGIN.
WRITE_INTENT: ContextVar[bool] = ContextVar("write_intent", default=True)
# Whether SQLite may run this unit of work's writes on the event loop's thread once its writing
# transaction has begun (see sqlite_cursor). Requests set it: their writes are a row or a few.
# Background batches (a bill run) and commands leave it off, so that their long statements never
# hold up the pages the server is serving.
INLINE_WRITES: ContextVar[bool] = ContextVar("inline_writes", default=False)


def make_engine(url: str, *, sqlite_cache_mib: int = 64, **kwargs: Any) -> AsyncEngine:
    """The engine for `url`. `sqlite_cache_mib`: SQLite's page cache per connection (a batch that
    streams through a large table keeps its memory flat with a small one)."""
    if url.startswith("sqlite"):
        # check_same_thread off: reads run on the event loop's thread, everything else on the
        # driver's (see sqlite_cursor); the cursor's mutex keeps one statement at a time.
        if "poolclass" not in kwargs:
            # Keep enough connections for every request in flight: an overflow connection is
            # opened (a thread, the pragmas) and closed again for each request past the pool.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
        engine = create_async_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine.sync_engine, sqlite_cache_mib)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


_warned_journal: list[bool] = []


def _configure_sqlite(engine: Engine, cache_mib: int = 64) -> None:
    from backoffice.sqlite_cursor import install

    install()

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling is off so that BEGIN IMMEDIATE below is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        mode = cur.fetchone()
        if mode and str(mode[0]).lower() != "wal" and not _warned_journal:
            # Readers then block on writers (and reads run on the event loop): say so once.
            _warned_journal.append(True)
            logging.getLogger("backoffice").warning("SQLite is not in WAL mode (%s): reads wait for writers", mode[0])
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # Reads come from memory-mapped pages and a 64 MB page cache rather than a read()
        # system call per page: at 100,000 customers this halves the time a page spends in SQLite.
        cur.execute("PRAGMA mmap_size=1073741824")
        cur.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    database = engine.url.database
    files = _DatabaseFileLock(f"{database}.writer-lock") if database and database != ":memory:" else None
    # Every writing transaction of this event loop runs on one connection of its own, whichever
    # pooled connection its request holds. Writers take turns anyway (the lock below), and a
    # connection that did the last write keeps its page cache: SQLite empties a connection's
    # cache whenever another connection has written since its last transaction, so with writes
    # spread over the pool every transaction began by reading its pages afresh (measured: about a
    # tenth of a suspension's time, with eight agents at once).
    writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def _writer_driver(conn: Any) -> Any:
        """This loop's writing connection (a pooled one, kept checked out), as the driver's."""
        loop = asyncio.get_running_loop()
        kept = writers.get(loop)
        if kept is None:
            kept = writers[loop] = conn.engine.raw_connection()
        return kept.dbapi_connection._connection

    @event.listens_for(engine, "engine_disposed")
    def _disposed(_engine: Any) -> None:
        while writers:
            _loop, kept = writers.popitem()
            kept.invalidate()  # closed, and off the pool's books

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # each statement commits on its own (test inspection sessions)
        if not WRITE_INTENT.get():
            # Safe-method requests read in autocommit mode: each statement sees the latest
            # committed data, as under PostgreSQL's READ COMMITTED, and there is no BEGIN or
            # COMMIT to send to the driver's thread.
            return
        # Writers take the lock at BEGIN, so two writers queue instead of failing on upgrade; and
        # they queue in this process first, in order, then across processes (several server
        # workers) on a file lock: SQLite's own busy handler lets a waiting writer sleep in growing
        # steps (up to 100 ms) while others slip in, so under load a few requests waited seconds
        # while the rest went through.
        turn = None
        lock = _writer_lock()
        if lock is not None:
            try:
                await_(asyncio.wait_for(lock.acquire(), WRITER_QUEUE_TIMEOUT_S))
            except TimeoutError:
                lock = None  # a lock never given back must not stop every write: SQLite still serialises
        if lock is not None:
            turn = _WriterTurn(lock, None)
            if files is not None:
                try:
                    await_(asyncio.wait_for(files.acquire(), WRITER_QUEUE_TIMEOUT_S))
                    turn.file_lock = files
                except TimeoutError:
                    pass  # as above: SQLite's busy handler still keeps writers apart
                except BaseException:
                    lock.release()
                    raise
        try:
            if turn is not None:  # this loop's writer alone, so its connection is ours to use
                adapted = conn.connection.dbapi_connection
                turn.borrowed = (adapted, adapted._connection)
                adapted._connection = _writer_driver(conn)
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if turn is not None:
                turn.release()
            raise
        if turn is not None:
            conn.info["writer_lock"] = turn

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        lock = conn.info.pop("writer_lock", None)
        if lock is None:
            return
        try:
            # Committed here, before the next writer is let in (the driver's own commit that
            # follows finds no transaction and does nothing).
            conn.exec_driver_sql("COMMIT")
        finally:
            lock.release()

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        lock = conn.info.pop("writer_lock", None)
        if lock is None:
            return
        try:
            if conn.connection.driver_connection.in_transaction:
                conn.exec_driver_sql("ROLLBACK")
        finally:
            lock.release()


    @event.listens_for(engine, "reset")
    def _reset(dbapi_conn: Any, record: Any, _state: Any) -> None:
        turn = record.info.pop("writer_lock", None)  # a connection handed back mid-transaction
        if turn is None or not turn.locked():
            return
        try:
            # The writing connection's transaction: the pool's own rollback that follows sees the
            # request's connection, with nothing to roll back.
            if turn.borrowed is not None and dbapi_conn._connection.in_transaction:
                dbapi_conn.rollback()
        finally:
            turn.release()


class _DatabaseFileLock:
    """The writers' queue across processes: an exclusive `flock` on a file beside the database,
    taken after this process's own queue, so each process has at most one writer waiting on it.
    The kernel wakes a waiter as soon as the holder lets go (no sleeping and retrying), and ends
    the lock of a process that dies."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def _fileno(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    async def acquire(self) -> None:
        fd = self._fileno()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except BaseException:
            # Given up (timed out, or the request went away): the thread still gets the lock in
            # the end, and must then hand it straight back.
            waiting.add_done_callback(lambda done: self._give_back(fd, done))
            raise

    @staticmethod
    def _give_back(fd: int, done: asyncio.Future[Any]) -> None:
        if not done.cancelled() and done.exception() is None:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def release(self) -> None:
        fcntl.flock(self._fileno(), fcntl.LOCK_UN)


class _WriterTurn:
    """A writer's place at the head of both queues, handed back at COMMIT or ROLLBACK, and the
    writing connection it borrowed for its transaction (given back first)."""

    def __init__(self, lock: asyncio.Lock, file_lock: _DatabaseFileLock | None) -> None:
        self.lock = lock
        self.file_lock = file_lock
        self.borrowed: tuple[Any, Any] | None = None  # (the request's adapted connection, its own driver)

    def locked(self) -> bool:
        return self.lock.locked()

    def release(self) -> None:
        try:
            if self.borrowed is not None:
                adapted, own = self.borrowed
                self.borrowed = None
                adapted._connection = own
            if self.file_lock is not None:
                self.file_lock.release()
        finally:
            self.lock.release()


WRITER_QUEUE_TIMEOUT_S = 30.0
_writer_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _writer_lock() -> asyncio.Lock | None:
    """This event loop's queue of SQLite writers (None outside one: a plain thread writes alone)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    lock = _writer_locks.get(loop)
    if lock is None:
        lock = _writer_locks[loop] = asyncio.Lock()
    return lock


def upsert_insert(session: AsyncSession) -> Any:
    """The dialect's `insert` (PostgreSQL or SQLite), the one that offers ON CONFLICT DO NOTHING."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work outside a request: commits on success, rolls back on error."""
    async with maker() as session, session.begin():
        yield session


_Row = TypeVar("_Row")


@functools.cache
def _appending(table: Any, many: bool) -> tuple[Any, frozenset[str]]:
    """The INSERT … RETURNING id of a table (composed once: composing costs more than running it on
    one row), and the columns a row must give."""
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=many)
    return statement, frozenset(c.key for c in table.columns if c.key != "id")


async def insert_rows(session: AsyncSession, model: type[_Row], rows: list[dict[str, Any]]) -> list[_Row]:
    """Append rows now, in one INSERT … RETURNING id, and hand them back as entities of the session
    as if just loaded. For rows written once and not changed in the same request (history, audit,
    registry entries): the session's unit of work costs several times the statement itself (it
    sorts, snapshots and post-fetches every object at each flush), and nothing pending is flushed
    by this. Each row gives every column but the id, so no attribute is left to load later."""
    if not rows:
        return []
    statement, columns = _appending(model.__table__, len(rows) > 1)  # type: ignore[attr-defined]
    for row in rows:
        if row.keys() != columns:
            raise ValueError(f"{model.__name__} rows give {sorted(row.keys() ^ columns)} wrongly")
    connection = await session.connection()
    result = await connection.execute(statement, rows[0] if len(rows) == 1 else rows)
    ids = result.scalars().all()
    return as_loaded(session, model, [{"id": new_id, **row} for row, new_id in zip(rows, ids, strict=True)])


def as_loaded(session: AsyncSession, model: type[_Row], rows: list[dict[str, Any]]) -> list[_Row]:
    """Rows just written (or read) by a Core statement, as entities of the session, as if loaded
    there: no change to flush. Each row gives every column, id included."""
    entities = []
    for row in rows:
        entity = model(**row)
        make_transient_to_detached(entity)
        entities.append(entity)
    session.add_all(entities)
    return entities


async def flush_versioned(session: AsyncSession, stale: Exception) -> None:
    """Flush an edit of a versioned row; if someone else's change committed between our read and
    this write (the row's version moved on), raise `stale` instead, with the session rolled back."""
    try:
        await session.flush()
    except StaleDataError as exc:
        await session.rollback()
        raise stale from exc


def storable_id(value: int) -> bool:
    """Ids beyond 64 bits cannot exist; asking the database about them overflows the driver."""
    return -(2**63) <= value < 2**63
