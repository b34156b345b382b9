"""Enum values that are translated where they are shown: marks for the extractor, nothing else.

Templates translate stored codes at display time, `{{ _(party.kind) }}`, `{{ _(c.channel) }}`,
`roles|zip_translate`, and so on: the msgid is the enum's value itself. Babel only extracts
string literals, so it never sees these msgids and `make i18n` would drop them from the
catalogues. Each value is marked here once, so extraction keeps it; keep this list in step with
the enums (tests/test_i18n.py checks it against them).

This module is never imported by the application.
"""

from backoffice.i18n import N_

# Party kinds (customers.models.PartyKind)
N_("individual")
N_("organisation")

# Staff roles (staff.models.Role)
N_("agent")
N_("supervisor")
N_("records")
N_("admin")

# Consent kinds (customers.models.ConsentKind)
N_("marketing")
N_("directory_listing")
N_("itemised_bill")

# Bill delivery (customers.models.BillDelivery)
N_("portal")
N_("email")
N_("paper")

# Payment methods (customers.models.PaymentMethod)
N_("bank_transfer")
N_("direct_debit")
N_("postal_cheque")

# Contact channels (customers.models.ContactChannel)
N_("phone")
N_("email")
N_("chat")
N_("in_person")
N_("letter")
N_("system")

# Contact directions (customers.models.ContactDirection)
N_("inbound")
N_("outbound")
N_("internal")

# Contact outcomes (customers.models.ContactOutcome)
N_("resolved")
N_("information_given")
N_("follow_up")
N_("escalated")
N_("no_answer")
N_("done")

# ID document types (customers.models.IdDocumentType)
N_("id_card")
N_("passport")
N_("driving_licence")
N_("residence_permit")

# Search hit kinds (search.SearchHit.kind, set by the customers search providers)
N_("name")
N_("phone")
N_("customer_number")
N_("account_number")

# Contact-point kinds (customers.models.ContactPoint.kind)
N_("phone")
N_("email")

# Document directions and channels (documents.models.Direction, Channel)
N_("incoming")
N_("outgoing")
N_("internal")
N_("post")
N_("email")
N_("portal")
N_("in_person")
N_("generated")

# Document access actions (documents.models.AccessAction)
N_("view")
N_("download")

# Search hit kinds set by the documents search provider
N_("registry_number")

# Service kinds (subscriptions.models.ServiceKind)
N_("sim")
N_("fixed_line")
N_("cable_tv")
N_("internet")

# Number pool (subscriptions.models.NumberKind, NumberStatus; "free" is the search filter)
N_("mobile")
N_("geographic")
N_("available")
N_("allocated")
N_("quarantine")
N_("free")

# How a suspension is billed (subscriptions.models.SuspensionBilling)
N_("full")
N_("suspension_fee")
N_("none")

# Who places or lifts a hold besides staff roles (subscriptions.catalogue)
N_("system")
N_("subscriber")

# Service states (subscriptions.rules.ServiceState) and contract states (models.ContractStatus)
N_("ordered")
N_("active")
N_("suspended")
N_("cancelled")
N_("terminated")
N_("ended")

# Access technologies of an internet service (subscriptions.models.AccessTechnology)
N_("dsl")
N_("cable")
N_("fibre")

# Scheduled changes (models.PendingStatus) and transfers of ownership (models.TransferStatus)
N_("pending")
N_("applied")
N_("withdrawn")
N_("failed")
N_("awaiting_approval")
N_("approved")
N_("rejected")
N_("completed")

# Search hit kinds set by the subscriptions search providers
N_("contract_number")
N_("service_number")
N_("iccid")

# The billing search provider (billing.invoices.register_search)
N_("invoice_number")
