"""Folding text for matching and ordering: one rule, so search, sorting and seeding agree."""

from __future__ import annotations

import re

from unidecode import unidecode


def fold(text: str) -> str:
    """`Kovács Łukasz` → `kovacs lukasz`: accents and case dropped, everything else kept."""
    return unidecode(text).lower()


def normalise(text: str) -> str:
    """Folded, with every run of non-alphanumerics one space: the form names are indexed in."""
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()
