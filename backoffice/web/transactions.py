"""One transaction per request, committed before the response leaves.

The SQLAlchemy plugin's own autocommit runs while the response is already being sent and only
logs a failed commit, so a save that fails at COMMIT would still answer "303 saved". This hook
commits inside the handler's response step instead: a failed commit raises, the exception
handlers answer with an error, and the plugin's later commit/rollback finds nothing left to do.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import SESSION_SCOPE_KEY
from litestar import Response
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncSession

# Set by the auth middleware for every HTTP request, read by the hook below.
current_scope: ContextVar[Scope | None] = ContextVar("current_scope", default=None)


async def commit_or_rollback(response: Response[Any]) -> Response[Any]:
    scope = current_scope.get()
    if scope is None:
        return response
    # Each plugin config gets its own unique key (several apps in one process, as in tests).
    key = getattr(scope["app"].state, "db_session_scope_key", SESSION_SCOPE_KEY)
    session: AsyncSession | None = get_aa_scope_state(scope, key)
    if session is None:
        return response
    status = response.status_code or 200
    if 200 <= status < 400:
        await session.commit()
    # Refusals are rolled back by the plugin after the page is rendered: a rollback here would
    # expire the objects the template is about to show.
    return response
