"""The sentences of the documents on a topic: what a topic briefing and the chat's summary
of a topic cite.

The topic is searched, and the retrieved passages' sentences are ranked against the topic
together with the corpus words aligned to it ("defence" → "defensie"), so a topic in
either language finds the same sentences; each sentence that opens by pointing back
("Dat", "This") comes with the sentence before it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from rag.answer.summary import in_context
from rag.backends.extractive import Candidate, rank_sentences
from rag.query.analysis import Query, analyse
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import Chunk, Hit, Sentence

MAX_POINTS = 8
TOPIC_PASSAGES = 8  # passages a topic briefing draws on
MAX_WORDINGS = 8  # the topic's wordings its sentences are scored against
Picked = list[tuple[Chunk, list[Sentence]]]  # a bullet: a chunk and its sentences


def in_reading_order(picked: Picked) -> Picked:
    """Bullets in the order their first sentences stand in their documents."""
    return sorted(picked, key=lambda cs: (cs[0].doc_id, cs[0].start + cs[1][0].start))


class Retriever(Protocol):
    """What topic ranking needs of the retriever (its word aligner is optional)."""

    def search(
        self, query: Query, k: int, *, documents: Collection[str] | None = None
    ) -> list[Hit]: ...


def _aligner(retriever: Any) -> Any:
    return getattr(retriever, "aligner", None)


def topic_sentences(
    retriever: Retriever,
    embedder: Embedder,
    settings: Settings,
    topic: str,
    chunks: Sequence[Chunk],
    documents: Sequence[str] = (),
    follow: int = 0,
) -> Picked:
    """The sentences that best match the topic, each with the sentence before it when it
    leans back, and with up to `follow` sentences after it that match the topic too
    (scored at least `answer.min_support`; a summary's point often takes two or three
    sentences). The topic is ranked together with the corpus words aligned to it
    ("defence" → "defensie"), so a topic in either language finds the same sentences."""
    if documents:
        hits = retriever.search(analyse(topic), TOPIC_PASSAGES, documents=documents)
    else:
        hits = retriever.search(analyse(topic), TOPIC_PASSAGES)
    ranked = ranked_for_topic(retriever, embedder, settings, topic, hits)
    floor = settings.answer.min_support
    scores = {(hits[c.hit_index].chunk.chunk_id, c.text): c.score for c in ranked}
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
        sentences = _followed(chunk, sentences, scores, floor, follow)
        keys = {(chunk.chunk_id, s.start) for s in sentences}
        if keys & used:
            continue
        used |= keys
        picked.append((chunk, sentences))
    return picked


def _followed(
    chunk: Chunk,
    sentences: list[Sentence],
    scores: dict[tuple[str, str], float],
    floor: float,
    follow: int,
) -> list[Sentence]:
    """`sentences` with up to `follow` next sentences of the chunk that score `floor` or
    more against the topic (stopping at the first that does not)."""
    last = chunk.sentences.index(sentences[-1])
    for sentence in chunk.sentences[last + 1 : last + 1 + follow]:
        if scores.get((chunk.chunk_id, chunk.sentence_text(sentence)), 0.0) < floor:
            break
        sentences = [*sentences, sentence]
    return sentences


def ranked_for_topic(
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
    for wording in topic_wordings(retriever, topic, settings.retrieval.heading_similarity):
        for candidate in rank_sentences(embedder, settings.answer, wording, hits):
            key = (candidate.hit_index, candidate.text)
            if key not in best or candidate.score > best[key].score:
                best[key] = candidate
    return sorted(best.values(), key=lambda c: -c.score)


def topic_wordings(retriever: Retriever, topic: str, similarity: float) -> list[str]:
    """The topic with the corpus words aligned to its words (a topic is short, like a
    heading, so its words are aligned as loosely as headings are: "defence" ~
    "defensie"), then, for each word the documents do not use, the topic with that word
    replaced by its closest aligned word (the others may be another sense: "enlargement"
    ~ "uitbreiding", but also "vergroting")."""
    aligner = _aligner(retriever)
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
