"""The year register PDF (iktatókönyv) and the shared PDF layer under it: pure, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pypdf
import pytest
from reportlab.platypus import Paragraph

from backoffice import pdf
from backoffice.documents.pdf import RegisterLabels, RegisterRow, register_report

LABELS = RegisterLabels(
    title="Iktatókönyv %(year)s",
    registry_number="Iktatószám",
    registered_at="Iktatva",
    document_type="Irattípus",
    direction_channel="Irány / csatorna",
    correspondent="Küldő / címzett",
    subject="Tárgy",
    customer="Ügyfél",
    pages="Old.",
    documents_count="Iratok",
    voided_count="Érvénytelenített",
    cases_count="Ügyiratok",
    voided="ÉRVÉNYTELENÍTVE",
    empty="Az iktatókönyvben nincs bejegyzés.",
    generated="Készült",
    page="%(page)s / %(pages)s",
)
GENERATED = dt.datetime(2027, 1, 4, 8, 15, tzinfo=dt.UTC)
SELLER = "Demo Telekom Zrt."
CORRESPONDENTS = ["Kőműves Ödön", "Űrhajós Őrs & Társa Bt.", "Győri Ügyfélszolgálat <ugyfel@example.hu>"]


def _rows(count: int = 120) -> list[RegisterRow]:
    start = dt.datetime(2026, 1, 2, 7, 0, tzinfo=dt.UTC)
    return [
        RegisterRow(
            registry_number=f"2026/{i // 3 + 1:06d}-{i % 3 + 1}",
            registered_at=start + dt.timedelta(hours=i),
            document_type="Előfizetői szerződés" if i % 2 else "Általános levelezés",
            direction="Bejövő",
            channel="postai",
            correspondent=CORRESPONDENTS[i % 3],
            subject=(
                "Számlareklamáció: díj < 5000 Ft & késedelmi kamat > 0, Győr, Szent István út 12., "
                "kérem a részletfizetés engedélyezését"
                if i % 4 == 0
                else "Felmondás"
            ),
            customer_number=f"U{1000000 + i}" if i % 5 else "",
            page_count=i % 4 or None,
            voided=i == 7,
            void_reason="Téves iktatás: más ügyfél irata & duplikált" if i == 7 else None,
        )
        for i in range(count)
    ]


def _report(rows: list[RegisterRow]) -> bytes:
    return register_report(2026, rows, seller_name=SELLER, generated_at=GENERATED, labels=LABELS)


def _pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


@pytest.fixture(scope="module")
def report() -> bytes:
    return _report(_rows())


@pytest.fixture(scope="module")
def pages(report: bytes) -> list[str]:
    return _pages(report)


def test_the_register_runs_over_several_pages_numbered_x_of_y(pages: list[str]) -> None:
    total = len(pages)
    assert total > 2
    for number, text in enumerate(pages, start=1):
        assert f"{number} / {total}" in text
        assert SELLER in text
        assert "Iktatókönyv 2026" in text
        assert "Készült: 2027-01-04 09:15" in text  # shown in Budapest time


def test_the_header_row_repeats_once_at_the_top_of_every_page(pages: list[str]) -> None:
    assert all(text.count("Iktatószám") == 1 and "Küldő / címzett" in text for text in pages)


def test_every_registry_number_is_printed_once_in_order(pages: list[str]) -> None:
    printed = re.findall(r"2026/\d{6}-\d", "\n".join(pages))
    assert printed == [row.registry_number for row in _rows()]


def test_hungarian_letters_and_markup_characters_survive(pages: list[str]) -> None:
    text = "\n".join(pages)
    assert "Kőműves Ödön" in text
    assert "Űrhajós Őrs & Társa Bt." in text
    assert "<ugyfel@example.hu>" in text
    assert "Győr" in text
    assert "díj < 5000 Ft & késedelmi kamat > 0" in text
    assert "Előfizetői szerződés" in text


def test_the_summary_counts_documents_voided_and_cases(pages: list[str]) -> None:
    assert "Iratok: 120 · Érvénytelenített: 1 · Ügyiratok: 40" in pages[0]


def test_a_voided_entry_keeps_its_line_with_the_marker_and_reason(pages: list[str]) -> None:
    text = "\n".join(pages)
    assert "2026/000003-2" in text
    assert "ÉRVÉNYTELENÍTVE: Téves iktatás: más ügyfél irata & duplikált" in " ".join(text.split())


def test_registration_times_are_shown_in_budapest_time(pages: list[str]) -> None:
    assert "2026-01-02 08:00" in pages[0]  # 07:00 UTC in winter


def test_the_same_input_gives_the_same_bytes(report: bytes) -> None:
    assert _report(_rows()) == report


def test_an_empty_register_prints_the_empty_line() -> None:
    pages = _pages(_report([]))
    assert len(pages) == 1
    assert "Az iktatókönyvben nincs bejegyzés." in pages[0]
    assert "Iratok: 0" in pages[0]
    assert "1 / 1" in pages[0]


def test_naive_times_are_refused() -> None:
    row = _rows(1)[0]
    naive = dataclasses.replace(row, registered_at=dt.datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        _report([naive])


def test_the_shared_build_prints_hungarian_letters_the_builtin_fonts_lack() -> None:
    st = pdf.styles()
    data = pdf.build(
        [Paragraph("<b>őű ŐŰ</b> " + pdf.markup("a & b < c"), st.body)],
        title="Próba",
        author=SELLER,
        header_left=SELLER,
        header_right="Próba",
        footer_note="Lábjegyzet",
    )
    text = _pages(data)[0]
    assert "őű ŐŰ a & b < c" in text
    assert "1 / 1" in text
    assert "Lábjegyzet" in text
    assert data == pdf.build(
        [Paragraph("<b>őű ŐŰ</b> " + pdf.markup("a & b < c"), st.body)],
        title="Próba",
        author=SELLER,
        header_left=SELLER,
        header_right="Próba",
        footer_note="Lábjegyzet",
    )


def test_a_row_table_repeats_its_header_once_per_page_and_loses_no_row() -> None:
    # Rows short enough that a page holds more than the first window: the window must grow
    # rather than start a second table (and header) lower on the same page.
    style = [("FONT", (0, 0), (-1, -1), pdf.FONT, 5, 6), ("TOPPADDING", (0, 0), (-1, -1), 0)]
    style.append(("BOTTOMPADDING", (0, 0), (-1, -1), 0))
    rows = [[f"R{i:04d}R", "Kőműves Ödön"] for i in range(500)]
    data = pdf.build(
        [pdf.RowTable(["Sor", "Név"], rows, [80, 200], style)],
        title="t",
        author=SELLER,
        header_left=SELLER,
        header_right="",
        footer_note="",
    )
    pages = _pages(data)
    assert len(pages) < 6
    assert all(text.count("Név") == 1 for text in pages)
    assert re.findall(r"R(\d{4})R", "\n".join(pages)) == [f"{i:04d}" for i in range(500)]
