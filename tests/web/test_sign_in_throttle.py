"""Password guessing is braked per client address; a person's typos never reach the brake."""

from __future__ import annotations

from backoffice.web.throttle import FailureThrottle
from tests.conftest import login


def test_the_throttle_allows_up_to_the_limit_within_the_window(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("backoffice.web.throttle.time.monotonic", lambda: clock[0])
    throttle = FailureThrottle(limit=3, window_seconds=60)
    for _ in range(3):
        assert throttle.allows("10.0.0.1")
        throttle.failed("10.0.0.1")
    assert not throttle.allows("10.0.0.1")
    assert throttle.allows("10.0.0.2")  # other addresses are not affected
    clock[0] += 61
    assert throttle.allows("10.0.0.1")  # the window slid past the failures


def test_the_throttle_forgets_the_oldest_address_when_full():
    throttle = FailureThrottle(limit=1, window_seconds=60, max_clients=2)
    throttle.failed("a")
    throttle.failed("b")
    throttle.failed("c")
    assert throttle.allows("a") and not throttle.allows("c")


async def test_thirty_failed_sign_ins_from_one_address_are_answered_429(app, client):
    for n in range(30):
        response = await login(client, f"nobody{n}", "guess")
        assert response.status_code == 422
    blocked = await login(client, "agent")  # even the right password waits now
    assert blocked.status_code == 429
    app.state.sign_in_throttle.clear()
    assert (await login(client, "agent")).status_code == 303


async def test_a_control_character_in_the_user_name_is_refused_not_a_server_error(client):
    response = await login(client, "agent\x00")
    assert response.status_code == 422
