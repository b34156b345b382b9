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
_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
_ON = {"1", "on", "true"}
KINDS = ("sim", "fixed_line", "cable_tv", "internet")
MONEY_FIELDS = ("monthly_fee", "suspension_fee", "commitment_monthly_discount", "early_termination_cap")
ALLOWANCE_FIELDS = ("included_minutes", "included_sms", "included_data_mb")
USAGE_PRICE_FIELDS = ("price_per_minute", "price_per_sms", "price_per_mb", "roaming_price_per_minute",
                      "roaming_price_per_mb")
VOICE_ROUNDINGS = ("per_started_minute", "per_second_after_first_minute")  # models.VoiceRounding
# What each service kind uses of a plan's usage columns. The form shows these; the others travel
# hidden with their stored values (an empty price means none, an empty allowance unlimited).
PLAN_KIND_FIELDS: dict[str, frozenset[str]] = {
    "sim": frozenset({*ALLOWANCE_FIELDS, "voice_rounding", *USAGE_PRICE_FIELDS}),
    "fixed_line": frozenset({"included_minutes", "voice_rounding", "price_per_minute"}),
    "cable_tv": frozenset({"channel_count"}),
    "internet": frozenset({"download_mbps"}),
}
MAX_DOWNLOAD_MBPS = 100_000
MAX_CHANNELS = 2_000


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
    voice_rounding: str = VOICE_ROUNDINGS[0]
    price_per_minute: Decimal = Decimal(0)
    price_per_sms: Decimal = Decimal(0)
    price_per_mb: Decimal = Decimal(0)
    roaming_price_per_minute: Decimal = Decimal(0)
    roaming_price_per_mb: Decimal = Decimal(0)
    download_mbps: int | None = None  # internet
    channel_count: int | None = None  # cable TV
    kind: str = ""  # a new plan's kind and code; an existing plan keeps its own
    code: str = ""


def _money(c: Collector, name: str, *, required: bool = True) -> Decimal:
    raw = c.raw(name).replace(" ", "").replace("\u00a0", "")
    if not raw:
        if required:
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


def _whole(c: Collector, name: str, low: int, high: int) -> int:
    """A required whole number in [low, high]."""
    raw = c.raw(name)
    if not raw:
        c.fail(name, Msg(N_("This field is required.")))
        return low
    if not raw.isdigit() or len(raw) > 9 or not low <= int(raw) <= high:
        c.fail(name, Msg(N_("Give a whole number from %(low)s to %(high)s."), low=low, high=high))
        return low
    return int(raw)


def _new_code(c: Collector) -> str:
    """The stable code of a new catalogue entry (its uniqueness is the service's to check)."""
    code = c.raw("code")
    if not code:
        c.fail("code", Msg(N_("This field is required.")))
    elif not _CODE.match(code):
        c.fail("code", Msg(N_("A code is 1 to 40 lower-case letters, digits and _, e.g. data_5gb.")))
    return code


def _flag(c: Collector, name: str) -> bool:
    return c.raw(name) in _ON


def _names(c: Collector) -> tuple[str, str]:
    return (c.text("name_hu", required=True, max_length=120) or "",
            c.text("name_en", required=True, max_length=120) or "")


def _plan_fields(c: Collector, kind: str) -> PlanInput:
    uses = PLAN_KIND_FIELDS.get(kind, frozenset())
    name_hu, name_en = _names(c)
    money = {name: _money(c, name) for name in MONEY_FIELDS}
    usage = {name: _money(c, name, required=name in uses) for name in USAGE_PRICE_FIELDS}
    vat = _vat(c)
    allowances = {name: _allowance(c, name) for name in ALLOWANCE_FIELDS}
    rounding = c.choice("voice_rounding", VOICE_ROUNDINGS, required="voice_rounding" in uses)
    download = _whole(c, "download_mbps", 1, MAX_DOWNLOAD_MBPS) if "download_mbps" in uses else None
    channels = _whole(c, "channel_count", 1, MAX_CHANNELS) if "channel_count" in uses else None
    if not c.errors.get("commitment_monthly_discount") and not c.errors.get("early_termination_cap") \
            and money["early_termination_cap"] < money["commitment_monthly_discount"]:
        c.fail("early_termination_cap", Msg(N_("The cap cannot be less than one month's discount.")))
    return PlanInput(
        name_hu=name_hu, name_en=name_en, vat_rate=vat, voice_rounding=rounding or VOICE_ROUNDINGS[0],
        portal_selectable=_flag(c, "portal_selectable"), active=_flag(c, "active"),
        download_mbps=download, channel_count=channels, kind=kind,
        **money, **usage, **allowances,  # type: ignore[arg-type]
    )


def parse_plan(data: Mapping[str, Any], kind: str) -> PlanInput:
    """An existing plan's fields; `kind` (the plan's own) says which usage fields it needs."""
    c = Collector(data)
    plan = _plan_fields(c, kind)
    c.check()
    return plan


def parse_new_plan(data: Mapping[str, Any]) -> PlanInput:
    """A new plan: its kind and code as well."""
    c = Collector(data)
    kind = c.choice("kind", KINDS) or ""
    code = _new_code(c)
    plan = _plan_fields(c, kind)
    c.check()
    plan.code = code
    return plan


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
    code: str = ""  # a new add-on's code


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


def parse_addon(data: Mapping[str, Any], *, new: bool = False) -> AddOnInput:
    c = Collector(data)
    code = _new_code(c) if new else ""
    name_hu, name_en = _names(c)
    price = _money(c, "price")
    vat = _vat(c)
    kinds = [kind for kind in KINDS if _flag(c, f"kind_{kind}")]
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
    return AddOnInput(
        name_hu=name_hu, name_en=name_en, price=price, vat_rate=vat,
        recurring=_flag(c, "recurring"), portal=_flag(c, "portal"), active=_flag(c, "active"),
        kinds=kinds, plan_codes=plan_codes, exclusive_group=group, requires=requires, conflicts=conflicts, code=code,
    )


CHANGE_MODES = ("by_fee", "immediate", "next_period")  # by_fee: an upgrade at once, a downgrade next period


@dataclass
class PlanChangeInput:
    to_plan_id: int
    mode: str


def parse_plan_change(data: Mapping[str, Any]) -> PlanChangeInput:
    c = Collector(data)
    raw = c.raw("to_plan_id")
    if not raw:
        c.fail("to_plan_id", Msg(N_("Choose one.")))
    elif not raw.isdigit() or len(raw) > 18:
        c.fail("to_plan_id", Msg(N_("Choose one of the offered plans.")))
    mode = c.choice("mode", CHANGE_MODES) or ""
    c.check()
    return PlanChangeInput(int(raw), mode)


# Who may place or lift a hold: staff roles, and "system" for the dunning run (rules.SYSTEM).
SUSPENSION_ROLES = ("agent", "supervisor", "system")
SUSPENSION_BILLING = ("full", "suspension_fee", "none")  # models.SuspensionBilling
LIFT_CONDITIONS = ("debt_settled",)  # the only condition the lifecycle checks
MAX_VOLUNTARY_DAYS = 365


@dataclass
class SuspensionReasonInput:
    name_hu: str
    name_en: str
    voluntary: bool
    portal: bool
    place_roles: list[str]
    lift_roles: list[str]
    billing: str
    fee_on_suspend: str | None
    fee_on_resume: str | None
    lifts_on_swap: bool
    max_days_in_12_months: int | None
    lift_condition: str | None
    immediate: bool
    partial: bool
    active: bool
    code: str = ""

    def settings(self) -> dict[str, Any]:
        """The rule settings as the catalogue stores them (catalogue.rule_of reads them back):
        only what is set, like the seeded rows."""
        values = {"lift_condition": self.lift_condition, "immediate": self.immediate, "partial": self.partial,
                  "max_days_in_12_months": self.max_days_in_12_months}
        return {key: value for key, value in values.items() if value not in (None, False)}


def _fee_code(c: Collector, name: str) -> str | None:
    """A one-off fee's code or none (whether that fee exists is the service's to check)."""
    code = c.raw(name)
    if not code:
        return None
    if not _CODE.match(code):
        c.fail(name, Msg(N_("Choose one of the offered values.")))
        return None
    return code


def parse_suspension_reason(data: Mapping[str, Any], *, new: bool = False) -> SuspensionReasonInput:
    c = Collector(data)
    code = _new_code(c) if new else ""
    name_hu, name_en = _names(c)
    place = [role for role in SUSPENSION_ROLES if _flag(c, f"place_{role}")]
    lift = [role for role in SUSPENSION_ROLES if _flag(c, f"lift_{role}")]
    if not place:
        c.fail("place_roles", Msg(N_("Tick who may place such a hold.")))
    if not lift:
        c.fail("lift_roles", Msg(N_("Tick who may lift such a hold.")))
    billing = c.choice("billing", SUSPENSION_BILLING) or ""
    voluntary = _flag(c, "voluntary")
    limit: int | None = None
    if voluntary:
        limit = _whole(c, "max_days_in_12_months", 1, MAX_VOLUNTARY_DAYS)
    elif c.raw("max_days_in_12_months"):
        c.fail("max_days_in_12_months", Msg(N_("Only a voluntary suspension has a day limit: leave it empty.")))
    result = SuspensionReasonInput(
        name_hu=name_hu, name_en=name_en, voluntary=voluntary, portal=_flag(c, "portal"),
        place_roles=place, lift_roles=lift, billing=billing, fee_on_suspend=_fee_code(c, "fee_on_suspend"),
        fee_on_resume=_fee_code(c, "fee_on_resume"), lifts_on_swap=_flag(c, "lifts_on_swap"),
        max_days_in_12_months=limit, lift_condition=c.choice("lift_condition", LIFT_CONDITIONS, required=False),
        immediate=_flag(c, "immediate"), partial=_flag(c, "partial"), active=_flag(c, "active"), code=code)
    c.check()
    return result


MAX_NOTICE_DAYS = 90


@dataclass
class TerminationReasonInput:
    name_hu: str
    name_en: str
    notice_days: int
    portal: bool
    early_termination_fee: bool
    active: bool
    code: str = ""


def parse_termination_reason(data: Mapping[str, Any], *, new: bool = False) -> TerminationReasonInput:
    c = Collector(data)
    code = _new_code(c) if new else ""
    name_hu, name_en = _names(c)
    notice = _whole(c, "notice_days", 0, MAX_NOTICE_DAYS)
    c.check()
    return TerminationReasonInput(name_hu=name_hu, name_en=name_en, notice_days=notice, portal=_flag(c, "portal"),
                                  early_termination_fee=_flag(c, "early_termination_fee"), active=_flag(c, "active"),
                                  code=code)


@dataclass
class OneOffFeeInput:
    name_hu: str
    name_en: str
    amount: Decimal
    vat_rate: Decimal
    active: bool
    code: str = ""


def parse_fee(data: Mapping[str, Any], *, new: bool = False) -> OneOffFeeInput:
    c = Collector(data)
    code = _new_code(c) if new else ""
    name_hu, name_en = _names(c)
    amount = _money(c, "amount")
    vat = _vat(c)
    c.check()
    return OneOffFeeInput(name_hu=name_hu, name_en=name_en, amount=amount, vat_rate=vat, active=_flag(c, "active"),
                          code=code)


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
