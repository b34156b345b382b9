"""Tables of the documents domain: file plan types, cases, documents, stored contents, access log."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import Base, BigIntId, CodedNameMixin, IdMixin, TimestampMixin, UTCDateTime, VersionedMixin, utcnow


class Direction(enum.StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    INTERNAL = "internal"


class Channel(enum.StrEnum):
    POST = "post"
    EMAIL = "email"
    PORTAL = "portal"
    IN_PERSON = "in_person"
    GENERATED = "generated"


class AccessAction(enum.StrEnum):
    VIEW = "view"
    DOWNLOAD = "download"


class DocumentType(CodedNameMixin, IdMixin, Base):
    """An item of the file plan (irattári terv). Retention periods and their triggers arrive as
    dated versions of an item in a later table; a document keeps the version it was filed under."""

    __tablename__ = "document_types"


class Case(IdMixin, TimestampMixin, Base):
    """An ügyirat: one main registry number per year; its documents take sub-numbers 1, 2, ..."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("year", "main_number"),)

    year: Mapped[int] = mapped_column(Integer)
    main_number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), nullable=True, index=True)
    # A case of an earlier year is continued under a new main number that points back (előzmény).
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    last_sub_number: Mapped[int] = mapped_column(Integer, default=0)
    opened_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    documents: Mapped[list[Document]] = relationship(back_populates="case", order_by="Document.sub_number")

    @property
    def number(self) -> str:
        return case_number(self.year, self.main_number)


def case_number(year: int, main_number: int) -> str:
    return f"{year}/{main_number:06d}"


def registry_number(year: int, main_number: int, sub_number: int) -> str:
    return f"{case_number(year, main_number)}-{sub_number}"


class StoredContent(IdMixin, Base):
    """One stored original, named by its digest; documents with the same bytes share it."""

    __tablename__ = "document_contents"
    __table_args__ = (UniqueConstraint("algorithm", "digest"),)

    algorithm: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(64))
    # Where the bytes are: "primary" now; the archive issue adds "archive" and "destroyed".
    location: Mapped[str] = mapped_column(String(16), default="primary")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Document(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("case_id", "sub_number"),
        Index("ix_documents_party_registered", "party_id", "registered_at"),
        Index("ix_documents_type_registered", "document_type_id", "registered_at"),
        Index("ix_documents_intake", "direction", "party_id", "voided_at"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    sub_number: Mapped[int] = mapped_column(Integer)
    registry_number: Mapped[str] = mapped_column(String(24), unique=True)
    document_type_id: Mapped[int] = mapped_column(ForeignKey("document_types.id"))
    direction: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    correspondent: Mapped[str] = mapped_column(String(200))  # the sender, or the recipient of an outgoing one
    subject: Mapped[str] = mapped_column(String(300))
    occurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # received or sent
    page_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), nullable=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("document_contents.id"), index=True)
    original_filename: Mapped[str] = mapped_column(String(255), default="")  # shown, never used as a path
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    registered_by_id: Mapped[int | None] = mapped_column(BigIntId, nullable=True)
    registered_by: Mapped[str] = mapped_column(String(64))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    voided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Set by bulk intake (the file's name and digest): a re-run after a crash finds what it did.
    intake_key: Mapped[str | None] = mapped_column(String(400), nullable=True, unique=True)

    case: Mapped[Case] = relationship(back_populates="documents")
    document_type: Mapped[DocumentType] = relationship(lazy="joined")
    content: Mapped[StoredContent] = relationship(lazy="joined")

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


class DocumentAccess(IdMixin, Base):
    """Who viewed or downloaded a document's content, and when. Append-only."""

    __tablename__ = "document_access_log"
    __table_args__ = (Index("ix_document_access_document_at", "document_id", "at"),)

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigIntId, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(8))  # web or api
