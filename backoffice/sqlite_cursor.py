"""A SQLite cursor for SQLAlchemy's aiosqlite dialect that crosses to the driver's thread once
per statement instead of four times (cursor, execute, fetchall, close).

The customer page runs half a dozen statements; with the stock cursor each one costs four
thread hand-offs, which on a two-core machine is most of the page's time. Here the statement
runs, its rows are fetched and the sqlite3 cursor closed in one call on aiosqlite's thread, and
the results are kept in memory exactly as the stock (non-server-side) cursor keeps them.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor
from sqlalchemy.util import EMPTY_DICT

from backoffice.db import INLINE_WRITES


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_lastrowid_value", "_result_description", "_rowcount_value")

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._result_description: Any = None
        self._rowcount_value = -1
        self._lastrowid_value: int | None = None

    @property
    def description(self) -> Any:
        return self._result_description

    @property
    def rowcount(self) -> int:
        return self._rowcount_value

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid_value

    async def _async_soft_close(self) -> None:
        return None  # the sqlite3 cursor is already closed

    def close(self) -> None:
        self._rows.clear()

    def _run(self, operation: str, parameters: Any, many: bool) -> tuple[Any, list[Any], int, int | None]:
        """On aiosqlite's thread: execute, fetch everything, close."""
        raw: sqlite3.Connection = self._connection._conn
        cursor = raw.cursor()
        try:
            if many:
                cursor.executemany(operation, parameters)
            elif parameters is None:
                cursor.execute(operation)
            else:
                cursor.execute(operation, parameters)
            description = cursor.description
            rows = cursor.fetchall() if description else []
            return description, rows, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            verb = _verb(operation)
            if verb == "SELECT" or (verb in _ROW_WRITES and INLINE_WRITES.get()
                                    and self._connection._conn.in_transaction):
                # A read in WAL mode never waits for a lock and takes tens of microseconds; so does
                # a request's write once its transaction has begun (BEGIN IMMEDIATE: the write lock
                # is held, nothing is waited for). Cheaper run here than handed to the driver's
                # thread and back. BEGIN, COMMIT (which may checkpoint the log) and batches stay
                # on the thread.
                result = self._run(operation, parameters, False)
            else:
                result = await self._connection._execute(self._run, operation, parameters, False)
        self._result_description, rows, self._rowcount_value, self._lastrowid_value = result
        self._rows = collections.deque(rows)
        return None

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        async with self._adapt_connection._execute_mutex:
            result = await self._connection._execute(self._run, operation, seq_of_parameters, True)
        self._result_description, _, self._rowcount_value, self._lastrowid_value = result
        return None

    def nextset(self) -> None:
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


# A SELECT never waits for a lock in WAL mode; INSERT, UPDATE and DELETE wait for none inside a
# transaction begun IMMEDIATE. BEGIN IMMEDIATE, and writes outside such a transaction, may wait.
_ROW_WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})


def _verb(operation: str) -> str:
    """The statement's first word (SELECT, INSERT, …), as far as the choice of thread needs it."""
    return operation.lstrip()[:6].upper()


def _outside_transaction(adapted: Any) -> bool:
    try:
        return not adapted._connection._conn.in_transaction
    except ValueError:  # already closed: let the stock method report it
        return False


_stock_commit = AsyncAdapt_aiosqlite_connection.commit
_stock_rollback = AsyncAdapt_aiosqlite_connection.rollback


def _commit(self: Any) -> None:
    if _outside_transaction(self):
        return  # a read-only request ran in autocommit mode: nothing to end
    _stock_commit(self)


def _rollback(self: Any) -> None:
    if _outside_transaction(self):
        return
    _stock_rollback(self)


def install() -> None:
    """Make every aiosqlite connection of this process use the one-hop cursor, and skip the
    driver-thread round trip of COMMIT/ROLLBACK when no transaction is open."""
    AsyncAdapt_aiosqlite_connection._cursor_cls = OneHopCursor
    AsyncAdapt_aiosqlite_connection.commit = _commit  # type: ignore[method-assign]
    AsyncAdapt_aiosqlite_connection.rollback = _rollback  # type: ignore[method-assign]


__all__ = ["OneHopCursor", "install"]
