"""Agent and records screens for documents."""

ROUTES: list = []
