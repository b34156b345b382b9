"""Usage import: call detail records from CSV, validated row by row, rated on import against the
plan in force at each record's time, charged to the payer in force that day.

A file is one transaction (all of it or none of it). The same bytes imported again add nothing,
and a record already imported from another file (same service, start, type, destination) is
counted as a duplicate. Bad rows are stored with their line number and reason."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import audit, clock, identifiers, numbering
from backoffice.actors import Principal
from backoffice.billing import rules
from backoffice.billing.models import Invoice, UsageImport, UsageRecord, UsageReject
from backoffice.db import storable_id
from backoffice.errors import NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.subscriptions import feed

COLUMNS = ("service_number", "start_time", "type", "destination", "quantity")
CHUNK = 5000
MAX_DESTINATION = 40
# How many rejected rows a result carries for the screen (all of them are stored).
SHOWN_REJECTS = 500

TYPES = {
    "voice": rules.UsageType.VOICE, "sms": rules.UsageType.SMS, "data": rules.UsageType.DATA,
    "roaming-voice": rules.UsageType.ROAMING_VOICE, "roaming_voice": rules.UsageType.ROAMING_VOICE,
    "roaming-data": rules.UsageType.ROAMING_DATA, "roaming_data": rules.UsageType.ROAMING_DATA,
}

REJECT_MESSAGES = {
    "columns": N_("Expected five columns: service number, start time, type, destination, quantity."),
    "unreadable": N_("This line cannot be read as CSV (a field is far too long)."),
    "bad_number": N_("The service number is not a phone number."),
    "unknown_service": N_("No service held this number at that time."),
    "no_plan": N_("The service had no plan or payer at that time."),
    "bad_time": N_("The start time is not a date and time (2026-10-03 14:22:10)."),
    "future_time": N_("The start time is in the future."),
    "unknown_type": N_("Unknown type: use voice, sms, data, roaming-voice or roaming-data."),
    "bad_quantity": N_("The quantity is not a whole number."),
    "negative_quantity": N_("The quantity is negative."),
    "destination_too_long": N_("The destination is longer than 40 characters."),
}


def reject_message(code: str) -> Msg:
    return Msg(REJECT_MESSAGES.get(code) or N_("This row could not be read."))


@dataclass(frozen=True)
class Rejected:
    line_no: int
    reason: str
    detail: str


@dataclass
class ImportResult:
    usage_import: UsageImport
    already_imported: bool
    rejects: list[Rejected] = field(default_factory=list)  # the first SHOWN_REJECTS


@dataclass
class _Row:
    line_no: int
    number: str
    started_at: dt.datetime
    usage_date: dt.date
    kind: rules.UsageType
    destination: str
    quantity: int


def _decode_lines(stream: IO[bytes]) -> Iterator[str]:
    """UTF-8 (with or without BOM); a file that is not UTF-8 is read as Windows-1250, the
    code page Hungarian spreadsheets save in."""
    head = stream.read(1 << 16)
    stream.seek(0)
    try:
        head.decode("utf-8-sig")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        encoding = "utf-8-sig" if exc.start >= len(head) - 3 else "cp1250"
    text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")  # type: ignore[type-var]
    try:
        yield from text
    finally:
        text.detach()  # the caller's stream stays open


def _sniff_delimiter(first: str) -> str:
    return ";" if first.count(";") > first.count(",") else ","


_NUMBERS: dict[str, str | None] = {}


def _e164(raw: str) -> str | None:
    text = raw.strip()
    if text in _NUMBERS:
        return _NUMBERS[text]
    candidate = text
    if candidate.isdigit() and candidate.startswith("36") and len(candidate) in (10, 11):
        candidate = "+" + candidate  # mediation writes numbers without the plus
    try:
        value: str | None = identifiers.phone_e164(candidate)
    except identifiers.InvalidIdentifierError:
        value = None
    if len(_NUMBERS) < 200_000:
        _NUMBERS[text] = value
    return value


_HU_DATE = re.compile(r"^(\d{4})\.\s*(\d{1,2})\.\s*(\d{1,2})\.?\s*(\S.*)?$")


def _parse_time(raw: str) -> dt.datetime | None:
    text = raw.strip()
    if (hungarian := _HU_DATE.match(text)) is not None:  # 2026.10.03. 14:22:10
        year, month, day, rest = hungarian.groups()
        text = f"{year}-{int(month):02d}-{int(day):02d}{'T' + rest if rest else ''}"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:  # local time in Hungary, as the network writes it
        value = value.replace(tzinfo=clock.BUDAPEST)
    return value.astimezone(dt.UTC)


def _parse(line_no: int, cells: Sequence[str], now: dt.datetime) -> _Row | Rejected:
    if len(cells) != len(COLUMNS):
        return Rejected(line_no, "columns", ",".join(cells)[:200])
    raw_number, raw_time, raw_type, destination, raw_quantity = (c.strip() for c in cells)
    number = _e164(raw_number)
    if number is None:
        return Rejected(line_no, "bad_number", raw_number[:200])
    started = _parse_time(raw_time)
    if started is None:
        return Rejected(line_no, "bad_time", raw_time[:200])
    if started > now:
        return Rejected(line_no, "future_time", raw_time[:200])
    kind = TYPES.get(raw_type.lower())
    if kind is None:
        return Rejected(line_no, "unknown_type", raw_type[:200])
    if len(destination) > MAX_DESTINATION:
        return Rejected(line_no, "destination_too_long", destination[:200])
    try:
        quantity = int(raw_quantity)
    except ValueError:
        return Rejected(line_no, "bad_quantity", raw_quantity[:200])
    if quantity < 0:
        return Rejected(line_no, "negative_quantity", raw_quantity[:200])
    return _Row(line_no, number, started, started.astimezone(clock.BUDAPEST).date(), kind, destination, quantity)


def _records(reader: Any) -> Iterator[tuple[int, list[str] | None]]:
    """Each record with the number of the line it ends on (a quoted field may span lines); None
    for a line the CSV reader cannot read (a field past its size limit), which is reported, not
    fatal: the reader carries on with the next line."""
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield reader.line_num, None
            continue
        yield reader.line_num, cells


def file_digest(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


async def import_usage(session: AsyncSession, actor: Principal | None, stream: IO[bytes],
                       filename: str) -> ImportResult:
    """Import one CSV file of usage (see COLUMNS; a header row is optional, `,` or `;`)."""
    sha = file_digest(stream)
    earlier = await session.scalar(select(UsageImport).where(UsageImport.sha256 == sha))
    if earlier is not None:
        return ImportResult(earlier, True)
    # Imports take turns (a row lock on PostgreSQL, the write lock on SQLite): allowances are
    # counted from what earlier imports stored.
    await numbering.next_value(session, "usage_import")
    usage_import = UsageImport(sha256=sha, filename=(filename or "usage.csv")[:255],
                               imported_by=getattr(actor, "username", "system"))
    session.add(usage_import)
    await session.flush()
    importer = _Importer(session, usage_import)
    lines = _decode_lines(stream)
    first = next(lines, "")
    reader = csv.reader(itertools.chain([first], lines), delimiter=_sniff_delimiter(first))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    pending: list[_Row] = []
    for line_no, cells in _records(reader):
        if cells is None:  # the CSV itself is broken on this line
            importer.total += 1
            importer.reject(Rejected(line_no, "unreadable", ""), [])
            continue
        if not cells or all(not c.strip() for c in cells):
            continue  # a blank line
        if line_no == 1 and cells[0].strip().lower() == COLUMNS[0]:
            continue  # the header
        importer.total += 1
        parsed = _parse(line_no, cells, now)
        if isinstance(parsed, Rejected):
            importer.reject(parsed, cells)
            continue
        pending.append(parsed)
        if len(pending) >= CHUNK:
            await importer.store(pending)
            pending = []
    await importer.store(pending)
    return await importer.finish(actor)


class _Importer:
    def __init__(self, session: AsyncSession, usage_import: UsageImport) -> None:
        self.session = session
        self.usage_import = usage_import
        self.rejects: list[Rejected] = []
        self.reject_rows: list[dict[str, Any]] = []
        self.used: dict[tuple[int, str, int, str], int] = {}  # (service, month, plan, type) → base units
        self.groups_loaded: set[tuple[int, str]] = set()  # (service, month) whose earlier usage is counted
        self.prices: feed.PriceList | None = None
        # Counted here and written once at the end (an ORM attribute per row costs more than the row).
        self.total = self.imported = self.duplicates = self.rejected = 0
        self.tariffs: dict[tuple[int, rules.UsageType], tuple[str, Decimal, int | None, Decimal]] = {}

    def reject(self, rejected: Rejected, cells: Sequence[str]) -> None:
        self.rejected += 1
        if len(self.rejects) < SHOWN_REJECTS:
            self.rejects.append(rejected)
        self.reject_rows.append({"import_id": self.usage_import.id, "line_no": rejected.line_no,
                                 "reason": rejected.reason, "detail": rejected.detail,
                                 "raw": ",".join(cells)[:500]})

    async def _flush_rejects(self) -> None:
        if self.reject_rows:
            await self.session.execute(insert(UsageReject), self.reject_rows)
            self.reject_rows = []

    async def store(self, rows: list[_Row]) -> None:
        if self.prices is None:
            self.prices = await feed.price_list(self.session)
        holders = await feed.number_holders(self.session, {r.number for r in rows})
        placed: list[tuple[_Row, feed.NumberHolder, int, int]] = []
        for row in rows:
            holder = next((h for h in holders.get(row.number, ()) if h.holds_on(row.usage_date)), None)
            if holder is None:
                self.reject(Rejected(row.line_no, "unknown_service", row.number), _cells(row))
                continue
            plan_id, payer_id = holder.plan_on(row.usage_date), holder.payer_on(row.usage_date)
            if plan_id is None or payer_id is None:
                self.reject(Rejected(row.line_no, "no_plan", row.number), _cells(row))
                continue
            placed.append((row, holder, plan_id, payer_id))
        await self._flush_rejects()
        if not placed:
            return
        await self._load_used(placed)
        existing = await self._existing(placed)
        seen: set[tuple[int, dt.datetime, str, str]] = set()  # duplicates inside the chunk itself
        records = []
        # Rated in time order within the chunk, so the allowance goes to the earliest records.
        for row, holder, plan_id, payer_id in sorted(placed, key=lambda p: (p[0].started_at, p[0].line_no)):
            key = (holder.service_id, row.started_at, row.kind.value, row.destination)
            if key in existing or key in seen:
                self.duplicates += 1
                continue
            seen.add(key)
            rounding, price, allowance, vat_rate = self._tariff(plan_id, row.kind)
            units = rules.billable_units(row.kind, row.quantity, rounding)
            month = f"{row.usage_date.year:04d}-{row.usage_date.month:02d}"
            group = (holder.service_id, month, plan_id, row.kind.value)
            used = self.used.get(group, 0)
            rated = rules.rate_against(row.kind, units, used, allowance, price)
            self.used[group] = used + units
            records.append({
                "service_id": holder.service_id, "billing_account_id": payer_id, "plan_id": plan_id,
                "import_id": self.usage_import.id, "started_at": row.started_at, "usage_date": row.usage_date,
                "usage_month": month, "usage_type": row.kind.value, "destination": row.destination,
                "quantity": row.quantity, "units": rated.units, "included_units": rated.included,
                "charged_units": rated.charged, "unit_price": price, "vat_rate": vat_rate, "amount": rated.amount,
                "invoice_id": None,
            })
        if records:
            table: Any = UsageRecord.__table__  # Core: no ORM bookkeeping for thousands of rows
            await self.session.execute(insert(table), records)
            self.imported += len(records)

    def _tariff(self, plan_id: int, kind: rules.UsageType) -> tuple[str, Decimal, int | None, Decimal]:
        """The plan's voice rounding, unit price, allowance and VAT rate for a kind of usage (cached)."""
        key = (plan_id, kind)
        found = self.tariffs.get(key)
        if found is None:
            assert self.prices is not None
            plan = self.prices.plans[plan_id]
            found = (plan.tariff.voice_rounding, plan.tariff.price(kind), plan.tariff.allowance(kind),
                     plan.price.vat_rate)
            self.tariffs[key] = found
        return found

    async def _load_used(self, placed: list[tuple[_Row, feed.NumberHolder, int, int]]) -> None:
        """The base units already used this month under each plan, for groups not seen yet."""
        wanted = {(h.service_id, f"{r.usage_date.year:04d}-{r.usage_date.month:02d}") for r, h, _, _ in placed}
        missing = sorted(wanted - self.groups_loaded)
        if not missing:
            return
        services = sorted({w[0] for w in missing})
        months = sorted({w[1] for w in missing})
        # By start time (the unique index's second column), not by month: no index of its own.
        first, last = rules.Period.parse(months[0]), rules.Period.parse(months[-1])
        low = dt.datetime.combine(first.start, dt.time(), clock.BUDAPEST).astimezone(dt.UTC)
        high = dt.datetime.combine(last.end, dt.time(), clock.BUDAPEST).astimezone(dt.UTC)
        rows = await self.session.execute(
            select(UsageRecord.service_id, UsageRecord.usage_month, UsageRecord.plan_id, UsageRecord.usage_type,
                   func.sum(UsageRecord.units))
            .where(UsageRecord.service_id.in_(services), UsageRecord.started_at >= low,
                   UsageRecord.started_at < high)
            .group_by(UsageRecord.service_id, UsageRecord.usage_month, UsageRecord.plan_id, UsageRecord.usage_type))
        wanted_now = set(missing)
        for service_id, month, plan_id, kind, total in rows:
            if (service_id, month) in wanted_now:
                self.used[(service_id, month, plan_id, kind)] = int(total or 0)
        self.groups_loaded.update(missing)

    async def _existing(self, placed: list[tuple[_Row, feed.NumberHolder, int, int]],
                        ) -> set[tuple[int, dt.datetime, str, str]]:
        """Records of this chunk already stored, by an earlier import or an earlier chunk of this
        one: looked up by (service, start), the head of the unique index, so each costs one probe."""
        keys = sorted({(h.service_id, r.started_at) for r, h, _, _ in placed})
        found: set[tuple[int, dt.datetime, str, str]] = set()
        for i in range(0, len(keys), 2000):  # bound the statement's parameters
            rows = await self.session.execute(
                select(UsageRecord.service_id, UsageRecord.started_at, UsageRecord.usage_type, UsageRecord.destination)
                .where(tuple_(UsageRecord.service_id, UsageRecord.started_at).in_(keys[i:i + 2000])))
            found.update((s, t if t.tzinfo else t.replace(tzinfo=dt.UTC), k, d) for s, t, k, d in rows)
        return found

    async def finish(self, actor: Principal | None) -> ImportResult:
        await self._flush_rejects()
        done = self.usage_import
        done.rows_total, done.rows_imported = self.total, self.imported
        done.rows_duplicate, done.rows_rejected = self.duplicates, self.rejected
        await audit.record(self.session, actor, "usage.import", "usage_import", self.usage_import.id, after={
            "filename": self.usage_import.filename, "rows": self.usage_import.rows_total,
            "imported": self.usage_import.rows_imported, "duplicates": self.usage_import.rows_duplicate,
            "rejected": self.usage_import.rows_rejected})
        await self.session.flush()
        return ImportResult(self.usage_import, False, self.rejects)


def _cells(row: _Row) -> list[str]:
    return [row.number, row.started_at.isoformat(), row.kind.value, row.destination, str(row.quantity)]


async def import_rejects(session: AsyncSession, import_id: int, limit: int = SHOWN_REJECTS) -> list[UsageReject]:
    return list(await session.scalars(select(UsageReject).where(UsageReject.import_id == import_id)
                                      .order_by(UsageReject.line_no).limit(limit)))


async def recent_imports(session: AsyncSession, limit: int = 20) -> list[UsageImport]:
    return list(await session.scalars(select(UsageImport).order_by(UsageImport.id.desc()).limit(limit)))


def read_upload(content: bytes) -> IO[bytes]:
    if not content.strip():
        raise ValidationFailedError("empty_file", Msg(N_("The file is empty.")), field="file")
    return io.BytesIO(content)


async def get_import(session: AsyncSession, import_id: int) -> UsageImport:
    found = await session.get(UsageImport, import_id) if storable_id(import_id) else None
    if found is None:
        raise NotFoundError("usage_import_not_found", Msg(N_("There is no such usage import.")))
    return found


@dataclass
class UsageTotal:
    usage_type: str
    count: int
    quantity: int
    units: int
    included: int
    amount: Decimal


@dataclass
class ServiceUsage:
    period: rules.Period
    records: list[UsageRecord]
    totals: list[UsageTotal]
    count: int
    amount: Decimal
    invoices: dict[int, Invoice] = field(default_factory=dict)


async def service_usage(session: AsyncSession, service_id: int, period: rules.Period,
                        limit: int = 500) -> ServiceUsage:
    """A service's rated usage of one month, latest first, with totals per type. The month is
    taken by start time in Budapest (the natural key's index: service, then start)."""
    low = dt.datetime.combine(period.start, dt.time(), clock.BUDAPEST).astimezone(dt.UTC)
    high = dt.datetime.combine(period.end, dt.time(), clock.BUDAPEST).astimezone(dt.UTC)
    month = UsageRecord.service_id == service_id, UsageRecord.started_at >= low, UsageRecord.started_at < high
    records = list(await session.scalars(select(UsageRecord).where(*month)
                                         .order_by(UsageRecord.started_at.desc(), UsageRecord.id.desc()).limit(limit)))
    totals = [UsageTotal(kind, int(count), int(quantity or 0), int(units or 0), int(included or 0),
                         Decimal(amount or 0))
              for kind, count, quantity, units, included, amount in await session.execute(
                  select(UsageRecord.usage_type, func.count(), func.sum(UsageRecord.quantity),
                         func.sum(UsageRecord.units), func.sum(UsageRecord.included_units),
                         func.sum(UsageRecord.amount))
                  .where(*month).group_by(UsageRecord.usage_type).order_by(UsageRecord.usage_type))]
    billed = {r.invoice_id for r in records if r.invoice_id is not None}
    found = {i.id: i for i in await session.scalars(select(Invoice).where(Invoice.id.in_(sorted(billed))))} \
        if billed else {}
    return ServiceUsage(period, records, totals, sum(t.count for t in totals),
                        sum((t.amount for t in totals), Decimal(0)), found)
