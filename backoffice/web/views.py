"""Screens every staff member shares: sign-in and sign-out, home with search, language, health."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import search as universal_search
from backoffice.db import WRITE_INTENT
from backoffice.i18n import N_, Msg
from backoffice.staff import services as staff
from backoffice.web.auth import LANGUAGE_COOKIE, SESSION_COOKIE
from backoffice.web.guards import ALL_STAFF, CUSTOMER_READ, public, roles
from backoffice.web.templating import is_fragment_request, page


def _safe_next(value: str | None) -> str:
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


@get("/login", opt=public(), include_in_schema=False)
async def login_form(request: Request[Any, Any, Any], next: str | None = None) -> Template:
    return page("auth/login.html", username="", next=_safe_next(next), error=None)


@post("/login", opt=public(), include_in_schema=False)
async def login(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    form = await request.form()
    username = str(form.get("username") or "")[:64]
    password = str(form.get("password") or "")[:1024]
    target = _safe_next(str(form.get("next") or "/"))
    settings = request.app.state.settings
    client = request.client.host if request.client else ""
    throttle = request.app.state.sign_in_throttle
    if not throttle.allows(client):
        return page("auth/login.html", status=429, username=username, next=target,
                    error=str(Msg(N_("Too many failed sign-ins from this computer. Wait a few minutes."))))
    if any(ord(ch) < 32 for ch in username):
        return page("auth/login.html", status=422, username="", next=target,
                    error=str(Msg(N_("Wrong user name or password."))))
    # Verify the password before taking SQLite's write lock, so a slow (or hostile) stream of
    # sign-ins never holds up other writers; the writes come after, in a transaction of their own.
    WRITE_INTENT.set(False)
    check = await staff.check_password(db_session, username, password)
    await db_session.commit()
    WRITE_INTENT.set(True)
    try:
        user = await staff.complete_sign_in(
            db_session, check, password, max_attempts=settings.lockout_attempts, lock_minutes=settings.lockout_minutes,
        )
    except staff.SignInRefusedError as exc:
        throttle.failed(client)
        # The failure counter must persist although the answer is an error: commit it here.
        await db_session.commit()
        return page("auth/login.html", status=422, username=username, next=target, error=str(exc.message))
    token = await staff.start_session(
        db_session, user, request.cookies.get(SESSION_COOKIE), request.client.host if request.client else ""
    )
    response = Redirect(target, status_code=303)
    response.cookies.append(_session_cookie(request, token))
    return response


def _session_cookie(request: Request[Any, Any, Any], value: str, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE, value=value, httponly=True, samesite="lax", path="/",
        secure=request.app.state.settings.cookie_secure, max_age=max_age,
    )


@post("/logout", opt=roles(ALL_STAFF), include_in_schema=False)
async def logout(request: Request[Any, Any, Any], db_session: AsyncSession) -> Redirect:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await staff.end_session(db_session, token)
    response = Redirect("/login", status_code=303)
    response.cookies.append(_session_cookie(request, "", max_age=0))
    return response


@post("/language", opt=public(), include_in_schema=False)
async def set_language(request: Request[Any, Any, Any], db_session: AsyncSession) -> Redirect:
    form = await request.form()
    language = str(form.get("language") or "")
    target = _safe_next(str(form.get("next") or "/"))
    if request.user is not None:
        await staff.set_language(db_session, request.user, language)
    response = Redirect(target, status_code=303)
    if language in ("hu", "en"):
        response.cookies.append(Cookie(key=LANGUAGE_COOKIE, value=language, samesite="lax", path="/",
                                       max_age=365 * 86400))
    return response


@get("/", opt=roles(ALL_STAFF), include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template:
    return page("home.html", q="", hits=None)


@get("/search", opt=roles(CUSTOMER_READ), include_in_schema=False)
async def search(request: Request[Any, Any, Any], db_session: AsyncSession, q: str = "") -> Template:
    query = q[: universal_search.MAX_QUERY_LENGTH]
    hits = await universal_search.search(db_session, query) if query.strip() else None
    template = "search/_results.html" if is_fragment_request(request) else "home.html"
    return page(template, q=query, hits=hits)


@get("/healthz", opt=public(), tags=["health"])
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Whether the application and its database answer."""
    maker = request.app.state.sessionmaker
    try:
        async with maker() as session:
            await session.execute(text("SELECT 1"))
        database = {"status": "ok", "dialect": request.app.state.engine.dialect.name}
        status = 200
    except Exception as exc:  # noqa: BLE001 - health reports every failure as data
        database = {"status": "error", "error": type(exc).__name__}
        status = 503
    return Response({"status": "ok" if status == 200 else "degraded", "database": database}, status_code=status)


ROUTES = [login_form, login, logout, set_language, home, search, healthz]
