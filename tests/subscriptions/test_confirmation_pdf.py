"""The confirmation letter's PDF on its own (pure: no database): a long letter runs over numbered
pages, characters beyond Hungarian's still print, and the same letter gives the same bytes."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace

from pypdf import PdfReader

from backoffice.subscriptions.pdf import Confirmation, confirmation

NBSP = "\u00a0"
WHEN = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)


def letter(details: int = 4, recipient: str = "Kőműves Ödönné Szűts Erzsébet") -> Confirmation:
    return Confirmation(
        title="Visszaigazolás: díjcsomag-váltás",
        seller_name="Demo Telekom Zrt.",
        recipient_name=recipient,
        recipient_address="6720 Szeged, Fűzfa utca 12. 3/14",
        reference=[("Ügyfélszám", "C-0012345"), ("Szerződésszám", "SZ-2025-000123"),
                   ("Szolgáltatás", "Mobil +36 30 999 0000")],
        statement="Visszaigazoljuk, hogy a szolgáltatását érintő alábbi változást ütemeztük; a változás "
                  "hatálybalépéséig Ön azt bármikor visszavonhatja. " * 3,
        details=[("Megjegyzés", f"{i}. megjegyzés, amely elég hosszú ahhoz, hogy két sorba törjön a levél "
                                f"jobb oldali oszlopában, ő és ű betűkkel") for i in range(1, details + 1)],
        fee_heading="Egyszeri díjak a következő számlán",
        fee_columns=("Tétel", "Nettó", "ÁFA", "Bruttó"),
        fees=[("SIM-csere díja", f"1{NBSP}574,80{NBSP}Ft", "27 %", f"2{NBSP}000{NBSP}Ft"),
              ("Kötbér", f"15{NBSP}748,00{NBSP}Ft", "27 %", f"20{NBSP}000{NBSP}Ft")],
        closing="Ha nem Ön kérte ezt a változást, kérjük, hívja az ügyfélszolgálatot.",
        generated_label="Nyomtatva",
        page_label="%(page)s / %(pages)s",
    )


def pages_of(data: bytes) -> list[str]:
    """Each page's text, white space (and no-break spaces) made single spaces."""
    return [" ".join(page.extract_text().replace(NBSP, " ").split()) for page in PdfReader(io.BytesIO(data)).pages]


def test_a_short_letter_is_one_page_with_everything_on_it() -> None:
    [page] = pages_of(confirmation(letter(), WHEN))

    for expected in ("Demo Telekom Zrt.", "Kőműves Ödönné Szűts Erzsébet", "6720 Szeged, Fűzfa utca 12. 3/14",
                     "Visszaigazolás: díjcsomag-váltás", "Ügyfélszám C-0012345", "Szerződésszám SZ-2025-000123",
                     "Egyszeri díjak a következő számlán", "Tétel Nettó ÁFA Bruttó",
                     "SIM-csere díja 1 574,80 Ft 27 % 2 000 Ft", "Kötbér 15 748,00 Ft 27 % 20 000 Ft",
                     "hívja az ügyfélszolgálatot", "Nyomtatva: 2025-03-10 10:30", "1 / 1"):
        assert expected in page, expected


def test_a_long_letter_continues_on_a_second_page_with_header_and_page_count() -> None:
    pages = pages_of(confirmation(letter(details=24), WHEN))

    assert len(pages) == 2
    for number, page in enumerate(pages, start=1):
        assert f"{number} / 2" in page
        assert "Demo Telekom Zrt." in page and "Visszaigazolás: díjcsomag-váltás" in page
        assert "Nyomtatva: 2025-03-10 10:30" in page
    text = " ".join(pages)
    for i in (1, 12, 24):
        assert f"{i}. megjegyzés" in text, i
    assert "Kötbér 15 748,00 Ft" in pages[1]


def test_characters_outside_the_usual_set_are_printed_too() -> None:
    name = "Łukasz Ω Čapek"
    data = confirmation(letter(recipient=name), WHEN)

    assert name in pages_of(data)[0]
    assert confirmation(letter(recipient=name), WHEN) == data


def test_the_same_letter_gives_the_same_bytes() -> None:
    long = letter(details=24)
    first = confirmation(long, WHEN)

    assert confirmation(long, WHEN) == first
    assert confirmation(replace(long, title="Visszaigazolás: szüneteltetés"), WHEN) != first
    assert confirmation(long, WHEN + dt.timedelta(minutes=1)) != first
