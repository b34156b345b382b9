"""The customer data sheet: another domain's generated PDF registered through register_outgoing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from pypdf import PdfReader
from sqlalchemy import select

from backoffice.customers import services
from backoffice.documents import services as documents
from backoffice.documents.models import Document
from tests.conftest import post_form
from tests.customers.helpers import add_account, add_party
from tests.documents.helpers import Maker


async def test_the_data_sheet_is_registered_as_an_outgoing_confirmation_of_the_customer(
    maker: Maker, store_root: Path
) -> None:
    party = await add_party(maker, family_name="Kőműves", given_name="Ödön")
    await add_account(maker, party.id)
    async with maker() as s, s.begin():
        doc = await services.issue_data_sheet(s, None, party.id, "Demo Telekom Zrt.")
    assert (doc.direction, doc.channel, doc.document_type.code) == ("outgoing", "generated", "confirmation")
    assert doc.party_id == party.id and doc.correspondent == party.display_name
    stored = documents.storage.current().path(doc.content.digest).read_bytes()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(stored)).pages)
    assert "Kőműves Ödön" in text and party.customer_number in text and "Ügyféladatlap" in text
    async with maker() as s:
        assert [d.id for d in await documents.documents_of_party(s, party.id)] == [doc.id]


async def test_an_agent_prints_the_data_sheet_from_the_customer_page(
    client: AsyncTestClient[Litestar], signed_in: Any, maker: Maker, store_root: Path
) -> None:
    party = await add_party(maker)
    await signed_in(client, "agent")
    page = await client.get(f"/customers/{party.id}")
    assert f'action="/customers/{party.id}/data-sheet"' in page.text
    response = await post_form(client, f"/customers/{party.id}/data-sheet", {})
    assert response.status_code == 303
    async with maker() as s:
        doc = (await s.scalars(select(Document))).one()
    assert response.headers["location"] == f"/documents/{doc.id}"
    content = await client.get(f"/documents/{doc.id}/content")
    assert content.content.startswith(b"%PDF-")
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("bo_csrf") or ""})
    await signed_in(client, "records")
    assert (await post_form(client, f"/customers/{party.id}/data-sheet", {})).status_code == 403
