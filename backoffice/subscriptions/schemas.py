"""Input structures of the subscriptions domain, parsed from forms or JSON alike."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice.i18n import N_, Msg
from backoffice.validation import Collector

_MONEY = re.compile(r"^\d{1,9}([.,]\d{1,2})?$")
MONEY_FIELDS = ("monthly_fee", "suspension_fee", "commitment_monthly_discount", "early_termination_cap")
ALLOWANCE_FIELDS = ("included_minutes", "included_sms", "included_data_mb")


@dataclass
class PlanInput:
    name_hu: str
    name_en: str
    monthly_fee: Decimal
    suspension_fee: Decimal
    vat_rate: Decimal
    commitment_monthly_discount: Decimal
    early_termination_cap: Decimal
    included_minutes: int | None
    included_sms: int | None
    included_data_mb: int | None
    portal_selectable: bool
    active: bool


def _money(c: Collector, name: str) -> Decimal:
    raw = c.raw(name).replace(" ", "").replace("\u00a0", "")
    if not raw:
        c.fail(name, Msg(N_("This field is required.")))
        return Decimal(0)
    if not _MONEY.match(raw):
        c.fail(name, Msg(N_("Give an amount in forints, e.g. 2354.33 (net).")))
        return Decimal(0)
    try:
        return Decimal(raw.replace(",", ".")).quantize(Decimal("0.01"))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        c.fail(name, Msg(N_("Give an amount in forints, e.g. 2354.33 (net).")))
        return Decimal(0)


def _allowance(c: Collector, name: str) -> int | None:
    """Empty means unlimited; 0 means none included."""
    raw = c.raw(name)
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        c.fail(name, Msg(N_("Give a whole number, or leave it empty for unlimited.")))
        return None
    return int(raw)


def parse_plan(data: Mapping[str, Any]) -> PlanInput:
    c = Collector(data)
    name_hu = c.text("name_hu", required=True, max_length=120)
    name_en = c.text("name_en", required=True, max_length=120)
    money = {name: _money(c, name) for name in MONEY_FIELDS}
    vat = _vat(c)
    allowances = {name: _allowance(c, name) for name in ALLOWANCE_FIELDS}
    if not c.errors.get("commitment_monthly_discount") and not c.errors.get("early_termination_cap") \
            and money["early_termination_cap"] < money["commitment_monthly_discount"]:
        c.fail("early_termination_cap", Msg(N_("The cap cannot be less than one month's discount.")))
    c.check()
    return PlanInput(
        name_hu=name_hu or "", name_en=name_en or "", vat_rate=vat,
        portal_selectable=c.raw("portal_selectable") in {"1", "on", "true"},
        active=c.raw("active") in {"1", "on", "true"},
        **money, **allowances,  # type: ignore[arg-type]
    )


_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
KINDS = ("sim", "fixed_line", "cable_tv", "internet")


@dataclass
class AddOnInput:
    name_hu: str
    name_en: str
    price: Decimal
    vat_rate: Decimal
    recurring: bool
    portal: bool
    active: bool
    kinds: list[str]
    plan_codes: list[str] | None
    exclusive_group: str | None
    requires: list[str]
    conflicts: list[str]


def _codes(c: Collector, name: str) -> list[str]:
    """`data_5gb, data_20gb` → ["data_5gb", "data_20gb"]: catalogue codes, each checked for form."""
    codes = [part.strip() for part in re.split(r"[,\s]+", c.raw(name)) if part.strip()]
    bad = [code for code in codes if not _CODE.match(code)]
    if bad:
        c.fail(name, Msg(N_("Codes are lower-case letters, digits and _, separated by commas: %(bad)s"),
                         bad=", ".join(bad)))
    return list(dict.fromkeys(codes))


def _vat(c: Collector) -> Decimal:
    try:
        vat = Decimal(c.raw("vat_rate").replace(",", "."))
        if not (0 <= vat <= 100) or vat != vat.quantize(Decimal("0.01")):
            raise InvalidOperation
        return vat
    except InvalidOperation:
        c.fail("vat_rate", Msg(N_("Give the VAT rate in per cent, e.g. 27.")))
        return Decimal(0)


def parse_addon(data: Mapping[str, Any]) -> AddOnInput:
    c = Collector(data)
    name_hu = c.text("name_hu", required=True, max_length=120)
    name_en = c.text("name_en", required=True, max_length=120)
    price = _money(c, "price")
    vat = _vat(c)
    kinds = [kind for kind in KINDS if c.raw(f"kind_{kind}") in {"1", "on", "true"}]
    if not kinds:
        c.fail("kinds", Msg(N_("Tick at least one service kind.")))
    plan_codes = _codes(c, "plan_codes") or None
    group = c.raw("exclusive_group") or None
    if group is not None and not _CODE.match(group):
        c.fail("exclusive_group", Msg(N_("A group is a code: lower-case letters, digits and _.")))
    requires, conflicts = _codes(c, "requires"), _codes(c, "conflicts")
    both = set(requires) & set(conflicts)
    if both:
        c.fail("conflicts", Msg(N_("An add-on cannot both need and exclude %(codes)s."), codes=", ".join(sorted(both))))
    c.check()
    flag = {"1", "on", "true"}
    return AddOnInput(
        name_hu=name_hu or "", name_en=name_en or "", price=price, vat_rate=vat,
        recurring=c.raw("recurring") in flag, portal=c.raw("portal") in flag, active=c.raw("active") in flag,
        kinds=kinds, plan_codes=plan_codes, exclusive_group=group, requires=requires, conflicts=conflicts,
    )
