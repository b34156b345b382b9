"""Requests start in the order they arrived, one per turn of the event loop.

The event loop runs, on each turn, every callback that was ready when the turn began, then asks
the operating system which sockets have data. Under load a turn holds several new requests, each
run to its end (a page awaits nothing once its reads run on the loop's thread). A request that
arrives just after a turn began misses it, and waits for that whole turn and then for every
request of the next one that arrived before it: twice the wait of the others. With eight agents
at once that was one request in ten to thirty, and the 95th percentile was up to twice the median.

Here each request first joins a queue, and the queue lets one request start per turn, so the
loop looks at its sockets between any two requests and a request waits only for those that came
before it. The queue holds nothing once a request has started: a request that awaits (a write's
COMMIT, a file's fsync) lets the next one start, as before.
"""

from __future__ import annotations

import asyncio
import collections
import weakref

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send


class Turnstile:
    """Lets the waiting requests of one event loop through one per turn, first come first served."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._turning = False

    async def enter(self) -> None:
        entry = self._loop.create_future()
        self._waiting.append(entry)
        if not self._turning:
            self._turning = True
            self._loop.call_soon(self._admit)
        await entry

    def _admit(self) -> None:
        waiting = self._waiting
        while waiting:
            entry = waiting.popleft()
            if not entry.done():  # a client that gave up while waiting is skipped
                entry.set_result(None)
                break
        if waiting:
            self._loop.call_soon(self._admit)  # the next one on the next turn, after the sockets
        else:
            self._turning = False


class TurnstileMiddleware:
    """The outermost middleware: every HTTP request goes through its loop's turnstile first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._turnstiles: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Turnstile] = (
            weakref.WeakKeyDictionary())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            loop = asyncio.get_running_loop()
            turnstile = self._turnstiles.get(loop)
            if turnstile is None:
                turnstile = self._turnstiles[loop] = Turnstile(loop)
            await turnstile.enter()
        await self.app(scope, receive, send)
