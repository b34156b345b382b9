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
from backoffice.subscriptions.models import (
    AddOn,
    OneOffFee,
    Plan,
    PlanChangeRule,
    PoolNumber,
    SuspensionReason,
    TerminationReason,
)

__all__ = [
    "AddOn",
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
    "OneOffFee",
    "Party",
    "PartyNameToken",
    "Plan",
    "PlanChangeRule",
    "PoolNumber",
    "StaffSession",
    "StaffUser",
    "StoredContent",
    "SuspensionReason",
    "TerminationReason",
]
