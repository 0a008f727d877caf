"""Suggested questions, briefing topics and the header line (ui.suggestions), from the
real index of the bundled letter, and from indexes with a second (Markdown) document
added or with that document alone: the suggestions follow what is indexed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import LETTER_HEADINGS

from assembly.library import open_pipeline
from index.build import build
from index.store import DocumentEntry
from rag.pipeline import Pipeline
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from ui.suggestions import (
    HEADING_MAX,
    briefing_topics,
    document_headings,
    header_text,
    is_generic,
    short_heading,
    spread,
    suggested_questions,
)

NOTE = """\
# Arctic policy note

## Introduction

This note sets out the government's Arctic policy for the coming years.

## 1. Shipping routes

The Arctic is warming four times faster than the rest of the planet. Shipping routes
through the north are opening, and with them competition for minerals and fish.

## 2. Research cooperation

Norway and the Netherlands agreed to share satellite data on sea ice every month. The
government will fund a research station on Svalbard until 2030.

## Appendix A: figures

Sea ice extent fell by thirteen percent per decade since 1979.
"""
NOTE_HEADINGS = ["Shipping routes", "Research cooperation"]
LETTER = [short_heading(h) for h in LETTER_HEADINGS]


def _index(folder: Path, paths: list[Path], embedder: Embedder) -> Pipeline:
    settings = Settings(index={"path": folder})
    build(settings, embedder, paths)
    return open_pipeline(settings)


@pytest.fixture(scope="module")
def note_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("note") / "arctic-note.md"
    path.write_text(NOTE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_documents(tmp_path_factory, letter_path, note_path, default_embedder) -> Pipeline:
    return _index(tmp_path_factory.mktemp("two"), [letter_path, note_path], default_embedder)


@pytest.fixture(scope="module")
def note_only(tmp_path_factory, note_path, default_embedder) -> Pipeline:
    return _index(tmp_path_factory.mktemp("note-only"), [note_path], default_embedder)


def _suggestions(p: Pipeline, lang: str, limit: int = 4) -> list[str]:
    return suggested_questions(p.store.chunks, p.documents(), lang, limit)


# ---- the letter alone -------------------------------------------------------------------


def test_letter_headings_are_its_sections_shortened_in_reading_order(pipeline):
    (doc,) = pipeline.documents()
    headings = document_headings(pipeline.store.chunks, doc.doc_id)
    assert headings == LETTER
    assert all(len(h) <= HEADING_MAX for h in headings)
    assert "Versterking van de diplomatieke inzet" in headings  # cut at its first clause


def test_letter_questions_are_spread_over_its_sections_in_both_languages(pipeline):
    nl = _suggestions(pipeline, "nl")
    en = _suggestions(pipeline, "en")
    prefix_nl, prefix_en = "Wat zegt het document over ", "What does the document say about "
    assert len(nl) == len(en) == 4
    assert all(q.startswith(prefix_nl) and q.endswith("?") for q in nl)
    assert all(q.startswith(prefix_en) and q.endswith("?") for q in en)
    asked = [q[len(prefix_nl) : -1] for q in nl]
    assert asked == [q[len(prefix_en) : -1].strip("“”") for q in en]  # quoted in English
    assert asked[0] == LETTER[0] and asked[-1] == LETTER[-1], "first and last section"
    assert asked == sorted(set(asked), key=LETTER.index), "distinct, in reading order"
    assert _suggestions(pipeline, "nl", limit=20) == [prefix_nl + h + "?" for h in LETTER]


def test_each_suggested_question_finds_its_own_section_first(pipeline):
    """The suggestions are worth clicking: the passage ranked first sits in the section
    the question names."""
    for question in _suggestions(pipeline, "nl", limit=8) + _suggestions(pipeline, "en", 8):
        top = pipeline.retrieve(question)[0].chunk
        assert short_heading(top.section) in question, (question, top.section)


def test_letter_topics_and_header(pipeline):
    assert briefing_topics(pipeline.store.chunks, pipeline.documents()) == LETTER
    assert briefing_topics(pipeline.store.chunks, pipeline.documents(), limit=3) == spread(
        LETTER, 3
    )
    docs = pipeline.documents()
    assert header_text(docs, "nl") == "1 document: eu-geopolitiek-kamerbrief.txt"
    assert header_text(docs, "en") == "1 document: eu-geopolitiek-kamerbrief.txt"


# ---- a second document, and that document alone -----------------------------------------


def test_a_second_document_gets_its_own_questions_and_topics(two_documents):
    nl = _suggestions(two_documents, "nl")
    en = _suggestions(two_documents, "en")
    assert nl[1] == "Wat zegt arctic note over Shipping routes?"
    assert en[1] == "What does arctic note say about Shipping routes?"
    assert en[3] == "What does arctic note say about Research cooperation?"
    assert en[0].startswith("What does eu geopolitiek kamerbrief say about ")
    assert not any("Introduction" in q or "Appendix" in q for q in nl + en)
    topics = briefing_topics(two_documents.store.chunks, two_documents.documents())
    assert topics[:4] == [LETTER[0], "Shipping routes", LETTER[1], "Research cooperation"]
    assert sorted(topics) == sorted(LETTER + NOTE_HEADINGS)
    header = header_text(two_documents.documents(), "nl")
    assert header == "2 documenten: eu-geopolitiek-kamerbrief.txt, arctic-note.md"
    answer = two_documents.ask(en[1])
    assert answer.citations and {c.document for c in answer.citations} == {"arctic-note.md"}


def test_suggestions_follow_the_documents_actually_indexed(note_only):
    chunks, docs = note_only.store.chunks, note_only.documents()
    assert _suggestions(note_only, "en") == [
        "What does the document say about Shipping routes?",
        "What does the document say about Research cooperation?",
    ]
    assert briefing_topics(chunks, docs) == NOTE_HEADINGS
    assert header_text(docs, "en") == "1 document: arctic-note.md"
    assert not any("kamerbrief" in s or s in LETTER for s in _suggestions(note_only, "nl"))


# ---- the small rules --------------------------------------------------------------------


def test_headings_are_cleaned_and_generic_ones_skipped():
    assert short_heading("2.1  Handel\n") == "Handel"
    assert short_heading("IV. Context:") == "Context"
    long = "Een heel lang kopje " + "met veel woorden " * 10
    assert len(short_heading(long)) <= HEADING_MAX and short_heading(long).endswith("…")
    generic = ("Inleiding", "Bijlage 2: tabellen", "Appendix", "Table of contents", "12", "EU")
    assert all(is_generic(h) for h in generic)
    assert not any(is_generic(h) for h in ("Handel", "Research cooperation", "Slotsom"))


def test_header_lists_a_few_names_and_counts_the_rest():
    docs = [
        DocumentEntry(doc_id=f"d{i}", name=f"doc-{i}.pdf", source="", content_hash="", chunks=1)
        for i in range(5)
    ]
    assert header_text(docs, "nl") == "5 documenten: doc-0.pdf, doc-1.pdf, doc-2.pdf en 2 andere"
    assert header_text(docs, "en") == "5 documents: doc-0.pdf, doc-1.pdf, doc-2.pdf and 2 more"
    assert header_text([], "nl") == "Nog geen documenten geïndexeerd"
    assert header_text([], "en") == "No documents indexed yet"


def test_an_english_interface_quotes_dutch_headings(pipeline):
    """What does the document say about “Veranderende geopolitieke context…”? — a Dutch
    heading is quoted, not inlined, in questions and briefing topics alike."""
    en = _suggestions(pipeline, "en")
    assert all(re.fullmatch(r"What does the document say about “[^“”]+”\?", q) for q in en), en
    topics = briefing_topics(pipeline.store.chunks, pipeline.documents(), lang="en")
    assert topics and all(t.startswith("“") and t.endswith("”") for t in topics)
    assert briefing_topics(pipeline.store.chunks, pipeline.documents(), lang="nl") == LETTER
