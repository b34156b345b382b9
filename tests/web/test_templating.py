"""Templates are compiled once per language, with the phrases written in them already translated."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import DictLoader
from litestar.utils.sync import ensure_async_callable

from backoffice import i18n
from backoffice.web.guards import access_guard
from backoffice.web.templating import LanguageLoader, LocalizedEnvironment, configure, make_engine

TEMPLATES = {
    "page.html": "<h1>{{ _('Edit') }}</h1>{% include 'part.html' %}",
    "part.html": "<p>{{ _('Sign out') }}</p>",
    "with_variables.html": "{{ _('No customer matches “%(q)s”.', q=q) }}",
    "of_a_value.html": "{{ _(kind) }}|{{ kind|t }}",
    "extends.html": "{% extends 'base.html' %}{% block b %}{{ _('Edit') }}{% endblock %}",
    "base.html": "[{% block b %}{% endblock %}]{{ _('Sign out') }}",
    "macro_user.html": "{% from 'macros.html' import m %}{{ m() }}",
    "macros.html": "{% macro m() %}{{ _('Edit') }}{% endmacro %}",
    "percent.html": "{{ _('50%% off') }}",
}


@pytest.fixture
def env():
    class _Engine:
        engine = LocalizedEnvironment(loader=LanguageLoader(DictLoader(TEMPLATES)), autoescape=True)

    configure(_Engine)  # type: ignore[arg-type]
    return _Engine.engine


def _render(env, language: str, name: str, **context: object) -> str:
    token = i18n.current_language.set(language)
    try:
        return env.get_template(name).render(**context)
    finally:
        i18n.current_language.reset(token)


def _translated(language: str, msgid: str) -> str:
    return i18n.translations(language).gettext(msgid)


def test_a_template_is_compiled_once_per_language_with_its_phrases_translated(env) -> None:
    hu = _render(env, "hu", "page.html")
    en = _render(env, "en", "page.html")
    assert hu == f"<h1>{_translated('hu', 'Edit')}</h1><p>{_translated('hu', 'Sign out')}</p>"
    assert en == "<h1>Edit</h1><p>Sign out</p>"
    assert hu != en
    token = i18n.current_language.set("hu")
    try:
        assert env.get_template("page.html").name == "hu:page.html"
    finally:
        i18n.current_language.reset(token)
    # The phrase is text in the compiled template, not a call made at each render.
    source = env.compile(env.loader.get_source(env, "hu:page.html")[0], "hu:page.html", raw=True)
    assert _translated("hu", "Edit") in source
    assert "'Edit'" not in source


@pytest.mark.parametrize("name", ["extends.html", "macro_user.html"])
def test_what_a_template_extends_or_imports_is_in_the_same_language(env, name: str) -> None:
    for language in i18n.LANGUAGES:
        assert _translated(language, "Edit") in _render(env, language, name)
    assert "[Edit]Sign out" == _render(env, "en", "extends.html")


def test_a_phrase_with_variables_or_of_a_value_is_still_translated_when_rendered(env) -> None:
    assert _render(env, "hu", "with_variables.html", q="<b>") == "Nincs találat: „&lt;b&gt;”."
    assert _render(env, "en", "with_variables.html", q="x") == "No customer matches “x”."
    assert _render(env, "hu", "of_a_value.html", kind="organisation") == "szervezet|szervezet"
    assert _render(env, "en", "of_a_value.html", kind="organisation") == "organisation|organisation"


def test_a_folded_phrase_is_formatted_as_gettext_formats_it(env) -> None:
    """New-style gettext %-formats every message, so "%%" shows as "%"; folding keeps that."""
    assert _render(env, "en", "percent.html") == "50% off"


def test_the_applications_templates_compile_in_every_language() -> None:
    engine = make_engine(Path(__file__).resolve().parents[2] / "templates")
    names = engine.engine.list_templates()
    assert "customers/customer.html" in names
    for language in i18n.LANGUAGES:
        for name in names:
            engine.engine.get_template(f"{language}:{name}")


def test_the_access_guard_runs_on_the_event_loop_not_in_a_thread() -> None:
    """Litestar hands a plain-function guard to its thread pool on every request."""
    assert ensure_async_callable(access_guard) is access_guard
