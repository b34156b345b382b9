"""Domain errors: a stable code, a message for people and the field it concerns."""

from __future__ import annotations

from typing import Any

from backoffice.i18n import Msg


class DomainError(Exception):
    """A refused operation. status says how HTTP answers it (422 bad input, 409 conflict, ...)."""

    status = 422

    def __init__(
        self,
        code: str,
        message: Msg | str,
        *,
        field: str | None = None,
        errors: dict[str, Msg | str] | None = None,
        current: Any = None,
    ) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        self.errors: dict[str, Msg | str] = dict(errors or {})
        if field and field not in self.errors:
            self.errors[field] = message
        self.current = current


class ValidationFailedError(DomainError):
    status = 422


class ConflictError(DomainError):
    status = 409


class ForbiddenError(DomainError):
    status = 403


class NotFoundError(DomainError):
    status = 404


class PayloadTooLargeError(DomainError):
    status = 413
