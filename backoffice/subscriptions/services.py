"""Operations of the subscriptions domain that change state: the number pool (load ranges,
allocate, quarantine, search) and the administrator's catalogue. Services never commit: the
caller's transaction does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import phonenumbers
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
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
    ChangeMode,
    NumberKind,
    NumberStatus,
    OneOffFee,
    Plan,
    PlanChangeRule,
    PoolNumber,
    SuspensionReason,
    TerminationReason,
)
from backoffice.subscriptions.schemas import (
    ALLOWANCE_FIELDS,
    MONEY_FIELDS,
    USAGE_PRICE_FIELDS,
    AddOnInput,
    OneOffFeeInput,
    PlanChangeInput,
    PlanInput,
    SuspensionReasonInput,
    TerminationReasonInput,
)

MAX_RANGE = 1_000_000
QUARANTINE_DAYS = rules.QUARANTINE_DAYS  # the installation's setting (BACKOFFICE_QUARANTINE_DAYS), see configure()


def configure(*, quarantine_days: int) -> None:
    """Set from the settings when the app or a command starts."""
    global QUARANTINE_DAYS
    QUARANTINE_DAYS = quarantine_days
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
    session: AsyncSession, actor: Principal | None, number: str, days: int | None = None,
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
    row.quarantine_until = (terminated_on or clock.today()) + dt.timedelta(
        days=QUARANTINE_DAYS if days is None else days)
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
#
# Plans and add-ons carry a version counter: a stale form is refused by it. The reasons and the
# one-off fees have none; their forms carry a fingerprint of the values they were opened with,
# compared under a row lock, so a change saved meanwhile is never silently overwritten either.

PLAN_AUDIT_FIELDS = ["name_hu", "name_en", *MONEY_FIELDS, "vat_rate", *ALLOWANCE_FIELDS, "voice_rounding",
                     *USAGE_PRICE_FIELDS, "download_mbps", "channel_count", "portal_selectable", "active"]
ADDON_AUDIT_FIELDS = ["name_hu", "name_en", "price", "vat_rate", "recurring", "portal", "active", "kinds",
                      "plan_codes", "exclusive_group", "requires", "conflicts"]
SUSPENSION_REASON_FIELDS = ["name_hu", "name_en", "voluntary", "portal", "place_roles", "lift_roles", "billing",
                            "fee_on_suspend", "fee_on_resume", "lifts_on_swap", "settings", "active"]
TERMINATION_REASON_FIELDS = ["name_hu", "name_en", "notice_days", "portal", "early_termination_fee", "active"]
FEE_FIELDS = ["name_hu", "name_en", "amount", "vat_rate", "active"]
_RULE_SETTINGS = ("lift_condition", "immediate", "partial", "max_days_in_12_months")


def _snapshot(row: Any, fields: list[str]) -> dict[str, Any]:
    return {name: str(v) if isinstance(v := getattr(row, name), Decimal) else v for name in fields}


def fingerprint(row: Any, fields: list[str]) -> str:
    """What a form remembers of the values it showed, to tell whether they changed meanwhile."""
    text = json.dumps(_snapshot(row, fields), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _stale(what: str, current: Any) -> ConflictError:
    messages = {
        "plan": N_("Someone else changed this plan after you opened it. Check the values now saved and try again."),
        "addon": N_("Someone else changed this add-on after you opened it. "
                    "Check the values now saved and try again."),
        "reason": N_("Someone else changed this reason after you opened it. "
                     "Check the values now saved and try again."),
        "fee": N_("Someone else changed this fee after you opened it. Check the values now saved and try again."),
    }
    return ConflictError(f"stale_{what}", Msg(messages[what]), current=current)


async def _record_change(session: AsyncSession, actor: Principal | None, action: str, entity_type: str,
                         code: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Audit an edit; a save that changed nothing leaves no entry."""
    if before != after:
        await audit.record(session, actor, action, entity_type, code, before, after)


async def _next_sort_order(session: AsyncSession, model: Any) -> int:
    """A new entry goes to the end of its list."""
    return int(await session.scalar(select(func.coalesce(func.max(model.sort_order), -1))) or 0) + 1


def _code_taken(code: str) -> ValidationFailedError:
    return ValidationFailedError("code_taken", Msg(N_("The code %(code)s is already taken."), code=code), field="code")


async def _insert_new(session: AsyncSession, model: Any, row: Any) -> None:
    """Insert a new catalogue row whose code must be unique. The check before is what answers in
    practice; the savepoint catches a concurrent insert of the same code."""
    if await session.scalar(select(model.id).where(model.code == row.code)) is not None:
        raise _code_taken(row.code)
    row.sort_order = await _next_sort_order(session, model)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise _code_taken(row.code) from exc


async def get_plan(session: AsyncSession, plan_id: int) -> Plan:
    plan = await session.get(Plan, plan_id) if storable_id(plan_id) else None
    if plan is None:
        raise NotFoundError("plan_not_found", Msg(N_("There is no such plan.")))
    return plan


async def create_plan(session: AsyncSession, actor: Principal | None, data: PlanInput) -> Plan:
    """An administrator adds a plan of a kind (PlanInput.kind and .code, from parse_new_plan)."""
    plan = Plan(code=data.code, kind=data.kind, **{name: getattr(data, name) for name in PLAN_AUDIT_FIELDS})
    await _insert_new(session, Plan, plan)
    await audit.record(session, actor, "catalogue.plan_created", "plan", plan.code, None,
                       {"kind": plan.kind, **_snapshot(plan, PLAN_AUDIT_FIELDS)})
    return plan


async def update_plan(
    session: AsyncSession, actor: Principal | None, plan_id: int, data: PlanInput, version: int | None
) -> Plan:
    """An administrator changes a plan's names, fees, allowances, usage prices and flags (new
    prices apply to the days after the change; billing reads the plan in force)."""
    plan = await get_plan(session, plan_id)
    stale = _stale("plan", plan)
    if version is not None and plan.version != version:
        raise stale
    before = _snapshot(plan, PLAN_AUDIT_FIELDS)
    for name in PLAN_AUDIT_FIELDS:
        setattr(plan, name, getattr(data, name))
    await flush_versioned(session, stale)
    await _record_change(session, actor, "catalogue.plan_changed", "plan", plan.code, before,
                         _snapshot(plan, PLAN_AUDIT_FIELDS))
    return plan


# ---------------------------------------------------------------- allowed plan changes


@dataclass
class PlanChangeRow:
    rule: PlanChangeRule
    target: Plan
    by_fee: str  # the mode the fees alone would give: an upgrade at once, a downgrade next period


def mode_by_fee(plan: Plan, target: Plan) -> str:
    """The lifecycle's default (rules.plan_change_effective): a dearer plan is an upgrade."""
    return ChangeMode.IMMEDIATE.value if target.monthly_fee > plan.monthly_fee else ChangeMode.NEXT_PERIOD.value


async def plan_changes(session: AsyncSession, plan: Plan) -> list[PlanChangeRow]:
    rows = await session.execute(
        select(PlanChangeRule, Plan).join(Plan, Plan.id == PlanChangeRule.to_plan_id)
        .where(PlanChangeRule.from_plan_id == plan.id).order_by(Plan.sort_order, Plan.id))
    return [PlanChangeRow(rule, target, mode_by_fee(plan, target)) for rule, target in rows.all()]


async def plan_change_targets(session: AsyncSession, plan: Plan) -> list[Plan]:
    """The plans a new rule may lead to: the same kind, not the plan itself, no rule yet."""
    have = select(PlanChangeRule.to_plan_id).where(PlanChangeRule.from_plan_id == plan.id)
    return list(await session.scalars(
        select(Plan).where(Plan.kind == plan.kind, Plan.id != plan.id, Plan.id.not_in(have))
        .order_by(Plan.sort_order, Plan.id)))


async def _allowed_changes(session: AsyncSession, plan: Plan) -> dict[str, str]:
    return {row.target.code: row.rule.mode for row in await plan_changes(session, plan)}


async def set_plan_change(
    session: AsyncSession, actor: Principal | None, plan_id: int, data: PlanChangeInput
) -> PlanChangeRule:
    """Allow `plan` to change to another plan of its kind, at once, from the next period, or as
    the fees say; a rule that exists gets the new mode. The mode is stored resolved, because the
    lifecycle reads immediate or next_period."""
    plan = await get_plan(session, plan_id)
    target = await session.get(Plan, data.to_plan_id) if storable_id(data.to_plan_id) else None
    if target is None:
        raise ValidationFailedError("unknown_plan", Msg(N_("Choose one of the offered plans.")), field="to_plan_id")
    if target.id == plan.id:
        raise ValidationFailedError("same_plan", Msg(N_("A plan cannot change to itself.")), field="to_plan_id")
    if target.kind != plan.kind:
        raise ValidationFailedError("other_kind", Msg(N_(
            "A plan can only change to a plan of the same service kind.")), field="to_plan_id")
    mode = mode_by_fee(plan, target) if data.mode == "by_fee" else data.mode
    before = await _allowed_changes(session, plan)
    rule = (await session.execute(select(PlanChangeRule).where(
        PlanChangeRule.from_plan_id == plan.id, PlanChangeRule.to_plan_id == target.id))).scalar_one_or_none()
    if rule is None:
        rule = PlanChangeRule(from_plan_id=plan.id, to_plan_id=target.id, mode=mode)
        try:
            async with session.begin_nested():
                session.add(rule)
        except IntegrityError as exc:  # added meanwhile by someone else
            raise ConflictError("plan_change_exists", Msg(N_(
                "Someone else added this plan change meanwhile; check it and try again.")),
                field="to_plan_id") from exc
    else:
        rule.mode = mode
        await session.flush()
    await _record_change(session, actor, "catalogue.plan_change_set", "plan", plan.code,
                         {"allowed_changes": before}, {"allowed_changes": {**before, target.code: mode}})
    return rule


async def remove_plan_change(session: AsyncSession, actor: Principal | None, plan_id: int, rule_id: int) -> None:
    """Withdraw a plan change; services already changed (or scheduled to) keep what they have."""
    plan = await get_plan(session, plan_id)
    rule = await session.get(PlanChangeRule, rule_id) if storable_id(rule_id) else None
    if rule is None or rule.from_plan_id != plan.id:
        raise NotFoundError("plan_change_not_found", Msg(N_(
            "This plan change is no longer allowed (someone removed it meanwhile).")))
    before = await _allowed_changes(session, plan)
    await session.delete(rule)
    await session.flush()
    await _record_change(session, actor, "catalogue.plan_change_removed", "plan", plan.code,
                         {"allowed_changes": before}, {"allowed_changes": await _allowed_changes(session, plan)})


# ---------------------------------------------------------------- add-ons


async def get_addon(session: AsyncSession, addon_id: int) -> AddOn:
    addon = await session.get(AddOn, addon_id) if storable_id(addon_id) else None
    if addon is None:
        raise NotFoundError("addon_not_found", Msg(N_("There is no such add-on.")))
    return addon


async def _check_addon_references(session: AsyncSession, data: AddOnInput, addon_id: int | None) -> None:
    """The codes an add-on names must be real catalogue entries of the kinds it applies to, so
    the lifecycle's rules never meet a dangling reference."""
    others = set(await session.scalars(select(AddOn.code).where(AddOn.id != (addon_id or 0))))
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


async def create_addon(session: AsyncSession, actor: Principal | None, data: AddOnInput) -> AddOn:
    if await session.scalar(select(AddOn.id).where(AddOn.code == data.code)) is not None:
        raise _code_taken(data.code)
    await _check_addon_references(session, data, None)
    addon = AddOn(code=data.code, **{name: getattr(data, name) for name in ADDON_AUDIT_FIELDS})
    await _insert_new(session, AddOn, addon)
    await audit.record(session, actor, "catalogue.addon_created", "addon", addon.code, None,
                       _snapshot(addon, ADDON_AUDIT_FIELDS))
    return addon


async def update_addon(
    session: AsyncSession, actor: Principal | None, addon_id: int, data: AddOnInput, version: int | None
) -> AddOn:
    """An administrator changes an add-on; see _check_addon_references."""
    addon = await get_addon(session, addon_id)
    stale = _stale("addon", addon)
    if version is not None and addon.version != version:
        raise stale
    await _check_addon_references(session, data, addon.id)
    before = _snapshot(addon, ADDON_AUDIT_FIELDS)
    for name in ADDON_AUDIT_FIELDS:
        setattr(addon, name, getattr(data, name))
    await flush_versioned(session, stale)
    await _record_change(session, actor, "catalogue.addon_changed", "addon", addon.code, before,
                         _snapshot(addon, ADDON_AUDIT_FIELDS))
    return addon


# ---------------------------------------------------------------- reasons and one-off fees


async def _get_row(session: AsyncSession, model: Any, row_id: int, *, lock: bool = False) -> Any:
    row = None
    if storable_id(row_id):
        # Locked (on PostgreSQL) while an edit compares and writes; SQLite's writers queue anyway.
        row = await session.get(model, row_id, with_for_update=lock or None, populate_existing=lock)
    if row is None:
        raise NotFoundError("not_found", Msg(N_("There is no such catalogue entry.")))
    return row


async def _edit(session: AsyncSession, actor: Principal | None, model: Any, row_id: int, values: dict[str, Any],
                seen: str | None, what: str, entity_type: str) -> Any:
    """Write `values` onto a row without a version counter: refused when its fingerprint moved."""
    fields = list(values)
    row = await _get_row(session, model, row_id, lock=True)
    if seen is not None and seen != fingerprint(row, fields):
        raise _stale(what, row)
    before = _snapshot(row, fields)
    for name, value in values.items():
        setattr(row, name, value)
    await session.flush()
    await _record_change(session, actor, f"catalogue.{entity_type}_changed", entity_type, row.code, before,
                         _snapshot(row, fields))
    return row


async def get_suspension_reason(session: AsyncSession, reason_id: int) -> SuspensionReason:
    reason: SuspensionReason = await _get_row(session, SuspensionReason, reason_id)
    return reason


async def _suspension_values(session: AsyncSession, data: SuspensionReasonInput,
                             old_settings: dict[str, Any]) -> dict[str, Any]:
    """The row's values from the form; the fees it names must be one-off fees of the catalogue."""
    fees = set(await session.scalars(select(OneOffFee.code)))
    errors: dict[str, Msg | str] = {}
    for name in ("fee_on_suspend", "fee_on_resume"):
        code = getattr(data, name)
        if code is not None and code not in fees:
            errors[name] = Msg(N_("There is no one-off fee %(code)s."), code=code)
    if errors:
        raise ValidationFailedError("validation_failed", Msg(N_("Some fields need correcting.")), errors=errors)
    # Settings this screen does not know stay as they were.
    settings = {k: v for k, v in (old_settings or {}).items() if k not in _RULE_SETTINGS} | data.settings()
    return {"name_hu": data.name_hu, "name_en": data.name_en, "voluntary": data.voluntary, "portal": data.portal,
            "place_roles": data.place_roles, "lift_roles": data.lift_roles, "billing": data.billing,
            "fee_on_suspend": data.fee_on_suspend, "fee_on_resume": data.fee_on_resume,
            "lifts_on_swap": data.lifts_on_swap, "settings": settings, "active": data.active}


async def create_suspension_reason(
    session: AsyncSession, actor: Principal | None, data: SuspensionReasonInput
) -> SuspensionReason:
    """A new reason works through the generic rules (roles, billing, fees, limit, flags); only the
    seeded codes have behaviour of their own in the lifecycle."""
    values = await _suspension_values(session, data, {})
    reason = SuspensionReason(code=data.code, **values)
    await _insert_new(session, SuspensionReason, reason)
    await audit.record(session, actor, "catalogue.suspension_reason_created", "suspension_reason", reason.code,
                       None, _snapshot(reason, SUSPENSION_REASON_FIELDS))
    return reason


async def update_suspension_reason(
    session: AsyncSession, actor: Principal | None, reason_id: int, data: SuspensionReasonInput, seen: str | None
) -> SuspensionReason:
    """Change a reason's consequences (its code stays: the lifecycle and the holds refer to it).
    Holds already placed keep the billing rule they were placed with."""
    reason = await _get_row(session, SuspensionReason, reason_id, lock=True)
    values = await _suspension_values(session, data, dict(reason.settings or {}))
    row: SuspensionReason = await _edit(session, actor, SuspensionReason, reason_id, values, seen, "reason",
                                        "suspension_reason")
    return row


async def get_termination_reason(session: AsyncSession, reason_id: int) -> TerminationReason:
    reason: TerminationReason = await _get_row(session, TerminationReason, reason_id)
    return reason


def _termination_values(data: TerminationReasonInput) -> dict[str, Any]:
    return {name: getattr(data, name) for name in TERMINATION_REASON_FIELDS}


async def create_termination_reason(
    session: AsyncSession, actor: Principal | None, data: TerminationReasonInput
) -> TerminationReason:
    reason = TerminationReason(code=data.code, **_termination_values(data))
    await _insert_new(session, TerminationReason, reason)
    await audit.record(session, actor, "catalogue.termination_reason_created", "termination_reason", reason.code,
                       None, _snapshot(reason, TERMINATION_REASON_FIELDS))
    return reason


async def update_termination_reason(
    session: AsyncSession, actor: Principal | None, reason_id: int, data: TerminationReasonInput, seen: str | None
) -> TerminationReason:
    """New notice applies to terminations requested from now on; scheduled ones keep their date."""
    row: TerminationReason = await _edit(session, actor, TerminationReason, reason_id, _termination_values(data),
                                         seen, "reason", "termination_reason")
    return row


async def get_fee(session: AsyncSession, fee_id: int) -> OneOffFee:
    fee: OneOffFee = await _get_row(session, OneOffFee, fee_id)
    return fee


def _fee_values(data: OneOffFeeInput) -> dict[str, Any]:
    return {name: getattr(data, name) for name in FEE_FIELDS}


async def create_fee(session: AsyncSession, actor: Principal | None, data: OneOffFeeInput) -> OneOffFee:
    fee = OneOffFee(code=data.code, **_fee_values(data))
    await _insert_new(session, OneOffFee, fee)
    await audit.record(session, actor, "catalogue.fee_created", "fee", fee.code, None, _snapshot(fee, FEE_FIELDS))
    return fee


async def update_fee(
    session: AsyncSession, actor: Principal | None, fee_id: int, data: OneOffFeeInput, seen: str | None
) -> OneOffFee:
    """A new amount applies to fees incurred from now on; a fee is priced when incurred."""
    row: OneOffFee = await _edit(session, actor, OneOffFee, fee_id, _fee_values(data), seen, "fee", "fee")
    return row
