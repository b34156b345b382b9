"""Walks app.routes: every route declares who may use it, and every other role is refused.

New routes are covered automatically: a route without `roles` (or `public`) fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import ROLES, login

PUBLIC_PATHS = {"/login", "/language", "/healthz", "/static"}
PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def _concrete(path: str) -> str:
    return PARAM.sub(lambda m: "1" if m.group(2) in ("int", None) else "x", path)


def _endpoints(app: Litestar) -> list[tuple[str, str, Any]]:
    found = []
    for route in app.routes:
        for method, handler in getattr(route, "route_handler_map", {}).items():
            if method in ("HEAD", "OPTIONS"):
                continue
            found.append((method, route.path, handler))
    return found


def _handler(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) else value


async def test_every_route_declares_its_roles_or_is_explicitly_public(app):
    undeclared, unexpected_public = [], []
    for method, path, value in _endpoints(app):
        opt = _handler(value).opt
        if opt.get("public"):
            if not any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS):
                unexpected_public.append(f"{method} {path}")
        elif not opt.get("roles"):
            undeclared.append(f"{method} {path}")
    assert not undeclared, f"routes without roles: {undeclared}"
    assert not unexpected_public, f"public routes not on the list: {unexpected_public}"


async def test_signed_out_requests_to_protected_routes_are_refused(app, client):
    token_page = await client.get("/login")
    assert token_page.status_code == 200
    csrf = client.cookies.get("bo_csrf")
    for method, path, value in _endpoints(app):
        if _handler(value).opt.get("public"):
            continue
        response = await client.request(method, _concrete(path), headers={"x-csrftoken": csrf},
                                         follow_redirects=False)
        assert response.status_code in (401, 303), f"{method} {path} answered {response.status_code}"
        if path.startswith("/api/"):
            assert response.status_code == 401


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_is_refused_every_route_it_is_not_allowed(app, role):
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        assert (await login(client, role)).status_code == 303
        csrf = client.cookies.get("bo_csrf")
        checked = 0
        for method, path, value in _endpoints(app):
            opt = _handler(value).opt
            if opt.get("public") or role in opt["roles"]:
                continue
            response = await client.request(method, _concrete(path), headers={"x-csrftoken": csrf},
                                             follow_redirects=False)
            assert response.status_code == 403, f"{role}: {method} {path} answered {response.status_code}"
            checked += 1
        # The access map is not trivially open: every role is refused somewhere.
        assert checked > 0


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_reaches_the_pages_it_is_allowed(app, role):
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        await login(client, role)
        for method, path, value in _endpoints(app):
            opt = _handler(value).opt
            if method != "GET" or opt.get("public") or role not in opt["roles"] or "{" in path:
                continue
            response = await client.get(path, params={"q": "x"} if "search" in path or path.endswith("customers")
                                        else None, follow_redirects=False)
            assert response.status_code == 200, f"{role}: GET {path} answered {response.status_code}"
