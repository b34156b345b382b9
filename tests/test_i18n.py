"""The translation catalogues against the code: every marked string has a Hungarian translation.

The msgids come from a fresh in-process extraction with babel.cfg's method map, so a string
added to the code or a template without `make i18n` and a translation fails here. Fix by
running `make i18n` and translating the new entries in backoffice/locale/hu/LC_MESSAGES/messages.po
(remove any `#, fuzzy` flag once the guess is checked).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_python
from babel.messages.pofile import read_po
from babel.util import pathmatch
from jinja2 import Environment

from backoffice import i18n
from backoffice.customers.models import (
    BillDelivery,
    ConsentKind,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    IdDocumentType,
    PartyKind,
    PaymentMethod,
)
from backoffice.documents.models import AccessAction, Channel, Direction
from backoffice.staff.models import Role
from backoffice.subscriptions.models import (
    AccessTechnology,
    ContractStatus,
    NumberKind,
    NumberStatus,
    PendingStatus,
    ServiceKind,
    SuspensionBilling,
    TransferStatus,
)
from backoffice.subscriptions.rules import ServiceState

ROOT = Path(__file__).resolve().parents[1]
BABEL_CFG = ROOT / "babel.cfg"
LOCALE_DIR = ROOT / "backoffice" / "locale"
POT = LOCALE_DIR / "messages.pot"
ENUM_MARKS = ROOT / "backoffice" / "i18n_enums.py"
# Older Babel ignores per-section keywords in babel.cfg; name them here as well (as the Makefile does).
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "Msg": None}

# Values shown through `_(value)` that are not enums: search-hit kinds (customers search providers)
# and contact-point kinds (ContactPoint.kind).
SEARCH_HIT_KINDS = {"name", "phone", "customer_number", "account_number", "registry_number", "contract_number",
                    "service_number", "iccid", "invoice_number"}
CONTACT_POINT_KINDS = {"phone", "email"}
ENUM_VALUES = {
    member.value
    for enum_cls in (PartyKind, Role, ConsentKind, BillDelivery, PaymentMethod, ContactChannel,
                     ContactDirection, ContactOutcome, IdDocumentType, Direction, Channel, AccessAction,
                     ServiceKind, NumberKind, NumberStatus, SuspensionBilling, ServiceState, ContractStatus,
                     AccessTechnology, PendingStatus, TransferStatus)
    for member in enum_cls
} | SEARCH_HIT_KINDS | CONTACT_POINT_KINDS | {"free", "subscriber"}

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]")


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, object]]]:
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with BABEL_CFG.open() as fh:
        return parse(fh, str(BABEL_CFG))


@cache
def extracted() -> dict[str | tuple[str, ...], list[str]]:
    """Every msgid babel.cfg finds in the code and templates, with the files it appears in."""
    method_map, options_map = _mapping()
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault(message, []).append(filename)
    return found


def msgid_key(message: Message) -> str | tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else message.id


@cache
def catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale, abort_invalid=True)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def messages(cat: Catalog) -> Iterator[Message]:
    return (m for m in cat if m.id)


def strings(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string or ""]


def ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]


def where(key: str | tuple[str, ...]) -> str:
    return ", ".join(sorted(set(extracted().get(key, []))))


# ---------------------------------------------------------------- (d) the files parse


@pytest.mark.parametrize("path, locale", [(POT, None), (po_path("hu"), "hu"), (po_path("en"), "en")],
                         ids=["pot", "hu", "en"])
def test_catalogue_parses_cleanly(path: Path, locale: str | None) -> None:
    cat = catalog(path, locale)
    assert len(list(messages(cat))) > 0
    problems = [(m.id, [str(e) for e in errors]) for m, errors in cat.check() if errors]
    assert not problems, problems


def test_hungarian_header() -> None:
    cat = catalog(po_path("hu"), "hu")
    assert str(cat.locale) == "hu"
    assert cat.num_plurals == 1
    assert not cat.fuzzy


# ---------------------------------------------------------------- the catalogues are in step with the code


def test_extraction_finds_the_known_strings() -> None:
    found = extracted()
    # One from Python (Msg(N_(...))), one from a template, one multi-line, one enum mark.
    for msgid in ("This field is required.", "Sign in", "Welcome, %(name)s", "in_person",
                  "The form has expired or did not come from this site. Reload the page and try again."):
        assert msgid in found, msgid


def python_sources() -> Iterator[Path]:
    method_map, _options = _mapping()
    for pattern, method in method_map:
        if method != "python":
            continue
        base = pattern.split("*", 1)[0].rpartition("/")[0]
        for path in sorted((ROOT / base).rglob("*.py")):
            if pathmatch(pattern, path.relative_to(ROOT).as_posix()):
                yield path


def test_every_n_mark_holds_a_literal() -> None:
    """`N_(variable)`, or N_ inside another call inside Msg(...), is invisible to Babel: write
    `Msg(TITLES.get(status) or N_("Error"))`, not `Msg(TITLES.get(status, N_("Error")))`."""
    bad = []
    for path in python_sources():
        with path.open("rb") as fh:
            for lineno, funcname, message, _comments in extract_python(fh, KEYWORDS.keys(), [], {}):
                if funcname == "N_" and not isinstance(message, str):
                    bad.append(f"{path.relative_to(ROOT).as_posix()}:{lineno}")
    assert not bad, f"N_() without a literal string Babel can read: {bad}"


def test_pot_is_up_to_date() -> None:
    committed = {msgid_key(m) for m in messages(catalog(POT))}
    fresh = set(extracted())
    missing = sorted(map(str, fresh - committed))
    stale = sorted(map(str, committed - fresh))
    assert not missing and not stale, f"run `make i18n`: new {missing}, gone {stale}"


@pytest.mark.parametrize("language", ["hu", "en"])
def test_po_has_the_same_msgids_as_the_code(language: str) -> None:
    cat = catalog(po_path(language), language)
    present = {msgid_key(m) for m in messages(cat)}
    fresh = set(extracted())
    missing = sorted(map(str, fresh - present))
    stale = sorted(map(str, present - fresh))
    assert not missing and not stale, f"run `make i18n` ({language}): new {missing}, gone {stale}"


# ---------------------------------------------------------------- (a) every msgid is in Hungarian


def test_every_extracted_msgid_has_a_hungarian_translation() -> None:
    cat = catalog(po_path("hu"), "hu")
    untranslated = []
    for key in sorted(extracted(), key=str):
        message = cat.get(key if isinstance(key, str) else key[0])
        if message is None or message.fuzzy or not all(s.strip() for s in strings(message)):
            fuzzy = " [fuzzy]" if message is not None and message.fuzzy else ""
            untranslated.append(f"{key!r} ({where(key)}){fuzzy}")
    assert not untranslated, "translate in hu/LC_MESSAGES/messages.po:\n  " + "\n  ".join(untranslated)


# ---------------------------------------------------------------- (b) placeholders survive translation


@pytest.mark.parametrize("language", ["hu", "en"])
def test_placeholders_match(language: str) -> None:
    cat = catalog(po_path(language), language)
    wrong = []
    for message in messages(cat):
        wanted = sorted({name for msgid in ids(message) for name in PLACEHOLDER.findall(msgid)})
        for text in strings(message):
            if not text:
                continue  # falls back to the msgid
            if sorted(set(PLACEHOLDER.findall(text))) != wanted:
                wrong.append((message.id, text))
            # Jinja's newstyle gettext always %-formats: a lone % would break the template.
            if "%" in PLACEHOLDER.sub("", text).replace("%%", ""):
                wrong.append((message.id, text))
    assert not wrong, wrong


# ---------------------------------------------------------------- the enum values shown with _(value)


def test_every_displayed_enum_value_is_marked() -> None:
    with ENUM_MARKS.open("rb") as fh:
        marked = {msgs for _l, _f, msgs, _c in extract_python(fh, ["N_"], [], {}) if isinstance(msgs, str)}
    assert ENUM_VALUES - marked == set(), "add N_(...) to backoffice/i18n_enums.py"
    assert marked - ENUM_VALUES == set(), "i18n_enums.py holds only enum values"


def test_enum_values_read_well_in_both_languages() -> None:
    hu = catalog(po_path("hu"), "hu")
    en = catalog(po_path("en"), "en")
    for value in sorted(ENUM_VALUES):
        hu_message, en_message = hu.get(value), en.get(value)
        assert hu_message is not None and hu_message.string, value
        assert en_message is not None and en_message.string, f"give {value!r} a readable English label"
        assert "_" not in en_message.string, en_message.string


# ---------------------------------------------------------------- (c) what the application shows


@pytest.fixture
def language() -> Iterator[object]:
    tokens = []

    def use(lang: str) -> None:
        tokens.append(i18n.current_language.set(lang))

    yield use
    for token in reversed(tokens):
        i18n.current_language.reset(token)


@pytest.mark.parametrize(
    "lang, msgid, params, expected",
    [
        ("hu", "Sign in", {}, "Bejelentkezés"),
        ("hu", "Sign out", {}, "Kijelentkezés"),
        ("hu", "Customer number", {}, "Ügyfélszám"),
        ("hu", "Billing account", {}, "Számlázási fiók"),
        ("hu", "Welcome, %(name)s", {"name": "Kovács János"}, "Üdvözöljük, Kovács János!"),
        ("hu", "At most %(max)s characters.", {"max": 40}, "Legfeljebb 40 karakter."),
        ("hu", "in_person", {}, "személyes"),
        ("hu", "direct_debit", {}, "csoportos beszedési megbízás"),
        ("hu", "a string nobody marked", {}, "a string nobody marked"),
        ("en", "Sign in", {}, "Sign in"),
        ("en", "Welcome, %(name)s", {"name": "agent"}, "Welcome, agent"),
        ("en", "in_person", {}, "in person"),
        ("en", "bank_transfer", {}, "bank transfer"),
        ("en", "id_card", {}, "ID card"),
        ("en", "directory_listing", {}, "directory listing"),
        ("en", "customer_number", {}, "customer number"),
    ],
)
def test_gettext(language, lang: str, msgid: str, params: dict[str, object], expected: str) -> None:
    language(lang)
    assert i18n.gettext(msgid, **params) == expected


def test_msg_is_translated_in_the_language_of_whoever_reads_it(language) -> None:
    message = i18n.Msg(i18n.N_("Billing account %(number)s opened"), number="100000001-01")
    language("hu")
    assert str(message) == "Számlázási fiók megnyitva: 100000001-01"
    language("en")
    assert str(message) == "Billing account 100000001-01 opened"


def test_templates_translate_through_the_same_catalogue(language) -> None:
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    template = env.from_string("{{ _('No customer matches “%(q)s”.', q=q) }} {{ _(kind) }}")
    language("hu")
    assert template.render(q="<kovács>", kind="organisation") == "Nincs találat: „&lt;kovács&gt;”. szervezet"
    language("en")
    assert template.render(q="x", kind="postal_cheque") == "No customer matches “x”. postal cheque"


def test_stored_codes_are_shown_translated_and_escaped_never_as_markup():
    """`|t` shows a stored value in the reader's language as plain text: an unknown value with
    markup or a percent sign is escaped and shown as it is, not interpreted."""
    from jinja2 import Environment

    from backoffice.web.templating import configure

    class _Engine:
        engine = Environment(autoescape=True)

    configure(_Engine)  # type: ignore[arg-type]
    template = _Engine.engine.from_string("{{ value|t }}")
    token = i18n.current_language.set("hu")
    try:
        assert template.render(value="in_person") == i18n.label("in_person") != "in_person"
        assert template.render(value="<b>50%</b>") == "&lt;b&gt;50%&lt;/b&gt;"
    finally:
        i18n.current_language.reset(token)
