"""/api/v1/documents: register (multipart), read, search, download (logged), void, link; bad
input answers RFC 9457 problems and changes nothing."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backoffice import clock
from backoffice.documents.models import DocumentAccess
from tests.customers.helpers import add_party, api_token
from tests.documents.helpers import Maker, make_image, make_pdf, registry_state

YEAR = clock.today().year
FIELDS = {"document_type": "payer_consent", "direction": "incoming", "channel": "email",
          "correspondent": "Szabó Győző", "subject": "Hozzájáruló nyilatkozat"}


async def post_document(client: AsyncTestClient[Litestar], headers: dict[str, str], content: bytes,
                        **fields: Any) -> Any:
    return await client.post("/api/v1/documents", data={**FIELDS, **fields},
                             files={"file": ("nyilatkozat.pdf", content, "application/pdf")}, headers=headers)


async def test_register_read_download_and_void_through_the_api(
    client: AsyncTestClient[Litestar], maker: Maker, store_root: Path
) -> None:
    party = await add_party(maker)
    agent = await api_token(maker, "agent")
    content = make_pdf("API-n érkezett", pages=2)
    created = await post_document(client, agent, content, customer_number=party.customer_number)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["registry_number"] == f"{YEAR}/000001-1" and body["party_id"] == party.id
    assert body["hash"] == hashlib.sha256(content).hexdigest() and body["hash_algorithm"] == "sha256"
    assert body["page_count"] == 2 and body["media_type"] == "application/pdf"

    read = await client.get(f"/api/v1/documents/{body['id']}", headers=agent)
    assert read.json()["subject"] == "Hozzájáruló nyilatkozat"
    listed = await client.get("/api/v1/documents", params={"customer_number": party.customer_number},
                              headers=agent)
    assert [d["id"] for d in listed.json()["items"]] == [body["id"]]
    nobody = await client.get("/api/v1/documents", params={"customer_number": "000000001"}, headers=agent)
    assert nobody.json()["items"] == []

    downloaded = await client.get(f"/api/v1/documents/{body['id']}/content", headers=agent)
    assert downloaded.content == content
    assert downloaded.headers["repr-digest"] == \
        f"sha-256=:{base64.b64encode(hashlib.sha256(content).digest()).decode()}:"
    async with maker() as s:
        logged = (await s.scalars(select(DocumentAccess))).one()
    assert (logged.action, logged.via, logged.actor_name) == ("download", "api", "agent")

    refused = await client.post(f"/api/v1/documents/{body['id']}/void", json={"reason": "téves"}, headers=agent)
    assert refused.status_code == 403
    records = await api_token(maker, "records")
    voided = await client.post(f"/api/v1/documents/{body['id']}/void",
                               json={"reason": "Téves iktatás", "version": body["version"]}, headers=records)
    assert voided.status_code == 200 and voided.json()["void_reason"] == "Téves iktatás"
    stale = await client.post(f"/api/v1/documents/{body['id']}/void",
                              json={"reason": "még egyszer", "version": body["version"]}, headers=records)
    assert stale.status_code == 409 and stale.headers["content-type"] == "application/problem+json"


async def test_bad_uploads_answer_problems_and_change_nothing(
    client: AsyncTestClient[Litestar], maker: Maker, store_root: Path
) -> None:
    agent = await api_token(maker, "agent")
    before = await registry_state(maker, store_root)
    for content, code in ((b"MZ" + b"\x00" * 100, "unsupported_type"), (b"", "empty_file"),
                          (make_pdf("x")[:-200], "truncated_pdf"), (make_image("JPEG")[:150], "damaged_image")):
        response = await post_document(client, agent, content)
        assert response.status_code == 422, (code, response.text)
        problem = response.json()
        assert problem["code"] == code and problem["errors"][0]["field"] == "file"
    missing = await post_document(client, agent, make_pdf("ok"), subject="", direction="sideways")
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"subject", "direction"}
    no_file = await client.post("/api/v1/documents", data=FIELDS, files={}, headers=agent)
    assert no_file.status_code in (400, 422)
    assert await registry_state(maker, store_root) == before


async def test_a_duplicate_is_a_409_naming_the_existing_entry(
    client: AsyncTestClient[Litestar], maker: Maker, store_root: Path
) -> None:
    agent = await api_token(maker, "agent")
    content = make_pdf("ugyanaz")
    first = (await post_document(client, agent, content)).json()
    duplicate = await post_document(client, agent, content)
    assert duplicate.status_code == 409 and first["registry_number"] in duplicate.json()["detail"]
    again = await post_document(client, agent, content, allow_duplicate="true")
    assert again.status_code == 201 and again.json()["hash"] == first["hash"]


async def test_the_api_needs_a_token_and_an_admin_has_no_documents(
    client: AsyncTestClient[Litestar], maker: Maker, store_root: Path
) -> None:
    assert (await client.get("/api/v1/documents")).status_code == 401
    admin = await api_token(maker, "admin")
    assert (await client.get("/api/v1/documents", headers=admin)).status_code == 403
