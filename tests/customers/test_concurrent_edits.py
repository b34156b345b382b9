"""Two agents saving the same customer at once: the second gets a conflict, never a silent overwrite
or a server error, even when both passed the version check before either wrote."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from backoffice.actors import Principal
from backoffice.customers import services
from backoffice.customers.models import BillingAccount, Party
from backoffice.db import WRITE_INTENT
from backoffice.errors import ConflictError
from tests.customers.helpers import add_account, add_party
from tests.factories import BillingAccountInputFactory, PartyInputFactory

AGENT = Principal(1, "agent", "agent", "hu")


@pytest.fixture(autouse=True)
def first_agent_reads_without_the_write_lock():
    """On SQLite the first agent's read must not hold the write lock, or the second agent could
    not save in between (in the app, a form's GET and its POST are separate requests)."""
    token = WRITE_INTENT.set(False)
    yield
    WRITE_INTENT.reset(token)


async def test_a_change_committed_between_read_and_write_makes_the_party_save_a_conflict(maker):
    party = await add_party(maker)
    async with maker() as first:
        await services.get_party(first, party.id)  # the first agent's form was read at version 1
        async with maker() as second, second.begin():  # the second agent saves meanwhile
            WRITE_INTENT.set(True)
            await second.execute(update(Party).where(Party.id == party.id).values(version=Party.version + 1))
        with pytest.raises(ConflictError) as conflict:
            await services.update_party(first, AGENT, party.id, PartyInputFactory.build(), expected_version=1)
    assert conflict.value.code == "stale_version"


async def test_a_change_committed_between_read_and_write_makes_the_account_save_a_conflict(maker):
    party = await add_party(maker)
    account = await add_account(maker, party.id)
    async with maker() as first:
        await services.get_billing_account(first, account.id)
        async with maker() as second, second.begin():
            WRITE_INTENT.set(True)
            await second.execute(
                update(BillingAccount).where(BillingAccount.id == account.id).values(version=BillingAccount.version + 1)
            )
        with pytest.raises(ConflictError):
            await services.update_billing_account(
                first, AGENT, account.id, BillingAccountInputFactory.build(), expected_version=1
            )


async def test_a_party_has_at_most_one_open_consent_of_a_kind(maker):
    """The database itself refuses a second open period, whatever races the services lose."""
    import datetime as dt

    from sqlalchemy.exc import IntegrityError

    from backoffice.customers.models import Consent

    party = await add_party(maker)
    WRITE_INTENT.set(True)
    async with maker() as s, s.begin():
        s.add(Consent(party_id=party.id, kind="marketing", given_on=dt.date(2026, 1, 5)))
    with pytest.raises(IntegrityError):
        async with maker() as s, s.begin():
            s.add(Consent(party_id=party.id, kind="marketing", given_on=dt.date(2026, 2, 5)))
    async with maker() as s, s.begin():  # a withdrawn period does not count
        await s.execute(update(Consent).values(withdrawn_on=dt.date(2026, 3, 1)))
        s.add(Consent(party_id=party.id, kind="marketing", given_on=dt.date(2026, 4, 1)))
