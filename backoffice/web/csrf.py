"""CSRF for cookie-authenticated requests; bearer-token requests carry no cookies and need none."""

from __future__ import annotations

from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send

from backoffice.web.auth import _headers, bearer_token


class BearerAwareCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and bearer_token(_headers(scope)) is not None:
            # The auth middleware then ignores any cookie: only the token counts.
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
