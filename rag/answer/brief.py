"""Short structured briefings: the documents' positions on a topic, every bullet cited.

Extractive by default: with a topic, the sentences that best match it (and the corpus
words aligned to it, so "defence" and "defensie" brief alike) are taken from the
retrieved passages; without one, `rag.answer.summary.pick` takes central yet different
sentences round the sections. A bullet that opens with an anaphor ("Dat", "This")
carries the sentence before it. Bullets are grouped by section in reading
order. With a language-model backend configured, the model writes the briefing from the
same passages and the answer chain cites and verifies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.answer.brief_en import key_facts, topic_language
from rag.answer.render import citations_markdown
from rag.answer.summary import pick, span_text, with_context
from rag.answer.topic import TOPIC_PASSAGES, Picked, in_reading_order, topic_sentences
from rag.answer.verdicts import sentence_citation
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import Briefing, BriefingPoint, Chunk, Citation, Sentence
from rag.verify.planted import is_planted

if TYPE_CHECKING:
    from rag.answer.chain import AnswerChain, Retriever

TITLES = {"nl": "Briefing", "en": "Briefing"}
LEAD_IN = {
    "nl": "",
    "en": "Each point gives its key facts in English, then the Dutch sentence it rests on "
    "(quoted; the documents are Dutch).",
}
SECTION = {"nl": "{}", "en": "Section “{}”"}  # an English briefing quotes Dutch headings
FACTS = {"nl": "", "en": "Key facts"}
NO_FACTS = "no figures, names or listed terms; see the quote"
WHOLE = {"nl": "de hele tekst", "en": "the whole text"}
SOURCES = {"nl": "Bronnen", "en": "Sources"}
OPENING = {"nl": "Inleiding", "en": "Opening"}  # text before the first heading
NOTHING = {
    "nl": "De documenten zeggen niets over dit onderwerp.",
    "en": "The documents say nothing about this topic.",
}


def write_briefing(
    topic: str | None,
    *,
    retriever: Retriever,
    chain: AnswerChain,
    chunks: Sequence[Chunk],
    embedder: Embedder,
    settings: Settings,
    backend: str | None = None,
    documents: Sequence[str] = (),
    prefer: str | None = None,
) -> Briefing:
    """A briefing on `topic` (None: the whole corpus). A model backend writes it through
    the answer chain; the extractive one picks sentences itself. `documents`: only
    from these documents' passages (empty: all). The topic's language is its own
    (`rag.answer.brief_en.topic_language`); `prefer` (the interface's) decides a tie and
    the language of a briefing without a topic."""
    if documents:
        chunks = [c for c in chunks if c.doc_id in documents]
    topic = " ".join(topic.split()) if topic else None
    known: frozenset[str] = getattr(getattr(retriever, "aligner", None), "known", frozenset())
    dictionary = settings.answer.glossary
    if topic:
        language = topic_language(topic, known, dictionary, prefer)
    else:
        language = prefer if prefer in ("nl", "en") else "nl"
    name = backend or settings.generation.backend
    if name != "extractive" and topic:
        return _from_answer(chain, topic, language, name, documents)
    if topic:
        picked = topic_sentences(retriever, embedder, settings, topic, chunks, documents)
    else:
        picked = _central_sentences(chunks, embedder, settings)
    return _assemble(topic, language, "extractive", picked, embedder)


def _central_sentences(chunks: Sequence[Chunk], embedder: Embedder, settings: Settings) -> Picked:
    """A summary of the whole corpus: `rag.answer.summary.pick` over all body sentences,
    by section."""
    found: dict[str, tuple[Chunk, int]] = {}
    for chunk in chunks:
        if chunk.kind != "body":
            continue
        for index, sentence in enumerate(chunk.sentences):
            if is_planted(chunk, index):  # it addresses the reader or the system
                continue
            text = " ".join(chunk.sentence_text(sentence).split())
            # Overlapping passages hold a sentence twice: keep the copy that has the
            # sentence before it in the same passage.
            if len(text) >= settings.answer.min_sentence_chars and (
                text not in found or found[text][1] == 0
            ):
                found[text] = (chunk, index)
    items = list(found.items())
    if not items:
        return []
    vectors = embedder.encode_passages([text for text, _ in items])
    groups = [(chunk.doc_id, chunk.section) for _, (chunk, _) in items]
    a = settings.answer
    # Every section gets a point, however many there are.
    chosen = pick(vectors, groups, max(a.summary_points, len(set(groups))), a.summary_diversity)
    return [with_context_of(items[i][1]) for i in chosen]


def with_context_of(found: tuple[Chunk, int]) -> tuple[Chunk, list[Sentence]]:
    chunk, index = found
    return chunk, with_context(chunk, index)


def _assemble(
    topic: str | None, language: str, backend: str, picked: Picked, embedder: Embedder
) -> Briefing:
    picked = in_reading_order(picked)
    points: list[BriefingPoint] = []
    citations: list[Citation] = []
    for marker, (chunk, sentences) in enumerate(picked, start=1):
        text = span_text(chunk, sentences)
        facts = key_facts(text, embedder) if language == "en" else []
        points.append(
            BriefingPoint(section=chunk.section, text=text, markers=[marker], facts=facts)
        )
        citations.append(sentence_citation(marker, chunk, sentences, text))
    return Briefing(
        topic=topic,
        language=language,  # type: ignore[arg-type]
        backend=backend,
        points=points,
        citations=citations,
        markdown=_markdown(topic, language, points, citations, quoted=True),
    )


def _from_answer(
    chain: AnswerChain, topic: str, language: str, backend: str, documents: Sequence[str] = ()
) -> Briefing:
    ask = {
        "nl": f"Geef een korte briefing met de standpunten over: {topic}",
        "en": f"Give a short briefing with the positions on: {topic}",
    }[language]
    answer = chain.invoke(ask, backend=backend, k=TOPIC_PASSAGES, documents=documents)
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
    topic: str | None,
    language: str,
    points: list[BriefingPoint],
    citations: list[Citation],
    quoted: bool = False,
) -> str:
    lines = [f"# {TITLES[language]}: {topic or WHOLE[language]}", ""]
    if not points:
        return "\n".join(lines + [NOTHING[language], ""])
    if quoted and LEAD_IN[language]:
        lines += [LEAD_IN[language], ""]
    section = None
    for point in points:
        if point.section != section:
            section = point.section
            heading = SECTION[language].format(section) if section else OPENING[language]
            lines += ["", f"## {heading}", ""]
        marks = "".join(f"[{m}]" for m in point.markers)
        if quoted and FACTS[language]:
            facts = "; ".join(point.facts) or NO_FACTS
            lines.append(f"- {FACTS[language]}: {facts} {marks}".rstrip())
            lines.append(f"  > {point.text}")
        else:
            lines.append(f"- {point.text} {marks}".rstrip())
    lines += ["", f"## {SOURCES[language]}", "", citations_markdown(citations), ""]
    return "\n".join(lines)
