"""What a refusal shows of its closest passages: each whole when it is short, else the
sentence of it that best matches the question, whole and with its own source lines.

The first characters of a passage often miss the line that matters; the sentence is
chosen with the extractive backend's own sentence score (`rag.verify.relevance.score_sentences`:
embedding similarity and shared content stems with the question and the heading), so the
line shown is the one the answer step came closest to using.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.retrieval.embeddings import Embedder
from rag.settings import AnswerSettings
from rag.types import Hit
from rag.verify.relevance import score_sentences


@dataclass(frozen=True)
class Excerpt:
    """A closest passage as shown: `text` is the whole passage or one whole sentence of
    it, `lines` its own source lines."""

    hit: Hit
    text: str
    lines: tuple[int, int]
    whole: bool

    @property
    def pages(self) -> str:
        """ "p. 3" or, for a passage over a page break, "pp. 3–4"; "" without pages."""
        first, last = self.hit.chunk.page_start, self.hit.chunk.page_end
        if first is None:
            return ""
        return f"p. {first}" if last in (None, first) else f"pp. {first}–{last}"


def closest_excerpts(
    embedder: Embedder,
    settings: AnswerSettings,
    question: str,
    hits: Sequence[Hit],
    limit: int = 3,
) -> list[Excerpt]:
    """The first `limit` hits, each as its best-matching sentence, or whole when short
    (`settings.closest_whole_chars`) or when it has no sentence long enough to score."""
    shown = list(hits[:limit])
    texts: list[str] = []
    owners: list[int] = []
    sentences = []
    for i, hit in enumerate(shown):
        chunk = hit.chunk
        if len(chunk.text) <= settings.closest_whole_chars:
            continue
        for sentence in chunk.sentences:
            text = chunk.sentence_text(sentence)
            if len(text.strip()) >= settings.min_sentence_chars:
                texts.append(text)
                owners.append(i)
                sentences.append(sentence)
    candidates = score_sentences(embedder, settings, question, texts, owners, shown)
    best: dict[int, int] = {}  # hit → its best candidate (first of equals: reading order)
    for n, candidate in enumerate(candidates):
        current = best.get(candidate.hit_index)
        if current is None or candidate.score > candidates[current].score:
            best[candidate.hit_index] = n
    excerpts = whole_excerpts(shown)
    for i, n in best.items():
        lines = (sentences[n].line_start, sentences[n].line_end)
        excerpts[i] = Excerpt(shown[i], texts[n], lines, whole=False)
    return excerpts


def whole_excerpts(hits: Sequence[Hit]) -> list[Excerpt]:
    """Each hit as its whole passage (where no question or embedder is at hand)."""
    return [Excerpt(hit, hit.chunk.text, hit.chunk.lines, whole=True) for hit in hits]
