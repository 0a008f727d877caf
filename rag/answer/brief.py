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

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.answer.brief_en import key_facts, topic_language
from rag.answer.render import citations_markdown
from rag.answer.summary import in_context, pick, span_text, with_context
from rag.backends.extractive import Candidate, rank_sentences
from rag.query.analysis import analyse
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import Briefing, BriefingPoint, Chunk, Citation, Hit, Sentence

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
MAX_POINTS = 8
TOPIC_PASSAGES = 8  # passages a topic briefing draws on
MAX_WORDINGS = 8  # the topic's wordings its sentences are scored against


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
        picked = _topic_sentences(retriever, embedder, settings, topic, chunks, documents)
    else:
        picked = _central_sentences(chunks, embedder, settings)
    return _assemble(topic, language, "extractive", picked, embedder)


Picked = list[tuple[Chunk, list[Sentence]]]  # a bullet: a chunk and its sentences


def _topic_sentences(
    retriever: Retriever,
    embedder: Embedder,
    settings: Settings,
    topic: str,
    chunks: Sequence[Chunk],
    documents: Sequence[str] = (),
) -> Picked:
    """The sentences that best match the topic, each with the sentence before it when it
    leans back. The topic is ranked together with the corpus words aligned to it
    ("defence" → "defensie"), so a topic in either language finds the same sentences."""
    if documents:
        hits = retriever.search(analyse(topic), TOPIC_PASSAGES, documents=documents)
    else:
        hits = retriever.search(analyse(topic), TOPIC_PASSAGES)
    ranked = _ranked_for_topic(retriever, embedder, settings, topic, hits)
    floor = settings.answer.min_support
    picked: Picked = []
    used: set[tuple[str, int]] = set()
    for candidate in ranked:
        if candidate.score < floor or len(picked) >= MAX_POINTS:
            break
        chunk = hits[candidate.hit_index].chunk
        index = next(
            i for i, s in enumerate(chunk.sentences) if chunk.sentence_text(s) == candidate.text
        )
        chunk, sentences = in_context(chunks, chunk, index)
        keys = {(chunk.chunk_id, s.start) for s in sentences}
        if keys & used:
            continue
        used |= keys
        picked.append((chunk, sentences))
    return picked


def _ranked_for_topic(
    retriever: Retriever,
    embedder: Embedder,
    settings: Settings,
    topic: str,
    hits: Sequence[Hit],
) -> list[Candidate]:
    """The passages' sentences by their best score against the topic's wordings: the
    topic with all corpus words aligned to it, and the topic with one of its words
    replaced by an aligned corpus word ("enlargement" → "uitbreiding"), so an English
    topic scores the Dutch sentences as its Dutch counterpart does."""
    best: dict[tuple[int, str], Candidate] = {}
    for wording in _topic_wordings(retriever, topic, settings.retrieval.heading_similarity):
        for candidate in rank_sentences(embedder, settings.answer, wording, hits):
            key = (candidate.hit_index, candidate.text)
            if key not in best or candidate.score > best[key].score:
                best[key] = candidate
    return sorted(best.values(), key=lambda c: -c.score)


def _topic_wordings(retriever: Retriever, topic: str, similarity: float) -> list[str]:
    """The topic with the corpus words aligned to its words (a topic is short, like a
    heading, so its words are aligned as loosely as headings are: "defence" ~
    "defensie"), then, for each word the documents do not use, the topic with that word
    replaced by its closest aligned word (the others may be another sense: "enlargement"
    ~ "uitbreiding", but also "vergroting")."""
    aligner = getattr(retriever, "aligner", None)
    if aligner is None:
        return [topic]
    concepts = aligner.concepts(topic, min_similarity=similarity, pairs=False)
    terms = [term for concept in concepts for term in concept]
    wordings = [" ".join(dict.fromkeys([topic, *terms]))]
    for word, *aligned in concepts:
        if not aligned or word in aligner.known:  # the documents use the word itself
            continue
        pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
        if pattern.search(topic):  # its closest corpus word only
            wordings.append(pattern.sub(aligned[0], topic))
    return list(dict.fromkeys(wordings))[:MAX_WORDINGS]


def _central_sentences(chunks: Sequence[Chunk], embedder: Embedder, settings: Settings) -> Picked:
    """A summary of the whole corpus: `rag.answer.summary.pick` over all body sentences,
    by section."""
    found: dict[str, tuple[Chunk, int]] = {}
    for chunk in chunks:
        if chunk.kind != "body":
            continue
        for index, sentence in enumerate(chunk.sentences):
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
    picked = sorted(picked, key=lambda cs: (cs[0].doc_id, cs[0].start + cs[1][0].start))
    points: list[BriefingPoint] = []
    citations: list[Citation] = []
    for marker, (chunk, sentences) in enumerate(picked, start=1):
        text = span_text(chunk, sentences)
        facts = key_facts(text, embedder) if language == "en" else []
        points.append(
            BriefingPoint(section=chunk.section, text=text, markers=[marker], facts=facts)
        )
        citations.append(
            Citation(
                marker=marker,
                chunk_id=chunk.chunk_id,
                document=chunk.document,
                section=chunk.section,
                lines=(sentences[0].line_start, sentences[-1].line_end),
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
