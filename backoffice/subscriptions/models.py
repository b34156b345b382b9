"""Tables of the subscriptions domain: the catalogue (plans, add-ons, reasons, one-off fees) and
the number pool. Amounts are net HUF; each catalogue item carries its own VAT rate."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import Base, BigIntId, CodedNameMixin, IdMixin, TimestampMixin, UTCDateTime, VersionedMixin, utcnow

Money = Numeric(12, 2)
VAT_DEFAULT = decimal.Decimal("27.00")


class ServiceKind(enum.StrEnum):
    SIM = "sim"
    FIXED_LINE = "fixed_line"
    CABLE_TV = "cable_tv"
    INTERNET = "internet"


class VoiceRounding(enum.StrEnum):
    PER_MINUTE = "per_started_minute"
    PER_SECOND = "per_second_after_first_minute"


class ChangeMode(enum.StrEnum):
    IMMEDIATE = "immediate"
    NEXT_PERIOD = "next_period"


class SuspensionBilling(enum.StrEnum):
    FULL = "full"
    SUSPENSION_FEE = "suspension_fee"
    NONE = "none"


class NumberKind(enum.StrEnum):
    MOBILE = "mobile"  # MSISDNs for SIM services
    GEOGRAPHIC = "geographic"  # fixed-line numbers


class NumberStatus(enum.StrEnum):
    AVAILABLE = "available"
    ALLOCATED = "allocated"
    QUARANTINE = "quarantine"


class Plan(CodedNameMixin, IdMixin, TimestampMixin, VersionedMixin, Base):
    """A díjcsomag. Allowances: None means unlimited, 0 means none included."""

    __tablename__ = "plans"

    kind: Mapped[str] = mapped_column(String(16), index=True)
    monthly_fee: Mapped[decimal.Decimal] = mapped_column(Money)
    suspension_fee: Mapped[decimal.Decimal] = mapped_column(Money, default=decimal.Decimal(0))
    vat_rate: Mapped[decimal.Decimal] = mapped_column(Numeric(5, 2), default=VAT_DEFAULT)
    # No default: a default would also replace an explicit None (unlimited) with 0 on insert.
    included_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    included_sms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    included_data_mb: Mapped[int | None] = mapped_column(Integer, nullable=True)
    voice_rounding: Mapped[str] = mapped_column(String(40), default=VoiceRounding.PER_MINUTE.value)
    price_per_minute: Mapped[decimal.Decimal] = mapped_column(Money, default=decimal.Decimal(0))
    price_per_sms: Mapped[decimal.Decimal] = mapped_column(Money, default=decimal.Decimal(0))
    price_per_mb: Mapped[decimal.Decimal] = mapped_column(Money, default=decimal.Decimal(0))
    roaming_price_per_minute: Mapped[decimal.Decimal] = mapped_column(Money, default=decimal.Decimal(0))
    roaming_price_per_mb: Mapped[decimal.Decimal] = mapped_column(Money, default=decimal.Decimal(0))
    download_mbps: Mapped[int | None] = mapped_column(Integer, nullable=True)  # internet
    channel_count: Mapped[int | None] = mapped_column(Integer, nullable=True)  # cable TV
    # Under a 12 or 24 month commitment the fee is discounted by this much a month; leaving early
    # costs the remaining full months of discount, at most the cap.
    commitment_monthly_discount: Mapped[decimal.Decimal] = mapped_column(Money, default=decimal.Decimal(0))
    early_termination_cap: Mapped[decimal.Decimal] = mapped_column(Money, default=decimal.Decimal(0))
    portal_selectable: Mapped[bool] = mapped_column(Boolean, default=False)


class PlanChangeRule(IdMixin, Base):
    """Which plan may change to which, and whether the change applies at once or next period."""

    __tablename__ = "plan_change_rules"
    __table_args__ = (UniqueConstraint("from_plan_id", "to_plan_id"),)

    from_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    to_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    mode: Mapped[str] = mapped_column(String(16))


class AddOn(CodedNameMixin, IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "addons"

    kinds: Mapped[list[str]] = mapped_column(JSON)  # service kinds it applies to
    plan_codes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # None: every plan of those kinds
    exclusive_group: Mapped[str | None] = mapped_column(String(40), nullable=True)
    requires: Mapped[list[str]] = mapped_column(JSON, default=list)
    conflicts: Mapped[list[str]] = mapped_column(JSON, default=list)
    price: Mapped[decimal.Decimal] = mapped_column(Money)
    recurring: Mapped[bool] = mapped_column(Boolean, default=True)  # monthly, or charged once
    vat_rate: Mapped[decimal.Decimal] = mapped_column(Numeric(5, 2), default=VAT_DEFAULT)
    portal: Mapped[bool] = mapped_column(Boolean, default=False)


class SuspensionReason(CodedNameMixin, IdMixin, Base):
    """A reason for a hold, with its consequences (PRODUCT.md, Subscriptions and services)."""

    __tablename__ = "suspension_reasons"

    voluntary: Mapped[bool] = mapped_column(Boolean, default=False)
    portal: Mapped[bool] = mapped_column(Boolean, default=False)
    place_roles: Mapped[list[str]] = mapped_column(JSON)
    lift_roles: Mapped[list[str]] = mapped_column(JSON)
    billing: Mapped[str] = mapped_column(String(16))
    fee_on_suspend: Mapped[str | None] = mapped_column(String(40), nullable=True)  # a one-off fee code
    fee_on_resume: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lifts_on_swap: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. the voluntary day limit


class TerminationReason(CodedNameMixin, IdMixin, Base):
    __tablename__ = "termination_reasons"

    notice_days: Mapped[int] = mapped_column(Integer, default=0)
    portal: Mapped[bool] = mapped_column(Boolean, default=False)


class OneOffFee(CodedNameMixin, IdMixin, Base):
    __tablename__ = "one_off_fees"

    amount: Mapped[decimal.Decimal] = mapped_column(Money)
    vat_rate: Mapped[decimal.Decimal] = mapped_column(Numeric(5, 2), default=VAT_DEFAULT)


class PoolNumber(IdMixin, Base):
    """A number of the operator's ranges: available, allocated to a service, or in quarantine
    after termination until `quarantine_until` (then the pool hands it out again)."""

    __tablename__ = "pool_numbers"
    __table_args__ = (Index("ix_pool_numbers_pick", "kind", "status", "number"),)

    number: Mapped[str] = mapped_column(String(16), unique=True)  # E.164
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=NumberStatus.AVAILABLE.value)
    quarantine_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    allocated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The service holding it; the services table arrives with the lifecycle, and with it the key.
    service_id: Mapped[int | None] = mapped_column(BigIntId, nullable=True, index=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
