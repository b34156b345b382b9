"""The subscriptions JSON API under /api/v1: contracts, services and every lifecycle action through
the same services as the screens; refusals, bad input and stale versions as problem details."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from sqlalchemy import func, select

from backoffice import clock
from backoffice.audit import AuditEntry
from backoffice.customers.models import Party
from backoffice.documents.models import Document
from backoffice.subscriptions import rules
from backoffice.subscriptions.models import (
    Contract,
    ContractPayerInterval,
    ContractRepresentative,
    OwnershipTransfer,
    PendingAction,
    Service,
    ServiceEvent,
    ServiceFee,
    ServiceHold,
    SimCard,
)
from tests.conftest import login
from tests.customers.helpers import add_account, add_party, api_token
from tests.documents.helpers import register
from tests.subscriptions.helpers import (
    act,
    active_sim,
    line_order,
    load,
    new_contract,
    new_iccid,
    new_imsi,
    order,
    seed_catalogue,
    today_is,
)

PROBLEM = "application/problem+json"
BAD_ICCID = "8936300000000000013"  # the Luhn check digit of 893630000000000001 is 2
BAD_IMEI = "490154203237519"  # the check digit is 8


@pytest.fixture(autouse=True)
async def catalogue(maker, store_root):
    """Plans, add-ons, reasons, fees and a number pool; confirmations are stored under store_root."""
    await seed_catalogue(maker)


@pytest.fixture
async def agent_api(maker):
    return await api_token(maker, "agent")


@pytest.fixture
async def supervisor_api(maker):
    return await api_token(maker, "supervisor")


@pytest.fixture
async def records_api(maker):
    return await api_token(maker, "records")


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status and body["detail"]
    assert body["type"] == f"urn:backoffice:problem:{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    return body


def error_fields(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


COUNTED = {"contracts": Contract, "services": Service, "events": ServiceEvent, "holds": ServiceHold,
           "pending": PendingAction, "fees": ServiceFee, "sims": SimCard, "documents": Document,
           "audit": AuditEntry, "payers": ContractPayerInterval, "transfers": OwnershipTransfer,
           "representatives": ContractRepresentative}


async def db_state(maker) -> dict[str, Any]:
    """Row counts and every service's state and version: equal before and after means nothing changed."""
    async with maker() as s:
        state: dict[str, Any] = {name: await s.scalar(select(func.count()).select_from(model))
                                 for name, model in COUNTED.items()}
        state["services_now"] = sorted((await s.execute(select(Service.id, Service.state, Service.version,
                                                               Service.plan_id))).all())
        state["contracts_now"] = sorted((await s.execute(select(Contract.id, Contract.version,
                                                                Contract.billing_account_id))).all())
    return state


def sim_body(**overrides: Any) -> dict[str, Any]:
    return {"kind": "sim", "plan_code": "sim_start", "iccid": new_iccid(), "imsi": new_imsi(), "puk": "12345678",
            **overrides}


async def api_service(client, headers, service_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/services/{service_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def perform(client, headers, service_id: int, action: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/services/{service_id}/actions/{action}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- contracts and orders

async def test_an_agent_opens_a_contract_orders_a_sim_and_activates_it(client, maker, agent_api):
    customer = await add_party(maker)
    account = await add_account(maker, customer.id)

    created = await client.post(f"/api/v1/customers/{customer.id}/contracts",
                                json={"billing_account_id": account.id, "commitment_months": 12}, headers=agent_api)

    assert created.status_code == 201, created.text
    contract = created.json()
    assert contract["number"].startswith("SZ-") and contract["commitment_months"] == 12
    assert contract["payer"]["billing_account_id"] == account.id and contract["services"] == []
    assert [p["billing_account_id"] for p in contract["payer_history"]] == [account.id]

    body = sim_body(puk=87654321)  # a JSON number is read like the digits of a form
    ordered = await client.post(f"/api/v1/contracts/{contract['id']}/services", json=body, headers=agent_api)

    assert ordered.status_code == 201, ordered.text
    service = ordered.json()
    assert service["state"] == "ordered" and service["number"] == "+36309990000"
    assert service["sim"] == {"iccid": body["iccid"], "imsi": body["imsi"], "issued_on": clock.today().isoformat(),
                              "puk": "87654321"}
    assert service["history"][0]["action"] == "order" and service["history"][0]["document_id"]

    outcome = await perform(client, agent_api, service["id"], "activate", version=service["version"])

    assert outcome["service"]["state"] == "active" and outcome["service"]["version"] > service["version"]
    assert outcome["pending_id"] is None and outcome["event_id"]
    assert outcome["document"].startswith(f"{clock.today().year}/")
    assert [(f["code"], f["net"], f["gross"]) for f in outcome["preview"]["fees"]] == [
        ("activation", "3149.61", "4000.00")]
    page = await api_service(client, agent_api, service["id"])
    assert page["state"] == "active" and page["version"] == outcome["service"]["version"]
    assert [f["code"] for f in page["fees"]] == ["activation"]
    assert page["contract"]["commitment_end"] is not None
    listed = await client.get(f"/api/v1/customers/{customer.id}/contracts", headers=agent_api)
    assert listed.status_code == 200
    [summary] = listed.json()
    assert summary["number"] == contract["number"]
    assert [(s["id"], s["state"]) for s in summary["services"]] == [(service["id"], "active")]


async def test_the_puk_is_shown_to_agents_and_supervisors_but_not_to_records_staff(
        client, maker, agent_api, supervisor_api, records_api):
    service = await active_sim(maker)

    assert (await api_service(client, agent_api, service.id))["sim"]["puk"] == "12345678"
    assert (await api_service(client, supervisor_api, service.id))["sim"]["puk"] == "12345678"
    records_view = await api_service(client, records_api, service.id)
    assert "puk" not in records_view["sim"] and records_view["sim"]["iccid"]


async def test_records_staff_read_but_may_not_act(client, maker, records_api):
    service = await active_sim(maker)
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/actions/suspend",
                                 json={"reason": "customer_request"}, headers=records_api)

    assert_problem(response, 403, "forbidden")
    assert await db_state(maker) == before


async def test_an_internet_service_is_ordered_with_its_installation_address_and_router(client, maker, agent_api):
    contract = await new_contract(maker)
    response = await client.post(f"/api/v1/contracts/{contract.id}/services", headers=agent_api, json={
        "kind": "internet", "plan_code": "net_500", "access_technology": "fibre", "cpe_mac": "00-1A-2B-3C-4D-5E",
        "install_postal_code": 1117, "install_locality": "Budapest", "install_street": "Irinyi József utca",
        "install_house_number": 4})

    assert response.status_code == 201, response.text
    service = response.json()
    assert service["kind"] == "internet" and service["number"] is None and service["sim"] is None
    assert service["cpe_mac"] == "00:1a:2b:3c:4d:5e"
    assert service["install_address"] == "1117 Budapest, Irinyi József utca 4"


async def test_a_cable_tv_service_takes_its_set_top_boxes_as_a_list(client, maker, agent_api):
    contract = await new_contract(maker)
    response = await client.post(f"/api/v1/contracts/{contract.id}/services", headers=agent_api, json={
        "kind": "cable_tv", "plan_code": "tv_alap", "set_top_boxes": ["stb-0001", "STB-0002"],
        "install_postal_code": "1117", "install_locality": "Budapest", "install_street": "Irinyi József utca",
        "install_house_number": "4"})

    assert response.status_code == 201, response.text
    assert response.json()["set_top_boxes"] == ["STB-0001", "STB-0002"]


# ---------------------------------------------------------------- every action

async def test_every_action_works_through_the_api(client, maker, agent_api):
    """Activate, suspend (voluntary, dated end), resume, suspend as lost with the IMEI, swap the SIM
    (which lifts it), change the plan, add and remove an add-on, terminate; cancel another."""
    contract = await new_contract(maker)
    service = await order(maker, contract)
    sid = service.id

    done = await perform(client, agent_api, sid, "activate")
    assert done["service"]["state"] == "active"

    end = (clock.today() + dt.timedelta(days=30)).isoformat()
    done = await perform(client, agent_api, sid, "suspend", reason="customer_request", end_date=end,
                         note="Külföldi munka")
    assert done["service"]["state"] == "suspended"
    page = await api_service(client, agent_api, sid)
    assert [(h["reason"], h["planned_end"]) for h in page["holds"]] == [("customer_request", end)]
    assert [(p["action"], p["withdrawable"]) for p in page["pending"]] == [("resume", False)]

    done = await perform(client, agent_api, sid, "resume", reason="customer_request")
    assert done["service"]["state"] == "active"
    assert (await api_service(client, agent_api, sid))["pending"] == []

    done = await perform(client, agent_api, sid, "suspend", reason="lost_or_stolen", imei="490154203237518")
    assert done["service"]["state"] == "suspended"
    assert (await api_service(client, agent_api, sid))["holds"][0]["imei"] == "490154203237518"

    iccid, imsi = new_iccid(), new_imsi()
    done = await perform(client, agent_api, sid, "swap_sim", iccid=iccid, imsi=imsi, puk="11112222")
    assert done["service"]["state"] == "active"
    assert [f["code"] for f in done["preview"]["fees"]] == ["sim_swap"]
    page = await api_service(client, agent_api, sid)
    assert (page["sim"]["iccid"], page["sim"]["puk"], page["holds"]) == (iccid, "11112222", [])

    done = await perform(client, agent_api, sid, "change_plan", plan_code="sim_plusz")
    assert done["scheduled"] is False  # an upgrade applies at once
    assert (await api_service(client, agent_api, sid))["plan"]["code"] == "sim_plusz"

    done = await perform(client, agent_api, sid, "add_addon", addon_code="data_5gb")
    assert [a["code"] for a in (await api_service(client, agent_api, sid))["addons"]] == ["data_5gb"]
    done = await perform(client, agent_api, sid, "remove_addon", addon_code="data_5gb")
    assert (await api_service(client, agent_api, sid))["addons"] == []

    done = await perform(client, agent_api, sid, "terminate", reason="ported_out")
    assert (done["service"]["state"], done["scheduled"]) == ("terminated", False)
    page = await api_service(client, agent_api, sid)
    assert page["state"] == "terminated" and page["sim"] is None and page["ended_on"] == clock.today().isoformat()

    other = await order(maker, await new_contract(maker))
    done = await perform(client, agent_api, other.id, "cancel")
    assert done["service"]["state"] == "cancelled"

    actions = [e["action"] for e in reversed(page["history"])]
    assert actions == ["order", "activate", "suspend", "resume", "suspend", "swap_sim", "change_plan", "add_addon",
                       "remove_addon", "terminate"]
    assert all(e["document_id"] for e in page["history"][:-1])  # each action the API took sent a letter


async def test_a_termination_at_month_end_is_scheduled_listed_and_withdrawn(client, maker, agent_api):
    service = await active_sim(maker)
    current = await api_service(client, agent_api, service.id)

    done = await perform(client, agent_api, service.id, "terminate", reason="end_of_contract", when="month_end",
                         version=current["version"])

    assert done["scheduled"] is True and done["pending_id"]
    assert done["effective_date"] == rules.first_of_next_month(clock.today()).isoformat()
    assert done["service"]["state"] == "active" and done["document"]
    page = await api_service(client, agent_api, service.id)
    assert [(p["id"], p["action"], p["withdrawable"]) for p in page["pending"]] == [
        (done["pending_id"], "terminate", True)]

    withdrawn = await client.post(f"/api/v1/pending/{done['pending_id']}/withdraw",
                                  json={"version": page["version"]}, headers=agent_api)

    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert body["status"] == "withdrawn" and body["document"] and body["service"]["state"] == "active"
    page = await api_service(client, agent_api, service.id)
    assert page["pending"] == [] and page["history"][0]["action"] == "withdraw"
    again = await client.post(f"/api/v1/pending/{done['pending_id']}/withdraw", headers=agent_api)
    assert_problem(again, 409, "pending_not_pending")


async def test_the_preview_shows_the_early_termination_fee_before_confirming(client, maker, agent_api):
    service = await active_sim(maker, commitment_months=12)
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/preview/terminate",
                                 json={"reason": "customer_request"}, headers=agent_api)

    assert response.status_code == 200, response.text
    preview = response.json()
    day = dt.date.fromisoformat(preview["effective_date"])
    assert day == clock.today() + dt.timedelta(days=8)  # the customer's notice period
    assert preview["scheduled"] is True and preview["next_state"] == "terminated"
    async with maker() as s:
        contract = await s.get(Contract, service.contract_id)
    expected = rules.early_termination_fee(contract.commitment_end, day, Decimal("787.40"), Decimal("15748.03"))
    assert expected > 0
    [fee] = preview["fees"]
    gross = (expected * Decimal("1.27")).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    assert fee == {"code": "early_termination", "name": "Early termination fee", "net": f"{expected:.2f}",
                   "vat_rate": "27.00", "vat": f"{gross - expected:.2f}", "gross": f"{gross:.2f}"}
    assert preview["fees_gross"] == f"{gross:.2f}"
    assert all(isinstance(note, str) and note for note in preview["notes"])
    assert any("notice period" in note for note in preview["notes"])
    assert any("commitment runs until" in note for note in preview["notes"])
    assert await db_state(maker) == before  # a preview changes nothing

    done = await perform(client, agent_api, service.id, "terminate", reason="customer_request")
    assert done["preview"]["fees"] == preview["fees"] and done["pending_id"]


# ---------------------------------------------------------------- refusals

async def test_resuming_a_terminated_service_is_a_409_with_the_reason_and_changes_nothing(client, maker, agent_api):
    service = await active_sim(maker)
    await act(maker, service, "terminate", reason="ported_out")
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/actions/resume",
                                 json={"reason": "customer_request"}, headers=agent_api)

    body = assert_problem(response, 409)
    assert "terminated" in body["detail"].lower() and len(body["detail"]) > 20
    assert await db_state(maker) == before


async def test_a_refused_action_is_refused_by_the_preview_too(client, maker, agent_api):
    service = await active_sim(maker)
    await act(maker, service, "terminate", reason="ported_out")

    response = await client.post(f"/api/v1/services/{service.id}/preview/activate", headers=agent_api)

    assert_problem(response, 409)


async def test_an_add_on_whose_prerequisite_is_missing_is_a_409_naming_it(client, maker, agent_api):
    service = await order(maker, await new_contract(maker), line_order("cable_tv", "tv_alap"))
    await act(maker, service, "activate")
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/actions/add_addon",
                                 json={"addon_code": "hbo_pack"}, headers=agent_api)

    body = assert_problem(response, 409)
    assert "HD set-top box" in body["detail"]
    assert error_fields(body) == {"addon_code"}
    assert await db_state(maker) == before


async def test_an_agent_may_not_lift_a_fraud_hold_but_a_supervisor_may(client, maker, agent_api, supervisor_api):
    service = await active_sim(maker)
    placed = await perform(client, supervisor_api, service.id, "suspend", reason="fraud")
    assert placed["service"]["state"] == "suspended"
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/actions/resume", json={"reason": "fraud"},
                                 headers=agent_api)

    body = assert_problem(response, 403)
    assert "supervisor" in body["detail"].lower()
    assert await db_state(maker) == before
    lifted = await perform(client, supervisor_api, service.id, "resume", reason="fraud")
    assert lifted["service"]["state"] == "active"


async def test_an_agent_may_not_place_a_fraud_hold(client, maker, agent_api):
    service = await active_sim(maker)
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/actions/suspend", json={"reason": "fraud"},
                                 headers=agent_api)

    assert_problem(response, 403)
    assert await db_state(maker) == before


async def test_a_stale_version_is_a_409_with_the_current_state_and_changes_nothing(client, maker, agent_api):
    service = await active_sim(maker)
    opened = await api_service(client, agent_api, service.id)
    await act(maker, service, "suspend", reason="lost_or_stolen")  # someone else, meanwhile
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/actions/change_plan",
                                 json={"plan_code": "sim_plusz", "version": opened["version"]}, headers=agent_api)

    body = assert_problem(response, 409, "stale_service")
    current = body["current"]
    now = await load(maker, service.id)
    assert (current["id"], current["state"], current["version"]) == (service.id, "suspended", now.version)
    assert current["version"] != opened["version"]
    assert [h["reason"] for h in current["holds"]] == ["lost_or_stolen"]
    assert await db_state(maker) == before


async def test_a_stale_version_on_withdrawing_is_a_409_with_the_current_state(client, maker, agent_api):
    service = await active_sim(maker)
    scheduled = await act(maker, service, "terminate", reason="end_of_contract", when="month_end")
    await act(maker, service, "add_addon", addon_code="voicemail")  # the service moved on
    before = await db_state(maker)

    response = await client.post(f"/api/v1/pending/{scheduled.pending.id}/withdraw",
                                 json={"version": scheduled.service.version}, headers=agent_api)

    body = assert_problem(response, 409, "stale_service")
    assert body["current"]["version"] == (await load(maker, service.id)).version
    assert [p["id"] for p in body["current"]["pending"]] == [scheduled.pending.id]
    assert await db_state(maker) == before


async def test_of_two_agents_acting_at_once_one_wins_and_the_other_gets_the_current_state(client, maker,
                                                                                          agent_api, supervisor_api):
    service = await active_sim(maker)
    opened = await api_service(client, agent_api, service.id)

    first, second = await asyncio.gather(
        client.post(f"/api/v1/services/{service.id}/actions/suspend", headers=agent_api,
                    json={"reason": "lost_or_stolen", "version": opened["version"]}),
        client.post(f"/api/v1/services/{service.id}/actions/add_addon", headers=supervisor_api,
                    json={"addon_code": "voicemail", "version": opened["version"]}))

    assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
    won, lost = (first, second) if first.status_code == 200 else (second, first)
    body = assert_problem(lost, 409, "stale_service")
    assert body["current"]["version"] == won.json()["service"]["version"]
    assert body["current"]["version"] == (await load(maker, service.id)).version


async def test_the_planned_end_of_a_voluntary_suspension_cannot_be_withdrawn(client, maker, agent_api):
    service = await active_sim(maker)
    end = (clock.today() + dt.timedelta(days=10)).isoformat()
    await perform(client, agent_api, service.id, "suspend", reason="customer_request", end_date=end)
    [planned] = (await api_service(client, agent_api, service.id))["pending"]
    before = await db_state(maker)

    response = await client.post(f"/api/v1/pending/{planned['id']}/withdraw", headers=agent_api)

    assert "resume" in assert_problem(response, 409, "pending_automatic")["detail"]
    assert await db_state(maker) == before


async def test_a_downgrade_is_scheduled_for_next_month_and_cannot_be_booked_twice(client, maker, agent_api):
    service = await active_sim(maker, plan="sim_plusz")
    first_of_next = rules.first_of_next_month(clock.today()).isoformat()

    preview = await client.post(f"/api/v1/services/{service.id}/preview/change_plan",
                                json={"plan_code": "sim_start"}, headers=agent_api)
    assert (preview.json()["scheduled"], preview.json()["effective_date"]) == (True, first_of_next)
    done = await perform(client, agent_api, service.id, "change_plan", plan_code="sim_start")
    assert done["pending_id"] and done["effective_date"] == first_of_next
    assert (await api_service(client, agent_api, service.id))["plan"]["code"] == "sim_plusz"
    before = await db_state(maker)

    again = await client.post(f"/api/v1/services/{service.id}/actions/change_plan",
                              json={"plan_code": "sim_start"}, headers=agent_api)

    assert first_of_next in assert_problem(again, 409, "already_scheduled")["detail"]
    assert await db_state(maker) == before


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize(("body", "field"), [
    (sim_body(iccid=BAD_ICCID), "iccid"),
    (sim_body(imsi="21630123"), "imsi"),
    (sim_body(imsi="abcdefabcdefabc"), "imsi"),
    (sim_body(puk="1234"), "puk"),
    (sim_body(number="06 30 12"), "number"),
    ({"kind": "internet", "plan_code": "net_500", "access_technology": "fibre", "cpe_mac": "00:1a:2b:3c:4d",
      "install_postal_code": "1117", "install_locality": "Budapest", "install_street": "Fő utca",
      "install_house_number": "1"}, "cpe_mac"),
    ({"kind": "internet", "plan_code": "net_500", "access_technology": "fibre", "cpe_mac": "00:1a:2b:3c:4d:5e",
      "install_postal_code": "117", "install_locality": "Budapest", "install_street": "Fő utca",
      "install_house_number": "1"}, "install_postal_code"),
    ({"kind": "pigeon", "plan_code": "sim_start"}, "kind"),
    (sim_body(plan_code="net_500"), "plan_code"),
])
async def test_a_bad_order_is_a_422_naming_the_field_and_nothing_is_saved(client, maker, agent_api, body, field):
    contract = await new_contract(maker)
    before = await db_state(maker)

    response = await client.post(f"/api/v1/contracts/{contract.id}/services", json=body, headers=agent_api)

    problem = assert_problem(response, 422)
    assert field in error_fields(problem), problem
    assert await db_state(maker) == before


@pytest.mark.parametrize(("action", "body", "field"), [
    ("swap_sim", {"iccid": BAD_ICCID, "imsi": "216300000099999", "puk": "12345678"}, "iccid"),
    ("swap_sim", {"iccid": "8936300000000999990", "imsi": "999", "puk": "12345678"}, "imsi"),
    ("suspend", {"reason": "lost_or_stolen", "imei": BAD_IMEI}, "imei"),
    ("suspend", {"reason": ""}, "reason"),
    ("suspend", {"reason": "holiday"}, "reason"),
    ("terminate", {"reason": "customer_request", "when": "date", "date": "2020-01-01"}, "date"),
    ("terminate", {"reason": "customer_request", "when": "date", "date": "31/12/2030"}, "date"),
    ("terminate", {"reason": "customer_request", "when": "someday"}, "when"),
    ("change_plan", {"plan_code": "net_500"}, "plan_code"),
    ("add_addon", {}, "addon_code"),
    ("fly", {}, "action"),
])
async def test_bad_action_input_is_a_422_naming_the_field_and_nothing_changes(
        client, maker, agent_api, action, body, field):
    service = await active_sim(maker)
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/actions/{action}", json=body, headers=agent_api)

    problem = assert_problem(response, 422)
    assert field in error_fields(problem), problem
    assert await db_state(maker) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": 5}, "reason"),
    ({"reason": {"code": "customer_request"}}, "reason"),
    ({"reason": ["customer_request"]}, "reason"),
    ({"reason": "customer_request", "version": "one"}, "version"),
    ({"reason": "customer_request", "version": 1.5}, "version"),
    ({"reason": "customer_request", "version": 10**30}, "version"),
    ({"reason": "customer_request", "arrangement": 3}, "arrangement"),
    ({"reason": "customer_request", "end_date": 20301231}, "end_date"),
])
async def test_wrong_json_types_are_a_422_naming_the_field(client, maker, agent_api, body, field):
    service = await active_sim(maker)
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/actions/suspend", json=body, headers=agent_api)

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {field}
    assert await db_state(maker) == before


@pytest.mark.parametrize("content", [b"[1, 2]", b'"suspend"', b"{reason: ", b"\xff\xfe"])
async def test_a_body_that_is_not_a_json_object_is_a_400(client, maker, agent_api, content):
    service = await active_sim(maker)
    before = await db_state(maker)

    response = await client.post(f"/api/v1/services/{service.id}/actions/suspend", content=content,
                                 headers={**agent_api, "content-type": "application/json"})

    assert_problem(response, 400)
    assert await db_state(maker) == before


async def test_json_numbers_and_booleans_are_read_sensibly(client, maker, agent_api):
    customer = await add_party(maker)
    account = await add_account(maker, customer.id)
    created = await client.post(f"/api/v1/customers/{customer.id}/contracts", headers=agent_api,
                                json={"billing_account_id": str(account.id), "commitment_months": "24"})
    assert created.status_code == 201, created.text
    assert created.json()["commitment_months"] == 24
    whole = await client.post(f"/api/v1/customers/{customer.id}/contracts", headers=agent_api,
                              json={"billing_account_id": account.id, "commitment_months": 12.0})
    assert whole.status_code == 201 and whole.json()["commitment_months"] == 12  # a whole float is that number
    for body, field in [({"billing_account_id": account.id, "commitment_months": 6}, "commitment_months"),
                        ({"billing_account_id": account.id, "commitment_months": True}, "commitment_months"),
                        ({"billing_account_id": 10**30, "commitment_months": 0}, "billing_account_id"),
                        ({"billing_account_id": -1, "commitment_months": 0}, "billing_account_id"),
                        ({"billing_account_id": "x", "commitment_months": 0}, "billing_account_id")]:
        response = await client.post(f"/api/v1/customers/{customer.id}/contracts", json=body, headers=agent_api)
        assert field in error_fields(assert_problem(response, 422)), body


@pytest.mark.parametrize(("method", "path", "code"), [
    ("GET", "/api/v1/services/424242", "service_not_found"),
    ("GET", "/api/v1/services/99999999999999999999999999", "service_not_found"),
    ("GET", "/api/v1/services/99999999999999999999999999/relations", "service_not_found"),
    ("GET", "/api/v1/contracts/99999999999999999999999999", "contract_not_found"),
    ("GET", "/api/v1/customers/99999999999999999999999999/contracts", "party_not_found"),
    ("POST", "/api/v1/services/99999999999999999999999999/actions/activate", "service_not_found"),
    ("POST", "/api/v1/services/99999999999999999999999999/preview/activate", "service_not_found"),
    ("POST", "/api/v1/contracts/99999999999999999999999999/services", None),
    ("POST", "/api/v1/pending/99999999999999999999999999/withdraw", "pending_not_found"),
    ("POST", "/api/v1/pending/424242/withdraw", "pending_not_found"),
    ("POST", "/api/v1/transfers/99999999999999999999999999/reject", "transfer_not_found"),
    ("DELETE", "/api/v1/representatives/99999999999999999999999999", "representative_not_found"),
    ("GET", "/api/v1/services/-1", "service_not_found"),
])
async def test_unknown_and_huge_ids_are_4xx_problems(client, agent_api, supervisor_api, method, path, code):
    headers = supervisor_api if "/transfers/" in path else agent_api
    body = sim_body() if path.endswith("/services") else None
    response = await client.request(method, path, json=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    problem = assert_problem(response, response.status_code)
    if code is not None:
        assert response.status_code == 404 and problem["code"] == code


async def test_a_malformed_date_for_relations_is_a_422(client, maker, agent_api):
    service = await active_sim(maker)
    response = await client.get(f"/api/v1/services/{service.id}/relations", params={"on": "tomorrow"},
                                headers=agent_api)
    assert error_fields(assert_problem(response, 422)) == {"on"}


# ---------------------------------------------------------------- relations

async def test_who_was_subscriber_and_payer_on_a_date_follows_a_change_of_payer(
        client, maker, agent_api, monkeypatch):
    first_day = dt.date(2026, 3, 2)
    with today_is(monkeypatch, first_day):
        contract = await new_contract(maker)
        service = await order(maker, contract)
    async with maker() as s:
        first_account = (await s.get(Contract, contract.id)).billing_account_id
    second = await add_account(maker, contract.subscriber_id)
    change_day = dt.date(2026, 4, 15)
    with today_is(monkeypatch, change_day):
        opened = (await client.get(f"/api/v1/contracts/{contract.id}", headers=agent_api)).json()
        changed = await client.post(f"/api/v1/contracts/{contract.id}/payer", headers=agent_api, json={
            "billing_account_id": second.id, "effective_date": change_day.isoformat(), "version": opened["version"]})
        assert changed.status_code == 200, changed.text
        assert [(p["billing_account_id"], p["start_date"], p["end_date"]) for p in changed.json()["payer_history"]] \
            == [(first_account, first_day.isoformat(), change_day.isoformat()),
                (second.id, change_day.isoformat(), None)]

    async def on(day: dt.date) -> dict[str, Any]:
        response = await client.get(f"/api/v1/services/{service.id}/relations", params={"on": day.isoformat()},
                                    headers=agent_api)
        assert response.status_code == 200, response.text
        return response.json()

    before_order = await on(dt.date(2026, 3, 1))
    assert (before_order["subscriber_id"], before_order["billing_account_id"]) == (None, None)
    assert (await on(dt.date(2026, 4, 14)))["billing_account_id"] == first_account
    assert (await on(change_day))["billing_account_id"] == second.id
    later = await on(dt.date(2026, 9, 1))
    assert (later["subscriber_id"], later["contract_number"]) == (contract.subscriber_id, contract.number)


async def test_a_stale_payer_change_is_a_409_with_the_current_contract(client, maker, agent_api):
    contract = await new_contract(maker)
    second = await add_account(maker, contract.subscriber_id)
    before = await db_state(maker)

    response = await client.post(f"/api/v1/contracts/{contract.id}/payer", headers=agent_api, json={
        "billing_account_id": second.id, "effective_date": clock.today().isoformat(),
        "version": contract.version + 5})

    body = assert_problem(response, 409, "stale_contract")
    assert (body["current"]["id"], body["current"]["version"]) == (contract.id, contract.version)
    assert await db_state(maker) == before


async def test_a_scheduled_payer_change_is_withdrawn_through_the_pending_endpoint(client, maker, agent_api):
    contract = await new_contract(maker)
    second = await add_account(maker, contract.subscriber_id)
    later = (clock.today() + dt.timedelta(days=20)).isoformat()
    changed = await client.post(f"/api/v1/contracts/{contract.id}/payer", headers=agent_api,
                                json={"billing_account_id": second.id, "effective_date": later})
    assert changed.status_code == 200, changed.text
    [pending] = changed.json()["pending"]
    assert (pending["action"], pending["effective_date"]) == ("change_payer", later)

    withdrawn = await client.post(f"/api/v1/pending/{pending['id']}/withdraw", headers=agent_api)

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await client.get(f"/api/v1/contracts/{contract.id}", headers=agent_api)).json()["pending"] == []


async def test_another_customers_account_needs_their_signed_consent(client, maker, agent_api):
    contract = await new_contract(maker)
    stranger = await add_party(maker)
    their_account = await add_account(maker, stranger.id)
    before = await db_state(maker)

    response = await client.post(f"/api/v1/contracts/{contract.id}/payer", headers=agent_api, json={
        "billing_account_id": their_account.id, "effective_date": clock.today().isoformat()})

    assert error_fields(assert_problem(response, 422)) == {"consent"}
    assert await db_state(maker) == before


# ---------------------------------------------------------------- transfers and representatives

async def _transfer_request(client, maker, headers,
                            effective_date: dt.date | None = None) -> tuple[Contract, Any, dict[str, Any]]:
    contract = await new_contract(maker)
    service = await order(maker, contract)
    await act(maker, service, "activate")
    new_party = await add_party(maker)
    new_account = await add_account(maker, new_party.id)
    async with maker() as s:
        old = await s.get(Party, contract.subscriber_id)
    old_doc = await register(maker, document_type="ownership_transfer", customer_number=old.customer_number)
    new_doc = await register(maker, document_type="ownership_transfer", customer_number=new_party.customer_number)
    response = await client.post(f"/api/v1/contracts/{contract.id}/transfers", headers=headers, json={
        "new_subscriber": new_party.customer_number, "new_billing_account_id": new_account.id,
        "effective_date": (effective_date or clock.today()).isoformat(), "old_party_document": old_doc.registry_number,
        "new_party_document": new_doc.registry_number})
    assert response.status_code == 201, response.text
    transfer = response.json()
    assert transfer["status"] == "awaiting_approval" and transfer["new_subscriber_id"] == new_party.id
    return contract, service, transfer


async def test_a_transfer_is_requested_by_an_agent_and_approved_only_by_a_supervisor(
        client, maker, agent_api, supervisor_api):
    contract, service, transfer = await _transfer_request(client, maker, agent_api)
    before = await db_state(maker)

    by_agent = await client.post(f"/api/v1/transfers/{transfer['id']}/approve", headers=agent_api)

    assert_problem(by_agent, 403)
    assert await db_state(maker) == before

    approved = await client.post(f"/api/v1/transfers/{transfer['id']}/approve", headers=supervisor_api,
                                 json={"note": "Both declarations signed", "version": transfer["version"]})

    assert approved.status_code == 200, approved.text
    decided = approved.json()
    assert decided["status"] == "completed" and decided["new_contract_id"]
    relations = (await client.get(f"/api/v1/services/{service.id}/relations", headers=agent_api)).json()
    assert (relations["subscriber_id"], relations["contract_id"]) == (transfer["new_subscriber_id"],
                                                                     decided["new_contract_id"])
    old = (await client.get(f"/api/v1/contracts/{contract.id}", headers=agent_api)).json()
    assert old["status"] == "ended" and old["successor_id"] == decided["new_contract_id"]
    new = (await client.get(f"/api/v1/contracts/{decided['new_contract_id']}", headers=agent_api)).json()
    assert new["predecessor_id"] == contract.id and [s["id"] for s in new["services"]] == [service.id]


async def test_a_supervisor_rejects_a_transfer_and_a_second_decision_is_a_409(client, maker, agent_api,
                                                                              supervisor_api):
    contract, _, transfer = await _transfer_request(client, maker, agent_api)

    rejected = await client.post(f"/api/v1/transfers/{transfer['id']}/reject", headers=supervisor_api,
                                 json={"note": "The signature does not match"})

    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["decision_note"]) == ("rejected",
                                                                             "The signature does not match")
    again = await client.post(f"/api/v1/transfers/{transfer['id']}/approve", headers=supervisor_api)
    assert_problem(again, 409, "transfer_decided")
    assert (await client.get(f"/api/v1/contracts/{contract.id}", headers=agent_api)).json()["status"] == "active"


async def test_a_stale_transfer_decision_is_a_409_with_the_current_transfer(client, maker, agent_api,
                                                                            supervisor_api):
    _, _, transfer = await _transfer_request(client, maker, agent_api)

    response = await client.post(f"/api/v1/transfers/{transfer['id']}/approve", headers=supervisor_api,
                                 json={"version": transfer["version"] + 1})

    body = assert_problem(response, 409, "stale_transfer")
    assert (body["current"]["id"], body["current"]["status"]) == (transfer["id"], "awaiting_approval")


async def test_an_approved_transfer_dated_ahead_is_pending_until_withdrawn(client, maker, agent_api, supervisor_api):
    contract, _, transfer = await _transfer_request(
        client, maker, agent_api, effective_date=clock.today() + dt.timedelta(days=5))
    approved = await client.post(f"/api/v1/transfers/{transfer['id']}/approve", headers=supervisor_api)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    [pending] = (await client.get(f"/api/v1/contracts/{contract.id}", headers=agent_api)).json()["pending"]
    assert (pending["action"], pending["label"]) == ("transfer", "Transfer of ownership")

    withdrawn = await client.post(f"/api/v1/pending/{pending['id']}/withdraw", headers=agent_api)

    assert withdrawn.status_code == 200, withdrawn.text
    shown = (await client.get(f"/api/v1/contracts/{contract.id}", headers=agent_api)).json()
    assert (shown["pending"], shown["transfers"][0]["status"], shown["status"]) == ([], "withdrawn", "active")


async def test_a_representative_is_added_shown_and_ended(client, maker, agent_api):
    contract = await new_contract(maker)
    deputy = await add_party(maker)

    added = await client.post(f"/api/v1/contracts/{contract.id}/representatives", headers=agent_api,
                              json={"customer_number": deputy.customer_number, "scope": "Ügyintézés"})

    assert added.status_code == 201, added.text
    rep = added.json()
    assert (rep["party_id"], rep["end_date"]) == (deputy.id, None)
    shown = (await client.get(f"/api/v1/contracts/{contract.id}", headers=agent_api)).json()
    assert [(r["id"], r["customer_number"]) for r in shown["representatives"]] == [(rep["id"],
                                                                                    deputy.customer_number)]
    twice = await client.post(f"/api/v1/contracts/{contract.id}/representatives", headers=agent_api,
                              json={"customer_number": deputy.customer_number})
    assert_problem(twice, 409, "representative_exists")

    ended = await client.delete(f"/api/v1/representatives/{rep['id']}", headers=agent_api)

    assert ended.status_code == 204, ended.text
    shown = (await client.get(f"/api/v1/contracts/{contract.id}", headers=agent_api)).json()
    assert shown["representatives"][0]["end_date"] is not None
    assert_problem(await client.delete(f"/api/v1/representatives/{rep['id']}", headers=agent_api), 404)


async def test_a_representative_needs_a_real_customer_number(client, maker, agent_api):
    contract = await new_contract(maker)
    for value, code in [("12345", "validation_failed"), ("999999999", "unknown_customer")]:
        response = await client.post(f"/api/v1/contracts/{contract.id}/representatives", headers=agent_api,
                                     json={"customer_number": value})
        assert error_fields(assert_problem(response, 422, code)) == {"customer_number"}


# ---------------------------------------------------------------- the OpenAPI document

async def test_the_openapi_document_tags_the_subscription_operations(app, client):
    await login(client, "agent")
    document = (await client.get("/schema/openapi.json")).json()
    mine = {
        (route.path.replace(":int", "").replace(":str", ""), method.lower())
        for route in app.routes if isinstance(route, HTTPRoute)
        for method in route.methods - {"HEAD", "OPTIONS"}
        for handler in [route.route_handler_map[method][0] if isinstance(route.route_handler_map[method], tuple)
                        else route.route_handler_map[method]]
        if handler.fn.__module__ == "backoffice.subscriptions.api"
    }
    listed = {(path, method): op for path, ops in document["paths"].items() for method, op in ops.items()}

    assert mine == {
        ("/api/v1/customers/{party_id}/contracts", "get"), ("/api/v1/customers/{party_id}/contracts", "post"),
        ("/api/v1/contracts/{contract_id}", "get"), ("/api/v1/contracts/{contract_id}/services", "post"),
        ("/api/v1/contracts/{contract_id}/payer", "post"), ("/api/v1/contracts/{contract_id}/transfers", "post"),
        ("/api/v1/contracts/{contract_id}/representatives", "post"),
        ("/api/v1/representatives/{representative_id}", "delete"),
        ("/api/v1/transfers/{transfer_id}/approve", "post"), ("/api/v1/transfers/{transfer_id}/reject", "post"),
        ("/api/v1/services/{service_id}", "get"), ("/api/v1/services/{service_id}/relations", "get"),
        ("/api/v1/services/{service_id}/preview/{action}", "post"),
        ("/api/v1/services/{service_id}/actions/{action}", "post"), ("/api/v1/pending/{pending_id}/withdraw", "post"),
    }
    assert mine <= set(listed)
    for key in mine:
        assert listed[key]["tags"] == ["subscriptions"], key
        assert listed[key].get("summary") or listed[key].get("description"), key
    action = listed[("/api/v1/services/{service_id}/actions/{action}", "post")]
    schema = action["requestBody"]["content"]["application/json"]["schema"]
    assert "$ref" in schema or "oneOf" in schema or "properties" in schema


async def test_every_subscription_route_declares_its_roles(app):
    for route in app.routes:
        for method, value in getattr(route, "route_handler_map", {}).items():
            handler = value[0] if isinstance(value, tuple) else value
            if handler.fn.__module__ == "backoffice.subscriptions.api" and method not in {"HEAD", "OPTIONS"}:
                assert route.path.startswith("/api/v1/") and handler.opt.get("roles"), (method, route.path)
