"""Every operation of the subscriptions domain that changes state. So far: the number pool
(load ranges, allocate, quarantine, search). Services never commit: the caller's transaction does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import phonenumbers
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import audit, clock
from backoffice.actors import Principal
from backoffice.db import flush_versioned, storable_id, upsert_insert, utcnow
from backoffice.errors import ConflictError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.identifiers import InvalidIdentifierError, phone_e164
from backoffice.subscriptions import rules
from backoffice.subscriptions.models import (
    AddOn,
    NumberKind,
    NumberStatus,
    OneOffFee,
    Plan,
    PoolNumber,
    SuspensionReason,
    TerminationReason,
)
from backoffice.subscriptions.schemas import ALLOWANCE_FIELDS, MONEY_FIELDS, AddOnInput, PlanInput

MAX_RANGE = 1_000_000
QUARANTINE_DAYS = rules.QUARANTINE_DAYS
_WANTED_TYPE = {
    NumberKind.MOBILE.value: {phonenumbers.PhoneNumberType.MOBILE},
    NumberKind.GEOGRAPHIC.value: {phonenumbers.PhoneNumberType.FIXED_LINE,
                                  phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE},
}


def _pool_number(raw: str, kind: str, field: str) -> str:
    try:
        e164 = phone_e164(raw)
    except InvalidIdentifierError as exc:
        raise ValidationFailedError("bad_number", exc.message, field=field) from exc
    if not e164.startswith("+36"):
        raise ValidationFailedError("foreign_number", Msg(N_("The pool holds Hungarian numbers only.")), field=field)
    if phonenumbers.number_type(phonenumbers.parse(e164)) not in _WANTED_TYPE[kind]:
        message = (N_("This is not a mobile number.") if kind == NumberKind.MOBILE.value
                   else N_("This is not a geographic (fixed-line) number."))
        raise ValidationFailedError("wrong_number_type", Msg(message), field=field)
    return e164


def parse_range(kind: str, first: str, last: str) -> list[str]:
    """Every number from first to last inclusive (same length, valid and of the kind at both ends)."""
    if kind not in {k.value for k in NumberKind}:
        raise ValidationFailedError("bad_kind", Msg(N_("Choose one of the offered values.")), field="kind")
    low, high = _pool_number(first, kind, "first"), _pool_number(last, kind, "last")
    if len(low) != len(high):
        raise ValidationFailedError("range_lengths", Msg(N_("Both ends of a range have the same number of digits.")),
                                    field="last")
    start, end = int(low[1:]), int(high[1:])
    if end < start:
        raise ValidationFailedError("range_order", Msg(N_("The range ends before it starts.")), field="last")
    if end - start + 1 > MAX_RANGE:
        raise ValidationFailedError("range_too_long", Msg(N_("Load at most %(max)s numbers at once."), max=MAX_RANGE),
                                    field="last")
    numbers = [f"+{n}" for n in range(start, end + 1)]
    # Both ends are checked above; the middle too, so that a range cannot straddle two number plans
    # (checking a million numbers one by one would take longer than loading them).
    _pool_number(numbers[len(numbers) // 2], kind, "last")
    return numbers


@dataclass(frozen=True)
class LoadResult:
    added: int
    already_there: int


async def load_range(
    session: AsyncSession, actor: Principal | None, kind: str, first: str, last: str, batch: int = 5000
) -> LoadResult:
    """Add a range to the pool; numbers already in it are left as they are (loading twice adds nothing)."""
    numbers = parse_range(kind, first, last)
    insert = upsert_insert(session)
    added = 0
    now = utcnow()
    for i in range(0, len(numbers), batch):
        chunk = numbers[i:i + batch]
        result = await session.execute(
            insert(PoolNumber)
            .values([{"number": n, "kind": kind, "status": NumberStatus.AVAILABLE.value, "loaded_at": now}
                     for n in chunk])
            .on_conflict_do_nothing(index_elements=["number"])
            .returning(PoolNumber.id)
        )
        added += len(result.all())
    await audit.record(session, actor, "numbers.loaded", "number_range", f"{numbers[0]}..{numbers[-1]}",
                       after={"kind": kind, "first": numbers[0], "last": numbers[-1], "added": added})
    return LoadResult(added, len(numbers) - added)


def _free(today: dt.date) -> ColumnElement[bool]:
    """Available, or out of a quarantine that has ended."""
    return or_(PoolNumber.status == NumberStatus.AVAILABLE.value,
               and_(PoolNumber.status == NumberStatus.QUARANTINE.value, PoolNumber.quarantine_until <= today))


async def allocate(
    session: AsyncSession, actor: Principal | None, kind: str, number: str | None = None,
    service_id: int | None = None,
) -> PoolNumber:
    """Hand out the number asked for, or the lowest free one of the kind; a number in quarantine
    comes back only after its quarantine ends. Concurrent allocations never get the same number."""
    today = clock.today()
    stmt = select(PoolNumber).where(PoolNumber.kind == kind, _free(today))
    if number is not None:
        e164 = _pool_number(number, kind, "number")
        stmt = stmt.where(PoolNumber.number == e164)
    else:
        stmt = stmt.order_by(PoolNumber.number).limit(1)
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=number is None)
    picked = (await session.execute(stmt)).scalar_one_or_none()
    if picked is None:
        if number is not None:
            raise ConflictError("number_not_free", Msg(N_("The number %(number)s is not free."), number=e164),
                                field="number")
        raise ConflictError("pool_empty", Msg(N_("The pool has no free number of this kind.")))
    picked.status = NumberStatus.ALLOCATED.value
    picked.quarantine_until = None
    picked.allocated_at = utcnow()
    picked.service_id = service_id
    await session.flush()
    await audit.record(session, actor, "numbers.allocated", "pool_number", picked.number,
                       after={"service_id": service_id})
    return picked


async def quarantine(
    session: AsyncSession, actor: Principal | None, number: str, days: int = QUARANTINE_DAYS,
    terminated_on: dt.date | None = None,
) -> PoolNumber:
    """A terminated service's number rests before anyone else gets it (counted from the day the
    termination took effect, today unless given)."""
    row = (await session.execute(select(PoolNumber).where(PoolNumber.number == number))).scalar_one_or_none()
    if row is None:
        raise NotFoundError("number_not_in_pool", Msg(N_("The number %(number)s is not in the pool."), number=number))
    if row.status != NumberStatus.ALLOCATED.value:
        raise ConflictError("number_not_allocated", Msg(N_("Only an allocated number goes to quarantine.")))
    row.status = NumberStatus.QUARANTINE.value
    row.quarantine_until = (terminated_on or clock.today()) + dt.timedelta(days=days)
    row.service_id = None
    await session.flush()
    await audit.record(session, actor, "numbers.quarantined", "pool_number", row.number,
                       after={"until": row.quarantine_until.isoformat()})
    return row


async def release(session: AsyncSession, actor: Principal | None, number: str) -> None:
    """An order cancelled before activation gives its number straight back: it was never in use."""
    row = (await session.execute(select(PoolNumber).where(PoolNumber.number == number))).scalar_one_or_none()
    if row is None or row.status != NumberStatus.ALLOCATED.value:
        return
    row.status, row.service_id, row.allocated_at = NumberStatus.AVAILABLE.value, None, None
    await session.flush()
    await audit.record(session, actor, "numbers.released", "pool_number", row.number)


async def search_numbers(
    session: AsyncSession, prefix: str = "", kind: str | None = None, status: str | None = None, limit: int = 50
) -> list[PoolNumber]:
    """Numbers starting with the digits given (in any common format), with their state."""
    digits = "".join(ch for ch in prefix if ch.isdigit())
    if digits.startswith("06"):
        digits = "36" + digits[2:]
    stmt = select(PoolNumber)
    if digits:
        stmt = stmt.where(PoolNumber.number.startswith("+" + digits))
    if kind:
        stmt = stmt.where(PoolNumber.kind == kind)
    if status == "free":
        stmt = stmt.where(_free(clock.today()))
    elif status:
        stmt = stmt.where(PoolNumber.status == status)
    return list(await session.scalars(stmt.order_by(PoolNumber.number).limit(limit)))


async def pool_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(PoolNumber.kind, PoolNumber.status, func.count()).group_by(PoolNumber.kind, PoolNumber.status))
    return {(kind, status): int(n) for kind, status, n in rows}


# ---------------------------------------------------------------- the catalogue as staff read it

@dataclass
class CatalogueView:
    plans: list[Plan]
    addons: list[AddOn]
    suspension_reasons: list[SuspensionReason]
    termination_reasons: list[TerminationReason]
    fees: list[OneOffFee]


async def catalogue_view(session: AsyncSession) -> CatalogueView:
    async def all_of(model: Any) -> list[Any]:
        return list(await session.scalars(select(model).order_by(model.sort_order, model.id)))

    return CatalogueView(await all_of(Plan), await all_of(AddOn), await all_of(SuspensionReason),
                         await all_of(TerminationReason), await all_of(OneOffFee))


# ---------------------------------------------------------------- catalogue administration

PLAN_AUDIT_FIELDS = ["name_hu", "name_en", *MONEY_FIELDS, "vat_rate", *ALLOWANCE_FIELDS, "portal_selectable",
                     "active"]


def _plan_snapshot(plan: Plan) -> dict[str, Any]:
    return {name: str(v) if isinstance(v := getattr(plan, name), Decimal) else v for name in PLAN_AUDIT_FIELDS}


async def get_plan(session: AsyncSession, plan_id: int) -> Plan:
    plan = await session.get(Plan, plan_id) if storable_id(plan_id) else None
    if plan is None:
        raise NotFoundError("plan_not_found", Msg(N_("There is no such plan.")))
    return plan


async def update_plan(
    session: AsyncSession, actor: Principal | None, plan_id: int, data: PlanInput, version: int | None
) -> Plan:
    """An administrator changes a plan's names, fees, allowances and flags (new prices apply to
    the days after the change; billing reads the plan in force)."""
    plan = await get_plan(session, plan_id)
    stale = ConflictError("stale_plan", Msg(N_("Someone else changed this plan after you opened it. "
                                                "Check the values now saved and try again.")), current=plan)
    if version is not None and plan.version != version:
        raise stale
    before = _plan_snapshot(plan)
    for name in PLAN_AUDIT_FIELDS:
        setattr(plan, name, getattr(data, name))
    await flush_versioned(session, stale)
    await audit.record(session, actor, "catalogue.plan_changed", "plan", plan.code, before, _plan_snapshot(plan))
    return plan


ADDON_AUDIT_FIELDS = ["name_hu", "name_en", "price", "vat_rate", "recurring", "portal", "active", "kinds",
                      "plan_codes", "exclusive_group", "requires", "conflicts"]


async def get_addon(session: AsyncSession, addon_id: int) -> AddOn:
    addon = await session.get(AddOn, addon_id) if storable_id(addon_id) else None
    if addon is None:
        raise NotFoundError("addon_not_found", Msg(N_("There is no such add-on.")))
    return addon


async def update_addon(
    session: AsyncSession, actor: Principal | None, addon_id: int, data: AddOnInput, version: int | None
) -> AddOn:
    """An administrator changes an add-on; the codes it names must be real catalogue entries of
    the kinds it applies to, so the lifecycle's rules never meet a dangling reference."""
    addon = await get_addon(session, addon_id)
    stale = ConflictError("stale_addon", Msg(N_("Someone else changed this add-on after you opened it. "
                                                 "Check the values now saved and try again.")), current=addon)
    if version is not None and addon.version != version:
        raise stale
    others = set(await session.scalars(select(AddOn.code).where(AddOn.id != addon.id)))
    plans = {code: kind for code, kind in (await session.execute(select(Plan.code, Plan.kind))).all()}
    errors: dict[str, Msg | str] = {}
    for name in ("requires", "conflicts"):
        unknown = [code for code in getattr(data, name) if code not in others]
        if unknown:
            errors[name] = Msg(N_("There is no other add-on %(codes)s."), codes=", ".join(unknown))
    wrong_plans = [code for code in data.plan_codes or [] if plans.get(code) not in data.kinds]
    if wrong_plans:
        errors["plan_codes"] = Msg(N_("No plan of the ticked kinds is called %(codes)s."), codes=", ".join(wrong_plans))
    if errors:
        raise ValidationFailedError("validation_failed", Msg(N_("Some fields need correcting.")), errors=errors)
    before = _addon_snapshot(addon)
    for name in ADDON_AUDIT_FIELDS:
        setattr(addon, name, getattr(data, name))
    await flush_versioned(session, stale)
    await audit.record(session, actor, "catalogue.addon_changed", "addon", addon.code, before, _addon_snapshot(addon))
    return addon


def _addon_snapshot(addon: AddOn) -> dict[str, Any]:
    return {name: str(v) if isinstance(v := getattr(addon, name), Decimal) else v for name in ADDON_AUDIT_FIELDS}
