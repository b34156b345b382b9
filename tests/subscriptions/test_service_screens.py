"""The agents' contract and service screens: the customer page's section, opening a contract,
ordering a service, the service page, action dialogs that show the consequences before the agent
confirms, refusals shown in words with nothing changed, stale forms, scheduled changes withdrawn,
and the contract's payer, transfer and representatives forms."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from backoffice import clock
from backoffice.customers.models import BillingAccount, Contact
from backoffice.documents.models import Document
from backoffice.subscriptions.models import Contract, PendingAction, Service, ServiceEvent, ServiceHold, SimCard
from tests.conftest import post_form
from tests.customers.helpers import add_account, add_party
from tests.subscriptions.helpers import (
    Maker,
    act,
    active_sim,
    load,
    new_contract,
    new_iccid,
    new_imsi,
    order,
    seed_catalogue,
    today_is,
)

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def catalogue(maker: Maker, store_root: Path) -> None:
    await seed_catalogue(maker)


def text_of(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.text))


async def counts(maker: Maker) -> dict[str, int]:
    async with maker() as s:
        return {name: int(await s.scalar(select(func.count()).select_from(model)) or 0) for name, model in {
            "contracts": Contract, "services": Service, "holds": ServiceHold, "events": ServiceEvent,
            "documents": Document, "pending": PendingAction, "sims": SimCard}.items()}


async def test_the_customer_page_lists_contracts_and_services_with_state_badges(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    service = await active_sim(maker, commitment_months=12)
    await act(maker, service, "suspend", reason="lost_or_stolen")
    async with maker() as s:
        contract = await s.get(Contract, service.contract_id)
        assert contract is not None
    await signed_in(client, "agent")
    section = await client.get(f"/customers/{contract.subscriber_id}/contracts", headers={"hx-request": "true"})
    body = text_of(section)
    assert section.status_code == 200 and "<html" not in section.text
    assert contract.number in body and "+36 30 999 0000" in body
    assert 'class="badge state-suspended"' in section.text and "Lost or stolen SIM" in body
    page = await client.get(f"/customers/{contract.subscriber_id}")
    assert f'hx-get="/customers/{contract.subscriber_id}/contracts"' in page.text


async def test_an_agent_opens_a_contract_and_a_bad_choice_is_shown_beside_its_field(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    customer = await add_party(maker)
    account = await add_account(maker, customer.id)
    await signed_in(client, "agent")
    before = await counts(maker)
    refused = await post_form(client, f"/customers/{customer.id}/contracts",
                              {"billing_account_id": str(account.id), "commitment_months": "36"})
    assert refused.status_code == 422 and "Choose one of the offered values." in refused.text
    assert await counts(maker) == before
    made = await post_form(client, f"/customers/{customer.id}/contracts",
                           {"billing_account_id": str(account.id), "commitment_months": "24"})
    assert made.status_code == 303
    async with maker() as s:
        contract = (await s.execute(select(Contract))).scalar_one()
    assert made.headers["location"] == f"/contracts/{contract.id}" and contract.commitment_months == 24
    page = await client.get(f"/contracts/{contract.id}")
    assert page.status_code == 200 and contract.number in page.text


async def test_ordering_a_sim_with_a_bad_iccid_shows_the_message_keeps_the_input_and_orders_nothing(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    contract = await new_contract(maker)
    await signed_in(client, "agent")
    form = {"kind": "sim", "plan_code": "sim_start", "iccid": "8936300000000000001", "imsi": "21630123",
            "puk": "1234"}
    before = await counts(maker)
    refused = await post_form(client, f"/contracts/{contract.id}/services", form)
    body = text_of(refused)
    assert refused.status_code == 422
    assert "This ICCID's check digit is wrong" in body and "An IMSI is 15 digits." in body
    assert "A PUK is 8 digits." in body and 'value="8936300000000000001"' in refused.text
    assert await counts(maker) == before
    good = {**form, "iccid": new_iccid(), "imsi": new_imsi(), "puk": "87654321", "number": "06 30 999 0042"}
    made = await post_form(client, f"/contracts/{contract.id}/services", good)
    assert made.status_code == 303
    async with maker() as s:
        service = (await s.execute(select(Service))).scalar_one()
    assert service.number == "+36309990042" and service.state == "ordered"
    page = await client.get(made.headers["location"])
    assert page.status_code == 200 and "+36 30 999 0042" in page.text and good["iccid"] in page.text


async def test_ordering_an_internet_line_needs_an_address_and_a_valid_mac(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    contract = await new_contract(maker)
    await signed_in(client, "agent")
    form = await client.get(f"/contracts/{contract.id}/services/new", params={"kind": "internet"})
    assert form.status_code == 200 and 'name="install_postal_code"' in form.text
    refused = await post_form(client, f"/contracts/{contract.id}/services", {
        "kind": "internet", "plan_code": "net_500", "access_technology": "fibre", "cpe_mac": "01:00:5e:00:00:01",
        "install_postal_code": "", "install_locality": "Budapest", "install_street": "Fő utca",
        "install_house_number": "1"})
    assert refused.status_code == 422 and "This is not a MAC address" in text_of(refused)
    assert "This field is required." in refused.text
    assert (await counts(maker))["services"] == 0


async def test_the_termination_dialog_shows_the_early_termination_fee_before_the_agent_confirms(
    client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, dt.date(2026, 11, 10)):
        service = await active_sim(maker, commitment_months=24, plan="sim_plusz")
        await signed_in(client, "agent")
        before = await counts(maker)
        dialog = await client.get(f"/services/{service.id}/actions/terminate", headers={"hx-request": "true"})
        body = text_of(dialog)
        assert dialog.status_code == 200 and "<html" not in dialog.text
        # At the end of November: 23 full months of the 24 remain, capped by the plan's maximum.
        assert "2026-12-01" in body and "Early termination fee" in body
        preview = await post_form(client, f"/services/{service.id}/preview/terminate",
                                  {"reason": "deceased", "when": "month_end"}, headers={"hx-request": "true"})
        assert preview.status_code == 200 and "Early termination fee" not in preview.text
        assert "No one-off fee." in preview.text
        assert await counts(maker) == before  # looking at consequences changes nothing


async def test_suspending_through_the_dialog_files_a_confirmation_and_reloads_the_page(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    service = await active_sim(maker)
    await signed_in(client, "agent")
    done = await post_form(client, f"/services/{service.id}/actions/suspend",
                           {"reason": "lost_or_stolen", "when": "now", "imei": "490154203237518",
                            "version": str(service.version)}, headers={"hx-request": "true"})
    assert done.status_code == 204 and done.headers["hx-redirect"] == f"/services/{service.id}?done=suspend"
    after = await load(maker, service.id)
    assert after.state == "suspended"
    async with maker() as s:
        docs = list(await s.scalars(select(Document).where(Document.direction == "outgoing")))
        automatic = list(await s.scalars(select(Contact).where(Contact.automatic.is_(True))))
    assert any("felfüggesztés" in d.subject for d in docs)  # the letter is in Hungarian, the customer's language
    # One contact-log entry per action, not a second one for its letter.
    assert sum(c.summary_params is not None and c.summary_params.get("action") == "Suspension" for c in automatic) == 1
    assert not any("registered" in c.summary for c in automatic)
    page = await client.get(f"/services/{service.id}?done=suspend")
    assert "490154203237518" in page.text and "The confirmation is filed" in page.text


async def test_a_refused_transition_answers_409_with_the_reason_and_changes_nothing(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    service = await active_sim(maker)
    await act(maker, service, "terminate", reason="end_of_contract")
    await signed_in(client, "agent")
    before = await counts(maker)
    refused = await post_form(client, f"/services/{service.id}/actions/resume", {"reason": "customer_request"})
    assert refused.status_code == 409 and "so it cannot be resumed" in text_of(refused)
    assert await counts(maker) == before


async def test_an_agent_may_not_lift_a_fraud_hold_but_a_supervisor_may(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    from tests.subscriptions.helpers import SUPERVISOR

    service = await active_sim(maker)
    await act(maker, service, "suspend", SUPERVISOR, reason="fraud")
    await signed_in(client, "agent")
    refused = await post_form(client, f"/services/{service.id}/actions/resume", {"reason": "fraud"})
    assert refused.status_code == 403 and "Only a supervisor may lift" in text_of(refused)
    assert (await load(maker, service.id)).state == "suspended"
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("bo_csrf", "")})
    client.cookies.clear()
    await signed_in(client, "supervisor")
    lifted = await post_form(client, f"/services/{service.id}/actions/resume", {"reason": "fraud"})
    assert lifted.status_code == 303 and (await load(maker, service.id)).state == "active"


async def test_a_stale_dialog_gets_409_with_the_current_state_and_no_overwrite(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    service = await active_sim(maker)
    opened_version = service.version
    await act(maker, service, "add_addon", addon_code="data_5gb")  # someone else, meanwhile
    await signed_in(client, "agent")
    before = await counts(maker)
    stale = await post_form(client, f"/services/{service.id}/actions/add_addon",
                            {"addon_code": "data_20gb", "version": str(opened_version)})
    body = text_of(stale)
    assert stale.status_code == 409 and "Someone else changed this service" in body
    current = await load(maker, service.id)
    assert f'name="version" value="{current.version}"' in stale.text  # the form now carries the current version
    assert await counts(maker) == before


async def test_a_termination_at_month_end_is_listed_as_scheduled_and_can_be_withdrawn(
    client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with today_is(monkeypatch, dt.date(2026, 11, 10)):
        service = await active_sim(maker)
        await signed_in(client, "agent")
        scheduled = await post_form(client, f"/services/{service.id}/actions/terminate",
                                    {"reason": "customer_request", "when": "month_end"})
        assert scheduled.status_code == 303
        assert (await load(maker, service.id)).state == "active"
        page = await client.get(f"/services/{service.id}")
        async with maker() as s:
            pending = (await s.execute(select(PendingAction))).scalar_one()
        assert pending.effective_date == dt.date(2026, 12, 1) and f'/pending/{pending.id}/withdraw' in page.text
        current = await load(maker, service.id)
        withdrawn = await post_form(client, f"/pending/{pending.id}/withdraw", {"version": str(current.version)})
        assert withdrawn.status_code == 303
        async with maker() as s:
            assert (await s.get(PendingAction, pending.id)).status == "withdrawn"  # type: ignore[union-attr]
        page = await client.get(f"/services/{service.id}")
        assert "Nothing scheduled." in page.text


async def test_records_staff_read_a_service_but_cannot_act_on_it(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    service = await active_sim(maker)
    await signed_in(client, "records")
    page = await client.get(f"/services/{service.id}")
    assert page.status_code == 200 and "/actions/suspend" not in page.text
    assert (await post_form(client, f"/services/{service.id}/actions/suspend",
                            {"reason": "lost_or_stolen"})).status_code == 403
    assert (await client.get(f"/services/{service.id}/actions/suspend")).status_code == 403


async def test_unknown_services_actions_and_odd_input_never_give_a_500(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    service = await active_sim(maker)
    await signed_in(client, "agent")
    assert (await client.get("/services/999999999999")).status_code == 404
    assert (await client.get(f"/services/{service.id}/actions/explode")).status_code == 404
    for form in ({"reason": "nonsense"}, {"reason": "customer_request", "when": "date", "date": "tomorrow"},
                 {"reason": "customer_request", "when": "date", "date": "2020-01-01", "end_date": "2020-02-01"},
                 {"reason": "lost_or_stolen", "imei": "123"}, {"reason": "x" * 500}, {"reason": "\x00"}):
        answer = await post_form(client, f"/services/{service.id}/actions/suspend", form)
        assert answer.status_code in {403, 409, 422}, (form, answer.status_code)
        preview = await post_form(client, f"/services/{service.id}/preview/suspend", form)
        assert preview.status_code == 200
    assert (await load(maker, service.id)).state == "active"


async def test_a_payer_change_from_the_contract_page_needs_the_other_payers_consent(
    client: Client, signed_in: Any, maker: Maker, catalogue: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await active_sim(maker)
    other = await add_party(maker)
    other_account = await add_account(maker, other.id)
    await signed_in(client, "agent")
    refused = await post_form(client, f"/contracts/{service.contract_id}/payer",
                              {"account_number": other_account.account_number,
                               "effective_date": clock.today().isoformat()})
    assert refused.status_code == 422 and "signed payer consent" in text_of(refused)
    unknown = await post_form(client, f"/contracts/{service.contract_id}/payer",
                              {"account_number": "999999999-99", "effective_date": clock.today().isoformat()})
    assert unknown.status_code == 422 and "There is no billing account with this number." in text_of(unknown)
    async with maker() as s:
        contract = await s.get(Contract, service.contract_id)
        accounts = list(await s.scalars(select(BillingAccount.id)))
    assert contract is not None and contract.billing_account_id in accounts


async def test_an_agent_orders_activates_and_sees_the_history(
    client: Client, signed_in: Any, maker: Maker, catalogue: None
) -> None:
    contract = await new_contract(maker)
    service = await order(maker, contract)
    await signed_in(client, "agent")
    dialog = await client.get(f"/services/{service.id}/actions/activate")
    assert dialog.status_code == 200 and "Activation fee" in text_of(dialog) and "<html" in dialog.text
    done = await post_form(client, f"/services/{service.id}/actions/activate", {"when": "now"})
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    body = text_of(page)
    assert "Activation" in body and "Activation fee" in body and 'class="badge state-active"' in page.text
