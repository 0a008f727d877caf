"""The whole-corpus tables the retriever consults per question: names, acronyms, the
passages that open and close each document, headings, footnote links, document sizes.

`from_chunks` computes them from the passages in memory (the folder store). A store that
does not hold its passages (the PostgreSQL store) builds the same `CorpusTables` from
per-document summaries instead and offers them as `store.corpus_tables()`; the retriever
uses that when it exists. Positions are store positions, as everywhere in retrieval.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from rag.query.structure import part_positions
from rag.types import Chunk


def acronyms(text: str) -> set[str]:
    """Lower-cased acronyms of three to six capitals ("NAVO", "MFK")."""
    return {a.lower() for a in re.findall(r"\b[A-Z]{3,6}\b", text)}


def name_words(texts: Sequence[str]) -> tuple[set[str], set[str]]:
    """(words capitalised inside a sentence, words written in lower case), lower-cased."""
    names: set[str] = set()
    lower: set[str] = set()
    for text in texts:
        for match in re.finditer(r"(?<![.!?:]\s)(?<![.!?:])(?<!^)\b([A-Z][a-z]\w+)", text):
            names.add(match.group(1).lower())
        lower.update(re.findall(r"\b[a-z]\w+", text))
    return names, lower


def corpus_names(texts: Sequence[str]) -> set[str]:
    """Lower-cased words the corpus capitalises inside sentences: names of places, people
    and bodies ("Noorwegen", "Mercosur")."""
    names, lower = name_words(texts)
    return names - lower


@dataclass(frozen=True)
class CorpusTables:
    """What the retriever needs of the whole corpus, without holding its passages."""

    names: set[str]
    acronyms: set[str]
    footnotes: dict[tuple[str, int | None], int]  # (doc id, footnote number) → position
    parts: dict[str, list[int]]  # "start" / "end" → positions
    headings: list[str]  # in corpus order, each once
    headings_by_doc: dict[str, list[str]]
    sizes: dict[str, int]  # body passages per document
    counts: Counter[str]  # passages per document
    doc_of: Callable[[int], str]  # a position's document
    section_positions: Callable[[str], list[int]] = field(repr=False)  # body under a heading

    def scoped_headings(self, scope: Collection[str]) -> list[str]:
        """The headings of the documents in `scope`, in corpus order, each once."""
        return list(
            dict.fromkeys(h for d, hs in self.headings_by_doc.items() if d in scope for h in hs)
        )


def from_chunks(chunks: Sequence[Chunk]) -> CorpusTables:
    """The tables of passages held in memory."""
    headings_by_doc: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for chunk in chunks:
        sizes[chunk.doc_id] = sizes.get(chunk.doc_id, 0) + (chunk.kind == "body")
        if chunk.section:
            headings_by_doc.setdefault(chunk.doc_id, []).append(chunk.section)

    def section_positions(heading: str) -> list[int]:
        return [i for i, c in enumerate(chunks) if c.section == heading and c.kind == "body"]

    return CorpusTables(
        names=corpus_names([c.text for c in chunks]),
        acronyms=acronyms(" ".join(c.text for c in chunks)),
        footnotes={
            (c.doc_id, c.footnote_number): i for i, c in enumerate(chunks) if c.kind == "footnote"
        },
        parts={part: part_positions(chunks, part) for part in ("start", "end")},
        headings=list(dict.fromkeys(c.section for c in chunks if c.section)),
        headings_by_doc={d: list(dict.fromkeys(hs)) for d, hs in headings_by_doc.items()},
        sizes=sizes,
        counts=Counter(c.doc_id for c in chunks),
        doc_of=lambda position: chunks[position].doc_id,
        section_positions=section_positions,
    )
