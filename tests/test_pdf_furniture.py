"""Print headers and footers of a real PDF stay out of the passages (index.clean's
repeated-line evidence), the body text stays whole, and line numbers and pages still
point at the right lines of the extracted text. Real PDFs (matplotlib's PDF backend),
real pypdf extraction, a real index with the bundled embedder."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from index.build import build  # noqa: E402
from index.clean import clean_document  # noqa: E402
from index.load import load_file  # noqa: E402
from rag.retrieval.embeddings import Embedder  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.types import RawDocument  # noqa: E402

RUNNING = "Tweede Kamer, vergaderjaar 2025–2026, 21 501-02, nr. 3123"
FOOTER = "Kamerbrief Europese Unie als geopolitieke speler, pagina {n} van {total}"
BODY = [
    "De wereldorde waarin de EU zich de afgelopen 80 jaar heeft ontwikkeld, verandert\n"
    "snel en blijvend. Het kabinet zet daarom in op een sterke en weerbare Unie.",
    "De NAVO-bondgenoten spraken in Den Haag af om in 2035 vijf procent van het bbp\n"
    "aan veiligheid te besteden. Nederland draagt daar volledig aan bij.",
    "Handel blijft een pijler van de Nederlandse welvaart. Het kabinet steunt een\n"
    "ambitieuze handelsagenda met nieuwe akkoorden, zoals met Mercosur en India.",
    "Tot slot zullen Europese eenheid en solidariteit van groot belang blijven.\n"
    "In sommige gevallen zullen lidstaten samen een kopgroep moeten vormen.",
    "Het kabinet blijft zich inzetten voor een veilig, welvarend en democratisch\n"
    "Europa dat nauw samenwerkt met zijn partners in de wereld.",
]
Header = Callable[[int], str | None]
LAYOUTS: dict[str, tuple[int, Header]] = {
    # pages, header of page n (None: no running header on that page)
    "every page": (5, lambda n: f"{RUNNING}   {n}"),
    "title page without header": (3, lambda n: None if n == 1 else f"{RUNNING}   {n}"),
    "number on alternating sides": (
        4,
        lambda n: f"{RUNNING}   {n}" if n % 2 else f"{n}   {RUNNING}",
    ),
}


def write_pdf(path: Path, pages: int, header: Header) -> Path:
    """A real PDF: per page a header at the top, body text, a footer at the bottom."""
    with PdfPages(path) as pdf:
        for n in range(1, pages + 1):
            fig = plt.figure(figsize=(8.27, 11.69))
            text = header(n)
            if text:
                fig.text(0.1, 0.95, text, fontsize=9)
            fig.text(0.1, 0.75, BODY[n - 1], fontsize=11)
            if n > 1 or text:  # the title page has no footer either when it has no header
                fig.text(0.1, 0.04, FOOTER.format(n=n, total=pages), fontsize=8)
            pdf.savefig(fig)
            plt.close(fig)
    return path


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_headers_and_footers_stay_out_of_the_passages(
    layout: str, tmp_path: Path, default_embedder: Embedder
) -> None:
    pages, header = LAYOUTS[layout]
    pdf = write_pdf(tmp_path / "kamerstuk.pdf", pages, header)
    raw = load_file(pdf)
    assert RUNNING in raw.text and "pagina 2 van" in raw.text  # pypdf extracts them
    document = clean_document(raw)
    assert "Tweede Kamer" not in document.text and "pagina" not in document.text
    for body in BODY[:pages]:
        assert flat(body) in flat(document.text)  # the body text stays whole

    settings = Settings(index={"path": tmp_path / "index"})
    store = build(settings, default_embedder, [pdf])
    chunks = [c for c in store.chunks if c.kind == "body"]
    passages = flat(" ".join(c.text for c in chunks))
    assert "Tweede Kamer" not in passages and "vergaderjaar" not in passages
    assert "pagina" not in passages and not re.search(r"\b3123\b", passages)
    raw_lines = raw.text.split("\n")
    for chunk in chunks:  # every sentence's lines are the extracted lines that hold it
        for sentence in chunk.sentences:
            text = flat(chunk.sentence_text(sentence))
            held = raw_lines[sentence.line_start - 1 : sentence.line_end]
            assert text in flat(" ".join(held)), (text, held)
            assert text.split()[0] in held[0] and text.split()[-1] in held[-1]
            assert not any("Tweede Kamer" in line or "pagina" in line for line in held)
    for n, body in enumerate(BODY[:pages], start=1):
        chunk = next(c for c in chunks if flat(body) in flat(c.text))
        assert chunk.page_start is not None and chunk.page_start <= n <= (chunk.page_end or n)


def test_a_line_repeated_inside_the_body_is_kept(tmp_path: Path) -> None:
    """The edge rule needs every occurrence at a page edge: a sentence that two pages
    repeat in their middle is body text."""
    refrain = "Europa moet sterker worden."
    pages = [f"Pagina-opening {n}.\n{refrain}\nEen eigen slotzin {n}." for n in (1, 2)]

    def page(n: int) -> str:
        return f"Inleidende regel op pagina {n}.\n{pages[n - 1]}\nAfsluitende regel {n}."

    path = tmp_path / "refrein.pdf"
    with PdfPages(path) as pdf:
        for n in (1, 2, 3):
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.1, 0.7, page(n) if n < 3 else "Derde pagina zonder refrein.", fontsize=11)
            pdf.savefig(fig)
            plt.close(fig)
    document = clean_document(load_file(path))
    assert flat(document.text).count(refrain) == 2


def test_footnotes_that_differ_only_in_numbers_are_kept() -> None:
    """Footnotes citing parliamentary papers look alike digits ignored, and sit at page
    edges; they are no furniture (only a running header carries their shape elsewhere)."""
    pages = [
        f"Tekst van pagina {n} met een verwijzing naar de brief.{n}\n\n"
        f"{n} Kamerstuk 21 501-02, nr. {2950 + n}\n"
        for n in range(1, 5)
    ]
    text = "\f".join(pages)
    raw = RawDocument(
        doc_id="noten", name="noten.pdf", source="noten.pdf", content_hash="x", text=text
    )
    document = clean_document(raw)
    assert [(f.number, f.text) for f in document.footnotes] == [
        (n, f"Kamerstuk 21 501-02, nr. {2950 + n}") for n in range(1, 5)
    ]
