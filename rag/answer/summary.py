"""Extractive summaries that cover a document: central yet different sentences, section
by section.

`pick` is maximal marginal relevance over sentence (or passage) embeddings, taken round
the sections in reading order: each round gives every section the item closest to its
section's mean embedding (centrality) that is least like what was already picked
(diversity), so a summary of eight points touches eight sections rather than saying the
opening's point four times. `overview` picks passages that way for a question about the
gist of the whole document; `with_context` adds the sentence before one that opens with
an anaphor ("Dat tijdperk is definitief voorbij." needs the sentence it points back to).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from rag.language.text import ANAPHORS, words
from rag.types import Chunk, Hit, Sentence


def pick(
    vectors: np.ndarray, groups: Sequence[Hashable], limit: int, diversity: float
) -> list[int]:
    """Up to `limit` item indices, round the groups (in order of first appearance): in each
    round, per group, the item maximising (1 - diversity) · centrality − diversity ·
    (greatest similarity to an item already picked). Returned in the order picked."""
    if not len(groups) or limit <= 0:
        return []
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    members: dict[Hashable, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    centrality = np.zeros(len(groups))
    for indices in members.values():
        mean = unit[indices].mean(axis=0)
        centrality[indices] = unit[indices] @ (mean / max(float(np.linalg.norm(mean)), 1e-12))
    picked: list[int] = []
    while len(picked) < min(limit, len(groups)):
        for indices in members.values():
            left = [i for i in indices if i not in picked]
            if not left or len(picked) >= limit:
                continue
            redundancy = (
                (unit[left] @ unit[picked].T).max(axis=1) if picked else np.zeros(len(left))
            )
            score = (1 - diversity) * centrality[left] - diversity * redundancy
            picked.append(left[int(np.argmax(score))])
    return picked


def overview(
    chunks: Sequence[Chunk], vectors: np.ndarray, limit: int, diversity: float
) -> list[Hit]:
    """Passages that together cover the documents' sections (body text only), in reading
    order, as hits: what a question about the gist is answered from."""
    body = [i for i, c in enumerate(chunks) if c.kind == "body"]
    chosen = pick(
        vectors[body], [(chunks[i].doc_id, chunks[i].section) for i in body], limit, diversity
    )
    positions = sorted(body[i] for i in chosen)
    return [Hit(chunk=chunks[p], score=1.0, rank=r) for r, p in enumerate(positions, start=1)]


def leans_back(text: str) -> bool:
    """Whether a sentence opens with an anaphor from the lexicon ("Dit", "That", …)."""
    first = words(text)[:1]
    return bool(first) and first[0] in ANAPHORS


def with_context(chunk: Chunk, index: int) -> list[Sentence]:
    """The chunk's sentence `index`, preceded by the one before it when it leans back."""
    sentence = chunk.sentences[index]
    if index > 0 and leans_back(chunk.sentence_text(sentence)):
        return [chunk.sentences[index - 1], sentence]
    return [sentence]


def in_context(chunks: Sequence[Chunk], chunk: Chunk, index: int) -> tuple[Chunk, list[Sentence]]:
    """Like `with_context`, but a sentence that leans back and opens its passage is taken
    from an overlapping passage among `chunks` that holds the sentence before it too."""
    text = " ".join(chunk.sentence_text(chunk.sentences[index]).split())
    if index == 0 and leans_back(text):
        for other in chunks:
            if other.doc_id != chunk.doc_id or other.section != chunk.section:
                continue
            for j, sentence in enumerate(other.sentences[1:], start=1):
                if " ".join(other.sentence_text(sentence).split()) == text:
                    return other, with_context(other, j)
    return chunk, with_context(chunk, index)


def span_text(chunk: Chunk, sentences: Sequence[Sentence]) -> str:
    """The verbatim chunk text from the first sentence to the last, whitespace collapsed."""
    return " ".join(chunk.text[sentences[0].start : sentences[-1].end].split())
