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


# ---------------------------------------------------------------- contracts and services

_FLAG = {"1", "on", "true", "True", "yes"}
_REGISTRY = re.compile(r"^\d{4}/\d{1,6}-\d{1,6}$")


@dataclass
class ContractInput:
    billing_account_id: int
    commitment_months: int
    payer_consent: str | None  # registry number of the payer's signed consent, when another party pays


def _registry_number(c: Collector, name: str, *, required: bool = False) -> str | None:
    value = c.text(name, required=required, max_length=24)
    if value is not None and not _REGISTRY.match(value):
        c.fail(name, Msg(N_("A registry number looks like 2026/000123-1.")))
        return None
    return value


def parse_contract(data: Mapping[str, Any]) -> ContractInput:
    c = Collector(data)
    account = c.integer("billing_account_id", required=True)
    commitment = c.choice("commitment_months", ["0", "12", "24"])
    consent = _registry_number(c, "payer_consent")
    c.check()
    assert account is not None and commitment is not None
    return ContractInput(account, int(commitment), consent)


@dataclass
class ServiceOrderInput:
    kind: str
    plan_code: str
    number: str | None = None  # a chosen number from the pool; None takes the next free one
    iccid: str | None = None
    imsi: str | None = None
    puk: str | None = None
    access_technology: str | None = None
    cpe_mac: str | None = None
    set_top_boxes: list[str] | None = None
    install_postal_code: str | None = None
    install_locality: str | None = None
    install_street: str | None = None
    install_house_number: str | None = None
    install_floor_door: str | None = None


_SERIAL = re.compile(r"^[A-Z0-9-]{4,30}$")


def parse_service_order(data: Mapping[str, Any]) -> ServiceOrderInput:
    """What each kind needs (PRODUCT.md's table): SIM identifiers, or an installation address and
    the kind's equipment. The number is checked against the pool by the service."""
    from backoffice import identifiers

    c = Collector(data)
    kind = c.choice("kind", KINDS)
    plan = c.text("plan_code", required=True, max_length=40)
    order = ServiceOrderInput(kind=kind or "", plan_code=plan or "", number=c.text("number", max_length=20))
    if kind == "sim":
        order.iccid = c.identifier("iccid", identifiers.iccid, required=True)
        order.imsi = c.identifier("imsi", identifiers.imsi, required=True)
        puk = c.raw("puk")
        if not (puk.isdigit() and len(puk) == 8):
            c.fail("puk", Msg(N_("A PUK is 8 digits.")))
        order.puk = puk
    if kind in {"fixed_line", "cable_tv", "internet"}:
        from backoffice.identifiers import postal_code

        order.install_postal_code = c.identifier("install_postal_code", postal_code, required=True)
        order.install_locality = c.text("install_locality", required=True, max_length=100)
        order.install_street = c.text("install_street", required=True, max_length=200)
        order.install_house_number = c.text("install_house_number", required=True, max_length=20)
        order.install_floor_door = c.text("install_floor_door", max_length=40)
    if kind == "internet":
        order.access_technology = c.choice("access_technology", ["dsl", "cable", "fibre"])
        order.cpe_mac = c.identifier("cpe_mac", identifiers.mac_address, required=True)
    if kind == "cable_tv":
        serials = [s.strip().upper() for s in re.split(r"[,\s]+", c.raw("set_top_boxes")) if s.strip()]
        if not serials:
            c.fail("set_top_boxes", Msg(N_("Give the serial number of at least one set-top box.")))
        elif any(not _SERIAL.match(s) for s in serials) or len(serials) > 8:
            c.fail("set_top_boxes", Msg(N_("Serial numbers are letters, digits and dashes, separated by commas "
                                            "(at most 8 boxes).")))
        order.set_top_boxes = list(dict.fromkeys(serials))
    c.check()
    return order


WHEN_CHOICES = ("now", "month_end", "date")


@dataclass
class ActionInput:
    """One lifecycle action's parameters, as a form or the API sends them. Which fields matter
    depends on the action; the service reads only its own and says what is missing."""

    action: str
    reason: str | None = None
    when: str = "now"  # now | month_end | date (with `date`)
    date: Any = None  # dt.date | None
    end_date: Any = None  # a voluntary suspension's last day + 1 (the day it works again)
    imei: str | None = None
    note: str = ""
    arrangement: bool = False  # lifting a dunning hold: an arrangement was agreed
    iccid: str | None = None
    imsi: str | None = None
    puk: str | None = None
    plan_code: str | None = None
    addon_code: str | None = None

    def params(self) -> dict[str, Any]:
        """What a pending action keeps to be applied later (JSON-safe)."""
        out = {k: v for k, v in self.__dict__.items() if v not in (None, "", False)}
        for key in ("date", "end_date"):
            if key in out:
                out[key] = out[key].isoformat()
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ActionInput:
        import datetime as dt

        values = dict(params)
        for key in ("date", "end_date"):
            if values.get(key):
                values[key] = dt.date.fromisoformat(values[key])
        return cls(**values)


ACTIONS = ("activate", "suspend", "resume", "terminate", "cancel", "swap_sim", "change_plan", "add_addon",
           "remove_addon")


def parse_action(action: str, data: Mapping[str, Any]) -> ActionInput:
    """Only the form's shape is checked here; whether it is allowed is the rules' and service's part."""
    from backoffice import identifiers

    c = Collector(data)
    if action not in ACTIONS:
        c.fail("action", Msg(N_("There is no such action.")))
        c.check()
    out = ActionInput(action=action)
    out.when = c.choice("when", WHEN_CHOICES, required=False) or "now"
    out.date = c.date("date", required=out.when == "date")
    out.note = c.text("note", max_length=300) or ""
    if action in {"suspend", "resume", "terminate"}:
        out.reason = c.text("reason", required=True, max_length=40)
    if action == "suspend":
        out.end_date = c.date("end_date")
        out.imei = c.identifier("imei", identifiers.imei)
    if action == "resume":
        out.arrangement = c.raw("arrangement") in _FLAG
    if action == "swap_sim":
        out.iccid = c.identifier("iccid", identifiers.iccid, required=True)
        out.imsi = c.identifier("imsi", identifiers.imsi, required=True)
        puk = c.raw("puk")
        if not (puk.isdigit() and len(puk) == 8):
            c.fail("puk", Msg(N_("A PUK is 8 digits.")))
        out.puk = puk
    if action == "change_plan":
        out.plan_code = c.text("plan_code", required=True, max_length=40)
    if action in {"add_addon", "remove_addon"}:
        out.addon_code = c.text("addon_code", required=True, max_length=40)
    c.check()
    return out


@dataclass
class PayerChangeInput:
    billing_account_id: int
    effective_date: Any  # dt.date
    consent: str | None


def parse_payer_change(data: Mapping[str, Any]) -> PayerChangeInput:
    c = Collector(data)
    account = c.integer("billing_account_id", required=True)
    day = c.date("effective_date", required=True)
    consent = _registry_number(c, "consent")
    c.check()
    assert account is not None
    return PayerChangeInput(account, day, consent)


@dataclass
class TransferInput:
    new_subscriber: str  # customer number
    new_billing_account_id: int
    effective_date: Any
    old_party_document: str
    new_party_document: str


def parse_transfer(data: Mapping[str, Any]) -> TransferInput:
    c = Collector(data)
    customer = c.text("new_subscriber", required=True, max_length=12)
    if customer and not re.fullmatch(r"\d{9}", customer):
        c.fail("new_subscriber", Msg(N_("A customer number is 9 digits.")))
    account = c.integer("new_billing_account_id", required=True)
    day = c.date("effective_date", required=True)
    old_doc = _registry_number(c, "old_party_document", required=True)
    new_doc = _registry_number(c, "new_party_document", required=True)
    c.check()
    assert customer and account is not None and old_doc and new_doc
    return TransferInput(customer, account, day, old_doc, new_doc)


@dataclass
class RepresentativeInput:
    customer_number: str
    scope: str
    document: str | None
    start_date: Any


def parse_representative(data: Mapping[str, Any]) -> RepresentativeInput:
    c = Collector(data)
    customer = c.text("customer_number", required=True, max_length=12)
    if customer and not re.fullmatch(r"\d{9}", customer):
        c.fail("customer_number", Msg(N_("A customer number is 9 digits.")))
    scope = c.text("scope", max_length=200) or ""
    document = _registry_number(c, "document")
    start = c.date("start_date")
    c.check()
    assert customer
    return RepresentativeInput(customer, scope, document, start)
