"""The agent's daily subscription journey through the real pages: open a contract for a customer,
order and activate a SIM, report it lost, swap the SIM, add a data pack, schedule the termination
at the end of the month and withdraw it again. Every action goes through its dialog, which shows
the consequences (dates, fees) before the agent confirms.

Selectors use ids, names, hrefs and values, never visible text, so the journey holds in either
language. Screenshots of the dialog and of the service page are saved under screenshots/.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from stdnum import luhn

pytestmark = pytest.mark.browser

_rng = random.Random()


def new_sim() -> tuple[str, str, str]:
    """A fresh card: ICCID (Luhn), IMSI of a Hungarian network, PUK. Random, so re-runs never clash."""
    body = f"893670{_rng.randrange(10**12):012d}"
    return body + luhn.calc_check_digit(body), f"21670{_rng.randrange(10**10):010d}", f"{_rng.randrange(10**8):08d}"


def customer_with_account(live_server: Any) -> int:
    rows = live_server.query(
        "SELECT p.id FROM parties p JOIN billing_accounts a ON a.payer_id = p.id AND a.is_closed = 0 "
        "WHERE p.kind = 'individual' ORDER BY p.id DESC LIMIT 1")
    assert rows, "the seed made no individual with a billing account"
    return int(rows[0][0])


def open_dialog(page: Any, service_id: int, action: str) -> None:
    page.click(f"#service-actions a[href='/services/{service_id}/actions/{action}']")
    expect(page.locator("#action-dialog")).to_be_visible()
    # htmx wires the dialog's triggers when the swap settles; a change made before that refreshes nothing.
    page.wait_for_function("() => !document.querySelector('#dialog.htmx-settling, #dialog .htmx-added')")


def refreshed(page: Any, change: Any) -> None:
    """Make a change in the dialog and wait for the consequences it brings."""
    with page.expect_response(lambda response: "/preview/" in response.url):
        change()


def confirm(page: Any, service_id: int) -> None:
    with page.expect_navigation():
        page.click("#action-dialog button.primary")
    page.wait_for_url(lambda url: f"/services/{service_id}?done=" in url)


def state_badge(page: Any, state: str) -> Any:
    return page.locator(f"h1 .badge.state-{state}")


def test_agent_activates_a_sim_reports_it_lost_swaps_it_adds_a_pack_and_schedules_then_withdraws_termination(
    page: Any, live_server: Any, sign_in: Any, screenshot_dir: Path
) -> None:
    party_id = customer_with_account(live_server)
    sign_in(page, "agent")

    # A new contract with a 12-month commitment.
    page.goto(f"/customers/{party_id}")
    page.locator("#contracts a[href$='/contracts/new']").click()
    page.select_option("select[name=commitment_months]", "12")
    page.click("form[action$='/contracts'] button.primary")
    page.wait_for_url("**/contracts/*")
    contract_id = int(page.url.rstrip("/").split("/")[-1].split("?")[0])

    # Order a SIM: a bad ICCID first is refused beside its field, what was typed stays.
    page.click(f"a[href='/contracts/{contract_id}/services/new?kind=sim']")
    iccid, imsi, puk = new_sim()
    page.fill("input[name=iccid]", iccid[:-1] + str((int(iccid[-1]) + 1) % 10))
    page.fill("input[name=imsi]", imsi)
    page.fill("input[name=puk]", puk)
    page.click("form[action$='/services'] button.primary")
    expect(page.locator("#e-iccid")).to_be_visible()
    expect(page.locator("input[name=imsi]")).to_have_value(imsi)
    page.fill("input[name=iccid]", iccid)
    page.click("form[action$='/services'] button.primary")
    page.wait_for_url("**/services/*")
    service_id = int(page.url.split("/services/")[1].split("?")[0])
    expect(state_badge(page, "ordered")).to_be_visible()

    # Activate: the dialog shows the activation fee before anything happens.
    open_dialog(page, service_id, "activate")
    expect(page.locator("#consequences table.fees")).to_be_visible()
    confirm(page, service_id)
    expect(state_badge(page, "active")).to_be_visible()

    # The customer reports the phone lost.
    open_dialog(page, service_id, "suspend")
    refreshed(page, lambda: page.select_option("#action-dialog select[name=reason]", "lost_or_stolen"))
    expect(page.locator("#consequences .badge.state-suspended")).to_be_visible()
    page.fill("#action-dialog input[name=imei]", "490154203237518")
    confirm(page, service_id)
    expect(state_badge(page, "suspended")).to_be_visible()
    expect(page.locator("#holds")).to_contain_text("490154203237518")

    # A new SIM keeps the number and ends the lost-SIM hold.
    open_dialog(page, service_id, "swap_sim")
    new_iccid, new_imsi, new_puk = new_sim()
    page.fill("#action-dialog input[name=iccid]", new_iccid)
    page.fill("#action-dialog input[name=imsi]", new_imsi)
    page.fill("#action-dialog input[name=puk]", new_puk)
    confirm(page, service_id)
    expect(state_badge(page, "active")).to_be_visible()
    expect(page.locator("main")).to_contain_text(new_iccid)
    expect(page.locator("#holds")).to_have_count(0)

    # A data pack.
    open_dialog(page, service_id, "add_addon")
    page.select_option("#action-dialog select[name=addon_code]", "data_5gb")
    confirm(page, service_id)
    expect(page.locator("#addons a[href$='addon_code=data_5gb']")).to_be_visible()

    # Termination at the end of the month: scheduled, not done; the dialog says when.
    today = dt.datetime.now(ZoneInfo("Europe/Budapest")).date()
    month_end = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    effective = max(month_end, today + dt.timedelta(days=8))  # the consumer's 8 days' notice
    open_dialog(page, service_id, "terminate")
    page.select_option("#action-dialog select[name=reason]", "customer_request")  # the default already
    page.check("#action-dialog input[name=when][value=month_end]")  # the default already
    expect(page.locator("#consequences")).to_contain_text(effective.isoformat())
    page.screenshot(path=str(screenshot_dir / "subscriptions-terminate-dialog.png"))
    confirm(page, service_id)
    expect(state_badge(page, "active")).to_be_visible()
    pending = page.locator("#pending form[action$='/withdraw']")
    expect(pending).to_have_count(1)
    expect(page.locator("#pending")).to_contain_text(effective.isoformat())
    page.screenshot(path=str(screenshot_dir / "subscriptions-service-page.png"), full_page=True)

    # The customer changes their mind.
    with page.expect_navigation():
        pending.locator("button").click()
    expect(page.locator("#pending form[action$='/withdraw']")).to_have_count(0)
    rows = live_server.query("SELECT status FROM pending_actions WHERE service_id = ? AND action = 'terminate'",
                             service_id)
    assert rows == [("withdrawn",)]
    # Every step filed a confirmation letter in the customer's documents.
    letters = live_server.query(
        "SELECT count(*) FROM documents d JOIN document_types t ON t.id = d.document_type_id "
        "WHERE d.party_id = ? AND t.code = 'confirmation'", party_id)
    assert letters[0][0] >= 7  # order, activate, suspend, swap, add-on, termination, withdrawal
