"""Tables of the subscriptions domain: the catalogue (plans, add-ons, reasons, one-off fees), the
number pool, contracts and their services, and the dated record billing reads.

Amounts are net HUF; each catalogue item carries its own VAT rate. Every dated interval here is
half-open, `[start_date, end_date)`: `end_date` is the first day outside it and None means "still
running", so billing counts days as `(end - start).days` (see rules.py)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import true as sa_true

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
    # Whether leaving inside a commitment costs the early termination fee (not for a deceased subscriber).
    early_termination_fee: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())


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
    service_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("services.id"), nullable=True, index=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---------------------------------------------------------------------------------------------
# Contracts and services
# ---------------------------------------------------------------------------------------------


class ContractStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"  # every service ended, or the contract was transferred to a new subscriber


class AccessTechnology(enum.StrEnum):
    DSL = "dsl"
    CABLE = "cable"
    FIBRE = "fibre"


COMMITMENT_CHOICES = (0, 12, 24)


class Contract(IdMixin, TimestampMixin, VersionedMixin, Base):
    """An előfizetői szerződés: who subscribes, who pays (the payer intervals hold the history),
    the commitment, and the services ordered under it. A transfer of ownership ends a contract
    and starts a new one that points back to it (`predecessor_id`)."""

    __tablename__ = "contracts"

    number: Mapped[str] = mapped_column(String(16), unique=True)
    subscriber_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("parties.id"), index=True)
    billing_account_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("billing_accounts.id"), index=True)
    commitment_months: Mapped[int] = mapped_column(Integer, default=0)
    start_date: Mapped[dt.date] = mapped_column(Date)
    commitment_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=ContractStatus.ACTIVE.value)
    predecessor_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("contracts.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")

    @property
    def commitment_last_day(self) -> dt.date | None:
        """The last day bound by the commitment (`commitment_end` is the first day free of it)."""
        return None if self.commitment_end is None else self.commitment_end - dt.timedelta(days=1)


class Service(IdMixin, TimestampMixin, VersionedMixin, Base):
    """One SIM, fixed line, cable TV or internet service. `number` is the MSISDN or geographic
    number from the pool; SIM cards are their own rows (a swap keeps the number, not the card)."""

    __tablename__ = "services"

    contract_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("contracts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    plan_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("plans.id"))
    state: Mapped[str] = mapped_column(String(16))
    number: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    access_technology: Mapped[str | None] = mapped_column(String(16), nullable=True)
    cpe_mac: Mapped[str | None] = mapped_column(String(17), nullable=True)
    set_top_boxes: Mapped[list[str]] = mapped_column(JSON, default=list)
    install_postal_code: Mapped[str | None] = mapped_column(String(4), nullable=True)
    install_locality: Mapped[str | None] = mapped_column(String(100), nullable=True)
    install_street: Mapped[str | None] = mapped_column(String(200), nullable=True)
    install_house_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    install_floor_door: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ordered_on: Mapped[dt.date] = mapped_column(Date)
    activated_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ended_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # first day terminated or cancelled

    def install_address(self) -> str:
        if not self.install_postal_code:
            return ""
        street = f"{self.install_street or ''} {self.install_house_number or ''}".strip()
        door = f" {self.install_floor_door}" if self.install_floor_door else ""
        return f"{self.install_postal_code} {self.install_locality}, {street}{door}"


class SimCard(IdMixin, Base):
    """A SIM card that served a service: the current one has no `blocked_on`. ICCIDs and IMSIs are
    never reused, so both are unique over all cards ever issued."""

    __tablename__ = "sim_cards"

    service_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("services.id"), index=True)
    iccid: Mapped[str] = mapped_column(String(20), unique=True)
    imsi: Mapped[str] = mapped_column(String(15), unique=True)
    puk: Mapped[str] = mapped_column(String(8))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    blocked_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    block_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class _Interval:
    """A dated interval `[start_date, end_date)`; end_date None while it runs."""

    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class ServiceStateInterval(_Interval, IdMixin, Base):
    """The lifecycle state of a service day by day: what billing reads for recurring fees."""

    __tablename__ = "service_state_intervals"
    __table_args__ = (Index("ix_service_state_intervals_service", "service_id", "start_date"),)

    service_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("services.id"))
    state: Mapped[str] = mapped_column(String(16))


class ServicePlanInterval(_Interval, IdMixin, Base):
    __tablename__ = "service_plan_intervals"
    __table_args__ = (Index("ix_service_plan_intervals_service", "service_id", "start_date"),)

    service_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("services.id"))
    plan_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("plans.id"))


class ServiceContractInterval(_Interval, IdMixin, Base):
    """Which contract a service belonged to: a transfer of ownership moves it to the new contract,
    so "who was the subscriber (and payer) on day D" follows the service across contracts."""

    __tablename__ = "service_contract_intervals"
    __table_args__ = (Index("ix_service_contract_intervals_service", "service_id", "start_date"),)

    service_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("services.id"))
    contract_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("contracts.id"), index=True)


class ContractPayerInterval(_Interval, IdMixin, Base):
    """Which billing account paid for a contract's services day by day."""

    __tablename__ = "contract_payer_intervals"
    __table_args__ = (Index("ix_contract_payer_intervals_contract", "contract_id", "start_date"),)

    contract_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("contracts.id"))
    billing_account_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("billing_accounts.id"), index=True)
    consent_document_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("documents.id"), nullable=True)


class ContractRepresentative(_Interval, IdMixin, Base):
    """An authorised representative (meghatalmazott) of the subscriber for a contract."""

    __tablename__ = "contract_representatives"

    contract_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("contracts.id"), index=True)
    party_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("parties.id"), index=True)
    scope: Mapped[str] = mapped_column(String(200), default="")
    document_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("documents.id"), nullable=True)


class ServiceHold(IdMixin, Base):
    """A suspension hold. It suspends the service from `start_date` until lifted (`lifted_on`, the
    first day it no longer holds); a voluntary hold also has the day it is planned to end."""

    __tablename__ = "service_holds"
    __table_args__ = (Index("ix_service_holds_service", "service_id", "start_date"),)

    service_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("services.id"))
    reason_code: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[dt.date] = mapped_column(Date)
    planned_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    lifted_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    billing: Mapped[str] = mapped_column(String(16))  # the reason's billing rule when it was placed
    imei: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    placed_by: Mapped[str] = mapped_column(String(64), default="")
    lifted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ServiceAddOn(_Interval, IdMixin, Base):
    """An add-on on a service for `[start_date, end_date)`. A one-off add-on's price is a fee row."""

    __tablename__ = "service_addons"
    __table_args__ = (Index("ix_service_addons_service", "service_id", "start_date"),)

    service_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("services.id"))
    addon_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("addons.id"))
    added_by: Mapped[str] = mapped_column(String(64), default="")
    removed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ServiceFee(IdMixin, Base):
    """A one-off fee incurred by a service (activation, SIM swap, reconnection, early termination,
    a one-off add-on), priced when incurred; billing puts it on the payer's next invoice."""

    __tablename__ = "service_fees"
    __table_args__ = (Index("ix_service_fees_service", "service_id", "incurred_on"),)

    service_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("services.id"))
    code: Mapped[str] = mapped_column(String(40))
    name_hu: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    amount: Mapped[decimal.Decimal] = mapped_column(Money)
    vat_rate: Mapped[decimal.Decimal] = mapped_column(Numeric(5, 2))
    incurred_on: Mapped[dt.date] = mapped_column(Date)
    event_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("service_events.id"), nullable=True)

    def name(self, language: str) -> str:
        return self.name_hu if language == "hu" else self.name_en


class ServiceEvent(IdMixin, Base):
    """The service's history as its page shows it: one row per action taken or applied."""

    __tablename__ = "service_events"
    __table_args__ = (Index("ix_service_events_service", "service_id", "id"),)

    service_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("services.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    effective_date: Mapped[dt.date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(32))
    actor_name: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    document_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("documents.id"), nullable=True)


class PendingStatus(enum.StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"  # refused when due (the service had changed); the reason is kept


class PendingAction(IdMixin, VersionedMixin, Base):
    """An action dated in the future: listed on the service, withdrawable until the daily job
    (`backoffice subscriptions apply-due`) applies it on its effective date."""

    __tablename__ = "pending_actions"
    # The daily job reads by (status, date); a service page by (service, status) in date order. The
    # second carries the date too: without it SQLite's planner prefers the first for its order and
    # walks every pending row of the installation (4 ms a page at 200,000 services).
    __table_args__ = (Index("ix_pending_actions_due", "status", "effective_date"),
                      Index("ix_pending_actions_service", "service_id", "status", "effective_date"))

    service_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("services.id"), nullable=True)
    contract_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("contracts.id"), nullable=True,
                                                   index=True)
    action: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    effective_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=PendingStatus.PENDING.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(Text, default="")


class TransferStatus(enum.StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"  # scheduled for its effective date
    REJECTED = "rejected"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class OwnershipTransfer(IdMixin, VersionedMixin, Base):
    """An átírás: requested by an agent with both parties' signed documents, approved by a
    supervisor, carried out on the effective date (a new linked contract takes the services)."""

    __tablename__ = "ownership_transfers"

    contract_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("contracts.id"), index=True)
    new_subscriber_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("parties.id"))
    new_billing_account_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("billing_accounts.id"))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=TransferStatus.AWAITING_APPROVAL.value)
    old_party_document_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("documents.id"))
    new_party_document_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("documents.id"))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decision_note: Mapped[str] = mapped_column(String(300), default="")
    new_contract_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("contracts.id"), nullable=True)
