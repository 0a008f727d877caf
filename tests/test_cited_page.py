"""A PDF citation names the page of the cited sentence, not the passage's first page.

Real PDFs (matplotlib's PDF backend, with a text layer) of three short pages, so one
passage spans all three; indexed with the real embedder and asked through the real
pipeline, the HTTP API and the chat's source list.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import matplotlib
import pytest
from serving import serve_in_thread

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from assembly.library import open_pipeline  # noqa: E402
from index.build import build  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.retrieval.embeddings import Embedder  # noqa: E402
from rag.settings import Settings  # noqa: E402
from ui.access import Access  # noqa: E402
from ui.api import build_api  # noqa: E402
from ui.chat import source_choices  # noqa: E402
from ui.markup import citation_html  # noqa: E402

PAGES = [
    "Notitie over de havens van Zeeland.\nDe haven van Vlissingen groeit elk jaar.",
    "De gemeente Middelburg bouwt een nieuw station.\nHet station opent in 2029.",
    "De vuurtoren van Westkapelle kreeg in 2031 het codewoord Pimpernel.",
]
QUESTION = "Welk codewoord kreeg de vuurtoren van Westkapelle?"


def write_pdf(path: Path, pages: list[str]) -> Path:
    with PdfPages(path) as pdf:
        for text in pages:
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.1, 0.8, text, fontsize=12)
            pdf.savefig(fig)
            plt.close(fig)
    return path


@pytest.fixture(scope="module")
def pdf_pipeline(tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder) -> Pipeline:
    folder = tmp_path_factory.mktemp("pdf-pages")
    write_pdf(folder / "zeeland-notitie.pdf", PAGES)
    settings = Settings(index={"path": folder / "index"})
    build(settings, default_embedder, [folder / "zeeland-notitie.pdf"])
    return open_pipeline(settings)


def test_one_passage_spans_the_three_pages(pdf_pipeline: Pipeline) -> None:
    chunks = pdf_pipeline.store.chunks
    assert len(chunks) == 1, [c.text for c in chunks]
    assert (chunks[0].page_start, chunks[0].page_end) == (1, 3)
    pages = [s.page for s in chunks[0].sentences]
    assert pages[0] == 1 and pages[-1] == 3, pages


def test_citation_names_the_page_of_the_cited_sentence(pdf_pipeline: Pipeline) -> None:
    answer = pdf_pipeline.ask(QUESTION)
    assert not answer.refused and "Pimpernel" in answer.answer
    cited = [c for c in answer.citations if "Pimpernel" in c.quote]
    assert cited, answer.citations
    assert all(c.page == 3 for c in cited), [(c.quote, c.page) for c in cited]
    # the chat: the source list entry and the source card say p. 3
    labels = [label for label, _ in source_choices(answer, 0, "en")]
    assert any("p. 3" in label for label in labels), labels
    assert "p. 1" not in " ".join(labels)
    chunk = next(c for c in pdf_pipeline.store.chunks if c.chunk_id == cited[0].chunk_id)
    card = citation_html(cited[0], chunk, lang="en")
    assert "p. 3" in card and "p. 1" not in card


def test_api_page_field_is_the_cited_sentence_page(pdf_pipeline: Pipeline) -> None:
    with serve_in_thread(build_api(pdf_pipeline, Access())) as url:
        reply = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=120)
    assert reply.status_code == 200, reply.text
    cited = [c for c in reply.json()["citations"] if "Pimpernel" in c["quote"]]
    assert cited and all(c["page"] == 3 for c in cited), reply.json()["citations"]
