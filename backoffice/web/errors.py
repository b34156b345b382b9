"""How errors answer: RFC 9457 problem details under /api, a page or fragment elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from backoffice.errors import DomainError
from backoffice.i18n import N_, Msg
from backoffice.text import human_size

log = logging.getLogger("backoffice")

PROBLEM_MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: N_("Bad request"),
    401: N_("Sign in first"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Some fields need correcting"),
    500: N_("Something went wrong on our side"),
}


def is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def problem(status: int, code: str, detail: str, errors: dict[str, Any] | None = None, **extra: Any) -> Response[Any]:
    body: dict[str, Any] = {
        "type": f"urn:backoffice:problem:{code}",
        "title": str(Msg(TITLES.get(status) or N_("Error"))),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = [{"field": k, "message": str(v)} for k, v in errors.items()]
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _error_page(request: Request[Any, Any, Any], status: int, detail: str) -> Response[Any]:
    template = "errors/_error.html" if request.headers.get("hx-request") else "errors/error.html"
    return Template(
        template_name=template,
        context={"status": status, "title": str(Msg(TITLES.get(status) or N_("Error"))), "detail": detail},
        status_code=status,
        media_type=MediaType.HTML,
    )


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if is_api(request):
        return problem(exc.status, exc.code, str(exc.message), exc.errors or None)
    return _error_page(request, exc.status, str(exc.message))


def handle_not_authorized(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    if is_api(request):
        response = problem(401, "not_authenticated", str(Msg(N_("Send a valid bearer token or sign in."))))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={target}" if request.method == "GET" else "/login"
    if request.headers.get("hx-request"):
        return Response(b"", status_code=401, headers={"HX-Redirect": location})
    return Redirect(location, status_code=303)


def handle_forbidden(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    csrf = "CSRF" in str(exc.detail)
    detail = str(Msg(N_("The form has expired or did not come from this site. Reload the page and try again.")
                     if csrf else N_("Your role does not allow this.")))
    if is_api(request):
        return problem(403, "csrf_failed" if csrf else "forbidden", detail)
    return _error_page(request, 403, detail)


def handle_not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    detail = str(Msg(N_("There is nothing at this address.")))
    if is_api(request):
        return problem(404, "not_found", detail)
    return _error_page(request, 404, detail)


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors: dict[str, Any] = {}
    for item in exc.extra or []:
        if isinstance(item, dict):
            errors[str(item.get("key") or item.get("source") or "request")] = item.get("message", "")
    detail = str(Msg(N_("The request is not well formed.")))
    if is_api(request):
        return problem(400, "bad_request", detail, errors or None)
    return _error_page(request, 400, detail)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = str(Msg(TITLES.get(status) or N_("Error")))
    if status == 413:
        limit = getattr(getattr(request.app.state, "settings", None), "max_upload_bytes", None)
        detail = str(Msg(N_("What you sent is too large: a file may be at most %(limit)s."), limit=human_size(limit))
                     if limit else Msg(N_("What you sent is too large.")))
    if is_api(request):
        return problem(status, f"http_{status}", detail)
    return _error_page(request, status, detail)


def handle_server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    detail = str(Msg(N_("The error has been logged. Try again; if it persists, tell the service desk.")))
    if is_api(request):
        return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", detail)
    return _error_page(request, 500, detail)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: handle_domain_error,
    NotAuthorizedException: handle_not_authorized,
    PermissionDeniedException: handle_forbidden,
    NotFoundException: handle_not_found,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    HTTP_500_INTERNAL_SERVER_ERROR: handle_server_error,
    Exception: handle_server_error,
}
