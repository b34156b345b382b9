"""Small helpers that turn submitted text into typed values, gathering a message per field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from backoffice import clock
from backoffice.errors import ValidationFailedError
from backoffice.i18n import N_, Msg

T = TypeVar("T")


class Collector:
    """Reads fields from submitted data; every problem is kept, none raised until `check()`."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, Msg | str] = {}

    def raw(self, name: str) -> str:
        value = self.data.get(name)
        if value is None:
            return ""
        if isinstance(value, list):
            value = value[0] if value else ""
        return str(value).strip()

    def fail(self, name: str, message: Msg | str) -> None:
        self.errors.setdefault(name, message)

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, Msg(N_("This field is required.")))
            return None
        if len(value) > max_length:
            self.fail(name, Msg(N_("At most %(max)s characters."), max=max_length))
            return None
        if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in value):
            self.fail(name, Msg(N_("This field contains control characters.")))
            return None
        return value

    def choice(self, name: str, choices: Iterable[str], *, required: bool = True) -> str | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, Msg(N_("Choose one.")))
            return None
        if value not in set(choices):
            self.fail(name, Msg(N_("Choose one of the offered values.")))
            return None
        return value

    def date(self, name: str, *, required: bool = False, past: bool = False) -> dt.date | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, Msg(N_("This field is required.")))
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.fail(name, Msg(N_("Give a date as YYYY-MM-DD.")))
            return None
        if past and parsed > clock.today():
            self.fail(name, Msg(N_("This date cannot be in the future.")))
            return None
        if parsed.year < 1900:
            self.fail(name, Msg(N_("This date is too far in the past.")))
            return None
        if parsed.year > 2200:
            self.fail(name, Msg(N_("This date is too far in the future.")))
            return None
        return parsed

    def identifier(self, name: str, check: Callable[[str], T], *, required: bool = False) -> T | None:
        from backoffice.identifiers import InvalidIdentifierError

        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, Msg(N_("This field is required.")))
            return None
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            # Some checks (e-mail) let them through, and PostgreSQL refuses a NUL outright.
            self.fail(name, Msg(N_("This field contains control characters.")))
            return None
        try:
            return check(value)
        except InvalidIdentifierError as exc:
            self.fail(name, exc.message)
            return None

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.raw(name)
        if not value:
            if required:
                self.fail(name, Msg(N_("This field is required.")))
            return None
        try:
            number = int(value)
        except ValueError:
            self.fail(name, Msg(N_("Give a whole number.")))
            return None
        if not -(2**62) < number < 2**62:
            self.fail(name, Msg(N_("This number is out of range.")))
            return None
        return number

    def check(self) -> None:
        if self.errors:
            raise ValidationFailedError(
                "validation_failed", Msg(N_("Some fields need correcting.")), errors=self.errors
            )


def parse_date(value: str) -> dt.date | None:
    text = value.strip().replace(". ", "-").replace(".", "-").rstrip("-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None
