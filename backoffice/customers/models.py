"""Tables of the customers domain."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import Base, BigIntId, IdMixin, TimestampMixin, UTCDateTime, VersionedMixin, utcnow
from backoffice.i18n import Msg, gettext


def address_line(postal_code: str, locality: str, street: str, house_number: str, floor_door: str | None) -> str:
    """`1117 Budapest XI., Október huszonharmadika utca 8 2. em. 5.`: how every screen and document
    writes an address on one line."""
    tail = f" {floor_door}" if floor_door else ""
    return f"{postal_code} {locality}, {street} {house_number}{tail}"


class PartyKind(enum.StrEnum):
    INDIVIDUAL = "individual"
    ORGANISATION = "organisation"


class IdDocumentType(enum.StrEnum):
    ID_CARD = "id_card"
    PASSPORT = "passport"
    DRIVING_LICENCE = "driving_licence"
    RESIDENCE_PERMIT = "residence_permit"


class ConsentKind(enum.StrEnum):
    MARKETING = "marketing"
    DIRECTORY_LISTING = "directory_listing"
    ITEMISED_BILL = "itemised_bill"


class BillDelivery(enum.StrEnum):
    PORTAL = "portal"
    EMAIL = "email"
    PAPER = "paper"


class PaymentMethod(enum.StrEnum):
    BANK_TRANSFER = "bank_transfer"
    DIRECT_DEBIT = "direct_debit"
    POSTAL_CHEQUE = "postal_cheque"


class ContactChannel(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    IN_PERSON = "in_person"
    LETTER = "letter"
    SYSTEM = "system"


class ContactDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class ContactOutcome(enum.StrEnum):
    RESOLVED = "resolved"
    INFORMATION_GIVEN = "information_given"
    FOLLOW_UP = "follow_up"
    ESCALATED = "escalated"
    NO_ANSWER = "no_answer"
    DONE = "done"


class Party(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "parties"

    customer_number: Mapped[str] = mapped_column(String(12), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(300))
    # individual
    family_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    given_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    birth_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    birth_place: Mapped[str | None] = mapped_column(String(100), nullable=True)
    mother_birth_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    id_document_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    id_document_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # organisation
    organisation_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    company_registration_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    tax_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    eu_vat_number: Mapped[str | None] = mapped_column(String(20), nullable=True)

    addresses: Mapped[list[Address]] = relationship(
        back_populates="party", cascade="all, delete-orphan", order_by="Address.id"
    )
    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="party", cascade="all, delete-orphan", order_by="ContactPoint.id"
    )


class PartyNameToken(Base):
    """One normalised word of a party's name: the index behind accent-insensitive name search."""

    __tablename__ = "party_name_tokens"
    # Search walks this index: the words starting with a prefix, each word's parties in name
    # order, so the first page of hits is read straight off the index without sorting.
    __table_args__ = (Index("ix_party_name_tokens_token_sort_name", "token", "sort_name", "party_id"),)

    # Byte order on PostgreSQL as on SQLite: search scans a prefix as the range [word, word+1).
    token: Mapped[str] = mapped_column(
        String(100).with_variant(String(100, collation="C"), "postgresql"), primary_key=True
    )
    party_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("parties.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # The party's whole name, normalised: the order hits are listed in.
    sort_name: Mapped[str] = mapped_column(
        String(300).with_variant(String(300, collation="C"), "postgresql"), default=""
    )


class Address(IdMixin, Base):
    __tablename__ = "addresses"

    party_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("parties.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="registered")
    postal_code: Mapped[str] = mapped_column(String(4))
    locality: Mapped[str] = mapped_column(String(100))
    street: Mapped[str] = mapped_column(String(200))
    house_number: Mapped[str] = mapped_column(String(20))
    floor_door: Mapped[str | None] = mapped_column(String(40), nullable=True)

    party: Mapped[Party] = relationship(back_populates="addresses")

    def one_line(self) -> str:
        return address_line(self.postal_code, self.locality, self.street, self.house_number, self.floor_door)


class ContactPoint(IdMixin, Base):
    __tablename__ = "contact_points"
    __table_args__ = (Index("ix_contact_points_kind_value", "kind", "value"),)

    party_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("parties.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # phone | email
    value: Mapped[str] = mapped_column(String(254))
    label: Mapped[str | None] = mapped_column(String(40), nullable=True)

    party: Mapped[Party] = relationship(back_populates="contact_points")


class Consent(IdMixin, Base):
    """One period during which a consent was given; withdrawn_on closes it."""

    __tablename__ = "consents"
    # At most one open (not withdrawn) period per party and kind.
    __table_args__ = (
        Index("uq_consents_open_kind", "party_id", "kind", unique=True,
              sqlite_where=text("withdrawn_on IS NULL"), postgresql_where=text("withdrawn_on IS NULL")),
    )

    party_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("parties.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    given_on: Mapped[dt.date] = mapped_column(Date)
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class BillingAccount(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "billing_accounts"

    account_number: Mapped[str] = mapped_column(String(20), unique=True)
    payer_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("parties.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    bill_delivery: Mapped[str] = mapped_column(String(16))
    delivery_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    payment_method: Mapped[str] = mapped_column(String(16))
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
    mandate_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    postal_code: Mapped[str] = mapped_column(String(4))
    locality: Mapped[str] = mapped_column(String(100))
    street: Mapped[str] = mapped_column(String(200))
    house_number: Mapped[str] = mapped_column(String(20))
    floor_door: Mapped[str | None] = mapped_column(String(40), nullable=True)
    balance: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2), default=decimal.Decimal("0"))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)

    def address_line(self) -> str:
        return address_line(self.postal_code, self.locality, self.street, self.house_number, self.floor_door)


class ContactReason(IdMixin, Base):
    """The configurable list of reasons an agent picks when recording a contact."""

    __tablename__ = "contact_reasons"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_hu: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=100)

    def name(self, language: str) -> str:
        return self.name_hu if language == "hu" else self.name_en


class Contact(IdMixin, Base):
    """One entry of the contact log, written by an agent or automatically by an action."""

    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_party_at", "party_id", "at"),)

    party_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("parties.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    reason_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("contact_reasons.id"), nullable=True)
    outcome: Mapped[str] = mapped_column(String(24))
    notes: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("staff_users.id"), nullable=True)
    staff_name: Mapped[str] = mapped_column(String(64), default="")
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    subject_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    subject_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[str] = mapped_column(String(300), default="")
    summary_params: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    def summary_text(self) -> str:
        """The automatic summary in the reader's language; text parameters that are message ids
        themselves (consent kinds and the like) are translated too, others pass unchanged."""
        if not self.summary:
            return ""
        params = {k: gettext(v) if isinstance(v, str) else v for k, v in (self.summary_params or {}).items()}
        return str(Msg(self.summary, **params))

    reason: Mapped[ContactReason | None] = relationship(lazy="joined")
