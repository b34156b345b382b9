"""Recording customer contacts at wrap-up, and the automatic entries every action writes."""

from __future__ import annotations

import re

import pytest

from backoffice.customers.admin import set_reason_active
from tests.conftest import post_form
from tests.customers.helpers import add_party, audit_rows, contacts_of, db_state, field_error, reason
from tests.factories import account_form


def contact_form(reason: int | str, **overrides: str) -> dict[str, str]:
    data = {"channel": "phone", "direction": "inbound", "reason_id": str(reason), "outcome": "resolved",
            "notes": "Az ügyfél a novemberi számla összegét kérdezte; elmagyaráztam a díjtételeket."}
    data.update(overrides)
    return data


async def test_agent_records_a_contact_with_a_plain_form(agent, maker):
    party = await add_party(maker)
    question = await reason(maker, "billing_question")

    response = await post_form(agent, f"/customers/{party.id}/contacts",
                               contact_form(question.id, channel="chat", direction="outbound", outcome="follow_up"))

    assert response.status_code == 303
    assert response.headers["location"] == f"/customers/{party.id}#timeline"
    entry = (await contacts_of(maker, party.id))[-1]
    assert (entry.channel, entry.direction, entry.reason_id, entry.outcome) == (
        "chat", "outbound", question.id, "follow_up"
    )
    assert entry.notes.startswith("Az ügyfél a novemberi számla") and not entry.automatic
    assert entry.staff_name == "agent" and entry.staff_id is not None
    [audited] = await audit_rows(maker, "contact.record")
    assert audited.entity_id == str(entry.id) and audited.after["reason_id"] == question.id


async def test_a_recorded_contact_appears_on_the_customer_timeline(agent, maker):
    party = await add_party(maker)
    fault = await reason(maker, "technical_fault")
    await post_form(agent, f"/customers/{party.id}/contacts",
                    contact_form(fault.id, notes="A router tápegysége hibás, cserét kért."))

    page = await agent.get(f"/customers/{party.id}")

    assert page.status_code == 200
    timeline = page.text[page.text.index('id="timeline-items"'):]
    assert "Technical fault" in timeline
    assert "A router tápegysége hibás, cserét kért." in timeline
    assert "Customer created" in timeline  # the automatic entry, under the manual one
    assert timeline.index("A router tápegysége") < timeline.index("Customer created")


async def test_a_contact_recorded_over_htmx_answers_the_contact_panel_with_the_new_entry(agent, maker):
    party = await add_party(maker)
    sim = await reason(maker, "lost_sim")

    response = await post_form(agent, f"/customers/{party.id}/contacts",
                               contact_form(sim.id, notes="Elvesztette a SIM-kártyáját."),
                               headers={"hx-request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.text  # the fragment only
    assert 'class="card contact-form"' in response.text
    assert "Contact recorded." in response.text
    assert "Elvesztette a SIM-kártyáját." in response.text and "Lost or stolen SIM" in response.text
    assert (await contacts_of(maker, party.id))[-1].notes == "Elvesztette a SIM-kártyáját."


@pytest.mark.parametrize(
    ("field", "typed", "says"),
    [("channel", "", "Choose one."),
     ("channel", "system", "Choose one of the offered values"),  # only the system writes those
     ("channel", "telepathy", "Choose one of the offered values"),
     ("direction", "sideways", "Choose one of the offered values"),
     ("outcome", "", "Choose one."),
     ("reason_id", "", "This field is required."),
     ("reason_id", "kettő", "Give a whole number."),
     ("reason_id", "999999", "Choose one of the offered values"),
     ("reason_id", "99999999999999999999", "out of range")],
)
async def test_bad_contact_input_is_refused_beside_the_field_and_nothing_written(agent, maker, field, typed, says):
    party = await add_party(maker)
    form = contact_form((await reason(maker, "other")).id, **{field: typed})
    before = await db_state(maker)

    response = await post_form(agent, f"/customers/{party.id}/contacts", form)

    assert response.status_code == 422
    assert says in (field_error(response.text, field) or "")
    assert await db_state(maker) == before


async def test_bad_contact_input_over_htmx_answers_the_panel_with_messages_and_keeps_the_notes(agent, maker):
    party = await add_party(maker)
    before = await db_state(maker)

    response = await post_form(agent, f"/customers/{party.id}/contacts",
                               contact_form("", notes="Visszahívást kért.", outcome="nonsense"),
                               headers={"hx-request": "true"})

    assert response.status_code == 422
    assert "<html" not in response.text
    assert field_error(response.text, "reason_id") == "This field is required."
    assert field_error(response.text, "outcome") == "Choose one of the offered values."
    assert "Visszahívást kért.</textarea>" in response.text
    assert await db_state(maker) == before


@pytest.mark.parametrize(("notes", "says"), [("Hívás\x00vége", "control characters"), ("x" * 4001, "At most 4000")])
async def test_bad_notes_are_refused_with_a_message(agent, maker, notes, says):
    party = await add_party(maker)
    before = await db_state(maker)
    response = await post_form(agent, f"/customers/{party.id}/contacts",
                               contact_form((await reason(maker, "other")).id, notes=notes))
    assert response.status_code == 422
    assert says in response.text
    assert await db_state(maker) == before


async def test_a_retired_reason_is_not_offered_and_is_refused(agent, maker):
    party = await add_party(maker)
    retired = await reason(maker, "directory")
    async with maker() as s, s.begin():
        await set_reason_active(s, None, retired.id, False)

    page = await agent.get(f"/customers/{party.id}")
    assert f'<option value="{retired.id}"' not in page.text
    before = await db_state(maker)
    response = await post_form(agent, f"/customers/{party.id}/contacts", contact_form(retired.id))

    assert response.status_code == 422
    assert field_error(response.text, "reason_id") == "Choose one of the offered values."
    assert await db_state(maker) == before


async def test_records_staff_may_record_a_contact(client, signed_in, maker):
    await signed_in(client, "records")
    party = await add_party(maker)
    response = await post_form(client, f"/customers/{party.id}/contacts",
                               contact_form((await reason(maker, "information")).id, channel="letter"))
    assert response.status_code == 303
    assert (await contacts_of(maker, party.id))[-1].staff_name == "records"


async def test_a_contact_for_an_unknown_customer_answers_404(agent, maker):
    before = await db_state(maker)
    response = await post_form(agent, "/customers/424242/contacts", contact_form((await reason(maker, "other")).id))
    assert response.status_code == 404
    assert await db_state(maker) == before


async def test_every_action_writes_its_automatic_contact_entry(agent, maker):
    party = await add_party(maker)
    edit = await agent.get(f"/customers/{party.id}/edit")
    version = re.search(r'name="version" value="(\d+)"', edit.text).group(1)
    form = {"kind": "individual", "family_name": "Kiss", "given_name": party.given_name,
            "birth_date": str(party.birth_date), "birth_place": party.birth_place,
            "mother_birth_name": party.mother_birth_name, "postal_code": "1117", "locality": "Budapest XI.",
            "street": "Bartók Béla út", "house_number": "10", "version": version}
    assert (await post_form(agent, f"/customers/{party.id}", form)).status_code == 303
    assert (await post_form(agent, f"/customers/{party.id}/accounts", account_form())).status_code == 303
    assert (await post_form(agent, f"/customers/{party.id}/consents",
                            {"kind": "marketing", "granted": "1"})).status_code == 303

    automatic = [c for c in await contacts_of(maker, party.id) if c.automatic]
    assert [c.summary for c in automatic] == [
        "Customer created", "Customer data changed", "Billing account %(number)s opened", "Consent given: %(kind)s",
    ]
    assert {(c.channel, c.direction, c.outcome) for c in automatic} == {("system", "internal", "done")}
    assert [c.staff_name for c in automatic] == ["system", "agent", "agent", "agent"]
    page = (await agent.get(f"/customers/{party.id}")).text
    assert "Customer data changed" in page
    assert f"Billing account {party.customer_number}-01 opened" in page
    assert "Consent given: marketing" in page


async def test_older_contacts_are_fetched_page_by_page(agent, maker):
    party = await add_party(maker)
    other = (await reason(maker, "other")).id
    for n in range(55):
        await post_form(agent, f"/customers/{party.id}/contacts", contact_form(other, notes=f"Hívás {n}"))
    entries = await contacts_of(maker, party.id)
    page = (await agent.get(f"/customers/{party.id}")).text
    assert "Hívás 54" in page and "Hívás 4<" not in page and "Older contacts" in page

    oldest_shown = sorted(e.id for e in entries)[-50]
    more = await agent.get(f"/customers/{party.id}/timeline", params={"before": oldest_shown},
                           headers={"hx-request": "true"})
    assert more.status_code == 200 and "<html" not in more.text
    assert "Hívás 4<" in more.text and "Customer created" in more.text and "Hívás 5<" not in more.text
    # an id that is no contact of this customer pages nothing (and is no server error)
    beyond = await agent.get(f"/customers/{party.id}/timeline", params={"before": str(2**70)})
    assert beyond.status_code == 200 and "Hívás" not in beyond.text


async def test_timeline_pages_follow_time_order_even_when_ids_do_not(agent, maker):
    """Back-dated entries get higher ids than newer ones: paging must neither skip nor repeat."""
    import datetime as dt

    from backoffice.customers.models import Contact

    party = await add_party(maker)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    async with maker() as s, s.begin():
        # inserted newest first, so ids fall as time rises
        s.add_all(Contact(party_id=party.id, at=base + dt.timedelta(hours=80 - n), channel="phone",
                          direction="inbound", outcome="resolved", notes=f"note-{80 - n}", staff_name="t",
                          automatic=False, summary="") for n in range(80))
    seen: list[str] = []
    before = None
    while True:
        url = f"/customers/{party.id}/timeline" + (f"?before={before}" if before else "")
        page = (await agent.get(url)).text
        notes = re.findall(r"note-\d+", page)
        seen.extend(notes)
        more = re.search(r"before=(\d+)", page)
        if not more:
            break
        before = more.group(1)
    wanted = [f"note-{n}" for n in range(80, 0, -1)]
    assert [n for n in seen if n in wanted] == wanted
