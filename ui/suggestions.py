"""Example questions, briefing topics and a header line drawn from what is indexed.

Nothing here names a particular document: the questions and topics come from the
section headings of the indexed passages, so they follow the documents as they are
added and removed. Per document the headings are taken in reading order, generic ones
("Inleiding", "Appendix", numbered annexes…) skipped, long ones cut at their first
clause, duplicates dropped, and a few picked evenly spread over the document; several
documents take turns. The question wording follows the reader's interface language
("nl" or "en"); headings stay in the document's own language. Pure functions, no Gradio.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Protocol

from index.metadata import fallback_title
from rag.language.identify import detect_language
from rag.types import Chunk

HEADING_MAX = 90
"""Longest heading shown (characters); longer ones are cut at a clause or word."""
NAME_MAX = 40
"""Longest document name in the header and in questions."""
NAMES_SHOWN = 3
"""Document names listed in the header before "and N more"."""
GENERIC_HEADINGS = frozenset(
    """inleiding introductie voorwoord samenvatting conclusie conclusies slot afsluiting
    inhoud inhoudsopgave voetnoten noten eindnoten literatuur literatuurlijst bronnen
    referenties colofon bijlage bijlagen
    introduction preface foreword summary abstract conclusion conclusions contents
    footnotes notes endnotes references bibliography sources colophon appendix appendices
    annex annexes acknowledgements acknowledgments""".split()
) | {"tot slot", "table of contents", "executive summary", "in conclusion"}
"""Headings that name a part of any document rather than a subject (lower case)."""
GENERIC_PREFIXES = ("bijlage ", "appendix ", "annex ")
"""Numbered annexes ("Bijlage 2: …") are skipped too."""

QUESTION = {
    "nl": "Wat zegt {title} over {heading}?",
    "en": "What does {title} say about {heading}?",
}
QUOTED = "“{}”"
"""An English interface quotes a heading that is not English rather than inline it
(in questions and briefing topics): What does the document say about “Veranderende
geopolitieke context”?"""
THE_DOCUMENT = {"nl": "het document", "en": "the document"}
"""Named so when only one document is indexed: in the letter's index, "What does
<title> say about <heading>?" ranked the two opening passages (which share the title's
words) above the section's own for 7 of 8 headings; "the document" put a passage of the
section first for all 8. With several documents the title says which one is meant."""
MAIN_POINTS = {  # for a document without usable headings
    "nl": "Wat zijn de hoofdpunten van {title}?",
    "en": "What are the main points of {title}?",
}
HEADER = {
    "nl": ("Nog geen documenten geïndexeerd", "document", "documenten", "en {n} andere"),
    "en": ("No documents indexed yet", "document", "documents", "and {n} more"),
}

_NUMBERING = re.compile(r"^\s*(?:§\s*)?(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.|[A-Za-z][.)])\s+")
_CLAUSE = re.compile(r",\s|\s[–—-]\s|:\s|;\s|\s\(")


class IndexedDocument(Protocol):
    """What the suggestions need of an indexed document (a manifest `DocumentEntry`)."""

    @property
    def doc_id(self) -> str: ...

    @property
    def name(self) -> str: ...


def _lang(lang: str) -> str:
    return "nl" if lang == "nl" else "en"


def _cut(text: str, limit: int) -> str:
    """`text` cut at the last word boundary within `limit` characters, with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:–—-")
    return f"{head}…"


def short_heading(heading: str) -> str:
    """A heading without its numbering, on one line, at most `HEADING_MAX` characters:
    cut at its first clause ("Versterking van de diplomatieke inzet, met meer …" →
    "Versterking van de diplomatieke inzet") when that leaves two words or more."""
    text = _NUMBERING.sub("", " ".join(heading.split())).strip().rstrip(".:")
    if len(text) <= HEADING_MAX:
        return text
    clause = _CLAUSE.search(text)
    if clause and len(text[: clause.start()].split()) >= 2:
        text = text[: clause.start()]
    return _cut(text, HEADING_MAX)


def is_generic(heading: str) -> bool:
    """A heading like "Inleiding" or "Bijlage 2", or too short to be a subject."""
    lowered = heading.casefold()
    if len(lowered) < 3 or not any(ch.isalpha() for ch in lowered):
        return True
    return lowered in GENERIC_HEADINGS or lowered.startswith(GENERIC_PREFIXES)


def document_headings(chunks: Sequence[Chunk], doc_id: str) -> list[str]:
    """The usable section headings of one document, shortened, in reading order."""
    seen: set[str] = set()
    headings: list[str] = []
    body = sorted((c for c in chunks if c.doc_id == doc_id and c.kind == "body"), key=_start)
    for chunk in body:
        heading = short_heading(chunk.section)
        if heading and not is_generic(heading) and heading.casefold() not in seen:
            seen.add(heading.casefold())
            headings.append(heading)
    return headings


def _start(chunk: Chunk) -> int:
    return chunk.start


def spread(items: Sequence[str], k: int) -> list[str]:
    """`k` items evenly spread from first to last (all of them when there are few)."""
    if k >= len(items):
        return list(items)
    if k <= 1:
        return list(items[:k])
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def _take_turns(per_document: Sequence[Sequence[str]], limit: int) -> list[str]:
    """Up to `limit` items, documents sharing evenly, each one's picks spread over it,
    listed in turns (first item of each document, then the second, …)."""
    quotas = [0] * len(per_document)
    while sum(quotas) < limit:
        grew = False
        for i, items in enumerate(per_document):
            if quotas[i] < len(items) and sum(quotas) < limit:
                quotas[i] += 1
                grew = True
        if not grew:
            break
    picks = [spread(items, q) for items, q in zip(per_document, quotas, strict=True)]
    return [p[i] for i in range(max(quotas, default=0)) for p in picks if i < len(p)]


def document_title(name: str) -> str:
    """A readable title from a file name: "eu-geopolitiek-kamerbrief.txt" →
    "eu geopolitiek kamerbrief" (at most `NAME_MAX` characters)."""
    return _cut(fallback_title(PurePosixPath(name.replace("\\", "/")).name), NAME_MAX)


def suggested_questions(
    chunks: Sequence[Chunk], documents: Sequence[IndexedDocument], lang: str, limit: int = 4
) -> list[str]:
    """Up to `limit` example questions about the indexed documents' sections, worded in
    `lang`: "Wat zegt <document> over <heading>?" / "What does <document> say about …?",
    <document> being the document's title, or "het document" / "the document" when it is
    the only one indexed."""
    lang = _lang(lang)
    per_document = []
    for doc in documents:
        title = document_title(doc.name) if len(documents) > 1 else THE_DOCUMENT[lang]
        headings = document_headings(chunks, doc.doc_id)
        if headings:
            per_document.append(
                [QUESTION[lang].format(title=title, heading=_as_shown(h, lang)) for h in headings]
            )
        elif any(c.doc_id == doc.doc_id for c in chunks):
            per_document.append([MAIN_POINTS[lang].format(title=title)])
    return _take_turns(per_document, limit)


def _as_shown(heading: str, lang: str) -> str:
    if lang == "en" and detect_language(heading) != "en":
        return QUOTED.format(heading)
    return heading


def briefing_topics(
    chunks: Sequence[Chunk],
    documents: Sequence[IndexedDocument],
    limit: int = 12,
    lang: str = "nl",
) -> list[str]:
    """Up to `limit` briefing topics: section headings spread over the indexed
    documents, each heading once; quoted as headings in an English interface (the
    briefing follows the interface's language)."""
    seen: set[str] = set()
    per_document = []
    for doc in documents:
        fresh = [h for h in document_headings(chunks, doc.doc_id) if h.casefold() not in seen]
        seen.update(h.casefold() for h in fresh)
        per_document.append([_as_shown(h, _lang(lang)) for h in fresh])
    return _take_turns(per_document, limit)


def header_text(documents: Sequence[IndexedDocument], lang: str) -> str:
    """One line saying what is indexed: "2 documenten: a.pdf, b.txt" / "5 documents:
    a.pdf, b.txt, c.md and 2 more" / "No documents indexed yet"."""
    empty, one, many, more = HEADER[_lang(lang)]
    if not documents:
        return empty
    names = ", ".join(_cut(" ".join(d.name.split()), NAME_MAX) for d in documents[:NAMES_SHOWN])
    rest = len(documents) - NAMES_SHOWN
    tail = f" {more.format(n=rest)}" if rest > 0 else ""
    return f"{len(documents)} {one if len(documents) == 1 else many}: {names}{tail}"
