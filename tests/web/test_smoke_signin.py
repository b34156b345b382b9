"""Sign-in gives a working session on the agent's start page."""

from tests.conftest import login


async def test_agent_signs_in_and_sees_the_search_page(client):
    response = await login(client, "agent")
    assert response.status_code == 303
    page = await client.get("/")
    assert page.status_code == 200
    assert 'name="q"' in page.text
