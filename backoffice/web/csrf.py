"""CSRF for cookie-authenticated requests; bearer-token requests carry no cookies and need none."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from backoffice.web.auth import SESSION_COOKIE, _cookies, _headers, bearer_token


class BearerAwareCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            headers = _headers(scope)
            # With a bearer token the auth middleware ignores any cookie: only the token counts.
            # An API call with no session cookie has no ambient authority to forge; let the
            # guard answer it (401) instead of a misleading CSRF refusal.
            cookie_header = headers.get("cookie", "")
            no_session = SESSION_COOKIE not in cookie_header
            if bearer_token(headers) is not None or (scope["path"].startswith("/api/") and no_session):
                await self.app(scope, receive, send)
                return
            if scope["method"] in self.config.safe_methods:
                token = _cookies(cookie_header).get(self.config.cookie_name)
                if token:
                    # What litestar does for a safe request that brings its token cookie (forms
                    # render that token; nothing to check, no cookie to set), without building
                    # a Request, parsing its headers again and wrapping `send`: every page view.
                    ScopeState.from_scope(scope).csrf_token = token
                    await self.app(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)
