"""The catalogue and the number pool in a real browser, on the seeded demo database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def shoot(page: Any, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def test_an_agent_reads_the_catalogue_and_looks_up_a_number(page, live_server, sign_in, screenshot_dir):
    sign_in(page, "agent")
    page.goto("/catalogue")
    expect(page.locator("#plans tbody tr")).to_have_count(10)
    expect(page.locator("#addons small.mono:text-is('hbo_pack')")).to_be_visible()
    shoot(page, screenshot_dir, "20-catalogue")
    page.goto("/numbers")
    page.fill("#f-prefix", "06 30 999 00")
    expect(page.locator("#number-rows tbody tr")).to_have_count(100)  # HTMX narrowed it as typed
    page.fill("#f-prefix", "06 30 999 99")  # the seed hands out the lowest numbers: the top of the range is free
    expect(page.locator("#number-rows tbody tr")).to_have_count(100)
    page.select_option("#f-status", "allocated")
    expect(page.locator("#number-rows p.empty")).to_be_visible()
    shoot(page, screenshot_dir, "21-number-pool")
