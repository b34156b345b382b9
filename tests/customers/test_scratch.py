from sqlalchemy import select
from tests.conftest import post_form
from backoffice.customers.models import PartyNameToken


async def test_scratch(client, signed_in, maker):
    await signed_in(client, "agent")
    r = await post_form(client, "/customers", {"kind": "organisation", "organisation_name": "A"*120 + " " + "A"*110, "tax_number": "12345676-2-41", "postal_code": "1117", "locality": "Budapest", "street": "Fo utca", "house_number": "1"})
    print("long org", r.status_code)
    async with maker() as s:
        print([(len(t.token), t.party_id) for t in await s.scalars(select(PartyNameToken))])
        from backoffice.customers.models import Party
        print("parties", list(await s.scalars(select(Party.id))))
    r = await client.get("/customers/1")
    print(r.status_code)
