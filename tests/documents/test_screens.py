"""The registry's screens: register with an upload, bad input beside the field, the document
page and its viewer (each content request logged), void, intake queue, search, customer page."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backoffice import clock
from backoffice.app import create_app
from backoffice.settings import Settings
from tests.conftest import post_form
from tests.customers.helpers import add_party, field_error, input_value
from tests.documents.helpers import Maker, make_image, make_pdf, register, registry_state

YEAR = clock.today().year
FIELDS = {
    "document_type": "complaint_letter", "direction": "incoming", "channel": "post",
    "correspondent": "Nagy Ödön", "subject": "Panasz a 2026. októberi számlára", "occurred_at": "2026-11-20T09:15",
}


async def upload(client: AsyncTestClient[Litestar], content: bytes, name: str = "scan.pdf",
                 **fields: Any) -> Any:
    data = {**FIELDS, **fields}
    token = client.cookies.get("bo_csrf")
    return await client.post("/documents", data=data, files={"file": (name, content, "application/octet-stream")},
                             headers={"x-csrftoken": token or ""}, follow_redirects=False)


async def test_an_agent_registers_a_scanned_letter_for_a_customer(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    party = await add_party(maker)
    await signed_in(client, "agent")
    form = await client.get(f"/documents/new?party={party.id}")
    assert input_value(form.text, "customer_number") == party.customer_number
    response = await upload(client, make_pdf("Kérem a számla javítását", pages=2),
                            customer_number=party.customer_number)
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    assert f"{YEAR}/000001-1" in page.text and "Panasz a 2026. októberi számlára" in page.text
    assert party.display_name in page.text
    section = await client.get(f"/customers/{party.id}/documents")
    assert f"{YEAR}/000001-1" in section.text


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"MZ\x90\x00" + b"\x00" * 300, "level.pdf", "not a PDF, JPEG, PNG or TIFF"),
    (b"", "empty.pdf", "The file is empty"),
    (make_pdf("félbe")[:-300], "cut.pdf", "incomplete"),
])
async def test_a_bad_upload_is_refused_beside_the_file_field_and_the_form_keeps_its_values(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path,
    content: bytes, name: str, message: str,
) -> None:
    await signed_in(client, "agent")
    before = await registry_state(maker, store_root)
    response = await upload(client, content, name)
    assert response.status_code == 422
    assert message in (field_error(response.text, "file") or "")
    assert input_value(response.text, "subject") == FIELDS["subject"]
    assert input_value(response.text, "document_type") == "complaint_letter"
    assert await registry_state(maker, store_root) == before


async def test_metadata_errors_are_shown_beside_their_fields(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    await signed_in(client, "records")
    before = await registry_state(maker, store_root)
    response = await upload(client, make_pdf("ok"), subject="", customer_number="12345",
                            occurred_at="2999-01-01T10:00", document_type="no_such_type")
    assert response.status_code == 422
    assert field_error(response.text, "subject") and field_error(response.text, "customer_number")
    assert field_error(response.text, "occurred_at") and field_error(response.text, "document_type")
    assert "Choose the file again" in (field_error(response.text, "file") or "")
    assert await registry_state(maker, store_root) == before


async def test_an_unknown_customer_number_is_refused_beside_the_field(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    await signed_in(client, "agent")
    response = await upload(client, make_pdf("kinek?"), customer_number="999999999")
    assert response.status_code == 422
    assert "no customer" in (field_error(response.text, "customer_number") or "")


async def test_a_duplicate_upload_names_the_existing_entry_and_can_be_registered_anyway(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    content = make_pdf("kétszer érkezett")
    first = await register(maker, content)
    await signed_in(client, "agent")
    response = await upload(client, content)
    assert response.status_code == 409
    assert first.registry_number in (field_error(response.text, "file") or "")
    assert 'name="allow_duplicate"' in response.text
    again = await upload(client, content, allow_duplicate="1")
    assert again.status_code == 303


async def test_an_upload_over_the_limit_gets_413_with_the_limit_in_words(
    settings: Settings, maker: Maker, signed_in: Any, store_root: Path
) -> None:
    app = create_app(dataclasses.replace(settings, max_upload_bytes=64 * 1024))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        await signed_in(client, "agent")
        big = make_pdf("nagy") + b"%" * (100 * 1024)
        response = await upload(client, big + b"\n%%EOF\n")
        assert response.status_code == 413
        assert "limit of 64 KB" in (field_error(response.text, "file") or "")
        huge = await upload(client, b"%PDF-1.4\n" + b"0" * (1200 * 1024))  # beyond what is even read
        assert huge.status_code == 413 and "64 KB" in huge.text
    await app.state.engine.dispose()


async def test_viewing_and_downloading_are_logged_and_records_staff_see_the_log(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    content = make_pdf("naplózott")
    doc = await register(maker, content)
    await signed_in(client, "agent")
    viewed = await client.get(f"/documents/{doc.id}/content")
    assert viewed.content == content and viewed.headers["content-type"].startswith("application/pdf")
    assert viewed.headers["content-disposition"].startswith("inline")
    downloaded = await client.get(f"/documents/{doc.id}/content?download=true")
    assert downloaded.headers["content-disposition"].startswith("attachment")
    agent_page = await client.get(f"/documents/{doc.id}")
    assert "Access log" not in agent_page.text
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("bo_csrf") or ""})
    await signed_in(client, "records")
    records_page = await client.get(f"/documents/{doc.id}")
    assert "Access log" in records_page.text
    assert records_page.text.count("<td>agent</td>") == 2
    assert ">view<" in records_page.text and ">download<" in records_page.text


async def test_a_tiff_scan_is_shown_as_png_pages(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    doc = await register(maker, make_image("TIFF", frames=2))
    await signed_in(client, "agent")
    page = await client.get(f"/documents/{doc.id}")
    assert f"/documents/{doc.id}/preview?page_number=2" in page.text
    preview = await client.get(f"/documents/{doc.id}/preview?page_number=2")
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")


async def test_only_records_staff_and_supervisors_void_and_a_reason_is_required(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    doc = await register(maker)
    await signed_in(client, "agent")
    refused = await post_form(client, f"/documents/{doc.id}/void", {"reason": "téves", "version": doc.version})
    assert refused.status_code == 403
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("bo_csrf") or ""})
    await signed_in(client, "records")
    no_reason = await post_form(client, f"/documents/{doc.id}/void", {"reason": "", "version": doc.version})
    assert no_reason.status_code == 422 and field_error(no_reason.text, "reason")
    done = await post_form(client, f"/documents/{doc.id}/void", {"reason": "Téves iktatás", "version": doc.version})
    assert done.status_code == 303
    page = await client.get(f"/documents/{doc.id}")
    assert "Téves iktatás" in page.text and doc.registry_number in page.text


async def test_the_intake_queue_links_a_document_to_a_customer(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    party = await add_party(maker)
    doc = await register(maker)
    await signed_in(client, "records")
    queue = await client.get("/documents/intake")
    assert doc.registry_number in queue.text
    wrong = await post_form(client, f"/documents/{doc.id}/customer",
                            {"customer_number": "000000000", "version": doc.version, "from": "intake"})
    assert wrong.status_code == 422 and "no customer" in wrong.text
    assert 'value="000000000"' in wrong.text
    linked = await post_form(client, f"/documents/{doc.id}/customer",
                             {"customer_number": party.customer_number, "version": doc.version, "from": "intake"})
    assert linked.status_code == 303 and linked.headers["location"] == "/documents/intake"
    assert doc.registry_number not in (await client.get("/documents/intake")).text
    assert doc.registry_number in (await client.get(f"/customers/{party.id}/documents")).text


async def test_the_universal_search_finds_a_registry_number(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    doc = await register(maker)
    await signed_in(client, "agent")
    for query in (doc.registry_number, f"{YEAR}/1-1", f"{YEAR}/000001"):
        results = await client.get("/search", params={"q": query}, headers={"hx-request": "true"})
        assert f"/documents/{doc.id}" in results.text, query


async def test_documents_are_searched_by_type_direction_date_and_customer(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    party = await add_party(maker)
    letter = await register(maker, customer_number=party.customer_number)
    contract = await register(maker, document_type="subscriber_contract", direction="internal", channel="in_person")
    await signed_in(client, "agent")
    today = clock.today().isoformat()

    async def found(**params: str) -> set[str]:
        page = await client.get("/documents", params=params)
        assert page.status_code == 200
        return {n for n in (letter.registry_number, contract.registry_number) if n in page.text}

    assert await found(document_type="subscriber_contract") == {contract.registry_number}
    assert await found(direction="incoming") == {letter.registry_number}
    assert await found(party=str(party.id)) == {letter.registry_number}
    assert await found(date_from=today, date_to=today) == {letter.registry_number, contract.registry_number}
    assert await found(date_from="2001-01-01", date_to="2001-12-31") == set()
    bad = await client.get("/documents", params={"date_from": "tegnap", "registry_number": "<x>"})
    assert bad.status_code == 200 and field_error(bad.text, "date_from") and field_error(bad.text, "registry_number")


async def test_the_case_page_lists_its_documents(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    first = await register(maker)
    second = await register(maker, case_number=(YEAR, 1), direction="outgoing", channel="post")
    await signed_in(client, "agent")
    page = await client.get(f"/documents/cases/{first.case_id}")
    assert first.registry_number in page.text and second.registry_number in page.text


async def test_the_customer_page_loads_its_documents_section(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    party = await add_party(maker)
    await signed_in(client, "agent")
    page = await client.get(f"/customers/{party.id}")
    assert f'hx-get="/customers/{party.id}/documents"' in page.text
    assert f'href="/documents?party={party.id}"' in page.text  # and without JavaScript, a link


async def test_unknown_documents_and_cases_answer_404(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    await signed_in(client, "agent")
    for path in ("/documents/999", "/documents/999/content", "/documents/cases/999",
                 "/documents/99999999999999999999999", "/customers/999/documents"):
        assert (await client.get(path)).status_code == 404, path


async def test_records_staff_print_the_years_register_as_a_pdf(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    import io

    from pypdf import PdfReader

    party = await add_party(maker)
    first = await register(maker, customer_number=party.customer_number, subject="Kőműves Ödön panasza")
    second = await register(maker)
    async with maker() as s, s.begin():
        from backoffice.documents import services

        await services.void(s, None, second.id, "Téves iktatás", None)
    await signed_in(client, "agent")
    assert (await client.get(f"/documents/register/{YEAR}")).status_code == 403
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("bo_csrf") or ""})
    await signed_in(client, "records")
    response = await client.get(f"/documents/register/{YEAR}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    for expected in (first.registry_number, second.registry_number, "Kőműves Ödön panasza",
                     party.customer_number, "Téves iktatás", "VOIDED"):
        assert expected in text, expected
    assert (await client.get(f"/documents/register/{YEAR + 1}")).status_code == 404
