"""The customer page runs a fixed number of SQL statements, however much the customer has."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, select

from backoffice.customers.models import ContactReason
from tests.customers.helpers import add_account, add_party
from tests.factories import ContactFactory


@contextmanager
def counting_statements(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def customer_with(maker, contacts: int, accounts: int):
    """A customer with that many recorded contacts (besides the automatic entries) and billing accounts."""
    party = await add_party(maker)
    for _ in range(accounts):
        await add_account(maker, party.id)
    async with maker() as s, s.begin():
        reason_ids = list(await s.scalars(select(ContactReason.id).order_by(ContactReason.id)))
        # varied reasons, so that a lazy load per reason would show
        s.add_all(ContactFactory.build(party_id=party.id, reason_id=reason_ids[n % len(reason_ids)])
                  for n in range(contacts))
    return party


async def statements_for_page(agent, engine, party_id: int) -> tuple[list[str], str]:
    await agent.get(f"/customers/{party_id}")  # warm-up: the session touch and caches are not what we count
    with counting_statements(engine) as statements:
        response = await agent.get(f"/customers/{party_id}")
    assert response.status_code == 200
    return statements, response.text


async def test_the_customer_page_runs_as_many_statements_for_a_big_customer_as_for_a_small_one(agent, app, maker):
    small = await customer_with(maker, contacts=1, accounts=1)
    big = await customer_with(maker, contacts=120, accounts=5)

    small_statements, small_page = await statements_for_page(agent, app.state.engine, small.id)
    big_statements, big_page = await statements_for_page(agent, app.state.engine, big.id)

    # the pages really differ in size: the comparison is not between two empty pages
    assert small_page.count('<li class="tl manual') == 1 and small_page.count('<li class="tl ') == 3
    assert big_page.count('<li class="tl ') == 50 and big_page.count('<li class="tl manual') > 40
    # Each of the five accounts links to its edit form and to its invoices.
    assert big_page.count('href="/accounts/') == 10 and "Older contacts" in big_page
    # the auth middleware's statements are the same for both, so the totals must be equal
    assert len(big_statements) == len(small_statements), "\n".join(big_statements)
    assert 5 <= len(big_statements) < 20, big_statements  # the page really is counted: party, consents, ...
