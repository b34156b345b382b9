"""The subscriber's confirmation of every subscription action: written in Hungarian (the customer's
language), printed by subscriptions.pdf and registered as an outgoing document of the customer,
so it is in their documents with a registry number."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import clock
from backoffice.actors import Principal
from backoffice.db import utcnow
from backoffice.i18n import N_, Msg, current_language, gettext, label
from backoffice.identifiers import phone_display
from backoffice.subscriptions.models import AddOn, Plan, ServiceKind, SuspensionReason, TerminationReason
from backoffice.subscriptions.pdf import Confirmation, confirmation

if TYPE_CHECKING:
    from backoffice.subscriptions.lifecycle import Preview
    from backoffice.subscriptions.models import Contract, PendingAction, Service

LETTER_LANGUAGE = "hu"


def money(amount: Decimal, places: int = 2) -> str:
    """Hungarian notation: 3 149,61 Ft (a no-break space between thousands)."""
    text = f"{amount:,.{places}f}".replace(",", "\u00a0").replace(".", ",")
    return f"{text}\u00a0Ft"


def service_label(kind: str, number: str | None, address: str) -> str:
    """How a letter names a service: its kind and number, or its kind and installation address."""
    what = label(kind)
    if number:
        return f"{what} {phone_display(number)}"
    return f"{what}, {address}" if address else what


async def _names(session: AsyncSession, action: str, details: dict[str, Any]) -> dict[str, str]:
    """The catalogue names a letter prints, in the letter's language (the agent may read English)."""
    names: dict[str, str] = {}
    reason = details.get("reason")
    if reason:
        model: Any = TerminationReason if action == "terminate" else SuspensionReason
        row = (await session.execute(_by_code(model), {"code": reason})).scalar_one_or_none()
        names["reason"] = row.name(LETTER_LANGUAGE) if row is not None else str(reason)
    for key in ("from_plan", "to_plan"):
        if details.get(key):
            row = (await session.execute(_by_code(Plan), {"code": details[key]})).scalar_one_or_none()
            names[key] = row.name(LETTER_LANGUAGE) if row else details[key]
    if details.get("addon"):
        row = (await session.execute(_by_code(AddOn), {"code": details["addon"]})).scalar_one_or_none()
        names["addon"] = row.name(LETTER_LANGUAGE) if row else details["addon"]
    return names


@functools.cache
def _by_code(model: Any) -> Any:
    """A catalogue entry by its code, composed once per kind (every action's letter names one)."""
    return select(model).where(model.code == bindparam("code"))


async def send_confirmation(
    session: AsyncSession, actor: Principal | None, contract: Contract, service: Service | None, result: Preview,
    seller_name: str, *, withdrawn: PendingAction | None = None, notes: list[Msg] | None = None,
    party_id: int | None = None,
) -> Any:
    """Print the confirmation of `result` (about a service, or the contract as a whole when
    `service` is None) and register it in the documents of the subscriber (or of `party_id`)."""
    from backoffice.customers.services import get_party
    from backoffice.documents import services as documents
    from backoffice.subscriptions.lifecycle import ACTION_LABELS

    party = await get_party(session, party_id or contract.subscriber_id)
    names = await _names(session, result.action, result.details)
    token = current_language.set(LETTER_LANGUAGE)
    try:
        what = service_label(service.kind, service.number, service.install_address()) if service else ""
        action = gettext(ACTION_LABELS[result.action])
        reference = [
            (gettext(N_("Customer number")), party.customer_number),
            (gettext(N_("Contract number")), contract.number),
        ]
        if service is not None:
            reference.append((gettext(N_("Service")), what))
        if result.details.get("new_contract"):
            reference.append((gettext(N_("New contract number")), str(result.details["new_contract"])))
        if service is not None and service.kind == ServiceKind.SIM.value and result.details.get("new_iccid"):
            reference.append((gettext(N_("New SIM card (ICCID)")), str(result.details["new_iccid"])))
        details: list[tuple[str, str]] = []
        if withdrawn is not None:
            title = gettext(N_("Confirmation: scheduled change withdrawn"))
            statement = gettext(N_(
                "We confirm that the %(action)s scheduled for %(date)s has been withdrawn at your request; "
                "the service continues unchanged."),
                action=gettext(ACTION_LABELS.get(withdrawn.action, withdrawn.action)).lower(),
                date=withdrawn.effective_date.isoformat())
        else:
            title = gettext(N_("Confirmation: %(action)s"), action=action.lower())
            statement = gettext(
                N_("We confirm that the following change is scheduled. You may withdraw it until it takes effect.")
                if result.scheduled else N_("We confirm the following change to your service."))
            details.append((gettext(N_("Change")), action))
            details.append((gettext(N_("Effective from")), result.effective_date.isoformat()))
            if "reason" in names:
                details.append((gettext(N_("Reason")), names["reason"]))
            if "from_plan" in names:
                details.append((gettext(N_("Previous plan")), names["from_plan"]))
                details.append((gettext(N_("New plan")), names.get("to_plan", "")))
            elif "to_plan" in names:  # an order: the plan ordered
                details.append((gettext(N_("Plan")), names["to_plan"]))
            if "addon" in names:
                details.append((gettext(N_("Add-on")), names["addon"]))
            if result.details.get("payer_account"):
                details.append((gettext(N_("New payer")), f"{result.details.get('payer_name', '')} "
                                                          f"({result.details['payer_account']})"))
            if result.details.get("representative"):
                details.append((gettext(N_("Representative")), str(result.details["representative"])))
            if result.details.get("scope"):
                details.append((gettext(N_("Authority")), str(result.details["scope"])))
            if result.details.get("new_subscriber"):
                details.append((gettext(N_("New subscriber")), str(result.details["new_subscriber"])))
            if result.details.get("end_date"):
                details.append((gettext(N_("Works again from")), str(result.details["end_date"])))
            if result.details.get("imei"):
                details.append((gettext(N_("IMEI of the lost handset")), str(result.details["imei"])))
            for note in notes if notes is not None else result.notes:
                details.append((gettext(N_("Note")), str(note)))
        fees = [(fee.name(LETTER_LANGUAGE), money(fee.amount), f"{fee.vat_rate.normalize():f} %",
                 money(fee.gross, 0)) for fee in result.fees]
        letter = Confirmation(
            title=title, seller_name=seller_name, recipient_name=party.display_name,
            recipient_address=party.addresses[0].one_line() if party.addresses else "",
            reference=reference, statement=statement, details=details,
            fee_heading=gettext(N_("One-off fees on your next bill")),
            fee_columns=(gettext(N_("Item")), gettext(N_("Net")), gettext(N_("VAT")), gettext(N_("Gross"))),
            fees=fees,
            closing=gettext(N_("If you did not ask for this change, please call customer service.")),
            generated_label=gettext(N_("Printed")), page_label=gettext(N_("%(page)s / %(pages)s")),
        )
        subject = f"{title} · {what or contract.number}"
    finally:
        current_language.reset(token)
    # Drawn here, not in a thread: about a millisecond of work that holds the interpreter lock
    # throughout, so a thread would only add the hand-over.
    content = confirmation(letter, utcnow())
    day = clock.today().isoformat()
    return await documents.register_outgoing(
        session, actor, pdf=content, document_type="confirmation", recipient=party.display_name,
        subject=subject, party_id=party.id, filename=f"confirmation-{contract.number}-{day}.pdf", log_contact=False,
    )
