"""JSON API for documents."""

ROUTES: list = []
