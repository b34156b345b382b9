"""Fixtures of the customer tests: a client signed in as an agent."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
async def agent(client: Any, signed_in: Any) -> Any:
    """The test client, signed in as the agent test user."""
    await signed_in(client, "agent")
    return client
