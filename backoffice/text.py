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


def human_size(size: int) -> str:
    """`20 MB`, `64 KB`, `1.5 MB`: a size limit as people read it."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"
