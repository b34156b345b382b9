"""The Jinja environment: translations, filters for money, dates and phone numbers, and `page()`."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from litestar import MediaType, Request
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.response import Template
from markupsafe import Markup

from backoffice import i18n
from backoffice.identifiers import iban_display, phone_display

BUDAPEST = ZoneInfo("Europe/Budapest")


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(BUDAPEST).strftime(fmt)


def huf(value: decimal.Decimal | int | None) -> str:
    if value is None:
        return ""
    amount = decimal.Decimal(value).quantize(decimal.Decimal("1"), rounding=decimal.ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(int(amount)):,}".replace(",", "\u00a0")
    return f"{sign}{digits}\u00a0Ft"


def configure(engine: JinjaTemplateEngine, auto_reload: bool = False) -> None:
    env: Environment = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = env.globals["_"] = _cached_gettext(env.globals["gettext"])
    env.filters["local_time"] = local_time
    env.filters["huf"] = huf
    env.filters["phone"] = phone_display
    env.filters["iban"] = iban_display
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["current_language"] = i18n.current_language.get
    env.globals["Msg"] = i18n.Msg
    # `{{ value|t }}`: a stored code (kind, channel, role...) in the reader's language, as plain
    # text that autoescape then escapes (the `_()` of templates returns Markup, meant for msgids
    # written in the template, and would apply %-formatting to the value).
    env.filters["t"] = lambda value: i18n.label(str(value)) if value is not None else ""
    env.filters["zip_translate"] = lambda values: [(v, i18n.label(v)) for v in values]
    env.filters["reason_options"] = lambda reasons: [(r.id, r.name(i18n.current_language.get())) for r in reasons]
    # Templates change only with a deploy (a restart); checking their mtime costs every render.
    env.auto_reload = auto_reload
    env.trim_blocks = True
    env.lstrip_blocks = True


_GETTEXT_CACHE_MAX = 8192


def _cached_gettext(newstyle: Any) -> Any:
    """The templates' `_()`: jinja's new-style gettext, with the translation of a message without
    variables kept per language. A page says forty or so fixed phrases, and each one otherwise
    costs a catalogue lookup, a Markup and a %-format (new-style treats every message as a format
    string, so "%%" still becomes "%": the cached text is the formatted one)."""
    cache: dict[tuple[str, str], Markup] = {}

    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> Any:
        if variables or not context.eval_ctx.autoescape or not isinstance(message, str):
            return newstyle(context, message, **variables)
        key = (i18n.current_language.get(), message)
        text = cache.get(key)
        if text is None:
            if len(cache) >= _GETTEXT_CACHE_MAX:
                cache.clear()  # only a template that translates computed strings gets here
            # Trusted as jinja trusts it: the catalogue is ours, and the text escapes nothing given.
            text = cache[key] = Markup(i18n.gettext(message)) % {}  # noqa: S704
        return text

    return gettext


def is_fragment_request(request: Request[Any, Any, Any]) -> bool:
    """HTMX asks for the fragment; a plain or boosted request gets the full page."""
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-boosted")


def page(template: str, status: int = 200, **context: Any) -> Template:
    return Template(template_name=template, context=context, status_code=status, media_type=MediaType.HTML)
