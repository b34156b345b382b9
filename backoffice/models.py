"""Imports every domain's tables so that Base.metadata is complete (Alembic, tests)."""

from backoffice.audit import AuditEntry
from backoffice.customers.models import (
    Address,
    BillingAccount,
    Consent,
    Contact,
    ContactPoint,
    ContactReason,
    Party,
    PartyNameToken,
)
from backoffice.db import Base
from backoffice.documents.models import Case, Document, DocumentAccess, DocumentType, StoredContent
from backoffice.numbering import Counter
from backoffice.staff.models import ApiToken, StaffSession, StaffUser

__all__ = [
    "Address",
    "ApiToken",
    "AuditEntry",
    "Base",
    "BillingAccount",
    "Case",
    "Consent",
    "Contact",
    "ContactPoint",
    "ContactReason",
    "Counter",
    "Document",
    "DocumentAccess",
    "DocumentType",
    "Party",
    "PartyNameToken",
    "StaffSession",
    "StaffUser",
    "StoredContent",
]
