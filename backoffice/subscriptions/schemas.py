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
        return Decimal(raw.replace(",", "."))
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
    vat_raw = c.raw("vat_rate").replace(",", ".")
    vat = Decimal(0)
    try:
        vat = Decimal(vat_raw)
        if not (0 <= vat <= 100) or vat != vat.quantize(Decimal("0.01")):
            raise InvalidOperation
    except InvalidOperation:
        c.fail("vat_rate", Msg(N_("Give the VAT rate in per cent, e.g. 27.")))
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
