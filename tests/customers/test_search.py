"""The agents' customer search: names without accents, phone numbers in any format, customer and
account numbers; fragment or full page; providers registered by the domains."""

from __future__ import annotations

import pytest

from backoffice import search
from backoffice.search import SearchHit
from tests.customers.helpers import add_account, add_party
from tests.factories import OrganisationInputFactory

EMPTY = "No customer matches"


@pytest.fixture
async def people(maker):
    """A few customers with similar names, and the phone number of the one we look for."""
    janos = await add_party(maker, family_name="Kovács", given_name="János", phones=["+36301234567"])
    others = [  # Kovács Éva, Kovacsics Jenő, Nagy János
        await add_party(maker, family_name="Kovács", given_name="Éva", phones=["+36209876543"]),
        await add_party(maker, family_name="Kovacsics", given_name="Jenő", phones=["+3612345678"]),
        await add_party(maker, family_name="Nagy", given_name="János", phones=["+36701112233"]),
    ]
    org = await add_party(maker, OrganisationInputFactory, organisation_name="Kovács és Társa Építő Kft.",
                          phones=["+3662123456"])
    return {"janos": janos, "others": others, "org": org}


async def find(agent, q: str, **headers: str) -> str:
    response = await agent.get("/search", params={"q": q}, headers={"hx-request": "true", **headers})
    assert response.status_code == 200, response.text
    return response.text


def found(fragment: str, party) -> bool:
    return f'href="/customers/{party.id}"' in fragment


@pytest.mark.parametrize("q", ["kovacs janos", "Kovács János", "KOVÁCS JÁNOS", "kov jan", "janos kovacs",
                               "János Kovács", "  kovacs   janos  ", "kovács, jános"])
async def test_name_search_finds_the_customer_whatever_accents_case_order_or_prefix(agent, people, q):
    fragment = await find(agent, q)
    assert found(fragment, people["janos"])
    assert not found(fragment, people["others"][0])  # Kovács Éva: given name does not match
    assert not found(fragment, people["others"][2])  # Nagy János: family name does not match


async def test_one_name_word_finds_everyone_it_prefixes(agent, people):
    fragment = await find(agent, "KOVÁCS")
    assert found(fragment, people["janos"]) and found(fragment, people["others"][0])
    assert found(fragment, people["org"])
    assert found(fragment, people["others"][1])  # "kovacs" is a prefix of "kovacsics"
    assert not found(fragment, people["others"][2])  # Nagy János


async def test_three_or_more_name_words_narrow_the_search(agent, people):
    fragment = await find(agent, "kovacs es tarsa")
    assert found(fragment, people["org"])
    assert not found(fragment, people["janos"])
    assert found(await find(agent, "Kovács és Társa Építő Kft"), people["org"])


async def test_an_exact_name_is_listed_before_a_prefix_match(agent, maker):
    prefix = await add_party(maker, family_name="Kovács", given_name="Jánoska")
    exact = await add_party(maker, family_name="Kovács", given_name="János")
    fragment = await find(agent, "kovacs janos")
    assert fragment.index(f'href="/customers/{exact.id}"') < fragment.index(f'href="/customers/{prefix.id}"')


@pytest.mark.parametrize("q", ["06 30 123 4567", "+36301234567", "0036 30 1234567", "06-30-123-4567",
                               "+36 (30) 123 4567"])
async def test_phone_search_finds_the_customer_in_any_format(agent, people, q):
    fragment = await find(agent, q)
    assert found(fragment, people["janos"])
    assert "+36 30 123 4567" in fragment
    assert fragment.count('href="/customers/') == 1


async def test_a_landline_number_finds_its_customer(agent, people):
    assert found(await find(agent, "06 62 123 456"), people["org"])


async def test_customer_number_finds_the_customer(agent, people):
    fragment = await find(agent, people["janos"].customer_number)
    assert found(fragment, people["janos"])
    assert fragment.count('href="/customers/') == 1


async def test_billing_account_number_finds_the_payer(agent, maker, people):
    await add_account(maker, people["janos"].id)
    second = await add_account(maker, people["janos"].id)
    assert second.account_number == f"{people['janos'].customer_number}-02"

    fragment = await find(agent, second.account_number)

    assert found(fragment, people["janos"])
    assert second.account_number in fragment
    assert fragment.count('href="/customers/') == 1


async def test_the_first_customer_number_and_its_first_account_are_found(agent, maker):
    first = await add_party(maker, family_name="Első", given_name="Ügyfél")
    assert first.customer_number == "100000001"
    await add_account(maker, first.id)
    assert found(await find(agent, "100000001"), first)
    assert "100000001-01" in await find(agent, "100000001-01")


@pytest.mark.parametrize("q", ["Szentgyörgyi", "06 30 999 9999", "999999999", "999999999-01", "xyz abc def ghi",
                               "%", "'; drop table parties; --", "\x00"])
async def test_no_hit_answers_the_empty_message(agent, people, q):
    fragment = await find(agent, q)
    assert EMPTY in fragment
    assert 'href="/customers/' not in fragment


async def test_an_htmx_search_answers_the_fragment_and_a_plain_one_the_whole_page(agent, people):
    fragment = await find(agent, "kovacs janos")
    assert "<html" not in fragment and 'class="hits"' in fragment

    page = await agent.get("/search", params={"q": "kovacs janos"})
    assert page.status_code == 200
    assert "<html" in page.text and 'name="q"' in page.text and 'value="kovacs janos"' in page.text
    assert found(page.text, people["janos"])


async def test_a_boosted_request_gets_the_whole_page(agent, people):
    text = await find(agent, "kovacs janos", **{"hx-boosted": "true"})
    assert "<html" in text and found(text, people["janos"])


async def test_an_empty_search_shows_no_results_and_no_empty_message(agent, people):
    fragment = await find(agent, "   ")
    assert EMPTY not in fragment and 'href="/customers/' not in fragment


async def test_search_needs_a_signed_in_user(client):
    response = await client.get("/search", params={"q": "kovacs"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_a_domain_can_register_its_own_search_provider(agent, people, monkeypatch):
    # A later domain (say, subscriptions and their ICCIDs) registers a provider; search.py stays as it is.
    monkeypatch.setattr(search, "_providers", list(search._providers))  # restored after the test
    seen: list[str] = []

    async def by_iccid(session, query: str, limit: int) -> list[SearchHit]:
        seen.append(query)
        if query != "8936301234567890123":
            return []
        return [SearchHit("iccid", "Kovács János", "SIM 8936 3012 3456 7890 123", f"/customers/{people['janos'].id}",
                          95)]

    search.register("tests.iccid", by_iccid)
    assert "tests.iccid" in search.providers()

    fragment = await find(agent, "8936301234567890123")

    assert seen == ["8936301234567890123"]
    assert found(fragment, people["janos"]) and "SIM 8936 3012 3456 7890 123" in fragment


async def test_registering_a_provider_again_replaces_it(monkeypatch):
    monkeypatch.setattr(search, "_providers", list(search._providers))

    async def nothing(session, query, limit):
        return []

    count = len(search.providers())
    search.register("tests.nothing", nothing)
    search.register("tests.nothing", nothing)
    assert len(search.providers()) == count + 1


async def test_the_best_hit_for_a_customer_wins_and_identifier_hits_come_first(session, monkeypatch):
    monkeypatch.setattr(search, "_providers", [])

    async def weak(session, query, limit):
        return [SearchHit("name", "B", "", "/customers/1", 50), SearchHit("name", "A", "", "/customers/2", 50)]

    async def strong(session, query, limit):
        return [SearchHit("phone", "B", "", "/customers/1", 90)]

    search.register("weak", weak)
    search.register("strong", strong)
    hits = await search.search(session, "anything")
    assert [(h.url, h.kind) for h in hits] == [("/customers/1", "phone"), ("/customers/2", "name")]


def test_the_registry_is_back_to_the_customer_providers():
    # run after the tests above: their providers are gone again
    assert not [name for name in search.providers() if name.startswith("tests.") or name in ("weak", "strong")]
