"""The universal search: each domain registers providers for its own keys.

Customers register name, phone and customer-number providers; later domains add contract
numbers, ICCIDs, invoice and registry numbers with `register(...)` and this module never
changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.text import fold


@dataclass(frozen=True)
class SearchHit:
    kind: str  # what matched: "name", "phone", "customer_number", ...
    label: str  # the line an agent reads first
    detail: str  # a second line: address, number, state
    url: str
    score: int  # higher first; exact identifier matches beat name matches


Provider = Callable[[AsyncSession, str, int], Awaitable[list[SearchHit]]]


@dataclass(frozen=True)
class _Registered:
    name: str
    provider: Provider


_providers: list[_Registered] = []


def register(name: str, provider: Provider) -> None:
    """Add a provider once (re-registering the same name replaces it, so imports are idempotent)."""
    for i, existing in enumerate(_providers):
        if existing.name == name:
            _providers[i] = _Registered(name, provider)
            return
    _providers.append(_Registered(name, provider))


def providers() -> list[str]:
    return [p.name for p in _providers]


MAX_QUERY_LENGTH = 100


async def search(session: AsyncSession, query: str, limit: int = 20) -> list[SearchHit]:
    text = " ".join(query.split())[:MAX_QUERY_LENGTH]
    if not text:
        return []
    hits: dict[str, SearchHit] = {}
    for registered in _providers:
        for hit in await registered.provider(session, text, limit):
            known = hits.get(hit.url)
            if known is None or hit.score > known.score:
                hits[hit.url] = hit
    return sorted(hits.values(), key=lambda h: (-h.score, _collation_key(h.label)))[:limit]


def _collation_key(text: str) -> tuple[str, str]:
    """Accented letters sort with their base letter (Ágnes beside Agnes, not after Zsanett)."""
    return fold(text), text
