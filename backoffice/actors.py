"""Who acts: the signed-in staff member (or API token holder) passed to every service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    id: int
    username: str
    role: str
    language: str
    full_name: str = ""
    via_token: bool = False
