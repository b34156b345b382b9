"""The billing specialist's month end through the real pages: import the network's usage file (a bad
row is reported with its line and reason), draft last month's invoices in the background and watch
the run reach its preview, confirm, open an issued invoice and its PDF, and find the invoice again
by its number in the universal search.

Selectors use ids, names, hrefs and values, never visible text, so the journey holds in either
language. Screenshots of the preview, the issued run and the invoice are saved under screenshots/.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from backoffice import clock

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 120_000  # drafting and issuing the seeded customers' invoices


def last_month() -> tuple[str, dt.date]:
    today = dt.datetime.now(ZoneInfo("Europe/Budapest")).date()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}", first.replace(day=1)


def active_sim_number(live_server: Any, since: dt.date) -> str:
    rows = live_server.query(
        "SELECT number FROM services WHERE kind = 'sim' AND state = 'active' AND number IS NOT NULL "
        "AND activated_on < ? ORDER BY id LIMIT 1", since.isoformat())
    assert rows, "the seed made no SIM active since before last month"
    return str(rows[0][0])


def usage_file(tmp_path: Path, number: str, month_start: dt.date) -> Path:
    """Three calls and a text of last month; line 3 has a type the network never sends."""
    rng = random.Random()
    day = month_start.isoformat()
    lines = [
        "service_number,start_time,type,destination,quantity",
        f"{number},{day} 09:{rng.randrange(60):02d}:{rng.randrange(60):02d},voice,+36201234567,125",
        f"{number},{day} 10:00:00,fax,,1",
        f"{number},{day} 11:{rng.randrange(60):02d}:{rng.randrange(60):02d},sms,+36201234567,1",
        f"{number},{day} 12:{rng.randrange(60):02d}:{rng.randrange(60):02d},voice,+36301234567,61",
    ]
    path = tmp_path / f"cdr-{month_start:%Y%m}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_supervisor_imports_usage_runs_the_month_confirms_and_finds_an_invoice_by_its_number(
    page: Any, live_server: Any, sign_in: Any, screenshot_dir: Path, tmp_path: Path
) -> None:
    period, month_start = last_month()
    number = active_sim_number(live_server, month_start)
    sign_in(page, "supervisor")

    # The usage file: the bad row is reported with its line number and reason, the rest imported.
    page.goto("/billing/usage")
    page.set_input_files("#usage-form input[name=file]", str(usage_file(tmp_path, number, month_start)))
    page.click("#usage-form button[type=submit]")
    page.wait_for_url("**/billing/usage/*")
    rejected = page.locator("#rejects tr.row-error")
    expect(rejected).to_have_count(1)
    expect(rejected.locator("td").nth(0)).to_have_text("3")
    expect(rejected.locator("td").nth(1)).not_to_be_empty()  # the reason, in words
    expect(rejected.locator("td").nth(2)).to_have_text("fax")
    page.screenshot(path=str(screenshot_dir / "billing-usage-import.png"), full_page=True)

    # Last month's run: the form proposes it; the page follows the batch until the preview.
    page.goto("/billing/runs")
    expect(page.locator("#start input[name=period]")).to_have_value(period)
    page.click("#start button[type=submit]")
    page.wait_for_url(f"**/billing/runs/{period}")
    expect(page.locator("#preview")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#run[hx-trigger]")).to_have_count(0)  # the polling stopped
    page.screenshot(path=str(screenshot_dir / "billing-run-preview.png"), full_page=True)

    # Confirming asks once more (it cannot be undone), then issues in the background.
    expect(page.locator("#issue-invoices")).not_to_be_visible()
    page.click("#confirm-step summary")
    with page.expect_navigation():
        page.click("#issue-invoices")
    expect(page.locator("#issued-invoices")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#run[hx-trigger]")).to_have_count(0, timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#preview")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "billing-run-issued.png"), full_page=True)

    # An invoice from the run, and its PDF.
    first = page.locator("#issued-invoices a[href^='/invoices/']").first
    invoice_number = first.inner_text().strip()
    assert invoice_number.startswith(f"INV-{clock.today().year}-")
    first.click()
    page.wait_for_url("**/invoices/*")
    invoice_path = "/" + page.url.split("/", 3)[3]
    expect(page.locator("h1")).to_contain_text(invoice_number)
    expect(page.locator("#lines tbody tr").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "billing-invoice.png"), full_page=True)
    pdf_href = page.locator("#invoice-pdf").get_attribute("href")
    assert pdf_href and pdf_href.startswith("/documents/")
    pdf = page.request.get(pdf_href)
    assert pdf.status == 200 and pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.body().startswith(b"%PDF")

    # The universal search finds the invoice by its number.
    page.goto("/")
    with page.expect_response(lambda response: "/search" in response.url):
        page.fill("#q", invoice_number)
    hit = page.locator(f"#results a[href='{invoice_path}']")
    expect(hit).to_be_visible()
    hit.click()
    page.wait_for_url(f"**{invoice_path}")
    expect(page.locator("h1")).to_contain_text(invoice_number)
