"""Relations around a contract (PRODUCT.md, "Subscriptions and services"): change of payer now or
from a date (with the new payer's signed consent), transfer of ownership (both parties' signed
declarations, a supervisor's approval, a new linked contract with the same services), authorised
representatives, all effective-dated: "who was subscriber / payer on day D" is one call. Also the
universal search keys of this domain: contract number, service number and ICCID."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backoffice import search as universal
from backoffice.customers.models import BillingAccount, Party
from backoffice.documents import services as documents
from backoffice.documents.models import Document
from backoffice.documents.schemas import RegistrationInput
from backoffice.errors import ConflictError, ForbiddenError, ValidationFailedError
from backoffice.subscriptions import contracts
from backoffice.subscriptions.models import (
    Contract,
    ContractPayerInterval,
    OwnershipTransfer,
    PendingAction,
    Service,
    SimCard,
)
from backoffice.subscriptions.schemas import PayerChangeInput, RepresentativeInput, TransferInput
from tests.customers.helpers import add_account, add_party, load_party
from tests.documents.helpers import make_pdf
from tests.subscriptions.helpers import (
    AGENT,
    SUPERVISOR,
    Maker,
    act,
    english,
    load,
    new_contract,
    order,
    seed_catalogue,
    today_is,
)

D = dt.date


async def signed(maker: Maker, party: Party, document_type: str) -> str:
    """A signed paper the customer brought in, registered and filed for them: its registry number."""
    async with maker() as s, s.begin():
        doc = await documents.register(s, AGENT, RegistrationInput(
            document_type=document_type, direction="incoming", channel="in_person", correspondent=party.display_name,
            subject=f"Aláírt nyilatkozat ({document_type})", customer_number=party.customer_number),
            make_pdf(f"{document_type} {party.customer_number}"), filename="nyilatkozat.pdf")
    return doc.registry_number


async def relations(maker: Maker, service: Service, day: dt.date) -> contracts.Relations | None:
    async with maker() as s:
        return await contracts.relations_on(s, service.id, day)


async def payer_on(maker: Maker, service: Service, day: dt.date) -> int:
    on = await relations(maker, service, day)
    assert on is not None
    return on.billing_account_id


async def subscriber_on(maker: Maker, service: Service, day: dt.date) -> int:
    on = await relations(maker, service, day)
    assert on is not None
    return on.subscriber_id


async def change_payer(maker: Maker, contract: Contract, account: BillingAccount, day: dt.date,
                       consent: str | None = None) -> Contract:
    async with maker() as s, s.begin():
        return await contracts.change_payer(s, AGENT, contract.id, PayerChangeInput(account.id, day, consent), None,
                                            confirm=False)


async def contract_row(maker: Maker, contract_id: int) -> Contract:
    async with maker() as s:
        row = await s.get(Contract, contract_id)
    assert row is not None
    return row


async def apply_contract_changes(maker: Maker, monkeypatch: pytest.MonkeyPatch, day: dt.date) -> list[PendingAction]:
    with today_is(monkeypatch, day):
        async with maker() as s:
            due = await contracts.due_contract_changes(s, day)
        applied = []
        for pending_id in due:
            async with maker() as s, s.begin():
                applied.append(await contracts.apply_contract_change(s, pending_id))
    return applied


async def customer_with_sim(maker: Maker, monkeypatch: pytest.MonkeyPatch, day: dt.date,
                            commitment_months: int = 0) -> tuple[Contract, Service]:
    await seed_catalogue(maker)
    with today_is(monkeypatch, day):
        contract = await new_contract(maker, commitment_months)
        service = await order(maker, contract)
        await act(maker, service, "activate")
    return contract, await load(maker, service.id)


# ---------------------------------------------------------------- change of payer


async def test_a_change_of_payer_today_moves_the_charges_and_relations_on_a_date_follow_it(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    second = await add_account(maker, contract.subscriber_id)  # the subscriber's own: no consent needed
    with today_is(monkeypatch, D(2025, 3, 16)):
        await change_payer(maker, contract, second, D(2025, 3, 16))
    before, after = await relations(maker, service, D(2025, 3, 15)), await relations(maker, service, D(2025, 3, 16))
    assert before is not None and after is not None
    assert (before.billing_account_id, after.billing_account_id) == (contract.billing_account_id, second.id)
    assert before.subscriber_id == after.subscriber_id == contract.subscriber_id
    assert await relations(maker, service, D(2025, 2, 19)) is None  # before the service was ordered
    assert (await contract_row(maker, contract.id)).billing_account_id == second.id


async def test_payer_intervals_split_the_month_of_a_change_of_payer(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    second = await add_account(maker, contract.subscriber_id)
    with today_is(monkeypatch, D(2025, 3, 16)):
        await change_payer(maker, contract, second, D(2025, 3, 16))
    async with maker() as s:
        march = await contracts.payer_intervals(s, service.id, D(2025, 3, 1), D(2025, 4, 1))
        february = await contracts.payer_intervals(s, service.id, D(2025, 2, 1), D(2025, 3, 1))
    assert march == [(D(2025, 3, 1), D(2025, 3, 16), contract.billing_account_id),
                     (D(2025, 3, 16), D(2025, 4, 1), second.id)]
    assert february == [(D(2025, 2, 20), D(2025, 3, 1), contract.billing_account_id)]


async def test_another_customer_paying_needs_their_signed_payer_consent(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, store_root: Path
) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    subscriber = await load_party(maker, contract.subscriber_id)
    mother = await add_party(maker, family_name="Szabó", given_name="Mária")
    her_account = await add_account(maker, mother.id)
    wrong_type = await signed(maker, mother, "complaint_letter")
    subscribers_paper = await signed(maker, subscriber, "payer_consent")
    consent = await signed(maker, mother, "payer_consent")
    with today_is(monkeypatch, D(2025, 3, 16)):
        for given, code in [(None, "document_required"), ("2025/999999-1", "document_not_found"),
                            (wrong_type, "document_wrong_type"), (subscribers_paper, "document_other_customer")]:
            with pytest.raises(ValidationFailedError) as refused:
                await change_payer(maker, contract, her_account, D(2025, 3, 16), given)
            assert (refused.value.code, refused.value.field) == (code, "consent")
        assert await payer_on(maker, service, D(2025, 3, 16)) == contract.billing_account_id
        await change_payer(maker, contract, her_account, D(2025, 3, 16), consent)
    now = await relations(maker, service, D(2025, 3, 16))
    assert now is not None and (now.billing_account_id, now.subscriber_id) == (her_account.id, contract.subscriber_id)
    async with maker() as s:
        interval = (await s.execute(select(ContractPayerInterval).where(
            ContractPayerInterval.billing_account_id == her_account.id))).scalar_one()
        doc = await s.get(Document, interval.consent_document_id)
    assert doc is not None and doc.registry_number == consent


async def test_a_change_of_payer_from_a_later_date_is_pending_until_the_daily_job_applies_it(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    second = await add_account(maker, contract.subscriber_id)
    with today_is(monkeypatch, D(2025, 3, 16)):
        await change_payer(maker, contract, second, D(2025, 4, 1))
        with pytest.raises(ConflictError) as twice:
            await change_payer(maker, contract, second, D(2025, 5, 1))
        assert twice.value.code == "already_scheduled"
        async with maker() as s:
            view = await contracts.contract_view(s, contract.id, "en")
    assert [(p.action, p.effective_date) for p in view.pending] == [("change_payer", D(2025, 4, 1))]
    assert await payer_on(maker, service, D(2025, 4, 1)) == contract.billing_account_id
    assert await apply_contract_changes(maker, monkeypatch, D(2025, 3, 31)) == []
    [applied] = await apply_contract_changes(maker, monkeypatch, D(2025, 4, 1))
    assert applied.status == "applied"
    assert await payer_on(maker, service, D(2025, 3, 31)) == contract.billing_account_id
    assert await payer_on(maker, service, D(2025, 4, 1)) == second.id


async def test_a_scheduled_change_of_payer_can_be_withdrawn(maker: Maker, monkeypatch: pytest.MonkeyPatch) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    second = await add_account(maker, contract.subscriber_id)
    with today_is(monkeypatch, D(2025, 3, 16)):
        await change_payer(maker, contract, second, D(2025, 4, 1))
        async with maker() as s:
            [pending_id] = await s.scalars(select(PendingAction.id).where(PendingAction.contract_id == contract.id))
        async with maker() as s, s.begin():
            await contracts.withdraw_contract_change(s, AGENT, pending_id)
    assert await apply_contract_changes(maker, monkeypatch, D(2025, 4, 1)) == []
    assert await payer_on(maker, service, D(2025, 4, 2)) == contract.billing_account_id


async def test_a_change_of_payer_to_the_current_payer_or_into_the_past_is_refused(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract, _ = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    second = await add_account(maker, contract.subscriber_id)
    async with maker() as s:
        current = await s.get(BillingAccount, contract.billing_account_id)
    assert current is not None
    with today_is(monkeypatch, D(2025, 3, 16)):
        with pytest.raises(ConflictError) as same:
            await change_payer(maker, contract, current, D(2025, 3, 20))
        with pytest.raises(ValidationFailedError) as past:
            await change_payer(maker, contract, second, D(2025, 3, 15))
    assert (same.value.code, past.value.field) == ("same_payer", "effective_date")


# ---------------------------------------------------------------- transfer of ownership


async def transfer_papers(maker: Maker, contract: Contract) -> tuple[Party, BillingAccount, str, str]:
    """The new subscriber, their billing account and both parties' signed declarations."""
    old = await load_party(maker, contract.subscriber_id)
    new = await add_party(maker, family_name="Tóth", given_name="Gergely")
    account = await add_account(maker, new.id)
    return new, account, await signed(maker, old, "ownership_transfer"), await signed(maker, new, "ownership_transfer")


async def request(maker: Maker, contract: Contract, new: Party, account: BillingAccount, day: dt.date, old_doc: str,
                  new_doc: str) -> OwnershipTransfer:
    async with maker() as s, s.begin():
        return await contracts.request_transfer(s, AGENT, contract.id, TransferInput(
            new.customer_number, account.id, day, old_doc, new_doc), None)


async def decide(maker: Maker, transfer: OwnershipTransfer, approve: bool = True, actor: Any = SUPERVISOR) -> Any:
    async with maker() as s, s.begin():
        return await contracts.decide_transfer(s, actor, transfer.id, approve, "Papírok rendben.", None,
                                               confirm=False)


async def test_a_transfer_needs_both_parties_signed_declarations_filed_for_each_of_them(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, store_root: Path
) -> None:
    contract, _ = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    new, account, old_doc, new_doc = await transfer_papers(maker, contract)
    consent = await signed(maker, new, "payer_consent")
    with today_is(monkeypatch, D(2025, 3, 16)):
        for old_given, new_given, code, field in [
            (new_doc, new_doc, "document_other_customer", "old_party_document"),
            (old_doc, old_doc, "document_other_customer", "new_party_document"),
            (old_doc, consent, "document_wrong_type", "new_party_document"),
        ]:
            with pytest.raises(ValidationFailedError) as refused:
                await request(maker, contract, new, account, D(2025, 3, 16), old_given, new_given)
            assert (refused.value.code, refused.value.field) == (code, field)
    async with maker() as s:
        assert list(await s.scalars(select(OwnershipTransfer))) == []


async def test_an_agent_cannot_approve_a_transfer(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, store_root: Path
) -> None:
    contract, _ = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    new, account, old_doc, new_doc = await transfer_papers(maker, contract)
    with today_is(monkeypatch, D(2025, 3, 16)):
        transfer = await request(maker, contract, new, account, D(2025, 3, 16), old_doc, new_doc)
        with pytest.raises(ForbiddenError) as refused:
            await decide(maker, transfer, actor=AGENT)
    assert "Only a supervisor" in english(refused.value.message)
    async with maker() as s:
        row = await s.get(OwnershipTransfer, transfer.id)
    assert row is not None and row.status == "awaiting_approval"
    assert (await contract_row(maker, contract.id)).status == "active"


async def test_an_approved_transfer_ends_the_contract_and_a_linked_one_takes_the_same_services_and_commitment(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, store_root: Path
) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20), commitment_months=24)
    new, account, old_doc, new_doc = await transfer_papers(maker, contract)
    with today_is(monkeypatch, D(2025, 3, 16)):
        transfer = await request(maker, contract, new, account, D(2025, 3, 16), old_doc, new_doc)
        decided = await decide(maker, transfer)
    assert decided.status == "completed" and decided.new_contract_id is not None
    old, successor = await contract_row(maker, contract.id), await contract_row(maker, decided.new_contract_id)
    assert (old.status, old.end_date) == ("ended", D(2025, 3, 16))
    assert (successor.predecessor_id, successor.subscriber_id, successor.billing_account_id) == (
        contract.id, new.id, account.id)
    assert (successor.start_date, successor.commitment_months, successor.commitment_end) == (
        D(2025, 3, 16), 24, D(2027, 2, 20))
    moved = await load(maker, service.id)
    assert (moved.contract_id, moved.number, moved.state) == (successor.id, service.number, "active")
    async with maker() as s:
        [card] = await s.scalars(select(SimCard).where(SimCard.service_id == service.id))
    assert card.blocked_on is None  # the same SIM keeps working
    before, after = await relations(maker, service, D(2025, 3, 15)), await relations(maker, service, D(2025, 3, 16))
    assert before is not None and after is not None
    assert (before.contract_id, before.subscriber_id, before.billing_account_id) == (
        contract.id, contract.subscriber_id, contract.billing_account_id)
    assert (after.contract_id, after.subscriber_id, after.billing_account_id) == (successor.id, new.id, account.id)
    async with maker() as s:
        view = await contracts.contract_view(s, contract.id, "en")
        march = await contracts.payer_intervals(s, service.id, D(2025, 3, 1), D(2025, 4, 1))
    assert march == [(D(2025, 3, 1), D(2025, 3, 16), contract.billing_account_id),
                     (D(2025, 3, 16), D(2025, 4, 1), account.id)]
    assert view.successor is not None and view.successor.id == successor.id
    assert [row.service.id for row in view.services] == [service.id]


async def test_a_future_dated_transfer_is_carried_out_by_the_daily_job_on_its_date(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, store_root: Path
) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    new, account, old_doc, new_doc = await transfer_papers(maker, contract)
    with today_is(monkeypatch, D(2025, 3, 16)):
        transfer = await request(maker, contract, new, account, D(2025, 4, 1), old_doc, new_doc)
        decided = await decide(maker, transfer)
    assert decided.status == "approved" and decided.new_contract_id is None
    assert await subscriber_on(maker, service, D(2025, 4, 1)) == contract.subscriber_id
    [applied] = await apply_contract_changes(maker, monkeypatch, D(2025, 4, 1))
    assert applied.status == "applied"
    async with maker() as s:
        done = await s.get(OwnershipTransfer, transfer.id)
    assert done is not None and done.status == "completed" and done.new_contract_id is not None
    assert await subscriber_on(maker, service, D(2025, 3, 31)) == contract.subscriber_id
    assert await subscriber_on(maker, service, D(2025, 4, 1)) == new.id
    assert (await contract_row(maker, contract.id)).end_date == D(2025, 4, 1)


async def test_a_rejected_transfer_changes_nothing_and_only_one_transfer_is_under_way_at_a_time(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, store_root: Path
) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    new, account, old_doc, new_doc = await transfer_papers(maker, contract)
    with today_is(monkeypatch, D(2025, 3, 16)):
        transfer = await request(maker, contract, new, account, D(2025, 3, 20), old_doc, new_doc)
        with pytest.raises(ConflictError) as open_request:
            await request(maker, contract, new, account, D(2025, 3, 20), old_doc, new_doc)
        assert open_request.value.code == "transfer_open"
        rejected = await decide(maker, transfer, approve=False)
        assert rejected.status == "rejected"
        with pytest.raises(ConflictError) as decided:
            await decide(maker, transfer)
        assert decided.value.code == "transfer_decided"
    assert (await contract_row(maker, contract.id)).status == "active"
    assert (await load(maker, service.id)).contract_id == contract.id
    assert await apply_contract_changes(maker, monkeypatch, D(2025, 3, 20)) == []


async def test_a_transfer_approved_after_its_requested_date_takes_effect_on_the_day_of_approval(
    maker: Maker, monkeypatch: pytest.MonkeyPatch, store_root: Path
) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    new, account, old_doc, new_doc = await transfer_papers(maker, contract)
    with today_is(monkeypatch, D(2025, 3, 16)):
        transfer = await request(maker, contract, new, account, D(2025, 3, 16), old_doc, new_doc)
    with today_is(monkeypatch, D(2025, 3, 18)):
        decided = await decide(maker, transfer)
    assert (decided.status, decided.effective_date) == ("completed", D(2025, 3, 18))
    assert await subscriber_on(maker, service, D(2025, 3, 17)) == contract.subscriber_id
    assert await subscriber_on(maker, service, D(2025, 3, 18)) == new.id


# ---------------------------------------------------------------- authorised representatives


async def test_a_representative_acts_for_the_subscriber_from_the_day_added_to_the_day_ended(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract, service = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    son = await add_party(maker, family_name="Kovács", given_name="Bence")
    with today_is(monkeypatch, D(2025, 3, 1)):
        async with maker() as s, s.begin():
            rep = await contracts.add_representative(s, AGENT, contract.id, RepresentativeInput(
                son.customer_number, "Ügyintézés, SIM-csere", None, D(2025, 3, 5)))
        with pytest.raises(ConflictError) as twice:
            async with maker() as s, s.begin():
                await contracts.add_representative(s, AGENT, contract.id, RepresentativeInput(
                    son.customer_number, "", None, None))
        assert twice.value.code == "representative_exists"
        subscriber = await load_party(maker, contract.subscriber_id)
        with pytest.raises(ValidationFailedError) as self_rep:
            async with maker() as s, s.begin():
                await contracts.add_representative(s, AGENT, contract.id, RepresentativeInput(
                    subscriber.customer_number, "", None, None))
        assert self_rep.value.code == "same_subscriber"
    with today_is(monkeypatch, D(2025, 6, 10)):
        async with maker() as s, s.begin():
            await contracts.end_representative(s, AGENT, rep.id)
    for day, expected in [(D(2025, 3, 4), ()), (D(2025, 3, 5), (son.id,)), (D(2025, 6, 9), (son.id,)),
                          (D(2025, 6, 10), ())]:
        on = await relations(maker, service, day)
        assert on is not None and on.representative_ids == expected, day


async def test_a_representative_cannot_be_added_from_a_past_date(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract, _ = await customer_with_sim(maker, monkeypatch, D(2025, 2, 20))
    son = await add_party(maker, family_name="Kovács", given_name="Bence")
    with today_is(monkeypatch, D(2025, 3, 1)), pytest.raises(ValidationFailedError) as refused:
        async with maker() as s, s.begin():
            await contracts.add_representative(s, AGENT, contract.id, RepresentativeInput(
                son.customer_number, "", None, D(2025, 2, 28)))
    assert refused.value.field == "start_date"


# ---------------------------------------------------------------- the universal search


async def found(maker: Maker, query: str) -> list[universal.SearchHit]:
    contracts.register_search()
    async with maker() as s:
        return await universal.search(s, query)


async def test_the_contract_number_finds_the_contract_in_any_spelling(maker: Maker) -> None:
    await seed_catalogue(maker)
    contract = await new_contract(maker)
    assert contract.number == "SZ-00000001"
    for query in ("SZ-00000001", "sz1", "SZ 00000001", "sz-1"):
        hits = [h for h in await found(maker, query) if h.kind == "contract_number"]
        assert [h.url for h in hits] == [f"/contracts/{contract.id}"], query
    assert [h for h in await found(maker, "SZ-00000002") if h.kind == "contract_number"] == []


async def test_a_service_is_found_by_its_number_in_the_usual_formats_and_by_its_iccid(maker: Maker) -> None:
    await seed_catalogue(maker)
    contract = await new_contract(maker)
    service = await order(maker, contract)
    assert service.number == "+36309990000"
    for query in ("06 30 999 0000", "+36 30 999 0000", "36309990000"):
        hits = [h for h in await found(maker, query) if h.kind == "service_number"]
        assert [h.url for h in hits] == [f"/services/{service.id}"], query
        assert contract.number in hits[0].detail
    async with maker() as s:
        [iccid] = await s.scalars(select(SimCard.iccid).where(SimCard.service_id == service.id))
    hits = [h for h in await found(maker, iccid) if h.kind == "iccid"]
    assert [h.url for h in hits] == [f"/services/{service.id}"]
    assert [h for h in await found(maker, "06 30 999 0001") if h.kind == "service_number"] == []
