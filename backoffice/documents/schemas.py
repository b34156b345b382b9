"""Input structures of the documents domain, parsed from forms, JSON or the intake CSV alike."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backoffice import clock
from backoffice.documents.models import Channel, Direction
from backoffice.i18n import N_, Msg
from backoffice.validation import Collector

CASE_NUMBER = re.compile(r"(\d{4})/(\d{1,6})")
REGISTRY_NUMBER = re.compile(r"(\d{4})/(\d{1,6})-(\d{1,6})")
# A little slack for a scanner or PC clock a few minutes ahead of ours.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)


@dataclass
class RegistrationInput:
    document_type: str
    direction: str
    channel: str
    correspondent: str
    subject: str
    occurred_at: dt.datetime | None = None
    page_count: int | None = None
    customer_number: str | None = None
    case_number: tuple[int, int] | None = None  # (year, main number) of the case to file it in
    allow_duplicate: bool = False


def parse_case_number(value: str) -> tuple[int, int] | None:
    match = CASE_NUMBER.fullmatch(value.strip())
    if not match or int(match.group(2)) == 0:
        return None
    return int(match.group(1)), int(match.group(2))


def parse_local_datetime(value: str) -> dt.datetime | None:
    """`2026-11-20T14:05`, `2026-11-20 14:05` or a date: Budapest wall time, returned in UTC."""
    text = value.strip().replace(" ", "T")
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            naive = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=clock.BUDAPEST).astimezone(dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=clock.BUDAPEST).astimezone(dt.UTC)


def parse_registration(data: Mapping[str, Any], *, type_codes: set[str] | None = None) -> RegistrationInput:
    c = Collector(data)
    doc_type = c.raw("document_type")
    if not doc_type:
        c.fail("document_type", Msg(N_("Choose one.")))
    elif type_codes is not None and doc_type not in type_codes:
        c.fail("document_type", Msg(N_("Choose one of the offered values.")))
    direction = c.choice("direction", [d.value for d in Direction])
    channel = c.choice("channel", [ch.value for ch in Channel])
    correspondent = c.text("correspondent", required=True, max_length=200)
    subject = c.text("subject", required=True, max_length=300)
    occurred_at = None
    raw_time = c.raw("occurred_at")
    if raw_time:
        occurred_at = parse_local_datetime(raw_time)
        if occurred_at is None:
            c.fail("occurred_at", Msg(N_("Give a date and time as YYYY-MM-DD HH:MM.")))
        elif occurred_at > dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE:
            c.fail("occurred_at", Msg(N_("This time cannot be in the future.")))
            occurred_at = None
        elif occurred_at.year < 1990:
            c.fail("occurred_at", Msg(N_("This date is too far in the past.")))
            occurred_at = None
    page_count = c.integer("page_count")
    if page_count is not None and not 1 <= page_count <= 100_000:
        c.fail("page_count", Msg(N_("Give a number of pages from 1 to 100,000.")))
        page_count = None
    customer_number = c.raw("customer_number") or None
    if customer_number is not None and not re.fullmatch(r"[0-9]{9}", customer_number):
        c.fail("customer_number", Msg(N_("A customer number has 9 digits.")))
    case_number = None
    raw_case = c.raw("case_number")
    if raw_case:
        case_number = parse_case_number(raw_case)
        if case_number is None:
            c.fail("case_number", Msg(N_("Give a case number as YYYY/NNNNNN.")))
    allow_duplicate = c.raw("allow_duplicate").lower() in {"1", "true", "on", "yes"}
    c.check()
    return RegistrationInput(
        document_type=doc_type,
        direction=direction or "",
        channel=channel or "",
        correspondent=correspondent or "",
        subject=subject or "",
        occurred_at=occurred_at,
        page_count=page_count,
        customer_number=customer_number,
        case_number=case_number,
        allow_duplicate=allow_duplicate,
    )


@dataclass
class DocumentFilter:
    registry_number: str | None = None
    party_id: int | None = None
    document_type: str | None = None
    direction: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    include_voided: bool = True


def parse_filter(data: Mapping[str, Any]) -> tuple[DocumentFilter, dict[str, Msg | str]]:
    """Search filters never refuse the page: a bad field is reported beside it and ignored."""
    c = Collector(data)
    number = c.text("registry_number", max_length=24)
    if number is not None and not re.fullmatch(r"[0-9/\-]+", number):
        c.fail("registry_number", Msg(N_("A registry number looks like 2026/000123-1.")))
        number = None
    party_id = c.integer("party")
    doc_type = c.text("document_type", max_length=40)
    direction = c.choice("direction", [d.value for d in Direction], required=False)
    date_from = c.date("date_from")
    date_to = c.date("date_to")
    if date_from and date_to and date_from > date_to:
        c.fail("date_to", Msg(N_("The end date is before the start date.")))
        date_to = None
    include_voided = c.raw("hide_voided") not in {"1", "on", "true"}
    return DocumentFilter(number, party_id, doc_type, direction, date_from, date_to, include_voided), c.errors
