"""Demo billing: a month of made-up usage for the demo services, imported through the real
import, and that month's bill run drafted and issued, so that the demo shows invoices."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice import clock
from backoffice.billing import runs, usage
from backoffice.billing.invoices import Seller
from backoffice.billing.models import BillRun
from backoffice.billing.rules import Period
from backoffice.db import transaction
from backoffice.subscriptions.models import Service

RECORDS_PER_SERVICE = 25


@dataclass
class SeededBills:
    period: str = ""
    usage_records: int = 0
    invoices: int = 0


def _usage_csv(numbers: list[str], period: Period, seed: int) -> bytes:
    rng = random.Random(seed)
    kinds = ["voice"] * 6 + ["sms"] * 3 + ["data"] * 3 + ["roaming-voice", "roaming-data"]
    lines = ["service_number,start_time,type,destination,quantity"]
    for number in numbers:
        for _ in range(rng.randrange(RECORDS_PER_SERVICE // 2, RECORDS_PER_SERVICE * 2)):
            kind = rng.choice(kinds)
            day, second = rng.randrange(1, period.days + 1), rng.randrange(7 * 3600, 23 * 3600)
            start = f"{period.start.replace(day=day).isoformat()} {second // 3600:02d}:{second // 60 % 60:02d}:" \
                    f"{second % 60:02d}"
            if kind.endswith("voice"):
                destination, quantity = f"+3620{rng.randrange(10**7):07d}", rng.randrange(0, 1200)
            elif kind == "sms":
                destination, quantity = f"+3630{rng.randrange(10**7):07d}", 1
            else:
                destination, quantity = "internet", rng.randrange(100_000, 400_000_000)
            lines.append(f"{number},{start},{kind},{destination},{quantity}")
    return ("\n".join(lines) + "\n").encode()


async def _numbers_active_all_month(session: AsyncSession, period: Period) -> list[str]:
    rows = await session.scalars(
        select(Service.number).where(Service.number.is_not(None), Service.activated_on <= period.start,
                                     (Service.ended_on.is_(None)) | (Service.ended_on >= period.end))
        .order_by(Service.id))
    return [n for n in rows if n]


async def seed_bills(maker: async_sessionmaker[AsyncSession], seed: int, seller: Seller) -> SeededBills:
    """Last month's usage and invoices, once (nothing when last month was billed already)."""
    period = Period.of(clock.today()).previous()
    async with maker() as session:
        if await session.scalar(select(BillRun.id).where(BillRun.period == str(period))) is not None:
            return SeededBills()
        numbers = await _numbers_active_all_month(session, period)
    result = SeededBills(str(period))
    if numbers:
        async with transaction(maker) as session:
            imported = await usage.import_usage(session, None, io.BytesIO(_usage_csv(numbers, period, seed)),
                                                f"demo-usage-{period}.csv")
            result.usage_records = imported.usage_import.rows_imported
    await runs.draft(maker, None, period)
    await runs.confirm(maker, None, period, seller)
    async with maker() as session:
        run = await runs.get_run(session, period)
        result.invoices = run.invoices_issued
    return result
