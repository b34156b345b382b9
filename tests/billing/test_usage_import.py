"""Usage import: every bad row reported with its line number and reason, duplicates added once,
rating against the plan and allowance in force, usage billed in arrears to the payer of its day."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice.billing import runs
from backoffice.billing.models import UsageImport, UsageRecord, UsageReject
from backoffice.subscriptions.models import Service
from tests.billing.helpers import NOV, OCT, bill, day, draft, import_text, invoices_for, lines_of
from tests.subscriptions.helpers import Maker, active_sim, seed_catalogue, today_is

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def sim(maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Service:
    """A Mobil Start SIM active since 20 September: 100 minutes, 100 SMS and 2 GB included;
    23.62 a minute beyond, per started minute; roaming data 3.15 a MB."""
    await seed_catalogue(maker)
    with today_is(monkeypatch, day("2026-09-20")):
        return await active_sim(maker)


def national(service: Service) -> str:
    assert service.number is not None
    return "06" + service.number[3:]  # +36301234567 → 06301234567


async def records(maker: Maker) -> list[UsageRecord]:
    async with maker() as s:
        return list(await s.scalars(select(UsageRecord).order_by(UsageRecord.started_at)))


async def test_bad_rows_are_reported_with_their_line_number_and_reason_and_good_rows_imported(
        maker: Maker, sim: Service) -> None:
    n = sim.number
    text = "\n".join([
        "service_number,start_time,type,destination,quantity",
        f"{n},2026-10-03 14:22:10,voice,+36201234567,125",  # 2: good
        "+36 1 999 9999,2026-10-03 14:00:00,voice,,60",  # 3: nobody's number
        f"{n},2026-10-33 10:00:00,voice,,60",  # 4: no such day
        f"{n},2026-10-04 10:00:00,fax,,1",  # 5: unknown type
        f"{n},2026-10-04 11:00:00,data,internet,-5",  # 6: negative
        f"{n},2026-10-04 12:00:00,sms,+36201234567,one",  # 7: not a number
        f"{n},2026-10-04 12:00:00,sms",  # 8: columns missing
        "not a phone,2026-10-04 12:00:00,sms,,1",  # 9: not a phone number
        f"{n},2099-01-01 00:00:00,sms,,1",  # 10: future
        "",
        f"{national(sim)},2026.10.05. 08:00:00,sms,+36201234567,1",  # 12: good, written the Hungarian way
    ])
    result = await import_text(maker, text)
    assert (result.usage_import.rows_total, result.usage_import.rows_imported,
            result.usage_import.rows_rejected) == (10, 2, 8)
    assert [(r.line_no, r.reason) for r in result.rejects] == [
        (4, "bad_time"), (5, "unknown_type"), (6, "negative_quantity"), (7, "bad_quantity"), (8, "columns"),
        (9, "bad_number"), (10, "future_time"), (3, "unknown_service")]
    async with maker() as s:
        stored = (await s.execute(select(UsageReject.line_no, UsageReject.reason)
                                  .order_by(UsageReject.line_no))).all()
    assert [tuple(r) for r in stored] == sorted((r.line_no, r.reason) for r in result.rejects)
    assert [(r.usage_type, r.quantity) for r in await records(maker)] == [("voice", 125), ("sms", 1)]


async def test_a_line_the_csv_reader_cannot_read_is_reported_and_the_rest_imported(
        maker: Maker, sim: Service) -> None:
    text = "\n".join([f"{sim.number},2026-10-03 14:22:10,voice,{'x' * 200_000},60",  # past the CSV field limit
                      f"{sim.number},2026-10-03 15:00:00,sms,,1"])
    result = await import_text(maker, text)
    assert [(r.line_no, r.reason) for r in result.rejects] == [(1, "unreadable")]
    assert (result.usage_import.rows_total, result.usage_import.rows_imported) == (2, 1)


async def test_importing_the_same_file_twice_adds_nothing(maker: Maker, sim: Service) -> None:
    text = f"{sim.number},2026-10-03 14:22:10,voice,+36201234567,125\n{sim.number},2026-10-03 15:00:00,sms,,1\n"
    first = await import_text(maker, text)
    again = await import_text(maker, text, filename="again.csv")
    assert not first.already_imported and again.already_imported
    assert again.usage_import.id == first.usage_import.id
    # The same records inside another file (an overlapping export) are counted as duplicates.
    overlapping = await import_text(maker, text + f"{sim.number},2026-10-04 09:00:00,sms,,1\n")
    assert (overlapping.usage_import.rows_imported, overlapping.usage_import.rows_duplicate) == (1, 2)
    async with maker() as s:
        assert await s.scalar(select(func.count()).select_from(UsageRecord)) == 3
        assert await s.scalar(select(func.count()).select_from(UsageImport)) == 2


async def test_a_semicolon_file_in_windows_1250_is_read(maker: Maker, sim: Service) -> None:
    text = f"szolgáltatás;kezdet;típus;cél;mennyiség\n{sim.number};2026-10-03 14:22:10;voice;Győr ügyfélszolgálat;60\n"
    result = await import_text(maker, text, encoding="cp1250")
    assert result.usage_import.rows_imported == 1, result.rejects
    [record] = await records(maker)
    assert record.destination == "Győr ügyfélszolgálat"


async def test_calls_use_the_allowance_first_then_are_charged_per_started_minute(maker: Maker, sim: Service) -> None:
    # 99 minutes of calls, then a 61-second call: 1 minute left in the allowance, 1 minute charged.
    rows = [f"{sim.number},2026-10-01 08:{i:02d}:00,voice,+36201234567,60" for i in range(59)]
    rows += [f"{sim.number},2026-10-01 09:{i:02d}:00,voice,+36201234567,60" for i in range(40)]
    rows.append(f"{sim.number},2026-10-02 10:00:00,voice,+36201234567,61")
    rows.append(f"{sim.number},2026-10-02 11:00:00,roaming-data,internet,2097152")  # 2 MB roaming
    await import_text(maker, "\n".join(rows))
    last_call, roaming = (await records(maker))[-2:]
    assert (last_call.units, last_call.included_units, last_call.charged_units) == (120, 60, 60)
    assert last_call.amount == D("23.62")
    assert (roaming.charged_units, roaming.amount) == (2048, D("6.30"))
    # The allowance is counted across imports too.
    await import_text(maker, f"{sim.number},2026-10-03 10:00:00,voice,+36201234567,30\n")
    later = (await records(maker))[-1]
    assert (later.included_units, later.charged_units, later.amount) == (0, 60, D("23.62"))


async def test_usage_is_billed_in_arrears_and_late_records_go_on_the_next_invoice(
        maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [f"{sim.number},2026-10-05 10:00:00,roaming-voice,+4930123456,61",  # 2 started minutes at 39.37
            f"{sim.number},2026-10-06 10:00:00,sms,+36201234567,1"]  # inside the allowance
    await import_text(maker, "\n".join(rows))
    [october] = await bill(maker, monkeypatch)
    usage_lines = [line for line in await lines_of(maker, october.id) if line.kind == "usage"]
    assert [(line.item_code, line.quantity, line.net) for line in usage_lines] == [
        ("roaming_voice", D("2.00"), D("79"))]  # 2 × 39.37 = 78.74 → 79
    assert all(r.invoice_id == october.id for r in await records(maker))
    # A record of October that arrives after October's run goes on November's invoice.
    await import_text(maker, f"{sim.number},2026-10-30 10:00:00,roaming-voice,+4930123456,60\n")
    [november] = await bill(maker, monkeypatch, NOV)
    late = [line for line in await lines_of(maker, november.id) if line.kind == "usage"]
    assert [(line.quantity, line.net, str(line.period_start)) for line in late] == [
        (D("1.00"), D("39"), "2026-10-30")]


async def test_an_account_billed_more_than_three_times_its_average_is_flagged_in_the_preview(
        maker: Maker, sim: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    await bill(maker, monkeypatch, OCT.previous())  # September: 11 days and the activation fee
    await import_text(maker, f"{sim.number},2026-10-05 10:00:00,roaming-data,internet,{10 * 1024 * 1048576}\n")
    await draft(maker, monkeypatch)
    async with maker() as s:
        preview = await runs.preview(s, OCT)
    assert (preview.drafts, preview.issued, preview.anomaly_count) == (1, 0, 1)
    [flagged] = preview.anomalies
    september = (await invoices_for(maker, OCT.previous()))[0]
    assert flagged.average_gross == september.gross_total and flagged.gross_total > 3 * september.gross_total
