"""The catalogue's reference data (suspension and termination reasons, one-off fees) that every
installation needs, and a realistic Hungarian demo catalogue of plans and add-ons for all four
service kinds. Seeding adds what is missing and never changes what an administrator edited."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.subscriptions.models import (
    AddOn,
    ChangeMode,
    OneOffFee,
    Plan,
    PlanChangeRule,
    ServiceKind,
    SuspensionReason,
    TerminationReason,
    VoiceRounding,
)
from backoffice.subscriptions.rules import DEFAULT_SUSPENSION_RULES, Billing, SuspensionRule

SIM, FIXED, CABLE, NET = (k.value for k in ServiceKind)
D = Decimal

# The names of the suspension reasons; their consequences are rules.DEFAULT_SUSPENSION_RULES.
SUSPENSION_NAMES: dict[str, tuple[str, str]] = {
    "customer_request": ("Ügyfél kérésére (szüneteltetés)", "At the customer's request"),
    "lost_or_stolen": ("Elveszett vagy ellopott SIM", "Lost or stolen SIM"),
    "non_payment": ("Díjtartozás miatt", "Non-payment"),
    "fraud": ("Visszaélés gyanúja", "Suspected fraud"),
    "restricted": ("Korlátozás (kimenő hívások tiltva, sebesség csökkentve)",
                   "Restricted (outgoing barred, speed reduced)"),
}
_RULE_SETTINGS = ("lift_condition", "immediate", "partial", "max_days_in_12_months")


def rule_of(reason: SuspensionReason, language: str = "en") -> SuspensionRule:
    """A catalogue row as the pure rules read it (with its name in the reader's language)."""
    settings = reason.settings or {}
    return SuspensionRule(
        code=reason.code, voluntary=reason.voluntary, portal=reason.portal,
        place_roles=frozenset(reason.place_roles), lift_roles=frozenset(reason.lift_roles),
        billing=cast(Billing, reason.billing),  # stored from the same Literal
        fee_on_suspend=reason.fee_on_suspend, fee_on_resume=reason.fee_on_resume,
        lifts_on_swap=reason.lifts_on_swap, lift_condition=settings.get("lift_condition"),
        immediate=bool(settings.get("immediate", False)), partial=bool(settings.get("partial", False)),
        max_days_in_12_months=settings.get("max_days_in_12_months"), name=reason.name(language),
    )


# code, hu, en, notice days, portal, early termination fee inside a commitment
TERMINATION_REASONS: list[tuple[Any, ...]] = [
    ("customer_request", "Ügyfél kérésére", "At the customer's request", 8, True, True),
    ("end_of_contract", "Határozott idő lejárta", "End of contract", 0, False, True),
    ("non_payment", "Díjtartozás miatt", "Non-payment", 0, False, True),
    ("ported_out", "Számhordozás más szolgáltatóhoz", "Ported out", 0, False, True),
    ("deceased", "Az előfizető elhunyt", "Subscriber deceased", 0, False, False),
]

ONE_OFF_FEES: list[tuple[Any, ...]] = [
    ("activation", "Belépési díj", "Activation fee", D("3149.61")),
    ("sim_swap", "SIM-csere díja", "SIM swap fee", D("1574.80")),
    ("reconnection", "Visszakapcsolási díj", "Reconnection fee", D("3937.01")),
    ("installation", "Helyszíni kiszállás és bekötés", "Installation visit", D("7874.02")),
]


def _plan(code: str, kind: str, hu: str, en: str, fee: str, **extra: Any) -> dict[str, Any]:
    """A plan; allowances are none (0) unless given, and None means unlimited."""
    allowances = {"included_minutes": 0, "included_sms": 0, "included_data_mb": 0}
    return {"code": code, "kind": kind, "name_hu": hu, "name_en": en, "monthly_fee": D(fee), **allowances, **extra}


# Fees are net (27 % VAT on top): 3,149.61 + VAT = 4,000 Ft.
PLANS: list[dict[str, Any]] = [
    _plan("sim_start", SIM, "Mobil Start", "Mobile Start", "2354.33", suspension_fee=D("393.70"),
          included_minutes=100, included_sms=100, included_data_mb=2048, price_per_minute=D("23.62"),
          price_per_sms=D("23.62"), price_per_mb=D("1.57"), roaming_price_per_minute=D("39.37"),
          roaming_price_per_mb=D("3.15"), commitment_monthly_discount=D("787.40"),
          early_termination_cap=D("15748.03"), portal_selectable=True),
    _plan("sim_plusz", SIM, "Mobil Plusz", "Mobile Plus", "5504.72", suspension_fee=D("787.40"),
          included_minutes=None, included_sms=None, included_data_mb=15360, price_per_mb=D("1.18"),
          voice_rounding=VoiceRounding.PER_SECOND.value, roaming_price_per_minute=D("31.50"),
          roaming_price_per_mb=D("2.36"), commitment_monthly_discount=D("1574.80"),
          early_termination_cap=D("31496.06"), portal_selectable=True),
    _plan("sim_korlatlan", SIM, "Mobil Korlátlan", "Mobile Unlimited", "9440.94", suspension_fee=D("1181.10"),
          included_minutes=None, included_sms=None, included_data_mb=None,
          voice_rounding=VoiceRounding.PER_SECOND.value, roaming_price_per_minute=D("23.62"),
          roaming_price_per_mb=D("1.57"), commitment_monthly_discount=D("2362.20"),
          early_termination_cap=D("47244.09"), portal_selectable=True),
    _plan("vonal_alap", FIXED, "Vezetékes Alap", "Landline Basic", "1574.80", suspension_fee=D("393.70"),
          included_minutes=0, price_per_minute=D("11.81"), commitment_monthly_discount=D("393.70"),
          early_termination_cap=D("7874.02")),
    _plan("vonal_beszelo", FIXED, "Vezetékes Beszélő", "Landline Talk", "3149.61", suspension_fee=D("393.70"),
          included_minutes=1000, price_per_minute=D("7.87"), commitment_monthly_discount=D("787.40"),
          early_termination_cap=D("15748.03"), portal_selectable=True),
    _plan("tv_alap", CABLE, "TV Alap (45 csatorna)", "TV Basic (45 channels)", "3937.01", suspension_fee=D("787.40"),
          channel_count=45, commitment_monthly_discount=D("787.40"), early_termination_cap=D("15748.03")),
    _plan("tv_csalad", CABLE, "TV Család (110 csatorna)", "TV Family (110 channels)", "6692.91",
          suspension_fee=D("787.40"), channel_count=110, commitment_monthly_discount=D("1181.10"),
          early_termination_cap=D("23622.05"), portal_selectable=True),
    _plan("net_100", NET, "Net 100", "Net 100", "4330.71", suspension_fee=D("787.40"), download_mbps=100,
          commitment_monthly_discount=D("787.40"), early_termination_cap=D("15748.03"), portal_selectable=True),
    _plan("net_500", NET, "Net 500", "Net 500", "6299.21", suspension_fee=D("787.40"), download_mbps=500,
          commitment_monthly_discount=D("1181.10"), early_termination_cap=D("23622.05"), portal_selectable=True),
    _plan("net_1000", NET, "Net Giga 1000", "Net Giga 1000", "8661.42", suspension_fee=D("787.40"),
          download_mbps=1000, commitment_monthly_discount=D("1574.80"), early_termination_cap=D("31496.06"),
          portal_selectable=True),
]

# Upgrades at once, downgrades from the next billing period (the plan-change rule of PRODUCT.md).
PLAN_LADDERS = [["sim_start", "sim_plusz", "sim_korlatlan"], ["vonal_alap", "vonal_beszelo"],
                ["tv_alap", "tv_csalad"], ["net_100", "net_500", "net_1000"]]


def _addon(code: str, hu: str, en: str, kinds: list[str], price: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "name_hu": hu, "name_en": en, "kinds": kinds, "price": D(price), **extra}


ADDONS: list[dict[str, Any]] = [
    _addon("data_5gb", "Adatjegy 5 GB", "Data pack 5 GB", [SIM], "1574.80", exclusive_group="data_pack", portal=True),
    _addon("data_20gb", "Adatjegy 20 GB", "Data pack 20 GB", [SIM], "3149.61", exclusive_group="data_pack",
           portal=True),
    _addon("eu_roaming", "EU roaming csomag", "EU roaming pack", [SIM], "1181.10", conflicts=["roaming_barring"],
           portal=True),
    _addon("roaming_barring", "Roaming tiltás", "Roaming barring", [SIM], "0", conflicts=["eu_roaming"], portal=True),
    _addon("call_forwarding", "Hívásátirányítás", "Call forwarding", [SIM, FIXED], "196.85", portal=True),
    _addon("call_waiting", "Bekopogtatás", "Call waiting", [SIM, FIXED], "0", portal=True),
    _addon("caller_id", "Hívószám kijelzés", "Caller ID display", [SIM, FIXED], "157.48", portal=True),
    _addon("intl_barring", "Nemzetközi hívások tiltása", "International call barring", [SIM, FIXED], "0",
           portal=True),
    _addon("voicemail", "Hangposta", "Voicemail", [SIM, FIXED], "393.70", portal=True),
    _addon("hd_stb", "HD set-top box", "HD set-top box", [CABLE], "787.40"),
    _addon("extra_stb", "Második set-top box", "Extra set-top box", [CABLE], "1181.10"),
    _addon("hbo_pack", "Prémium filmcsomag (HD)", "Premium film pack (HD)", [CABLE], "2755.91", requires=["hd_stb"],
           portal=True),
    _addon("sport_pack", "Sportcsomag", "Sports pack", [CABLE], "2362.20", portal=True),
    _addon("static_ip", "Fix IP-cím", "Static IP address", [NET], "1968.50"),
    _addon("speed_boost", "Sebességnövelés +200 Mbit/s", "Speed boost +200 Mbit/s", [NET], "1181.10",
           plan_codes=["net_100", "net_500"], portal=True),
]


async def seed_reference_catalogue(session: AsyncSession) -> None:
    """Reasons and one-off fees: the lifecycle refers to them by code."""
    have = set(await session.scalars(select(SuspensionReason.code)))
    for order, (code, rule) in enumerate(DEFAULT_SUSPENSION_RULES.items()):
        if code not in have:
            hu, en = SUSPENSION_NAMES[code]
            session.add(SuspensionReason(
                code=code, name_hu=hu, name_en=en, voluntary=rule.voluntary, portal=rule.portal,
                place_roles=sorted(rule.place_roles), lift_roles=sorted(rule.lift_roles), billing=rule.billing,
                fee_on_suspend=rule.fee_on_suspend, fee_on_resume=rule.fee_on_resume,
                lifts_on_swap=rule.lifts_on_swap, active=True, sort_order=order,
                settings={k: getattr(rule, k) for k in _RULE_SETTINGS if getattr(rule, k) not in (None, False)}))
    have = set(await session.scalars(select(TerminationReason.code)))
    for order, (code, hu, en, notice, portal, early_fee) in enumerate(TERMINATION_REASONS):
        if code not in have:
            session.add(TerminationReason(code=code, name_hu=hu, name_en=en, notice_days=notice, portal=portal,
                                          early_termination_fee=early_fee, active=True, sort_order=order))
    have = set(await session.scalars(select(OneOffFee.code)))
    for order, (code, hu, en, amount) in enumerate(ONE_OFF_FEES):
        if code not in have:
            session.add(OneOffFee(code=code, name_hu=hu, name_en=en, amount=amount, active=True, sort_order=order))
    await session.flush()


async def seed_demo_catalogue(session: AsyncSession) -> None:
    """Plans, plan changes and add-ons of a Hungarian operator, for the demo and the tests."""
    have = set(await session.scalars(select(Plan.code)))
    for order, values in enumerate(PLANS):
        if values["code"] not in have:
            session.add(Plan(**values, active=True, sort_order=order))
    await session.flush()
    plan_ids = {code: pid for code, pid in (await session.execute(select(Plan.code, Plan.id))).all()}
    rules = set((await session.execute(select(PlanChangeRule.from_plan_id, PlanChangeRule.to_plan_id))).all())
    for ladder in PLAN_LADDERS:
        for i, low in enumerate(ladder):
            for high in ladder[i + 1:]:
                for src, dst, mode in ((low, high, ChangeMode.IMMEDIATE), (high, low, ChangeMode.NEXT_PERIOD)):
                    if src in plan_ids and dst in plan_ids and (plan_ids[src], plan_ids[dst]) not in rules:
                        session.add(PlanChangeRule(from_plan_id=plan_ids[src], to_plan_id=plan_ids[dst],
                                                   mode=mode.value))
    have = set(await session.scalars(select(AddOn.code)))
    for order, values in enumerate(ADDONS):
        if values["code"] not in have:
            values = {"requires": [], "conflicts": [], **values}
            session.add(AddOn(**values, active=True, sort_order=order))
    await session.flush()
