"""The Jinja environment: translations, filters for money, dates and phone numbers, and `page()`."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import BaseLoader, Environment, FileSystemLoader, nodes, pass_context
from jinja2.runtime import Context
from jinja2.visitor import NodeTransformer
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


def make_engine(directory: Path, auto_reload: bool = False) -> JinjaTemplateEngine:
    """The application's template engine: templates from `directory`, compiled once per language."""
    environment = LocalizedEnvironment(loader=LanguageLoader(FileSystemLoader(directory)), autoescape=True)
    engine = JinjaTemplateEngine.from_environment(environment)
    configure(engine, auto_reload=auto_reload)
    return engine


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
    variables kept per language. Phrases written in a template are translated when it is compiled
    (`LocalizedEnvironment`); what is left here is a message chosen at render time
    (`_(labels[action])`), which otherwise costs a catalogue lookup, a Markup and a %-format each
    time (new-style treats every message as a format string, so "%%" still becomes "%": the
    cached text is the formatted one)."""
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


# ---------------------------------------------------------------- one compiled template per language

_LANGUAGE_MARK = ":"


def _language_of(name: str | None) -> str | None:
    """"hu" for "hu:customers/customer.html"; None for a name without a language."""
    if not name:
        return None
    language, mark, _rest = name.partition(_LANGUAGE_MARK)
    return language if mark and language in i18n.LANGUAGES else None


class LanguageLoader(BaseLoader):
    """Loads "hu:customers/customer.html" as "customers/customer.html" from the loader it wraps."""

    def __init__(self, inner: BaseLoader) -> None:
        self.inner = inner

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if _language_of(template) is not None:
            template = template.partition(_LANGUAGE_MARK)[2]
        return self.inner.get_source(environment, template)

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()


class LocalizedEnvironment(Environment):
    """Compiles each template once per language, with the phrases written in it already translated.

    A page says forty or so fixed phrases (`_('Edit')`); called at render time, each costs a
    context call, a catalogue lookup and a %-format. Here a template is asked for in the reader's
    language ("hu:customers/customer.html"), what it extends, includes or imports inherits that
    language, and the parser replaces each `_('…')` without variables by its translation, which
    jinja then writes into the compiled template as text. `_()` with variables, or of a value
    (`_(kind)`), stays a call. Catalogues change only with a deploy, which restarts the process.
    """

    def get_template(self, name: Any, parent: str | None = None,
                     globals: MutableMapping[str, Any] | None = None) -> Any:
        if parent is None and isinstance(name, str) and _language_of(name) is None:
            name = f"{i18n.current_language.get()}{_LANGUAGE_MARK}{name}"
        return super().get_template(name, parent, globals)

    def join_path(self, template: str, parent: str) -> str:
        language = _language_of(parent)
        if language is None or _language_of(template) is not None:
            return template
        return f"{language}{_LANGUAGE_MARK}{template}"

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        language = _language_of(name)
        if language is None:
            return tree
        translated: nodes.Template = _TranslatePhrases(i18n.translations(language)).visit(tree)
        return translated


class _TranslatePhrases(NodeTransformer):
    """`_('Edit')` → the text "Szerkesztés", marked safe as `_()` marks it when autoescaping."""

    _CALLS = frozenset({"_", "gettext"})

    def __init__(self, catalogue: Any) -> None:
        self.catalogue = catalogue

    def visit_Call(self, node: nodes.Call) -> nodes.Node:  # noqa: N802 - the visitor's naming
        self.generic_visit(node)
        if not (isinstance(node.node, nodes.Name) and node.node.name in self._CALLS
                and len(node.args) == 1 and isinstance(node.args[0], nodes.Const)
                and isinstance(node.args[0].value, str)
                and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None):
            return node
        try:
            # What new-style gettext returns for a message without variables: the text %-formatted.
            text = self.catalogue.gettext(node.args[0].value) % {}
        except (KeyError, TypeError, ValueError):
            return node  # a phrase that wants variables: left to fail (or not) as a call would
        return nodes.MarkSafeIfAutoescape(nodes.Const(text, lineno=node.lineno), lineno=node.lineno)
