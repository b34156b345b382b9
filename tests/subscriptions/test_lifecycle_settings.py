"""The installation's settings and the daily job's edges: the quarantine length is configurable,
a voluntary suspension booked ahead counts towards the 180 days, and two daily jobs at once
apply a change once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from backoffice.errors import ValidationFailedError
from backoffice.settings import Settings
from backoffice.subscriptions import lifecycle, services
from backoffice.subscriptions.models import PendingAction, PoolNumber, ServiceEvent
from tests.conftest import IS_PG
from tests.subscriptions.helpers import Maker, act, active_sim, load, seed_catalogue, today_is

DAY = dt.date(2026, 11, 10)


@pytest.fixture
def quarantine_of_30_days() -> Iterator[None]:
    services.configure(quarantine_days=30)
    yield
    services.configure(quarantine_days=Settings.quarantine_days)


async def test_the_quarantine_length_is_the_installations_setting(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, quarantine_of_30_days: None
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, DAY):
        service = await active_sim(maker)
        outcome = await act(maker, service, "terminate", reason="end_of_contract")
    assert any("2026-12-10" in str(note) for note in outcome.preview.notes)  # 10 Nov + 30 days
    async with maker() as s:
        number = (await s.execute(select(PoolNumber).where(PoolNumber.number == service.number))).scalar_one()
    assert (number.status, number.quarantine_until) == ("quarantine", dt.date(2026, 12, 10))


def test_the_quarantine_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("BACKOFFICE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("BACKOFFICE_QUARANTINE_DAYS", "90")
    assert Settings.from_env().quarantine_days == 90


async def test_a_voluntary_suspension_booked_ahead_counts_towards_the_limit(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, DAY):
        service = await active_sim(maker)
        first = await act(maker, service, "suspend", reason="customer_request", when="date",
                          date=DAY + dt.timedelta(days=10), end_date=DAY + dt.timedelta(days=160))
        assert first.pending is not None  # 150 days, booked ahead
        with pytest.raises(ValidationFailedError) as refused:  # 40 more in the same 12 months: 190 > 180
            await act(maker, service, "suspend", reason="customer_request", when="date",
                      date=DAY + dt.timedelta(days=200), end_date=DAY + dt.timedelta(days=240))
    assert refused.value.code == "voluntary_limit_exceeded" and refused.value.field == "end_date"


@pytest.mark.skipif(not IS_PG, reason="two jobs at once need PostgreSQL's row locks")
async def test_two_daily_jobs_at_once_apply_a_scheduled_change_once(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, DAY):
        service = await active_sim(maker)
        scheduled = await act(maker, service, "terminate", reason="customer_request", when="month_end")
    assert scheduled.pending is not None
    due = dt.date(2026, 12, 1)

    async def job() -> str:
        async with maker() as s, s.begin():
            return (await lifecycle.apply_pending(s, scheduled.pending.id, due)).status  # type: ignore[union-attr]

    assert await asyncio.gather(job(), job()) == ["applied", "applied"]  # the second finds it done
    after = await load(maker, service.id)
    assert after.state == "terminated"
    async with maker() as s:
        pending = await s.get(PendingAction, scheduled.pending.id)
        applied = list(await s.scalars(select(ServiceEvent).where(
            ServiceEvent.service_id == service.id, ServiceEvent.action == "terminate")))
    assert pending is not None and pending.status == "applied"
    assert [e.details.get("scheduled", False) for e in applied] == [True, False]  # booked once, applied once


async def test_a_hold_keeps_its_rules_after_its_reason_is_withdrawn_from_the_catalogue(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from backoffice.errors import ForbiddenError
    from backoffice.subscriptions.models import SuspensionReason
    from tests.subscriptions.helpers import AGENT, SUPERVISOR

    await seed_catalogue(maker)
    service = await active_sim(maker)
    await act(maker, service, "suspend", SUPERVISOR, reason="fraud")
    async with maker() as s, s.begin():
        await s.execute(update(SuspensionReason).where(SuspensionReason.code == "fraud").values(active=False))
    with pytest.raises(ForbiddenError):  # still only a supervisor lifts it
        await act(maker, service, "resume", AGENT, reason="fraud")
    with pytest.raises(ValidationFailedError):  # but nobody places a new one
        await act(maker, await active_sim(maker), "suspend", SUPERVISOR, reason="fraud")
    await act(maker, service, "resume", SUPERVISOR, reason="fraud")
    assert (await load(maker, service.id)).state == "active"
