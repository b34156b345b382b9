"""A brake on password guessing: failed sign-ins per client address in a sliding window.

Kept in the process's memory: with several workers each counts its own share, which still
bounds guessing to a few dozen tries a minute per address.
"""

from __future__ import annotations

import time
from collections import deque


class FailureThrottle:
    def __init__(self, limit: int, window_seconds: float, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.get(client)
        if failures is None:
            return deque()
        while failures and now - failures[0] > self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def allows(self, client: str) -> bool:
        return len(self._recent(client, time.monotonic())) < self.limit

    def failed(self, client: str) -> None:
        now = time.monotonic()
        if client not in self._failures and len(self._failures) >= self.max_clients:
            self._failures.pop(next(iter(self._failures)))  # forget the oldest address
        failures = self._failures.setdefault(client, deque())
        failures.append(now)

    def clear(self) -> None:
        self._failures.clear()


def sign_in_throttle() -> FailureThrottle:
    """30 failures in 5 minutes from one address: far above a person's typos, far below a guessing run."""
    return FailureThrottle(limit=30, window_seconds=300)
