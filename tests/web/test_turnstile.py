"""Requests start in their order of arrival, one per turn of the event loop."""

from __future__ import annotations

import asyncio
import itertools

from litestar import Litestar

from backoffice.web.turnstile import Turnstile, TurnstileMiddleware


class _Turns:
    """Counts the turns of the running loop (one callback per turn)."""

    def __init__(self) -> None:
        self.count = 0
        self.running = True
        self.loop = asyncio.get_running_loop()
        self.loop.call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        if self.running:
            self.loop.call_soon(self._tick)


async def test_requests_start_in_their_order_of_arrival_one_per_turn_of_the_loop() -> None:
    turnstile = Turnstile(asyncio.get_running_loop())
    turns = _Turns()
    started: list[tuple[str, int]] = []

    async def request(name: str) -> None:
        await turnstile.enter()
        started.append((name, turns.count))

    await asyncio.gather(*(request(name) for name in "abcde"))
    turns.running = False
    assert [name for name, _ in started] == list("abcde")
    at = [turn for _, turn in started]
    assert all(later > earlier for earlier, later in itertools.pairwise(at)), at


async def test_a_request_given_up_while_waiting_is_skipped_and_the_queue_goes_on() -> None:
    turnstile = Turnstile(asyncio.get_running_loop())
    started: list[str] = []

    async def request(name: str) -> None:
        await turnstile.enter()
        started.append(name)

    first, gone, last = (asyncio.create_task(request(name)) for name in ("first", "gone", "last"))
    await asyncio.sleep(0)  # all three are waiting
    gone.cancel()
    await asyncio.gather(first, last)
    assert started == ["first", "last"] and gone.cancelled()
    await request("later")  # the turnstile is not left stuck
    assert started[-1] == "later"


async def test_a_request_that_awaits_lets_the_next_one_start() -> None:
    """The turnstile only orders the starts: a request waiting on I/O holds nothing."""
    turnstile = Turnstile(asyncio.get_running_loop())
    released = asyncio.Event()
    order: list[str] = []

    async def slow() -> None:
        await turnstile.enter()
        order.append("slow started")
        await released.wait()
        order.append("slow done")

    async def quick() -> None:
        await turnstile.enter()
        order.append("quick done")
        released.set()

    await asyncio.wait_for(asyncio.gather(slow(), quick()), timeout=5)
    assert order == ["slow started", "quick done", "slow done"]


async def test_the_turnstile_is_the_applications_outermost_middleware(app: Litestar) -> None:
    assert app.middleware[0] is TurnstileMiddleware
