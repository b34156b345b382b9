"""Actions on a service: activate, suspend (place a hold), resume (lift one), terminate, cancel,
swap the SIM, change the plan, add and remove add-ons; each one dated now or in the future.

One path for all of them: `_prepare` loads what the rules need, asks `rules.decide` and the
reason's rules, and works out the consequences (effective date, one-off fees, what else happens)
without changing anything. `preview` shows those consequences to the agent before they confirm;
`perform` applies them at once or, dated ahead, records a pending action that `apply_pending`
(the daily `backoffice subscriptions apply-due`) carries out on its day, checked again then.

Every applied change keeps the dated record billing reads (state, plan and add-on intervals,
holds, one-off fees); every action writes the service's history, an audit row and a contact-log
entry, and an agent's action also sends the subscriber a PDF confirmation through
`documents.services.register_outgoing`. Services never commit: the caller's transaction does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, literal, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import audit, clock
from backoffice.actors import Principal
from backoffice.db import flush_versioned, insert_rows, storable_id, utcnow
from backoffice.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.identifiers import phone_display
from backoffice.subscriptions import rules
from backoffice.subscriptions import services as pool
from backoffice.subscriptions.catalogue import rule_of
from backoffice.subscriptions.models import (
    AddOn,
    Contract,
    ContractStatus,
    OneOffFee,
    PendingAction,
    PendingStatus,
    Plan,
    PlanChangeRule,
    Service,
    ServiceAddOn,
    ServiceEvent,
    ServiceFee,
    ServiceHold,
    ServiceKind,
    ServicePlanInterval,
    ServiceStateInterval,
    SimCard,
    SuspensionReason,
    TerminationReason,
)
from backoffice.subscriptions.rules import Action, Refusal, ServiceState
from backoffice.subscriptions.schemas import ActionInput

HUF = Decimal("1")
EARLY_TERMINATION = ("early_termination", "Kötbér (határozott idejű szerződés idő előtti megszüntetése)",
                     "Early termination fee")
SYSTEM_ACTOR = "system"

# What each action is called where people read it (history, pending list, letters).
ACTION_LABELS: dict[str, str] = {
    "order": N_("Ordered"),
    "activate": N_("Activation"),
    "suspend": N_("Suspension"),
    "resume": N_("Resumption"),
    "terminate": N_("Termination"),
    "cancel": N_("Cancellation"),
    "swap_sim": N_("SIM swap"),
    "change_plan": N_("Plan change"),
    "add_addon": N_("Add-on added"),
    "remove_addon": N_("Add-on removed"),
    "withdraw": N_("Scheduled change withdrawn"),
    "change_payer": N_("Change of payer"),
    "transfer_in": N_("Transfer of ownership"),
    "representative_added": N_("Representative authorised"),
    "representative_ended": N_("Representative's authority ended"),
}


@dataclass(frozen=True)
class FeeLine:
    """A one-off fee an action brings, net with its VAT rate, priced from the catalogue."""

    code: str
    name_hu: str
    name_en: str
    amount: Decimal
    vat_rate: Decimal

    def name(self, language: str) -> str:
        return self.name_hu if language == "hu" else self.name_en

    @property
    def gross(self) -> Decimal:
        return rules.gross(self.amount, self.vat_rate)


@dataclass
class Preview:
    """The consequences of an action, shown before the agent confirms and printed on the letter."""

    action: str
    effective_date: dt.date
    scheduled: bool  # effective after today: recorded as a pending change
    next_state: str
    fees: list[FeeLine] = field(default_factory=list)
    notes: list[Msg] = field(default_factory=list)  # what else happens, in words
    details: dict[str, Any] = field(default_factory=dict)  # kept in the history (reason, plans, …)

    @property
    def fees_gross(self) -> Decimal:
        return sum((fee.gross for fee in self.fees), Decimal(0))


@dataclass
class Outcome:
    preview: Preview
    service: Service
    event: ServiceEvent | None = None
    pending: PendingAction | None = None
    document: Any = None  # the registered confirmation


@dataclass
class _Ctx:
    service: Service
    contract: Contract
    plan: Plan
    holds: list[ServiceHold]  # not lifted (a hold dated ahead is a pending action, not a row)
    addons: list[tuple[ServiceAddOn, AddOn]]  # running
    sim: SimCard | None
    today: dt.date
    role: str  # the actor's role, or "system" when a pending action is applied
    language: str

    @property
    def hold_codes(self) -> frozenset[str]:
        return frozenset(h.reason_code for h in self.holds)

    @property
    def addon_codes(self) -> frozenset[str]:
        return frozenset(a.code for _, a in self.addons)


@dataclass
class _Prepared:
    preview: Preview
    apply: Callable[[str], Awaitable[None]]  # applies on preview.effective_date; the argument is who


def refused(refusal: Refusal, status: type[ConflictError] | type[ForbiddenError] = ConflictError) -> Exception:
    return status(refusal.code, refusal.reason)


# ---------------------------------------------------------------- loading


# Built once: composing a statement costs more than running it on these small indexed reads, and
# every action and every service page runs these.
# The service with its contract and plan, which every action reads next (they stay in the session).
_SERVICE = (select(Service, Contract, Plan).join(Contract, Contract.id == Service.contract_id)
            .join(Plan, Plan.id == Service.plan_id).where(Service.id == bindparam("service_id")))


async def get_service(session: AsyncSession, service_id: int) -> Service:
    service = await session.get(Service, service_id) if storable_id(service_id) else None
    if service is None:
        raise NotFoundError("service_not_found", Msg(N_("There is no such service.")))
    return service


async def _load(session: AsyncSession, service_id: int) -> tuple[Service, Contract, Plan]:
    """The service an action is about, with its contract and plan, in one statement. (The caller
    keeps all three: the session only holds on to objects someone references.)"""
    row = (await session.execute(_SERVICE, {"service_id": service_id})).first() if storable_id(service_id) else None
    if row is None:
        raise NotFoundError("service_not_found", Msg(N_("There is no such service.")))
    service, contract, plan = row
    return service, contract, plan


# What an action sees of a service: its holds not lifted, its add-ons running on `today` (a one-off
# add-on runs to the end of its month) and its SIM card not blocked.
_HOLDS_ON = (ServiceHold.service_id == bindparam("service_id"), ServiceHold.lifted_on.is_(None))
_ADDONS_ON = (ServiceAddOn.service_id == bindparam("service_id"),
              or_(ServiceAddOn.end_date.is_(None), ServiceAddOn.end_date > bindparam("today")))
_SIM_ON = (SimCard.service_id == bindparam("service_id"), SimCard.blocked_on.is_(None))

_HOLDS = select(ServiceHold).where(*_HOLDS_ON).order_by(ServiceHold.start_date, ServiceHold.id)
_ADDONS = (select(ServiceAddOn, AddOn).join(AddOn, AddOn.id == ServiceAddOn.addon_id).where(*_ADDONS_ON)
           .order_by(ServiceAddOn.start_date, ServiceAddOn.id))
_SIM = select(SimCard).where(*_SIM_ON)


async def _context(session: AsyncSession, service: Service, role: str, language: str,
                   today: dt.date | None = None, *, contract: Contract | None = None,
                   plan: Plan | None = None) -> _Ctx:
    """What an action needs to know of the service; `contract` and `plan`: already loaded."""
    today = today or clock.today()
    contract = contract or await session.get(Contract, service.contract_id)
    plan = plan or await session.get(Plan, service.plan_id)
    assert contract is not None and plan is not None  # foreign keys
    params = {"service_id": service.id}
    holds = list(await session.scalars(_HOLDS, params))
    addons = [(row, addon) for row, addon in (await session.execute(_ADDONS, {**params, "today": today})).all()]
    sim = (await session.execute(_SIM, params)).scalar_one_or_none()
    return _Ctx(service, contract, plan, holds, addons, sim, today, role, language)


async def _suspension_rules(session: AsyncSession, language: str,
                            placing: bool = False) -> dict[str, rules.SuspensionRule]:
    """The reasons as rules. Only active ones may be placed; a hold placed before its reason was
    withdrawn keeps its rules (who may lift it, its lift condition, its fee) until it is lifted."""
    stmt = select(SuspensionReason)
    if placing:
        stmt = stmt.where(SuspensionReason.active.is_(True))
    return {reason.code: rule_of(reason, language) for reason in await session.scalars(stmt)}


async def _addon_rules(session: AsyncSession, language: str) -> tuple[dict[str, rules.AddOnRule], dict[str, AddOn]]:
    rows = list(await session.scalars(select(AddOn)))
    catalogue = {a.code: rules.AddOnRule(
        code=a.code, kinds=frozenset(a.kinds), plans=None if a.plan_codes is None else frozenset(a.plan_codes),
        exclusive_group=a.exclusive_group, requires=frozenset(a.requires), conflicts=frozenset(a.conflicts),
        portal=a.portal, name=a.name(language)) for a in rows}
    return catalogue, {a.code: a for a in rows}


async def _fee(session: AsyncSession, code: str | None) -> list[FeeLine]:
    """The catalogue's one-off fee, or nothing when the code is empty or the fee is withdrawn."""
    if not code:
        return []
    fee = (await session.execute(
        select(OneOffFee).where(OneOffFee.code == code, OneOffFee.active.is_(True)))).scalar_one_or_none()
    if fee is None or fee.amount == 0:
        return []
    return [FeeLine(fee.code, fee.name_hu, fee.name_en, fee.amount, fee.vat_rate)]


# ---------------------------------------------------------------- the dated record


async def _close_open(session: AsyncSession, model: Any, day: dt.date, **where: Any) -> None:
    """End the running interval(s) matching `where` on `day`; one that would be empty goes."""
    rows = await session.scalars(select(model).filter_by(**where).where(model.end_date.is_(None)))
    for row in rows:
        if row.start_date >= day:
            await session.delete(row)
        else:
            row.end_date = day


async def _set_state(session: AsyncSession, service: Service, state: ServiceState, day: dt.date) -> None:
    if service.state == state.value:
        return
    await _close_open(session, ServiceStateInterval, day, service_id=service.id)
    session.add(ServiceStateInterval(service_id=service.id, state=state.value, start_date=day))
    service.state = state.value


# ---------------------------------------------------------------- working out an action


def _effective(data: ActionInput, today: dt.date) -> dt.date:
    if data.when == "month_end":
        return rules.first_of_next_month(today)
    if data.when == "date":
        if data.date is None:
            raise ValidationFailedError("date_required", Msg(N_("Give the date.")), field="date")
        if data.date < today:
            raise ValidationFailedError("date_in_past", Msg(N_("The date cannot be in the past.")), field="date")
        return data.date  # type: ignore[no-any-return]
    return today


def _decide(ctx: _Ctx, action: Action, **kwargs: Any) -> rules.Decision:
    decision = rules.decide(ServiceState(ctx.service.state), action, holds=ctx.hold_codes, **kwargs)
    if not decision.allowed:
        assert decision.refusal is not None
        raise refused(decision.refusal)
    return decision


async def _prepare(session: AsyncSession, ctx: _Ctx, data: ActionInput,
                   effective: dt.date | None = None) -> _Prepared:
    """Check an action and work out its consequences; nothing changes until `apply` is called.
    `effective` is given when a pending action is applied on (or after) its day."""
    action = Action(data.action)
    handler = _HANDLERS[action]
    return await handler(session, ctx, data, effective)


async def _activate(session: AsyncSession, ctx: _Ctx, data: ActionInput, effective: dt.date | None) -> _Prepared:
    day = effective or _effective(data, ctx.today)
    decision = _decide(ctx, Action.ACTIVATE)
    fees = await _fee(session, "activation")
    if ctx.service.kind != ServiceKind.SIM.value:
        fees += await _fee(session, "installation")
    preview = Preview("activate", day, day > ctx.today, str(decision.next_state), fees)
    contract = ctx.contract
    if contract.commitment_months and contract.commitment_end is None:
        end = rules.commitment_end(day, contract.commitment_months)
        preview.notes.append(Msg(N_("The %(months)s-month commitment runs until %(last_day)s."),
                                 months=contract.commitment_months,
                                 last_day=(end - dt.timedelta(days=1)).isoformat()))

    async def apply(who: str) -> None:
        service = ctx.service
        await _set_state(session, service, ServiceState.ACTIVE, day)
        service.activated_on = day
        if contract.commitment_months and contract.commitment_end is None:
            contract.commitment_end = rules.commitment_end(day, contract.commitment_months)

    return _Prepared(preview, apply)


async def _suspend(session: AsyncSession, ctx: _Ctx, data: ActionInput, effective: dt.date | None) -> _Prepared:
    all_rules = await _suspension_rules(session, ctx.language, placing=True)
    code = data.reason or ""
    rule = all_rules.get(code)
    if rule is None:
        raise ValidationFailedError("unknown_suspension_reason", Msg(N_("Choose one of the offered values.")),
                                    field="reason")
    if effective is None and (refusal := rules.may_place(rule, ctx.role)) is not None:
        raise refused(refusal, ForbiddenError)
    day = effective or _effective(data, ctx.today)
    if rule.immediate and day > ctx.today:
        raise ValidationFailedError("immediate_reason", Msg(N_(
            "A hold for “%(reason)s” takes effect at once; it cannot be dated ahead."), reason=rule.label),
            field="when")
    decision = _decide(ctx, Action.SUSPEND, placing=code, rules=all_rules)
    end = data.end_date
    if rule.voluntary:
        limit = rule.max_days_in_12_months or rules.VOLUNTARY_LIMIT_DAYS
        if end is not None and end <= day:
            raise ValidationFailedError("invalid_period", Msg(N_("A suspension must end after it starts.")),
                                        field="end_date")
        earlier = await _voluntary_periods(session, ctx.service.id)
        refusal = rules.check_voluntary_limit(earlier, day, end, limit)
        if refusal is not None:
            raise ValidationFailedError(refusal.code, refusal.reason, field="end_date")
    elif end is not None:
        raise ValidationFailedError("end_not_allowed", Msg(N_(
            "Only a voluntary suspension is planned to end on a date; this hold stays until it is lifted.")),
            field="end_date")
    fees = await _fee(session, rule.fee_on_suspend)
    preview = Preview("suspend", day, day > ctx.today, str(decision.next_state), fees,
                      details={"reason": code, "reason_name": rule.label})
    billing_note = {"full": N_("The suspended days are billed at the full monthly fee."),
                    "suspension_fee": N_("The suspended days are billed at the plan's suspension fee."),
                    "none": N_("The suspended days are not billed.")}[rule.billing]
    preview.notes.append(Msg(billing_note))
    if end is not None:
        preview.details["end_date"] = end.isoformat()
        preview.notes.append(Msg(N_("The service works again on %(date)s."), date=end.isoformat()))
    if code == "lost_or_stolen" or rule.lifts_on_swap:
        preview.notes.append(Msg(N_("The SIM is blocked at once; a SIM swap or a resume ends the hold.")))
    if data.imei:
        preview.details["imei"] = data.imei
    if rule.partial:
        preview.notes.append(Msg(N_("Incoming calls and emergency numbers keep working.")))

    async def apply(who: str) -> None:
        service = ctx.service
        # The state first: its read of the open interval would otherwise flush the hold on its own.
        await _set_state(session, service, ServiceState.SUSPENDED, day)
        session.add(ServiceHold(service_id=service.id, reason_code=code, start_date=day, planned_end=end,
                                billing=rule.billing, imei=data.imei, note=data.note[:300], placed_by=who))
        if end is not None:  # the voluntary hold ends by itself: a pending lift on its last day + 1
            session.add(PendingAction(
                service_id=service.id, action="resume", effective_date=end, created_by=who,
                params=ActionInput(action="resume", reason=code, when="date", date=end).params() | {"auto": True}))

    return _Prepared(preview, apply)


async def _voluntary_periods(session: AsyncSession, service_id: int) -> list[rules.Period]:
    """Voluntary suspensions held, running, and scheduled: a second one booked ahead counts too."""
    voluntary = set(await session.scalars(select(SuspensionReason.code).where(SuspensionReason.voluntary.is_(True))))
    rows = await session.execute(
        select(ServiceHold.start_date, ServiceHold.lifted_on, ServiceHold.planned_end)
        .where(ServiceHold.service_id == service_id, ServiceHold.reason_code.in_(sorted(voluntary))))
    periods: list[rules.Period] = [(start, lifted or planned) for start, lifted, planned in rows]
    for pending in await session.scalars(select(PendingAction).where(
            PendingAction.service_id == service_id, PendingAction.status == PendingStatus.PENDING.value,
            PendingAction.action == "suspend")):
        if pending.params.get("reason") in voluntary and pending.params.get("end_date"):
            periods.append((pending.effective_date, dt.date.fromisoformat(pending.params["end_date"])))
    return periods


async def _resume(session: AsyncSession, ctx: _Ctx, data: ActionInput, effective: dt.date | None) -> _Prepared:
    all_rules = await _suspension_rules(session, ctx.language)
    code = data.reason or ""
    rule = all_rules.get(code)
    if rule is not None and effective is None and (refusal := rules.may_lift(rule, ctx.role)) is not None:
        raise refused(refusal, ForbiddenError)
    day = effective or _effective(data, ctx.today)
    decision = _decide(ctx, Action.RESUME, lifting=code, rules=all_rules)
    if rule is not None and rule.lift_condition == "debt_settled" and not data.arrangement:
        from backoffice.customers.services import get_billing_account

        account = await get_billing_account(session, ctx.contract.billing_account_id)
        if account.balance > 0:
            raise ConflictError("debt_not_settled", Msg(N_(
                "The payer still owes %(amount)s Ft: a hold for “%(reason)s” is lifted only when the debt is paid "
                "or an arrangement is agreed."), amount=f"{account.balance:,.0f}".replace(",", " "),
                reason=rule.label), field="arrangement")
    fees = await _fee(session, rule.fee_on_resume if rule else None)
    preview = Preview("resume", day, day > ctx.today, str(decision.next_state), fees,
                      details={"reason": code, "reason_name": rule.label if rule else code})
    remaining = decision.holds
    if remaining:
        names = ", ".join(sorted(all_rules[h].label if h in all_rules else h for h in remaining))
        preview.notes.append(Msg(N_("The service stays suspended: %(holds)s still holds it."), holds=names))
    else:
        preview.notes.append(Msg(N_("The service works again from %(date)s."), date=day.isoformat()))

    async def apply(who: str) -> None:
        service = ctx.service
        for hold in ctx.holds:
            if hold.reason_code == code:
                hold.lifted_on, hold.lifted_by = max(day, hold.start_date), who
        await _withdraw_auto_lifts(session, service.id, code, who)
        await _set_state(session, service, ServiceState(str(decision.next_state)), day)

    return _Prepared(preview, apply)


async def _withdraw_auto_lifts(session: AsyncSession, service_id: int, code: str, who: str) -> None:
    """A voluntary hold lifted early no longer needs its planned lift."""
    for pending in await session.scalars(select(PendingAction).where(
            PendingAction.service_id == service_id, PendingAction.status == PendingStatus.PENDING.value,
            PendingAction.action == "resume")):
        if pending.params.get("reason") == code:
            pending.status, pending.resolved_at, pending.resolved_by = PendingStatus.WITHDRAWN.value, utcnow(), who
            pending.outcome = "the hold was lifted"


async def _terminate(session: AsyncSession, ctx: _Ctx, data: ActionInput, effective: dt.date | None) -> _Prepared:
    reason = (await session.execute(select(TerminationReason).where(
        TerminationReason.code == (data.reason or ""), TerminationReason.active.is_(True)))).scalar_one_or_none()
    if reason is None:
        raise ValidationFailedError("unknown_termination_reason", Msg(N_("Choose one of the offered values.")),
                                    field="reason")
    decision = _decide(ctx, Action.TERMINATE)
    requested = effective or _effective(data, ctx.today)
    day = effective or rules.termination_date(requested, ctx.today, reason.code, reason.notice_days)
    fees: list[FeeLine] = []
    plan = ctx.plan
    if reason.early_termination_fee:
        amount = rules.early_termination_fee(ctx.contract.commitment_end, day, plan.commitment_monthly_discount,
                                             plan.early_termination_cap)
        if amount > 0:
            fees.append(FeeLine(*EARLY_TERMINATION, amount, plan.vat_rate))
    preview = Preview("terminate", day, day > ctx.today, str(decision.next_state), fees,
                      details={"reason": reason.code, "reason_name": reason.name(ctx.language)})
    if day > requested:
        preview.notes.append(Msg(N_("The notice period of %(days)s days makes %(date)s the earliest date."),
                                 days=reason.notice_days, date=day.isoformat()))
    preview.notes.append(Msg(N_("The last day of service is %(date)s."),
                             date=(day - dt.timedelta(days=1)).isoformat()))
    if ctx.contract.commitment_end and day < ctx.contract.commitment_end:
        preview.notes.append(Msg(N_("The commitment runs until %(date)s."),
                                 date=(ctx.contract.commitment_end - dt.timedelta(days=1)).isoformat()))
    if ctx.service.number:
        preview.notes.append(Msg(N_("The number %(number)s rests in quarantine until %(date)s."),
                                 number=phone_display(ctx.service.number),
                                 date=rules.quarantine_until(day, pool.QUARANTINE_DAYS).isoformat()))

    async def apply(who: str) -> None:
        await _end_service(session, ctx, ServiceState.TERMINATED, day, who)
        if ctx.service.number:
            await pool.quarantine(session, None, ctx.service.number, terminated_on=day)

    return _Prepared(preview, apply)


async def _end_service(session: AsyncSession, ctx: _Ctx, state: ServiceState, day: dt.date, who: str) -> None:
    """Terminated or cancelled: every running interval, hold and add-on ends, the SIM is blocked,
    what was still scheduled is withdrawn, and a contract left with no service ends too."""
    service = ctx.service
    await _set_state(session, service, state, day)
    service.ended_on = day
    await _close_open(session, ServicePlanInterval, day, service_id=service.id)
    for row, _ in ctx.addons:  # the monthly ones, and a one-off one still running this month
        if row.start_date >= day:
            await session.delete(row)
        elif row.end_date is None or row.end_date > day:
            row.end_date, row.removed_by = day, who
    for hold in ctx.holds:
        hold.lifted_on, hold.lifted_by = max(day, hold.start_date), who
    if ctx.sim is not None:
        ctx.sim.blocked_on, ctx.sim.block_reason = day, state.value
    await session.execute(
        update(PendingAction)
        .where(PendingAction.service_id == service.id, PendingAction.status == PendingStatus.PENDING.value)
        .values(status=PendingStatus.WITHDRAWN.value, resolved_at=utcnow(), resolved_by=who,
                outcome=f"the service was {state.value}"))
    await session.flush()
    live = await session.scalar(select(Service.id).where(
        Service.contract_id == ctx.contract.id, Service.state.not_in([s.value for s in rules.FINAL_STATES]))
        .limit(1))
    if live is None:
        ctx.contract.status, ctx.contract.end_date = ContractStatus.ENDED.value, day


async def _cancel(session: AsyncSession, ctx: _Ctx, data: ActionInput, effective: dt.date | None) -> _Prepared:
    decision = _decide(ctx, Action.CANCEL)
    day = ctx.today
    preview = Preview("cancel", day, False, str(decision.next_state))
    if ctx.service.number:
        preview.notes.append(Msg(N_("The number %(number)s goes back to the pool."),
                                 number=phone_display(ctx.service.number)))

    async def apply(who: str) -> None:
        await _end_service(session, ctx, ServiceState.CANCELLED, day, who)
        if ctx.service.number:
            await pool.release(session, None, ctx.service.number)

    return _Prepared(preview, apply)


async def _swap_sim(session: AsyncSession, ctx: _Ctx, data: ActionInput, effective: dt.date | None) -> _Prepared:
    if ctx.service.kind != ServiceKind.SIM.value:
        raise ConflictError("not_a_sim", Msg(N_("Only a SIM service has a SIM card to swap.")))
    all_rules = await _suspension_rules(session, ctx.language)
    decision = _decide(ctx, Action.SWAP_SIM, rules=all_rules)
    taken = await session.scalar(select(SimCard.iccid).where(
        (SimCard.iccid == data.iccid) | (SimCard.imsi == data.imsi)).limit(1))
    if taken is not None:
        field_name = "iccid" if taken == data.iccid else "imsi"
        raise ValidationFailedError("sim_in_use", Msg(N_("This SIM card has already been issued.")), field=field_name)
    day = ctx.today
    fees = await _fee(session, "sim_swap")
    lifted = sorted(ctx.hold_codes - decision.holds)
    preview = Preview("swap_sim", day, False, str(decision.next_state), fees,
                      details={"old_iccid": ctx.sim.iccid if ctx.sim else None, "new_iccid": data.iccid})
    preview.notes.append(Msg(N_("The old SIM card is blocked for good; the number stays.")))
    for code in lifted:
        preview.notes.append(Msg(N_("The hold for “%(reason)s” ends."), reason=all_rules[code].label))

    async def apply(who: str) -> None:
        service = ctx.service
        if ctx.sim is not None:
            ctx.sim.blocked_on, ctx.sim.block_reason = day, "swapped"
        session.add(SimCard(service_id=service.id, iccid=data.iccid, imsi=data.imsi, puk=data.puk, issued_on=day))
        for hold in ctx.holds:
            if hold.reason_code in lifted:
                hold.lifted_on, hold.lifted_by = max(day, hold.start_date), who
        await _set_state(session, service, ServiceState(str(decision.next_state)), day)

    return _Prepared(preview, apply)


async def _change_plan(session: AsyncSession, ctx: _Ctx, data: ActionInput, effective: dt.date | None) -> _Prepared:
    decision = _decide(ctx, Action.CHANGE_PLAN)
    target = (await session.execute(select(Plan).where(Plan.code == (data.plan_code or "")))).scalar_one_or_none()
    if target is None or not target.active or target.kind != ctx.service.kind:
        raise ValidationFailedError("unknown_plan", Msg(N_("Choose one of the offered plans.")), field="plan_code")
    if target.id == ctx.plan.id:
        raise ConflictError("same_plan", Msg(N_("The service is already on this plan.")), field="plan_code")
    change = (await session.execute(select(PlanChangeRule).where(
        PlanChangeRule.from_plan_id == ctx.plan.id, PlanChangeRule.to_plan_id == target.id))).scalar_one_or_none()
    if change is None:
        raise ConflictError("plan_change_not_allowed", Msg(N_("%(from)s cannot be changed to %(to)s."),
                                                           **{"from": ctx.plan.name(ctx.language),
                                                              "to": target.name(ctx.language)}), field="plan_code")
    catalogue, _ = await _addon_rules(session, ctx.language)
    stranded = sorted(a.name(ctx.language) for _, a in ctx.addons
                      if a.plan_codes is not None and target.code not in a.plan_codes)
    if stranded:
        raise ConflictError("addon_not_on_new_plan", Msg(N_(
            "%(addons)s is not available on %(plan)s: remove it first."), addons=", ".join(stranded),
            plan=target.name(ctx.language)), field="plan_code")
    upgrade = target.monthly_fee > ctx.plan.monthly_fee
    # The rule's date is the earliest; the agent may date the change later (an upgrade from next month).
    earliest = rules.plan_change_effective(ctx.today, upgrade, change.mode)  # type: ignore[arg-type]
    day = effective or max(earliest, _effective(data, ctx.today))
    preview = Preview("change_plan", day, day > ctx.today, str(decision.next_state),
                      details={"from_plan": ctx.plan.code, "to_plan": target.code,
                               "from_name": ctx.plan.name(ctx.language), "to_name": target.name(ctx.language)})
    preview.notes.append(Msg(N_("%(plan)s applies from %(date)s; the month is billed day by day."),
                             plan=target.name(ctx.language), date=day.isoformat()))

    async def apply(who: str) -> None:
        service = ctx.service
        await _close_open(session, ServicePlanInterval, day, service_id=service.id)
        session.add(ServicePlanInterval(service_id=service.id, plan_id=target.id, start_date=day))
        service.plan_id = target.id

    del catalogue
    return _Prepared(preview, apply)


async def _add_addon(session: AsyncSession, ctx: _Ctx, data: ActionInput, effective: dt.date | None) -> _Prepared:
    _decide(ctx, Action.ADD_ADDON)
    catalogue, rows = await _addon_rules(session, ctx.language)
    addon = rows.get(data.addon_code or "")
    if addon is None or not addon.active:
        raise ValidationFailedError("unknown_addon", Msg(N_("Choose one of the offered add-ons.")), field="addon_code")
    refusal = rules.check_addon(catalogue[addon.code], kind=ctx.service.kind, plan=ctx.plan.code,
                                active_addons=ctx.addon_codes, catalogue=catalogue,
                                by_portal=ctx.role == rules.SUBSCRIBER)
    if refusal is not None:
        raise ConflictError(refusal.code, refusal.reason, field="addon_code")
    day = effective or _effective(data, ctx.today)
    fees = [] if addon.recurring else [FeeLine(addon.code, addon.name_hu, addon.name_en, addon.price, addon.vat_rate)]
    preview = Preview("add_addon", day, day > ctx.today, ctx.service.state, fees,
                      details={"addon": addon.code, "addon_name": addon.name(ctx.language)})
    if addon.recurring:
        preview.notes.append(Msg(N_("%(addon)s costs %(price)s Ft a month (net), billed day by day from %(date)s."),
                                 addon=addon.name(ctx.language), price=f"{addon.price:,.2f}".replace(",", " "),
                                 date=day.isoformat()))
    else:
        preview.notes.append(Msg(N_("%(addon)s is charged once and runs until the end of the month."),
                                 addon=addon.name(ctx.language)))

    async def apply(who: str) -> None:
        end = None if addon.recurring else rules.first_of_next_month(day)
        session.add(ServiceAddOn(service_id=ctx.service.id, addon_id=addon.id, start_date=day, end_date=end,
                                 added_by=who))

    return _Prepared(preview, apply)


async def _remove_addon(session: AsyncSession, ctx: _Ctx, data: ActionInput, effective: dt.date | None) -> _Prepared:
    _decide(ctx, Action.REMOVE_ADDON)
    catalogue, _ = await _addon_rules(session, ctx.language)
    code = data.addon_code or ""
    refusal = rules.check_addon_removal(code, ctx.addon_codes, catalogue, by_portal=ctx.role == rules.SUBSCRIBER)
    if refusal is not None:
        raise ConflictError(refusal.code, refusal.reason, field="addon_code")
    day = effective or _effective(data, ctx.today)
    name = catalogue[code].label if code in catalogue else code
    preview = Preview("remove_addon", day, day > ctx.today, ctx.service.state,
                      details={"addon": code, "addon_name": name})
    preview.notes.append(Msg(N_("%(addon)s ends on %(date)s."), addon=name, date=day.isoformat()))

    async def apply(who: str) -> None:
        for row, addon in ctx.addons:
            if addon.code == code:
                if row.start_date >= day:
                    await session.delete(row)
                else:
                    row.end_date, row.removed_by = day, who

    return _Prepared(preview, apply)


_HANDLERS: dict[Action, Callable[[AsyncSession, _Ctx, ActionInput, dt.date | None], Awaitable[_Prepared]]] = {
    Action.ACTIVATE: _activate,
    Action.SUSPEND: _suspend,
    Action.RESUME: _resume,
    Action.TERMINATE: _terminate,
    Action.CANCEL: _cancel,
    Action.SWAP_SIM: _swap_sim,
    Action.CHANGE_PLAN: _change_plan,
    Action.ADD_ADDON: _add_addon,
    Action.REMOVE_ADDON: _remove_addon,
}


# ---------------------------------------------------------------- the public operations


def _stale(service: Service) -> ConflictError:
    return ConflictError("stale_service", Msg(N_(
        "Someone else changed this service after you opened it. Its current state is shown; check it and "
        "try again.")), current=service)


async def preview(session: AsyncSession, actor: Principal, service_id: int, data: ActionInput) -> Preview:
    """The consequences of an action, without doing it (refusals are raised as they would be)."""
    service, contract, plan = await _load(session, service_id)
    ctx = await _context(session, service, actor.role, actor.language, contract=contract, plan=plan)
    return (await _prepare(session, ctx, data)).preview


async def perform(
    session: AsyncSession, actor: Principal, service_id: int, data: ActionInput, version: int | None,
    *, seller_name: str = "", confirm: bool = True,
) -> Outcome:
    """Do an action now, or schedule it when it takes effect later; either way the subscriber
    gets a confirmation. A stale `version` (the form was opened before someone else's change)
    is a conflict: nothing changes."""
    service, contract, plan = await _load(session, service_id)
    if version is not None and service.version != version:
        raise _stale(service)
    ctx = await _context(session, service, actor.role, actor.language, contract=contract, plan=plan)
    prepared = await _prepare(session, ctx, data)
    result = prepared.preview
    before = _snapshot(ctx)
    letter_notes = None
    if confirm and ctx.language != "hu":  # the letter names reasons and plans in Hungarian
        letter_notes = (await _prepare(session, replace(ctx, language="hu"), data)).preview.notes
    outcome = Outcome(result, service)
    if result.scheduled:
        await _refuse_double_booking(session, service.id, data, result.effective_date)
        pending = PendingAction(service_id=service.id, action=data.action, params=data.params(),
                                effective_date=result.effective_date, created_by=actor.username)
        session.add(pending)
        outcome.pending = pending
    else:
        await prepared.apply(actor.username)
    service.updated_at = utcnow()  # every action moves the version on, a scheduled one too
    await flush_versioned(session, _stale(service))
    if confirm:  # first, so that the history row is written with its letter
        from backoffice.subscriptions.confirmations import send_confirmation

        outcome.document = await send_confirmation(session, actor, ctx.contract, ctx.service, result, seller_name,
                                                     notes=letter_notes)
    outcome.event = await _record(session, actor, ctx, result, before, pending=outcome.pending,
                                  document=outcome.document)
    await session.flush()
    return outcome


async def _refuse_double_booking(session: AsyncSession, service_id: int, data: ActionInput,
                                 day: dt.date) -> None:
    for pending in await session.scalars(select(PendingAction).where(
            PendingAction.service_id == service_id, PendingAction.status == PendingStatus.PENDING.value,
            PendingAction.action == data.action)):
        if data.action in {"add_addon", "remove_addon"} and pending.params.get("addon_code") != data.addon_code:
            continue
        if data.action in {"suspend", "resume"} and pending.params.get("reason") != data.reason:
            continue  # another hold (a voluntary hold's planned lift is a pending resume too)
        if pending.params.get("auto") and day < pending.effective_date:
            continue  # a voluntary suspension ended sooner than planned: its planned lift then goes
        raise ConflictError("already_scheduled", Msg(N_(
            "This change is already scheduled for %(date)s: withdraw it first to schedule it again."),
            date=pending.effective_date.isoformat()))


def _snapshot(ctx: _Ctx) -> dict[str, Any]:
    return {"state": ctx.service.state, "plan": ctx.plan.code, "holds": sorted(ctx.hold_codes),
            "addons": sorted(ctx.addon_codes), "sim": ctx.sim.iccid if ctx.sim else None}


# What `_snapshot` shows of holds, add-ons and SIM, as (what, code) rows in one statement.
_NOW = union_all(
    select(literal("hold"), ServiceHold.reason_code).where(*_HOLDS_ON),
    select(literal("addon"), AddOn.code).join(ServiceAddOn, ServiceAddOn.addon_id == AddOn.id).where(*_ADDONS_ON),
    select(literal("sim"), SimCard.iccid).where(*_SIM_ON),
)


async def _snapshot_now(session: AsyncSession, service: Service, today: dt.date) -> dict[str, Any]:
    """`_snapshot` of the service as it is after an action (its changes flushed first)."""
    found: dict[str, list[str]] = {"hold": [], "addon": [], "sim": []}
    for what, code in (await session.execute(_NOW, {"service_id": service.id, "today": today})).all():
        found[what].append(code)
    plan = await session.get(Plan, service.plan_id)
    assert plan is not None  # a foreign key
    return {"state": service.state, "plan": plan.code, "holds": sorted(found["hold"]),
            "addons": sorted(found["addon"]), "sim": found["sim"][0] if found["sim"] else None}


async def _record(session: AsyncSession, actor: Principal | None, ctx: _Ctx, result: Preview,
                  before: dict[str, Any], pending: PendingAction | None = None,
                  document: Any = None) -> ServiceEvent:
    """History row (with its letter, `document`), fees incurred, audit row and contact-log entry for
    one action."""
    from backoffice.customers.services import log_action

    service = ctx.service
    await session.flush()  # the action's changes, which the snapshot reads back, and the pending row's id
    who = actor.username if actor is not None else SYSTEM_ACTOR
    if pending is None:  # read back, so the audit shows the holds, add-ons and SIM the action changed
        after = {**await _snapshot_now(session, service, ctx.today),
                 "effective_date": result.effective_date.isoformat()}
    else:
        after = {"scheduled": result.action, "effective_date": result.effective_date.isoformat(),
                 "pending_id": pending.id}
    details = dict(result.details)
    if result.fees:
        details["fees"] = [{"code": f.code, "name_hu": f.name_hu, "name_en": f.name_en, "amount": str(f.amount),
                            "vat_rate": str(f.vat_rate)} for f in result.fees]
    if pending is not None:
        details["scheduled"] = True
        details["pending_id"] = pending.id
    [event] = await insert_rows(session, ServiceEvent, [dict(
        service_id=service.id, at=utcnow(), effective_date=result.effective_date, action=result.action,
        actor_name=who, details=details, document_id=document.id if document is not None else None)])
    if pending is None and result.fees:
        for fee in result.fees:
            session.add(ServiceFee(service_id=service.id, code=fee.code, name_hu=fee.name_hu, name_en=fee.name_en,
                                   amount=fee.amount, vat_rate=fee.vat_rate, incurred_on=result.effective_date,
                                   event_id=event.id))
    await audit.record(session, actor, f"service.{result.action}", "service", service.id,
                       before, {**before, **after})
    label = phone_display(service.number) if service.number else service.install_address() or f"#{service.id}"
    summary = (Msg(N_("%(action)s of %(service)s scheduled for %(date)s."), action=ACTION_LABELS[result.action],
                   service=label, date=result.effective_date.isoformat())
               if pending is not None else
               Msg(N_("%(action)s: %(service)s, effective %(date)s."), action=ACTION_LABELS[result.action],
                   service=label, date=result.effective_date.isoformat()))
    await log_action(session, actor, ctx.contract.subscriber_id, summary, "service", service.id)
    return event


async def withdraw(
    session: AsyncSession, actor: Principal, pending_id: int, version: int | None, *, seller_name: str = "",
    confirm: bool = True,
) -> Outcome:
    """Withdraw a scheduled change before it takes effect (the automatic end of a voluntary
    suspension is not withdrawn: resume the service, or it would run past its limit)."""
    pending = await session.get(PendingAction, pending_id) if storable_id(pending_id) else None
    if pending is None or pending.service_id is None:
        raise NotFoundError("pending_not_found", Msg(N_("There is no such scheduled change.")))
    if pending.status != PendingStatus.PENDING.value:
        raise ConflictError("pending_not_pending", Msg(N_("This change is no longer scheduled: it was %(status)s."),
                                                       status=Msg(pending.status)))
    if pending.params.get("auto"):
        raise ConflictError("pending_automatic", Msg(N_(
            "The planned end of a voluntary suspension cannot be withdrawn; resume the service to end it "
            "sooner.")))
    service, contract, plan = await _load(session, pending.service_id)
    if version is not None and service.version != version:
        raise _stale(service)
    ctx = await _context(session, service, actor.role, actor.language, contract=contract, plan=plan)
    pending.status, pending.resolved_at, pending.resolved_by = PendingStatus.WITHDRAWN.value, utcnow(), actor.username
    pending.outcome = "withdrawn"
    service.updated_at = utcnow()
    await flush_versioned(session, _stale(service))
    result = Preview("withdraw", ctx.today, False, service.state,
                     details={"withdrawn": pending.action, "withdrawn_date": pending.effective_date.isoformat(),
                              "pending_id": pending.id})
    outcome = Outcome(result, service)
    if confirm:
        from backoffice.subscriptions.confirmations import send_confirmation

        outcome.document = await send_confirmation(session, actor, ctx.contract, ctx.service, result, seller_name,
                                                   withdrawn=pending)
    outcome.event = await _record(session, actor, ctx, result, _snapshot(ctx), document=outcome.document)
    await session.flush()
    return outcome


async def due_pending(session: AsyncSession, today: dt.date | None = None, limit: int = 1000) -> list[int]:
    """Service-level pending actions whose day has come, oldest first."""
    day = today or clock.today()
    rows = await session.scalars(
        select(PendingAction.id).where(PendingAction.status == PendingStatus.PENDING.value,
                                       PendingAction.effective_date <= day, PendingAction.service_id.is_not(None))
        .order_by(PendingAction.effective_date, PendingAction.id).limit(limit))
    return list(rows)


async def apply_pending(session: AsyncSession, pending_id: int, today: dt.date | None = None) -> PendingAction:
    """Carry out one scheduled change on its effective date, checked against the service as it is
    now. A change the rules now refuse is marked failed with the reason, and the service stays."""
    pending = await session.get(PendingAction, pending_id)
    if pending is None or pending.service_id is None:
        raise NotFoundError("pending_not_found", Msg(N_("There is no such scheduled change.")))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Two jobs (or a job and an agent) at once: the second waits here, then sees what the first did.
        await session.execute(select(Service.id).where(Service.id == pending.service_id).with_for_update())
        await session.refresh(pending)
    if pending.status != PendingStatus.PENDING.value:
        return pending  # resolved since the job listed it (withdrawn by a termination applied before it)
    service, contract, plan = await _load(session, pending.service_id)
    ctx = await _context(session, service, SYSTEM_ACTOR, "hu", today, contract=contract, plan=plan)
    data = ActionInput.from_params({k: v for k, v in pending.params.items() if k != "auto"})
    try:
        prepared = await _prepare(session, ctx, data, effective=pending.effective_date)
    except (ConflictError, ValidationFailedError, ForbiddenError) as exc:
        pending.status, pending.resolved_at, pending.resolved_by = PendingStatus.FAILED.value, utcnow(), SYSTEM_ACTOR
        pending.outcome = str(exc.message)[:2000]
        await audit.record(session, None, "service.pending_failed", "service", service.id,
                           after={"pending_id": pending.id, "action": pending.action, "code": exc.code})
        await session.flush()
        return pending
    before = _snapshot(ctx)
    await prepared.apply(pending.created_by or SYSTEM_ACTOR)
    pending.status, pending.resolved_at, pending.resolved_by = PendingStatus.APPLIED.value, utcnow(), SYSTEM_ACTOR
    service.updated_at = utcnow()
    await session.flush()
    prepared.preview.details["pending_id"] = pending.id
    await _record(session, None, ctx, prepared.preview, before)
    await session.flush()
    return pending
