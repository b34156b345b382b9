"""Who is asking: a bearer token or a session cookie, resolved once per request."""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.db import INLINE_WRITES, WRITE_INTENT, transaction
from backoffice.i18n import current_language, normalise_language
from backoffice.staff import services as staff
from backoffice.web.transactions import current_scope

SESSION_COOKIE = "bo_session"
LANGUAGE_COOKIE = "bo_lang"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookies(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            cookies.setdefault(name, value)
    return cookies


def bearer_token(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class AuthMiddleware:
    """Sets scope["user"] (a Principal or None), the request language and the write intent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        current_scope.set(scope)
        INLINE_WRITES.set(True)
        path: str = scope.get("path", "")
        if path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        cookies = _cookies(headers.get("cookie", ""))
        litestar_app: Any = scope["app"]
        maker: async_sessionmaker[AsyncSession] = litestar_app.state.sessionmaker
        settings = litestar_app.state.settings
        principal = None
        token = bearer_token(headers)
        # The lookup only reads: it must not take SQLite's write lock, which would then be held
        # while the CSRF check waits for the request body (anyone could stall every writer).
        writes = scope.get("method", "GET") not in SAFE_METHODS
        WRITE_INTENT.set(False)
        if token is not None or SESSION_COOKIE in cookies:
            # The lookup runs in the request's own session (the one handlers get as db_session),
            # so a request opens one session, not two.
            session = litestar_app.state.db_config.provide_session(litestar_app.state, scope)
            if token is not None:
                principal = await staff.lookup_token(session, token)
            else:
                session_token = cookies[SESSION_COOKIE]
                found = await staff.lookup_session(session, session_token, settings.session_idle_minutes)
                if found is not None:
                    principal = found.principal
                    if found.needs_touch:
                        await self._touch(maker, session_token)
            if writes:
                # End the lookup's read, so that the handler's first statement begins the
                # request's writing transaction (SQLite: nothing to end, it read in autocommit).
                await session.commit()
        # Set before the handler's first statement: it decides how that transaction begins.
        WRITE_INTENT.set(writes)
        scope["user"] = principal
        scope["auth"] = "bearer" if token is not None else "session"
        language = principal.language if principal else cookies.get(LANGUAGE_COOKIE)
        # Set for the whole request and deliberately not reset: error pages rendered after the
        # exception left this middleware still need them, and every request sets both anew.
        current_language.set(normalise_language(language or settings.default_language))
        await self.app(scope, receive, send)

    @staticmethod
    async def _touch(maker: async_sessionmaker[AsyncSession], session_token: str) -> None:
        """Refresh the idle clock (at most once a minute per session) in a short transaction of
        its own, before the request's body is read."""
        WRITE_INTENT.set(True)
        try:
            async with transaction(maker) as own:
                await staff.touch_session(own, session_token)
        finally:
            WRITE_INTENT.set(False)
