"""The invoice PDF carries what a Hungarian invoice must show, pages through long usage lists and
gives the same bytes for the same data (pure: no database)."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader
from reportlab.pdfbase.ttfonts import TTFont

from backoffice.billing import pdf as invoice_pdf
from backoffice.billing.pdf import (
    NO_ITEMISED_USAGE,
    InvoicePdfData,
    PdfLine,
    PdfParty,
    PdfUsage,
    PdfVatTotal,
    render_invoice,
)
from backoffice.pdf.direct import CachedFont

SELLER = PdfParty(
    name="Dunatel Távközlési Zrt.",
    address="1117 Budapest XI., Október huszonharmadika utca 8.",
    tax_number="12345678-2-43",
    eu_vat_number="HU12345678",
)
PERSON = PdfParty(name="Kőműves Ödönné Szűts Erzsébet", address="6720 Szeged, Fűzfa utca 12. 3/14", tax_number=None)
COMPANY = PdfParty(
    name="Hegyvidéki Építő Kft.",
    address="1094 Budapest IX., Tűzoltó utca 31.",
    tax_number="87654321-2-41",
    eu_vat_number="HU87654321",
)
MOBILE = "+36 30 123 4567"
SECOND = "+36 70 765 4321"


def line(
    description: str = "Mobil 25 díjcsomag havidíja",
    service: str = MOBILE,
    net: int = 4990,
    rate: str = "27.00",
    *,
    quantity: str = "1",
    unit: str = "hó",
    unit_price: str | None = None,
    period: str = "2026.10.01–2026.10.31",
) -> PdfLine:
    vat = (Decimal(net) * Decimal(rate) / 100).quantize(Decimal(1))
    return PdfLine(
        description=description,
        service=service,
        period=period,
        quantity=Decimal(quantity),
        unit=unit,
        unit_price=Decimal(unit_price if unit_price is not None else net),
        net=Decimal(net),
        vat_rate=Decimal(rate),
        vat=vat,
        gross=Decimal(net) + vat,
    )


def usage_row(index: int, service: str = MOBILE) -> PdfUsage:
    day, minute = 1 + index % 28, index % 60
    kind = ("Hívás", "SMS", "Adat", "Roaming hívás", "Roaming adat")[index % 5]
    return PdfUsage(
        service=service,
        started=f"2026.10.{day:02d} {8 + index % 12:02d}:{minute:02d}:{index % 59:02d}",
        kind=kind,
        destination="internet" if "adat" in kind.lower() else f"+36 20 {index:03d} {index % 10000:04d}",
        quantity={"Hívás": "3:25", "SMS": "1 db", "Adat": "12,4 MB"}.get(kind, "1:02"),
        charge=Decimal(index % 7) * Decimal("35.50"),
    )


def totals(lines: list[PdfLine]) -> list[PdfVatTotal]:
    rates: dict[Decimal, list[PdfLine]] = {}
    for item in lines:
        rates.setdefault(item.vat_rate, []).append(item)
    result = []
    for rate, items in sorted(rates.items(), reverse=True):
        net = sum((i.net for i in items), Decimal(0))
        vat = (net * rate / 100).quantize(Decimal(1))
        result.append(PdfVatTotal(rate=rate, net=net, vat=vat, gross=net + vat))
    return result


def invoice(
    lines: list[PdfLine] | None = None,
    *,
    buyer: PdfParty = PERSON,
    usage: list[PdfUsage] | None = None,
    number: str = "INV-2026-0000001",
) -> InvoicePdfData:
    lines = lines if lines is not None else typical_lines()
    vat_totals = totals(lines)
    net = sum((t.net for t in vat_totals), Decimal(0))
    vat = sum((t.vat for t in vat_totals), Decimal(0))
    return InvoicePdfData(
        number=number,
        issue_date=dt.date(2026, 11, 2),
        fulfilment_date=dt.date(2026, 10, 31),
        due_date=dt.date(2026, 11, 17),
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        seller=SELLER,
        seller_bank_account="11773016-11111018-00000000",
        buyer=buyer,
        customer_number="C-0012345",
        account_number="BA-0067890",
        payment_method="Banki átutalás",
        lines=lines,
        vat_totals=vat_totals,
        net_total=net,
        vat_total=vat,
        gross_total=net + vat,
        usage=usage,
    )


def typical_lines() -> list[PdfLine]:
    return [
        line("Mobil 25 díjcsomag havidíja"),
        line("Adatjegy 5 GB havidíja", net=1990),
        line("Belföldi hívások díjcsomagon felül", net=1172, quantity="33", unit="perc", unit_price="35.50",
             period=""),
        line("SMS díjcsomagon felül", net=150, quantity="6", unit="db", unit_price="25", period=""),
        line("Mobil 10 díjcsomag havidíja (22/31 nap)", SECOND, net=2123, quantity="22", unit="nap",
             unit_price="2990", period="2026.10.10–2026.10.31"),
        line("Roaming adatforgalom (EU)", SECOND, net=318, quantity="12.5", unit="MB", unit_price="25.40",
             period=""),
        line("SIM-csere díja", SECOND, net=2000, quantity="1", unit="db", period=""),
        line("Számlakezelési díj", "", net=390, period=""),
    ]


def text_of(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def flat(text: str) -> str:
    """Extracted text with every run of white space made one space (no-break spaces print as spaces)."""
    return re.sub(r"\s+", " ", text)


def test_invoice_shows_every_field_a_hungarian_invoice_must_carry() -> None:
    data = invoice(buyer=COMPANY)
    text = flat("\n".join(text_of(render_invoice(data))))

    assert "Számla" in text
    for required in (
        SELLER.name,
        SELLER.address,
        "Adószám: 12345678-2-43",
        "Közösségi adószám: HU12345678",
        COMPANY.name,
        COMPANY.address,
        "Adószám: 87654321-2-41",
        "Közösségi adószám: HU87654321",
        "INV-2026-0000001",
        "Kiállítás dátuma 2026.11.02.",
        "Teljesítés dátuma 2026.10.31.",
        "Fizetési határidő 2026.11.17.",
        "Számlázási időszak 2026.10.01.–2026.10.31.",
        "Ügyfélszám C-0012345",
        "Banki átutalás",
        "11773016-11111018-00000000",
        "Közlemény INV-2026-0000001",
    ):
        assert required in text, required
    # A line: description, service, period, quantity, unit, unit price, net, rate, VAT, gross.
    assert MOBILE in text and SECOND in text
    assert "Belföldi hívások díjcsomagon felül 33 perc 35,50 1 172 27% 316 1 488" in text
    assert "Mobil 10 díjcsomag havidíja (22/31 nap) 22 nap 2 990 2 123 27% 573 2 696" in text
    assert "2026.10.10–2026.10.31" in text
    assert "12,5 MB 25,40" in text
    # The VAT summary and the totals.
    net, vat, gross = (f"{v:,}".replace(",", " ") for v in (data.net_total, data.vat_total, data.gross_total))
    assert f"27% {net} {vat} {gross}" in text
    assert f"Összesen {net} {vat} {gross}" in text
    assert f"Fizetendő: {gross} Ft" in text
    # Hungarian accents survive (DejaVu, not Helvetica).
    assert "ő" in text and "ű" in text and "Ő" in text


def test_a_buyer_without_a_tax_number_gets_no_tax_number_line() -> None:
    text = flat(text_of(render_invoice(invoice(buyer=PERSON)))[0])

    assert PERSON.name in text and PERSON.address in text
    # The only tax numbers on the page are the seller's.
    assert re.findall(r"Adószám: (\S+)", text) == [SELLER.tax_number]
    assert re.findall(r"Közösségi adószám: (\S+)", text) == [SELLER.eu_vat_number]


def test_itemised_usage_is_printed_when_the_subscriber_consented() -> None:
    usage = [usage_row(i) for i in range(12)] + [usage_row(i, SECOND) for i in range(12, 20)]
    text = flat("\n".join(text_of(render_invoice(invoice(usage=usage)))))

    assert "Részletes forgalmi kimutatás" in text
    assert NO_ITEMISED_USAGE not in text
    for record in usage:
        assert record.started in text
    assert "2026.10.03 10:02:02 Adat internet 12,4 MB 71,00" in text


def test_empty_itemised_usage_says_there_was_no_traffic() -> None:
    text = flat("\n".join(text_of(render_invoice(invoice(usage=[])))))

    assert "Részletes forgalmi kimutatás" in text
    assert invoice_pdf.NO_USAGE in text


def test_no_itemised_usage_without_consent_says_so() -> None:
    text = flat("\n".join(text_of(render_invoice(invoice(usage=None)))))

    assert NO_ITEMISED_USAGE in text
    assert "Hívott fél" not in text


def test_two_thousand_usage_rows_flow_over_numbered_pages_with_every_row() -> None:
    usage = [usage_row(i) for i in range(1200)] + [usage_row(i, SECOND) for i in range(1200, 2000)]
    pages = [flat(page) for page in text_of(render_invoice(invoice(usage=usage)))]

    total = len(pages)
    assert total >= 5
    for number, page in enumerate(pages, start=1):
        assert f"{number}/{total} oldal" in page
        if number > 1:
            assert "Számla INV-2026-0000001" in page  # continuation pages repeat the invoice number
            assert "Időpont Típus Hívott fél / cél Mennyiség Díj (Ft)" in page  # header repeated
    everything = " ".join(pages)
    for index in (0, 1, 599, 1199, 1200, 1777, 1999):
        record = usage[index]
        assert f"{record.started} {record.kind}" in everything, index
    # Every row made it: each start time (unique per row here) appears once per row that has it.
    starts = [record.started for record in usage]
    assert sum(everything.count(start) for start in set(starts)) == len(starts)
    # A service's rows that continue on a new page say whose they are.
    assert f"{MOBILE} (folytatás)" in everything


def test_two_vat_rates_give_two_rows_in_the_vat_summary() -> None:
    lines = [*typical_lines(), line("Internetes tartalomszolgáltatás", net=1000, rate="5.00", period="")]
    data = invoice(lines)
    text = flat(text_of(render_invoice(data))[0])

    assert [t.rate for t in data.vat_totals] == [Decimal("27.00"), Decimal("5.00")]
    summary = text[text.index("ÁFA-összesítő") :]
    for total in data.vat_totals:
        net, vat, gross = (f"{v:,}".replace(",", " ") for v in (total.net, total.vat, total.gross))
        assert f"{total.rate:.0f}% {net} {vat} {gross}" in summary
    assert "5% 1 000 50 1 050" in summary


def test_same_data_gives_the_same_bytes() -> None:
    data = invoice(usage=[usage_row(i) for i in range(40)])

    first = render_invoice(data)
    assert render_invoice(data) == first
    assert render_invoice(replace(data, number="INV-2026-0000002")) != first


def test_font_cache_changes_no_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cached subset embedding gives exactly what reportlab's own embedding gives."""
    data = invoice(buyer=COMPANY, usage=[usage_row(i) for i in range(40)])
    cached = render_invoice(data)
    monkeypatch.setattr(CachedFont, "addObjects", TTFont.addObjects)

    assert render_invoice(data) == cached


def test_characters_outside_the_usual_set_are_printed_too() -> None:
    buyer = PdfParty(name="Čapek Jiří – Łódź ñ", address="1051 Budapest, Nádor utca 1.", tax_number=None)
    data = invoice(buyer=buyer)
    text = flat(text_of(render_invoice(data))[0])

    assert "Čapek Jiří – Łódź ñ" in text
    assert render_invoice(data) == render_invoice(data)
