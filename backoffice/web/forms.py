"""Reading submitted forms into plain dicts, and the optimistic-lock version field."""

from __future__ import annotations

from typing import Any

from litestar import Request


async def form_data(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    data: dict[str, str] = {}
    for key in form.keys():
        value = form.get(key)
        if isinstance(value, str):
            data[key] = value
    return data
