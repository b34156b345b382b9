"""Bill runs: draft → preview → confirm, for one calendar month.

The draft computes one invoice per billing account with charges (recurring fees prorated from the
dated record, one-off fees, usage in arrears), in chunks of accounts, each chunk one transaction:
a crash loses at most the chunk in flight and the next run carries on with the accounts that have
no invoice for the period yet. Confirming numbers the drafts gap-free per year, makes their PDFs
and registers them as outgoing documents, again a chunk per transaction, so a crash rolls back
the numbers of the chunk in flight and the next run reuses them. The unique (account, period)
pair means a period never bills an account twice."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice import audit, clock
from backoffice.actors import Principal
from backoffice.billing import invoices as invoice_docs
from backoffice.billing import rules
from backoffice.billing.models import BillRun, Invoice, InvoiceLine, InvoiceStatus, RunStatus, UsageRecord
from backoffice.customers import services as customers
from backoffice.customers.models import ConsentKind
from backoffice.db import transaction, upsert_insert, utcnow
from backoffice.errors import ConflictError, NotFoundError, ValidationFailedError
from backoffice.i18n import N_, Msg
from backoffice.subscriptions import feed

ACCOUNT_CHUNK = 500
# A bill run streams through every usage record once: a small SQLite page cache keeps its memory
# flat however large the database (the web app's 64 MB cache would fill up and stay full), at the
# cost of a few per cent of speed (measured: 16 MB, 254 invoices/s and 123 MB at 10,000 accounts).
BATCH_SQLITE_CACHE_MIB = 16
CONFIRM_CHUNK = 25

Progress = Callable[[str, int, int], None]  # phase ("draft" or "confirm"), done, total

USAGE_TEXT = {
    rules.UsageType.VOICE: ("Belföldi hívások díjcsomagon felül", "Domestic calls beyond the allowance", "min"),
    rules.UsageType.SMS: ("SMS díjcsomagon felül", "Text messages beyond the allowance", "sms"),
    rules.UsageType.DATA: ("Adatforgalom díjcsomagon felül", "Data beyond the allowance", "mb"),
    rules.UsageType.ROAMING_VOICE: ("Roaming hívások", "Roaming calls", "min"),
    rules.UsageType.ROAMING_DATA: ("Roaming adatforgalom", "Roaming data", "mb"),
}


def parse_period(text: str) -> rules.Period:
    try:
        return rules.Period.parse(text or "")
    except ValueError:
        raise ValidationFailedError("bad_period", Msg(N_("Give the month as 2026-10.")), field="period") from None


def select_run(period: rules.Period) -> Any:
    return select(BillRun).where(BillRun.period == str(period))


async def get_run(session: AsyncSession, period: rules.Period, *, lock: bool = False) -> BillRun:
    """The period's run; `lock`: held until the transaction ends, so that chunks of two runs of a
    period take turns."""
    statement = select_run(period)
    run: BillRun | None = await session.scalar(statement.with_for_update() if lock else statement)
    if run is None:
        raise NotFoundError("run_not_found", Msg(N_("There is no bill run for %(period)s."), period=str(period)))
    return run


async def runs(session: AsyncSession, limit: int = 24) -> list[BillRun]:
    return list(await session.scalars(select(BillRun).order_by(BillRun.period.desc()).limit(limit)))


def _check_period_over(period: rules.Period) -> None:
    if period.end > clock.today():
        raise ValidationFailedError("period_not_over", Msg(
            N_("%(period)s has not ended yet: it can be billed from %(date)s."), period=str(period),
            date=period.end.isoformat()), field="period")


# ---------------------------------------------------------------------------------------------
# Draft
# ---------------------------------------------------------------------------------------------


async def start_draft(session: AsyncSession, actor: Principal | None, period: rules.Period) -> BillRun:
    """Open (or reopen) the period's run for drafting. A finished draft is computed afresh (new
    usage may have arrived); an interrupted one carries on; issued invoices stay as they are."""
    _check_period_over(period)
    # Two runs started at once create the row once (ON CONFLICT DO NOTHING), then take turns on it.
    await session.execute(upsert_insert(session)(BillRun).values(
        period=str(period), status=RunStatus.DRAFTING.value, created_by=getattr(actor, "username", "system"),
        created_at=utcnow(), updated_at=utcnow(), accounts_total=0, accounts_done=0, invoices_issued=0,
    ).on_conflict_do_nothing(index_elements=["period"]))
    run = await get_run(session, period, lock=True)
    if run.status == RunStatus.CONFIRMING.value:
        raise ConflictError("run_confirming", Msg(N_(
            "The invoices of %(period)s are being issued: finish confirming the run first."), period=str(period)))
    elif run.status == RunStatus.DRAFT.value:
        await _discard_drafts(session, run)
    if run.status != RunStatus.DRAFTING.value:  # a fresh start: the progress counts again from nothing
        run.accounts_done = run.accounts_total = 0
    run.status = RunStatus.DRAFTING.value
    run.updated_at = utcnow()
    await audit.record(session, actor, "bill_run.draft", "bill_run", run.id, after={"period": run.period})
    return run


async def _discard_drafts(session: AsyncSession, run: BillRun) -> None:
    drafts = select(Invoice.id).where(Invoice.bill_run_id == run.id, Invoice.status == InvoiceStatus.DRAFT.value)
    accounts = select(Invoice.billing_account_id).where(Invoice.bill_run_id == run.id,
                                                        Invoice.status == InvoiceStatus.DRAFT.value)
    await session.execute(update(UsageRecord).where(UsageRecord.billing_account_id.in_(accounts),
                                                    UsageRecord.invoice_id.in_(drafts)).values(invoice_id=None))
    await session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(drafts)))
    await session.execute(delete(Invoice).where(Invoice.bill_run_id == run.id,
                                                Invoice.status == InvoiceStatus.DRAFT.value))


def _billed_fees() -> Any:
    return select(InvoiceLine.service_fee_id).where(InvoiceLine.service_fee_id.is_not(None))


async def accounts_to_bill(session: AsyncSession, period: rules.Period) -> list[int]:
    """Accounts that paid for a service in the period, or owe unbilled usage or one-off fees from
    it or before, and have no invoice for the period yet."""
    candidates = await feed.accounts_paying_in(session, period)
    candidates |= set(await session.scalars(
        select(UsageRecord.billing_account_id).distinct()
        .where(UsageRecord.invoice_id.is_(None), UsageRecord.usage_date < period.end)))
    candidates |= await feed.accounts_with_fees(session, period.end, _billed_fees())
    done = set(await session.scalars(select(Invoice.billing_account_id).where(Invoice.period == str(period))))
    return sorted(candidates - done)


async def draft(maker: async_sessionmaker[AsyncSession], actor: Principal | None, period: rules.Period, *,
                progress: Progress | None = None, chunk: int = ACCOUNT_CHUNK,
                anomaly_factor: Decimal | int = rules.ANOMALY_FACTOR) -> None:
    """Compute the drafts of the period (the batch: a transaction per chunk of accounts)."""
    async with transaction(maker) as session:
        await start_draft(session, actor, period)
    async with transaction(maker) as session:
        todo = await accounts_to_bill(session, period)
        prices = await feed.price_list(session)
        run = await get_run(session, period, lock=True)
        already = await session.scalar(select(func.count()).select_from(Invoice)
                                       .where(Invoice.period == str(period))) or 0
        run.accounts_total, run.accounts_done = already + len(todo), already
        total, done = run.accounts_total, already
    for i in range(0, len(todo), chunk):
        part = todo[i:i + chunk]
        async with transaction(maker) as session:
            run = await get_run(session, period, lock=True)
            if run.status != RunStatus.DRAFTING.value:
                # A second runner of the period finished the drafts (or they were confirmed meanwhile):
                # what is left of this list was theirs too.
                return
            await _draft_accounts(session, run, period, part, prices, Decimal(anomaly_factor))
            run.accounts_done += len(part)
            run.updated_at = utcnow()
        done += len(part)
        if progress:
            progress("draft", done, total)
    async with transaction(maker) as session:
        run = await get_run(session, period, lock=True)
        if run.status == RunStatus.DRAFTING.value:
            drafts = await session.scalar(select(func.count()).select_from(Invoice).where(
                Invoice.bill_run_id == run.id, Invoice.status == InvoiceStatus.DRAFT.value))
            # Drafting an issued period again that finds nothing new leaves it issued.
            run.status = RunStatus.DRAFT.value if drafts or not run.invoices_issued else RunStatus.ISSUED.value
            run.drafted_at = run.updated_at = utcnow()
            run.accounts_done = run.accounts_total


@dataclass
class _Draft:
    """One account's invoice while it is put together."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    itemised: set[int] = field(default_factory=set)


def _day_line(charge: rules.Charge, label: str, names: tuple[str, str], period: rules.Period) -> dict[str, Any]:
    """A whole month is 1 month at the monthly price; part of one is its days at the day's price."""
    hu, en = names
    line = {"kind": charge.kind.value, "service_id": charge.service_id, "service_label": label,
            "description_hu": hu, "description_en": en, "period_start": charge.start,
            "period_end": charge.end - dt.timedelta(days=1), "quantity": Decimal(1), "unit": "month",
            "unit_price": charge.monthly, "net": charge.net, "vat_rate": charge.vat_rate}
    if charge.days < period.days:
        line.update(description_hu=f"{hu} ({charge.days}/{period.days} nap)",
                    description_en=f"{en} ({charge.days}/{period.days} days)", quantity=Decimal(charge.days),
                    unit="day", unit_price=(charge.monthly / period.days).quantize(Decimal("0.0001")))
    return line


def _charge_names(charge: rules.Charge, prices: feed.PriceList) -> tuple[str, str]:
    if charge.kind is rules.ChargeKind.ADDON:
        addon = prices.addons[charge.item_id]
        return f"{addon.name_hu} havidíj", f"{addon.name_en} monthly fee"
    plan = prices.plans[charge.item_id]
    if charge.kind is rules.ChargeKind.DISCOUNT:
        return f"Hűségkedvezmény ({plan.name_hu})", f"Commitment discount ({plan.name_en})"
    if charge.kind is rules.ChargeKind.SUSPENSION:
        return f"{plan.name_hu} szüneteltetési díj", f"{plan.name_en} suspension fee"
    return f"{plan.name_hu} havidíj", f"{plan.name_en} monthly fee"


async def _draft_accounts(session: AsyncSession, run: BillRun, period: rules.Period, chunk: Sequence[int],
                          prices: feed.PriceList, anomaly_factor: Decimal) -> None:
    taken = set(await session.scalars(select(Invoice.billing_account_id).where(
        Invoice.period == str(period), Invoice.billing_account_id.in_(chunk))))
    accounts = [a for a in chunk if a not in taken]
    if not accounts:
        return
    wanted = set(accounts)
    drafts: dict[int, _Draft] = defaultdict(_Draft)
    labels: dict[int, str] = {}
    subscribers: dict[int, int] = {}
    plan_prices, addon_prices = prices.plan_prices(), prices.addon_prices()
    for billed in await feed.billing_histories(session, accounts, period):
        labels[billed.history.service_id] = billed.label
        if billed.subscriber_id is not None:
            subscribers[billed.history.service_id] = billed.subscriber_id
        for charge in rules.recurring_charges(billed.history, period, plan_prices, addon_prices):
            if charge.billing_account_id in wanted and charge.net:
                drafts[charge.billing_account_id].lines.append(
                    _day_line(charge, billed.label, _charge_names(charge, prices), period))
    fees = await feed.fees_to_bill(session, accounts, period.end, _billed_fees())
    usage = (await session.execute(
        select(UsageRecord.billing_account_id, UsageRecord.service_id, UsageRecord.usage_type,
               UsageRecord.unit_price, UsageRecord.vat_rate, func.sum(UsageRecord.charged_units),
               func.min(UsageRecord.usage_date), func.max(UsageRecord.usage_date))
        .where(UsageRecord.billing_account_id.in_(accounts), UsageRecord.invoice_id.is_(None),
               UsageRecord.usage_date < period.end)
        .group_by(UsageRecord.billing_account_id, UsageRecord.service_id, UsageRecord.usage_type,
                  UsageRecord.unit_price, UsageRecord.vat_rate))).all()
    unknown = {f.service_id for f in fees} | {row[1] for row in usage}
    labels.update(await feed.service_labels(session, unknown - set(labels)))
    for fee in fees:
        drafts[fee.billing_account_id].lines.append({
            "kind": rules.ChargeKind.FEE.value, "service_id": fee.service_id, "service_label": labels[fee.service_id],
            "item_code": fee.code, "description_hu": fee.name_hu, "description_en": fee.name_en,
            "period_start": fee.incurred_on, "period_end": fee.incurred_on, "quantity": Decimal(1), "unit": "pcs",
            "unit_price": fee.amount, "net": rules.round_huf(fee.amount), "vat_rate": fee.vat_rate,
            "service_fee_id": fee.fee_id})
    usage_accounts: dict[int, set[int]] = defaultdict(set)
    for account_id, service_id, kind, price, vat_rate, charged, first, last in usage:
        usage_accounts[account_id].add(service_id)
        usage_type = rules.UsageType(kind)
        net = rules.usage_line_net(usage_type, int(charged or 0), price)
        if not net:
            continue  # all of it inside the allowance: listed on the itemised bill only
        hu, en, unit = USAGE_TEXT[usage_type]
        drafts[account_id].lines.append({
            "kind": rules.ChargeKind.USAGE.value, "service_id": service_id, "service_label": labels[service_id],
            "item_code": kind, "description_hu": hu, "description_en": en, "period_start": first,
            "period_end": last, "quantity": rules.priced_quantity(usage_type, int(charged)), "unit": unit,
            "unit_price": price, "net": net, "vat_rate": vat_rate})
    consenting = await customers.consenting(session, set(subscribers.values()), ConsentKind.ITEMISED_BILL.value,
                                            period.last_day)
    for account_id, services in usage_accounts.items():
        drafts[account_id].itemised = {s for s in services if subscribers.get(s) in consenting}
    await _store_drafts(session, run, period, {a: d for a, d in drafts.items() if d.lines}, anomaly_factor)


async def _store_drafts(session: AsyncSession, run: BillRun, period: rules.Period, drafts: dict[int, _Draft],
                        anomaly_factor: Decimal) -> None:
    if not drafts:
        return
    accounts = sorted(drafts)
    buyers = await customers.buyers(session, accounts)
    since = str(rules.Period(period.year - 1, period.month))  # the account's invoices of the past year
    averages: dict[int, Any] = dict((await session.execute(
        select(Invoice.billing_account_id, func.avg(Invoice.gross_total))
        .where(Invoice.billing_account_id.in_(accounts), Invoice.status == InvoiceStatus.ISSUED.value,
               Invoice.period >= since, Invoice.period < str(period))
        .group_by(Invoice.billing_account_id))).all())
    invoices: list[dict[str, Any]] = []
    for account_id in accounts:
        draft_ = drafts[account_id]
        buyer = buyers[account_id]
        for line in draft_.lines:
            line["vat"] = rules.vat_of(line["net"], line["vat_rate"])
            line["gross"] = line["net"] + line["vat"]
        totals = rules.vat_totals((line["net"], line["vat_rate"]) for line in draft_.lines)
        net = sum((t.net for t in totals), Decimal(0))
        vat = sum((t.vat for t in totals), Decimal(0))
        average = averages.get(account_id)
        average = None if average is None else Decimal(average).quantize(rules.CENT)
        invoices.append({
            "bill_run_id": run.id, "billing_account_id": account_id, "payer_id": buyer.payer_id,
            "period": str(period), "status": InvoiceStatus.DRAFT.value, "fulfilment_date": period.last_day,
            "net_total": net, "vat_total": vat, "gross_total": net + vat, "average_gross": average,
            "anomaly": rules.is_anomaly(net + vat, average, anomaly_factor),
            "itemised_services": sorted(draft_.itemised), "buyer_name": buyer.name, "buyer_address": buyer.address,
            "buyer_tax_number": buyer.tax_number, "buyer_eu_vat_number": buyer.eu_vat_number,
            "customer_number": buyer.customer_number, "account_number": buyer.account_number,
            "payment_method": buyer.payment_method, "created_at": utcnow()})
    # Core statements, each one round trip for the whole chunk (the ORM sends a row at a time here).
    # (Ids are read back by the unique (account, period): SQLite cannot return them in order in bulk.)
    invoice_table: Any = Invoice.__table__
    await session.execute(insert(invoice_table), invoices)
    id_of = dict((await session.execute(select(Invoice.billing_account_id, Invoice.id).where(
        Invoice.period == str(period), Invoice.billing_account_id.in_(accounts)))).all())
    ids = [id_of[i["billing_account_id"]] for i in invoices]
    rows = []
    for invoice_id, invoice in zip(ids, invoices, strict=True):
        ordered = sorted(drafts[invoice["billing_account_id"]].lines, key=_line_order)
        for position, line in enumerate(ordered, start=1):
            rows.append({"invoice_id": invoice_id, "position": position, "service_fee_id": None, "item_code": "",
                         "note": "", **line})
    line_table: Any = InvoiceLine.__table__
    await session.execute(insert(line_table), rows)
    usage_table: Any = UsageRecord.__table__
    await session.execute(
        update(usage_table).where(usage_table.c.billing_account_id == bindparam("account"),
                                  usage_table.c.invoice_id.is_(None), usage_table.c.usage_date < period.end)
        .values(invoice_id=bindparam("invoice")),
        [{"account": i["billing_account_id"], "invoice": invoice_id} for invoice_id, i in zip(ids, invoices,
                                                                                             strict=True)])


def _line_order(line: dict[str, Any]) -> tuple[Any, ...]:
    kind = rules.ChargeKind(line["kind"])
    return (line["service_label"], line["service_id"] or 0, rules.KIND_ORDER[kind], line["period_start"])


# ---------------------------------------------------------------------------------------------
# Preview
# ---------------------------------------------------------------------------------------------


@dataclass
class RunPreview:
    run: BillRun
    drafts: int
    issued: int
    net: Decimal
    vat: Decimal
    gross: Decimal
    anomalies: list[Invoice]
    anomaly_count: int
    by_kind: list[tuple[str, Decimal]]  # net per kind of line, drafts only
    largest: list[Invoice]


async def preview(session: AsyncSession, period: rules.Period, *, run: BillRun | None = None,
                  figures: RunFigures | None = None) -> RunPreview:
    """The run's drafts for checking before confirmation (a caller that has read the run and its
    figures already passes them in)."""
    run = run or await get_run(session, period)
    figures = figures or (await run_figures(session, [run.id]))[run.id]
    drafts_of_run = select(Invoice.id).where(Invoice.bill_run_id == run.id,
                                             Invoice.status == InvoiceStatus.DRAFT.value)
    by_kind = [(str(kind), Decimal(total)) for kind, total in await session.execute(
        select(InvoiceLine.kind, func.sum(InvoiceLine.net)).where(InvoiceLine.invoice_id.in_(drafts_of_run))
        .group_by(InvoiceLine.kind))]
    by_kind.sort(key=lambda kv: rules.KIND_ORDER[rules.ChargeKind(kv[0])])
    flagged = select(Invoice).where(Invoice.bill_run_id == run.id, Invoice.status == InvoiceStatus.DRAFT.value,
                                    Invoice.anomaly.is_(True))
    anomalies = list(await session.scalars(flagged.order_by(Invoice.gross_total.desc()).limit(50)))
    anomaly_count = await session.scalar(select(func.count()).select_from(flagged.subquery())) or 0
    largest = list(await session.scalars(
        select(Invoice).where(Invoice.bill_run_id == run.id, Invoice.status == InvoiceStatus.DRAFT.value)
        .order_by(Invoice.gross_total.desc()).limit(10)))
    return RunPreview(run, figures.drafts, figures.issued, figures.draft_net, figures.draft_vat, figures.draft_gross,
                      anomalies, int(anomaly_count), by_kind, largest)


# ---------------------------------------------------------------------------------------------
# Confirm
# ---------------------------------------------------------------------------------------------


async def start_confirm(session: AsyncSession, actor: Principal | None, period: rules.Period) -> BillRun:
    run = await get_run(session, period, lock=True)
    if run.status == RunStatus.DRAFTING.value:
        raise ConflictError("run_not_drafted", Msg(N_(
            "The drafts of %(period)s are not complete: finish the draft first."), period=str(period)))
    if run.status == RunStatus.ISSUED.value:
        raise ConflictError("run_issued", Msg(N_("The invoices of %(period)s have been issued."), period=str(period)))
    if run.status == RunStatus.DRAFT.value:
        run.status = RunStatus.CONFIRMING.value
        run.confirmed_by = getattr(actor, "username", "system")
        run.updated_at = utcnow()
        await audit.record(session, actor, "bill_run.confirm", "bill_run", run.id, after={"period": run.period})
    return run


async def confirm(maker: async_sessionmaker[AsyncSession], actor: Principal | None, period: rules.Period,
                  seller: invoice_docs.Seller, *, progress: Progress | None = None, chunk: int = CONFIRM_CHUNK,
                  due_days: int = rules.DUE_DAYS) -> None:
    """Issue the period's drafts: numbers, PDFs, registration, balances (a transaction per chunk)."""
    async with transaction(maker) as session:
        run = await start_confirm(session, actor, period)
        run_id = run.id
        total = await session.scalar(select(func.count()).select_from(Invoice)
                                     .where(Invoice.bill_run_id == run_id)) or 0
        done = await session.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.bill_run_id == run_id, Invoice.status == InvoiceStatus.ISSUED.value)) or 0
    while True:
        async with transaction(maker) as session:
            batch = select(Invoice.id).where(Invoice.bill_run_id == run_id, Invoice.status == InvoiceStatus.DRAFT.value)
            if session.get_bind().dialect.name == "postgresql":
                batch = batch.with_for_update(skip_locked=True)  # two confirmers share the work
            ids = list(await session.scalars(batch.order_by(Invoice.id).limit(chunk)))
            if not ids:
                break
            await invoice_docs.issue(session, actor, ids, seller, clock.today(), due_days)
            await session.execute(update(BillRun).where(BillRun.id == run_id).values(
                invoices_issued=BillRun.invoices_issued + len(ids), updated_at=utcnow())
                .execution_options(synchronize_session=False))
        done += len(ids)
        if progress:
            progress("confirm", done, total)
    async with transaction(maker) as session:
        run = await get_run(session, period, lock=True)
        left = await session.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.bill_run_id == run.id, Invoice.status == InvoiceStatus.DRAFT.value))
        if not left and run.status == RunStatus.CONFIRMING.value:
            run.status = RunStatus.ISSUED.value
            run.confirmed_at = run.updated_at = utcnow()


# ---------------------------------------------------------------------------------------------
# Reading runs
# ---------------------------------------------------------------------------------------------


@dataclass
class RunFigures:
    drafts: int = 0
    issued: int = 0
    draft_net: Decimal = Decimal(0)
    draft_vat: Decimal = Decimal(0)
    draft_gross: Decimal = Decimal(0)
    issued_net: Decimal = Decimal(0)
    issued_vat: Decimal = Decimal(0)
    issued_gross: Decimal = Decimal(0)

    @property
    def invoices(self) -> int:
        return self.drafts + self.issued

    @property
    def gross(self) -> Decimal:
        return self.draft_gross + self.issued_gross


async def run_figures(session: AsyncSession, run_ids: Sequence[int]) -> dict[int, RunFigures]:
    """Invoice counts and totals of runs, drafts and issued apart."""
    figures: dict[int, RunFigures] = {run_id: RunFigures() for run_id in run_ids}
    if not run_ids:
        return figures
    rows = await session.execute(
        select(Invoice.bill_run_id, Invoice.status, func.count(), func.coalesce(func.sum(Invoice.net_total), 0),
               func.coalesce(func.sum(Invoice.vat_total), 0), func.coalesce(func.sum(Invoice.gross_total), 0))
        .where(Invoice.bill_run_id.in_(list(run_ids))).group_by(Invoice.bill_run_id, Invoice.status))
    for run_id, status, count, net, vat, gross in rows:
        f = figures[run_id]
        if status == InvoiceStatus.ISSUED.value:
            f.issued, f.issued_gross = int(count), Decimal(gross)
            f.issued_net, f.issued_vat = Decimal(net), Decimal(vat)
        else:
            f.drafts, f.draft_gross = int(count), Decimal(gross)
            f.draft_net, f.draft_vat = Decimal(net), Decimal(vat)
    return figures


async def run_invoices(session: AsyncSession, run_id: int, offset: int, limit: int) -> list[Invoice]:
    """A page of a run's issued invoices in number order."""
    return list(await session.scalars(
        select(Invoice).where(Invoice.bill_run_id == run_id, Invoice.status == InvoiceStatus.ISSUED.value)
        .order_by(Invoice.number).offset(offset).limit(limit)))
