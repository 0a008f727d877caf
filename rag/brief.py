"""Short structured briefings: the documents' positions on a topic, every bullet cited.

Extractive by default: with a topic, the sentences that best match it are taken from the
retrieved passages; without one, each section contributes its most central sentences
(closest to the section's mean embedding). Bullets are grouped by section in reading
order. With a language-model backend configured, the model writes the briefing from the
same passages and the answer chain cites and verifies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.backends.extractive import rank_sentences
from rag.embeddings import Embedder
from rag.language import answer_language
from rag.query import analyse
from rag.render import citations_markdown
from rag.settings import Settings
from rag.types import Briefing, BriefingPoint, Chunk, Citation, Sentence

if TYPE_CHECKING:
    from rag.chain import AnswerChain, Retriever

TITLES = {"nl": "Briefing", "en": "Briefing"}
WHOLE = {"nl": "de hele tekst", "en": "the whole text"}
SOURCES = {"nl": "Bronnen", "en": "Sources"}
OPENING = {"nl": "Inleiding", "en": "Opening"}  # text before the first heading
NOTHING = {
    "nl": "De documenten zeggen niets over dit onderwerp.",
    "en": "The documents say nothing about this topic.",
}
MAX_POINTS = 8
TOPIC_PASSAGES = 8  # passages a topic briefing draws on


def write_briefing(
    topic: str | None,
    *,
    retriever: Retriever,
    chain: AnswerChain,
    chunks: Sequence[Chunk],
    embedder: Embedder,
    settings: Settings,
    backend: str | None = None,
) -> Briefing:
    """A briefing on `topic` (None: the whole corpus). A model backend writes it through
    the answer chain; the extractive one picks sentences itself."""
    topic = " ".join(topic.split()) if topic else None
    language = answer_language(topic) if topic else "nl"
    name = backend or settings.generation.backend
    if name != "extractive" and topic:
        return _from_answer(chain, topic, language, name)
    if topic:
        picked = _topic_sentences(retriever, embedder, settings, topic)
    else:
        picked = _central_sentences(chunks, embedder)
    return _assemble(topic, language, "extractive", picked)


def _topic_sentences(
    retriever: Retriever, embedder: Embedder, settings: Settings, topic: str
) -> list[tuple[Chunk, Sentence]]:
    hits = retriever.search(analyse(topic), TOPIC_PASSAGES)
    ranked = rank_sentences(embedder, settings.answer, topic, hits)
    floor = settings.answer.min_support
    picked: list[tuple[Chunk, Sentence]] = []
    for candidate in ranked[:MAX_POINTS]:
        if candidate.score < floor:
            break
        chunk = hits[candidate.hit_index].chunk
        sentence = next(s for s in chunk.sentences if chunk.sentence_text(s) == candidate.text)
        picked.append((chunk, sentence))
    return picked


def _central_sentences(chunks: Sequence[Chunk], embedder: Embedder) -> list[tuple[Chunk, Sentence]]:
    by_section: dict[tuple[str, str], list[tuple[Chunk, Sentence]]] = {}
    for chunk in chunks:
        if chunk.kind != "body":
            continue
        for sentence in chunk.sentences:
            by_section.setdefault((chunk.doc_id, chunk.section), []).append((chunk, sentence))
    picked: list[tuple[Chunk, Sentence]] = []
    per_section = max(1, MAX_POINTS // max(1, len(by_section)))
    for items in by_section.values():
        unique = list({c.sentence_text(s): (c, s) for c, s in items}.values())
        vectors = embedder.encode_passages([c.sentence_text(s) for c, s in unique])
        centrality = vectors @ vectors.mean(axis=0)
        for i in np.argsort(-centrality)[:per_section]:
            picked.append(unique[int(i)])
    return picked


def _assemble(
    topic: str | None, language: str, backend: str, picked: list[tuple[Chunk, Sentence]]
) -> Briefing:
    picked = sorted(picked, key=lambda cs: (cs[0].doc_id, cs[0].start + cs[1].start))
    points: list[BriefingPoint] = []
    citations: list[Citation] = []
    for marker, (chunk, sentence) in enumerate(picked, start=1):
        text = " ".join(chunk.sentence_text(sentence).split())
        points.append(BriefingPoint(section=chunk.section, text=text, markers=[marker]))
        citations.append(
            Citation(
                marker=marker,
                chunk_id=chunk.chunk_id,
                document=chunk.document,
                section=chunk.section,
                lines=(sentence.line_start, sentence.line_end),
                page=chunk.page_start,
                quote=text,
                supported=True,
                support=1.0,
            )
        )
    return Briefing(
        topic=topic,
        language=language,  # type: ignore[arg-type]
        backend=backend,
        points=points,
        citations=citations,
        markdown=_markdown(topic, language, points, citations),
    )


def _from_answer(chain: AnswerChain, topic: str, language: str, backend: str) -> Briefing:
    ask = {
        "nl": f"Geef een korte briefing met de standpunten over: {topic}",
        "en": f"Give a short briefing with the positions on: {topic}",
    }[language]
    answer = chain.invoke(ask, backend=backend, k=TOPIC_PASSAGES)
    points = [BriefingPoint(section="", text=s.text, markers=s.markers) for s in answer.sentences]
    return Briefing(
        topic=topic,
        language=language,  # type: ignore[arg-type]
        backend=answer.backend,
        points=points,
        citations=answer.citations,
        markdown=_markdown(topic, language, points, answer.citations),
    )


def _markdown(
    topic: str | None, language: str, points: list[BriefingPoint], citations: list[Citation]
) -> str:
    lines = [f"# {TITLES[language]}: {topic or WHOLE[language]}", ""]
    if not points:
        return "\n".join(lines + [NOTHING[language], ""])
    section = None
    for point in points:
        if point.section != section:
            section = point.section
            lines += ["", f"## {section or OPENING[language]}", ""]
        marks = "".join(f"[{m}]" for m in point.markers)
        lines.append(f"- {point.text} {marks}".rstrip())
    lines += ["", f"## {SOURCES[language]}", "", citations_markdown(citations), ""]
    return "\n".join(lines)
