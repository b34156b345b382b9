"""Who is asking: a bearer token or a session cookie, resolved once per request."""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.db import WRITE_INTENT
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
        write_token = WRITE_INTENT.set(False)
        try:
            if token is not None:
                async with maker() as session:
                    principal = await staff.lookup_token(session, token)
            elif SESSION_COOKIE in cookies:
                session_token = cookies[SESSION_COOKIE]
                scope["session_token"] = session_token  # type: ignore[typeddict-unknown-key]
                async with maker() as session:
                    found = await staff.lookup_session(session, session_token, settings.session_idle_minutes)
                if found is not None:
                    principal = found.principal
                    if found.needs_touch:
                        WRITE_INTENT.set(True)
                        async with maker() as session, session.begin():
                            await staff.touch_session(session, session_token)
        finally:
            WRITE_INTENT.reset(write_token)
        scope["user"] = principal
        scope["auth"] = "bearer" if token is not None else "session"
        language = principal.language if principal else cookies.get(LANGUAGE_COOKIE)
        # Set for the whole request and deliberately not reset: error pages rendered after the
        # exception left this middleware still need them, and every request sets both anew.
        current_language.set(normalise_language(language or settings.default_language))
        WRITE_INTENT.set(scope.get("method", "GET") not in SAFE_METHODS)
        await self.app(scope, receive, send)
