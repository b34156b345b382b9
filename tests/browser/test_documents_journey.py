"""A records journey through real pages: a scanned letter arrives for a customer, an agent drops it
onto the registration form, sees it among the customer's documents and opens the viewer; a
disguised file is refused beside the field.

Selectors use ids, names and hrefs, never visible text, so the journey holds in either language.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import expect

from backoffice.settings import PROJECT_ROOT

pytestmark = pytest.mark.browser

FONT = PROJECT_ROOT / "backoffice" / "pdf" / "fonts" / "DejaVuSans.ttf"


def scanned_letter(name: str) -> bytes:
    """A page of a customer's letter as a scanner delivers it: a greyish A4-shaped PNG with text."""
    page = Image.new("L", (827, 1169), 246)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(FONT), 22)
    lines = [name, "1117 Budapest, Október huszonharmadika utca 8.", "", "Tárgy: panasz a 2026. októberi számlára", "",
             "Tisztelt Ügyfélszolgálat!", "", "Az októberi számlámon kétszer szerepel a havidíj.",
             "Kérem a számla javítását és a különbözet jóváírását.", "", "Üdvözlettel:", name]
    for i, line in enumerate(lines):
        draw.text((90, 110 + i * 38), line, fill=30, font=font)
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


def shoot(page: Any, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"))


def drop_file(page: Any, selector: str, name: str, content: bytes, mime: str) -> None:
    """Drag a file from the desktop onto the drop zone, as a DataTransfer carries it."""
    page.evaluate(
        """([selector, name, bytes, mime]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, {type: mime}));
            const zone = document.querySelector(selector);
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [selector, name, list(content), mime],
    )


def test_agent_registers_a_scanned_letter_for_a_customer_and_opens_it(page, live_server, sign_in, screenshot_dir):
    (party_id, customer_number, name), = live_server.query(
        "SELECT id, customer_number, display_name FROM parties WHERE kind = 'individual' ORDER BY id LIMIT 1 OFFSET 3"
    )
    sign_in(page, "agent")
    page.goto(f"/customers/{party_id}")
    section = page.locator("#documents")
    register_link = section.locator(f"a[href='/documents/new?party={party_id}']")
    expect(register_link).to_be_visible()  # the section arrived by HTMX
    register_link.click()
    expect(page.locator("#f-customer_number")).to_have_value(customer_number)

    # First a disguised file: a program renamed to .pdf is refused beside the file field, and
    # what was typed stays.
    page.select_option("#f-document_type", "complaint_letter")
    page.select_option("#f-channel", "post")
    page.fill("#f-correspondent", name)
    page.fill("#f-subject", "Panasz a 2026. októberi számlára")
    drop_file(page, "#dropzone", "szamla.pdf", b"MZ\x90\x00" + b"\x00" * 400, "application/pdf")
    expect(page.locator("#chosen")).to_contain_text("szamla.pdf")
    page.click("#register-form button[type=submit]")
    expect(page.locator("#e-file")).to_be_visible()
    expect(page.locator("#f-file")).to_be_focused()
    expect(page.locator("#f-subject")).to_have_value("Panasz a 2026. októberi számlára")
    expect(page.locator("#f-document_type")).to_have_value("complaint_letter")
    shoot(page, screenshot_dir, "10-document-register-refused")

    # Then the real scan, dropped onto the zone.
    drop_file(page, "#dropzone", "level-scan.png", scanned_letter(name), "image/png")
    expect(page.locator("#chosen")).to_contain_text("level-scan.png")
    page.click("#register-form button[type=submit]")
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    number = page.locator("h1 .mono").inner_text()
    assert re.fullmatch(r"\d{4}/\d{6}-1", number), number
    viewer = page.locator("section.viewer img.scan")
    expect(viewer).to_be_visible()
    page.wait_for_function("document.querySelector('section.viewer img.scan').naturalWidth > 0")
    shoot(page, screenshot_dir, "11-document-page-viewer")

    # The customer's documents list it; from there the viewer opens again.
    page.goto(f"/customers/{party_id}")
    row_link = page.locator(f"#documents a:text-is('{number}')")
    expect(row_link).to_be_visible()
    shoot(page, screenshot_dir, "12-customer-documents")
    row_link.click()
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    page.wait_for_function("document.querySelector('section.viewer img.scan').naturalWidth > 0")

    # And the universal search finds it by its registry number.
    page.fill("header .topsearch input[name=q]", number)
    page.press("header .topsearch input[name=q]", "Enter")
    expect(page.locator(".hits a[href^='/documents/']")).to_have_count(1)


def test_records_staff_see_who_opened_a_document_and_work_the_intake_queue(page, live_server, sign_in,
                                                                            screenshot_dir):
    sign_in(page, "records")
    page.goto("/documents/new")
    page.select_option("#f-document_type", "general_correspondence")
    page.fill("#f-correspondent", "Magyar Posta Zrt.")
    page.fill("#f-subject", "Tértivevény visszaérkezett")
    page.set_input_files("#f-file", files=[{"name": "terti.png", "mimeType": "image/png",
                                            "buffer": scanned_letter("Magyar Posta Zrt.")}])
    page.click("#register-form button[type=submit]")
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    number = page.locator("h1 .mono").inner_text()
    page.reload()  # the first view was logged; the page now lists it
    expect(page.locator("table.grid.compact tr").first).to_contain_text("records")
    shoot(page, screenshot_dir, "13-document-access-log")
    page.goto("/documents/intake")
    expect(page.locator(f"a:text-is('{number}')")).to_be_visible()
    expect(page.locator("nav.topnav a[aria-current=page]")).to_have_count(1)
    shoot(page, screenshot_dir, "14-intake-queue")
    page.goto("/documents")
    expect(page.locator(f"#doc-results a:text-is('{number}')")).to_be_visible()
    page.select_option("#f-document_type", "subscriber_contract")  # HTMX narrows the list in place
    expect(page.locator(f"#doc-results a:text-is('{number}')")).to_have_count(0)
    page.select_option("#f-document_type", "general_correspondence")
    expect(page.locator(f"#doc-results a:text-is('{number}')")).to_be_visible()
    shoot(page, screenshot_dir, "15-document-search")
