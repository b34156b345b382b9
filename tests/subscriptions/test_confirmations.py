"""The confirmation letter of every subscription action (PRODUCT.md, "Subscriptions and services":
"a PDF confirmation (reportlab) registered as an outgoing document"): filed for the subscriber,
linked from the service's history, and carrying the contract and customer numbers, the
effective date and the fees in Hungarian notation."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from backoffice.customers.models import Contact
from backoffice.documents import services as documents
from backoffice.documents import storage
from backoffice.documents.models import Document
from backoffice.documents.schemas import RegistrationInput
from backoffice.subscriptions import contracts, lifecycle
from backoffice.subscriptions.models import Contract, ServiceEvent
from backoffice.subscriptions.schemas import PayerChangeInput, TransferInput
from tests.customers.helpers import add_account, add_party, load_party
from tests.documents.helpers import make_pdf
from tests.subscriptions.helpers import (
    AGENT,
    AGENT_HU,
    SUPERVISOR,
    Maker,
    act,
    load,
    new_contract,
    new_iccid,
    new_imsi,
    order,
    seed_catalogue,
    today_is,
)

D = dt.date
TODAY = D(2025, 3, 10)


async def letter_text(maker: Maker, document_id: int) -> tuple[Document, str]:
    """The registered document and its PDF's text (no-break spaces read as spaces)."""
    async with maker() as s:
        doc = await documents.get_document(s, document_id)
    data = storage.current().path(doc.content.digest).read_bytes()
    assert data.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return doc, " ".join(text.replace("\u00a0", " ").split())


# action, who, its fields, the state it starts from, the commitment, what the letter must say
CASES: list[tuple[str, Any, dict[str, Any], str, int, list[str]]] = [
    ("activate", AGENT, {}, "ordered", 0,
     ["Belépési díj", "3 149,61 Ft", "27 %", "4 000 Ft", TODAY.isoformat()]),
    ("suspend", AGENT, {"reason": "lost_or_stolen", "imei": "490154203237518"}, "active", 0,
     ["Elveszett vagy ellopott SIM", "490154203237518", TODAY.isoformat()]),
    ("resume", SUPERVISOR, {"reason": "non_payment"}, "unpaid", 0,
     ["Díjtartozás miatt", "Visszakapcsolási díj", "3 937,01 Ft", "5 000 Ft", TODAY.isoformat()]),
    ("terminate", AGENT, {"reason": "customer_request"}, "active", 24,
     ["Ügyfél kérésére", "Kötbér", "15 748,00 Ft", "20 000 Ft", "2025-03-18"]),  # 8 days' notice
    ("cancel", AGENT, {}, "ordered", 0, [TODAY.isoformat()]),
    ("swap_sim", AGENT, {"iccid": "8936309999999999990", "imsi": "216300000000999", "puk": "87654321"}, "active", 0,
     ["SIM-csere díja", "1 574,80 Ft", "2 000 Ft", "8936309999999999990", TODAY.isoformat()]),
    ("change_plan", AGENT, {"plan_code": "sim_plusz"}, "active", 0, ["Mobil Start", "Mobil Plusz", TODAY.isoformat()]),
    ("add_addon", AGENT, {"addon_code": "eu_roaming"}, "active", 0, ["EU roaming csomag", TODAY.isoformat()]),
    ("remove_addon", AGENT, {"addon_code": "voicemail"}, "active", 0, ["Hangposta", TODAY.isoformat()]),
]


async def sim_in(maker: Maker, monkeypatch: pytest.MonkeyPatch, start: str, commitment: int) -> Any:
    with today_is(monkeypatch, D(2025, 3, 1)):
        contract = await new_contract(maker, commitment)
        service = await order(maker, contract)
        if start != "ordered":
            await act(maker, service, "activate")
            await act(maker, service, "add_addon", addon_code="voicemail")
        if start == "unpaid":
            await act(maker, service, "suspend", SUPERVISOR, reason="non_payment")
    return contract, await load(maker, service.id)


@pytest.mark.parametrize(("action", "actor", "fields", "start", "commitment", "says"), CASES,
                         ids=[c[0] for c in CASES])
async def test_every_action_sends_the_subscriber_a_confirmation_registered_in_their_documents(
    maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch, action: str, actor: Any,
    fields: dict[str, Any], start: str, commitment: int, says: list[str]
) -> None:
    await seed_catalogue(maker)
    contract, service = await sim_in(maker, monkeypatch, start, commitment)
    party = await load_party(maker, contract.subscriber_id)
    async with maker() as s:
        contacts_before = len(list(await s.scalars(select(Contact.id).where(Contact.party_id == party.id))))
    with today_is(monkeypatch, TODAY):
        outcome = await act(maker, service, action, actor, confirm=True, **fields)
    assert outcome.document is not None and outcome.event is not None
    doc, text = await letter_text(maker, outcome.document.id)
    assert (doc.document_type.code, doc.direction, doc.channel) == ("confirmation", "outgoing", "generated")
    assert (doc.party_id, doc.correspondent) == (party.id, party.display_name)
    for expected in [contract.number, party.customer_number, party.display_name, "Ügyfélszám", "+36 30 999 0000",
                     *says]:
        assert expected in text, (expected, text)
    async with maker() as s:
        event = await s.get(ServiceEvent, outcome.event.id)
        assert event is not None and event.document_id == doc.id  # the history links the letter
        assert doc.id in [d.id for d in await documents.documents_of_party(s, party.id)]
        contacts_after = len(list(await s.scalars(select(Contact.id).where(Contact.party_id == party.id))))
    assert contacts_after == contacts_before + 1  # the action's own entry: the letter adds none


async def test_the_letter_is_in_hungarian_whatever_language_the_agent_reads(
    maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    _, english_agents = await sim_in(maker, monkeypatch, "active", 0)
    _, hungarian_agents = await sim_in(maker, monkeypatch, "active", 0)
    texts = []
    for service, agent in ((english_agents, AGENT), (hungarian_agents, AGENT_HU)):
        with today_is(monkeypatch, TODAY):
            outcome = await act(maker, service, "suspend", agent, confirm=True, reason="customer_request",
                                end_date=D(2025, 4, 10))
        texts.append((await letter_text(maker, outcome.document.id))[1])
    for text in texts:
        assert "Ügyfél kérésére (szüneteltetés)" in text and "2025-04-10" in text
        assert "At the customer's request" not in text


async def test_a_scheduled_change_and_its_withdrawal_are_both_confirmed(
    maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    contract, service = await sim_in(maker, monkeypatch, "active", 0)
    with today_is(monkeypatch, TODAY):
        scheduled = await act(maker, service, "terminate", confirm=True, reason="customer_request",
                              when="month_end")
        assert scheduled.pending is not None
        async with maker() as s, s.begin():
            withdrawn = await lifecycle.withdraw(s, AGENT, scheduled.pending.id, None, seller_name="Demo Telekom Zrt.")
    _, first = await letter_text(maker, scheduled.document.id)
    doc, second = await letter_text(maker, withdrawn.document.id)
    assert "2025-04-01" in first and contract.number in first
    assert "2025-04-01" in second and contract.number in second and doc.party_id == contract.subscriber_id
    assert "Demo Telekom Zrt." in second


async def test_an_order_is_confirmed_too(maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed_catalogue(maker)
    with today_is(monkeypatch, TODAY):
        contract = await new_contract(maker)
        service = await order(maker, contract, confirm=True)
    party = await load_party(maker, contract.subscriber_id)
    async with maker() as s:
        [event] = await s.scalars(select(ServiceEvent).where(ServiceEvent.service_id == service.id))
    assert event.action == "order" and event.document_id is not None
    _, text = await letter_text(maker, event.document_id)
    assert contract.number in text and party.customer_number in text and TODAY.isoformat() in text
    assert "Mobil Start" in text


async def test_the_daily_job_sends_no_letter_of_its_own(
    maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    _, service = await sim_in(maker, monkeypatch, "active", 0)
    with today_is(monkeypatch, TODAY):
        outcome = await act(maker, service, "terminate", confirm=True, reason="customer_request")
    async with maker() as s:
        before = len(list(await s.scalars(select(Document.id))))
    with today_is(monkeypatch, D(2025, 3, 18)):
        async with maker() as s, s.begin():
            assert outcome.pending is not None
            await lifecycle.apply_pending(s, outcome.pending.id, today=D(2025, 3, 18))
    async with maker() as s:
        assert len(list(await s.scalars(select(Document.id)))) == before


# ---------------------------------------------------------------- contract-level changes


async def signed(maker: Maker, party: Any, document_type: str) -> str:
    async with maker() as s, s.begin():
        doc = await documents.register(s, AGENT, RegistrationInput(
            document_type=document_type, direction="incoming", channel="post", correspondent=party.display_name,
            subject="Aláírt nyilatkozat", customer_number=party.customer_number),
            make_pdf(f"{document_type} {party.customer_number}"), filename="nyilatkozat.pdf")
    return doc.registry_number


async def confirmations_of(maker: Maker, party_id: int) -> list[Document]:
    async with maker() as s:
        return [d for d in await documents.documents_of_party(s, party_id, limit=50)
                if d.document_type.code == "confirmation"]


async def test_a_change_of_payer_is_confirmed_to_the_subscriber_naming_the_new_payer(
    maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    contract, _ = await sim_in(maker, monkeypatch, "active", 0)
    company = await add_party(maker, family_name="Varga", given_name="Péter")
    account = await add_account(maker, company.id, name="Varga Péter számlája")
    consent = await signed(maker, company, "payer_consent")
    with today_is(monkeypatch, TODAY):
        async with maker() as s, s.begin():
            await contracts.change_payer(s, AGENT, contract.id, PayerChangeInput(account.id, D(2025, 4, 1), consent),
                                         None, seller_name="Demo Telekom Zrt.")
    [letter] = await confirmations_of(maker, contract.subscriber_id)
    _, text = await letter_text(maker, letter.id)
    party = await load_party(maker, contract.subscriber_id)
    assert contract.number in text and party.customer_number in text and "2025-04-01" in text
    assert account.account_number in text


async def test_a_transfer_of_ownership_is_confirmed_to_both_subscribers_with_the_new_contract_number(
    maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    contract, _ = await sim_in(maker, monkeypatch, "active", 0)
    old = await load_party(maker, contract.subscriber_id)
    new = await add_party(maker, family_name="Tóth", given_name="Gergely")
    account = await add_account(maker, new.id)
    papers = (await signed(maker, old, "ownership_transfer"), await signed(maker, new, "ownership_transfer"))
    with today_is(monkeypatch, TODAY):
        async with maker() as s, s.begin():
            transfer = await contracts.request_transfer(s, AGENT, contract.id, TransferInput(
                new.customer_number, account.id, TODAY, *papers), None)
        async with maker() as s, s.begin():
            done = await contracts.decide_transfer(s, SUPERVISOR, transfer.id, True, "", None)
    async with maker() as s:
        successor = await s.get(Contract, done.new_contract_id)
    assert successor is not None
    for party in (old, new):
        [letter] = await confirmations_of(maker, party.id)
        _, text = await letter_text(maker, letter.id)
        assert contract.number in text and successor.number in text and party.customer_number in text
        assert "Tóth Gergely" in text and TODAY.isoformat() in text


async def test_a_swap_to_a_generated_iccid_names_it_in_the_letter(
    maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalogue(maker)
    _, service = await sim_in(maker, monkeypatch, "active", 0)
    iccid = new_iccid()
    with today_is(monkeypatch, TODAY):
        outcome = await act(maker, service, "swap_sim", confirm=True, iccid=iccid, imsi=new_imsi(), puk="11223344")
    assert iccid in (await letter_text(maker, outcome.document.id))[1]


async def test_authorising_a_representative_and_ending_it_are_both_confirmed_to_the_subscriber(
    maker: Maker, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backoffice.subscriptions.schemas import RepresentativeInput

    await seed_catalogue(maker)
    contract, _ = await sim_in(maker, monkeypatch, "active", 0)
    helper = await add_party(maker, family_name="Szabó", given_name="Zsófia")
    with today_is(monkeypatch, TODAY):
        async with maker() as s, s.begin():
            rep = await contracts.add_representative(
                s, AGENT, contract.id, RepresentativeInput(helper.customer_number, "SIM ügyintézés", None, None),
                seller_name="Demo Telekom Zrt.")
        async with maker() as s, s.begin():
            await contracts.end_representative(s, AGENT, rep.id, seller_name="Demo Telekom Zrt.")
    letters = await confirmations_of(maker, contract.subscriber_id)
    assert len(letters) == 2
    for letter in letters:
        _, text = await letter_text(maker, letter.id)
        assert "Szabó Zsófia" in text and helper.customer_number in text and contract.number in text
