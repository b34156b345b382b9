"""Generated PDFs registered as outgoing documents: their pages are counted from the drawing
application's own page objects, which must agree with what parsing the file finds."""

from __future__ import annotations

from reportlab.platypus import Paragraph

from backoffice import pdf
from backoffice.documents.content import examine
from backoffice.documents.services import _examined_own_pdf


def drawn(paragraphs: int) -> bytes:
    st = pdf.styles()
    story = [Paragraph(f"Sor {i}: árvíztűrő tükörfúrógép", st.body) for i in range(paragraphs)]
    return pdf.build(story, title="Teszt", author="Demo", header_left="Demo", header_right="Teszt",
                     footer_note="Nyomtatva")


def test_a_generated_pdf_has_the_pages_parsing_would_find_without_being_parsed() -> None:
    for paragraphs in (1, 120, 400):
        data = drawn(paragraphs)
        own = _examined_own_pdf(data)
        assert own is not None and own.media_type == "application/pdf" and own.size == len(data)
        assert own.page_count == examine(data).page_count


def test_something_that_is_not_a_finished_pdf_is_examined_in_full() -> None:
    data = drawn(3)
    assert _examined_own_pdf(data[:-200]) is None
    assert _examined_own_pdf(b"GIF89a" + data) is None
