"""The default answer backend: no language model, answers from the passages' own sentences.

Every sentence of the retrieved passages is scored against the question (embedding
similarity from the multilingual embedder, plus overlap of stemmed content words); the
best ones, in reading order, become the answer, each followed by its passage marker,
after a short lead-in in the question's language. It refuses when the best support is
too weak (with `judge_across_languages`, for a sentence in the other language than the
question, whose score has no shared stems: when the relevance model does not judge that
it answers), or when the
question asks for a quantity or date and no chosen sentence contains a number (footnote
numbers do not count), for an amount of money and the best sentence names none, or who
someone is and the best sentence names no person.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from rag.answer.summary import in_context, pick, span_text
from rag.backends.base import AnswerBackend, refusal
from rag.language.text import content_stems, guess_language, stem_overlap, words
from rag.query.analysis import Query, own_subject
from rag.retrieval.embeddings import Embedder
from rag.settings import AnswerSettings, Settings
from rag.types import Hit
from rag.verify.planted import is_planted
from rag.verify.relevance import (
    MONEY,
    PERSON,
    Candidate,
    RelevanceJudge,
    score_sentences,
    states_number,
)

LEAD_INS = {
    "nl": "Volgens de tekst:",
    "en": "According to the text (quoted from the source):",
}
# When the best evidence is on the topic but may not hold what was asked.
PARTIAL_LEAD_INS = {
    "nl": "De tekst raakt aan deze vraag, maar geeft mogelijk geen direct antwoord:",
    "en": "The text touches on this question but may not answer it directly "
    "(quoted from the source):",
}


class ExtractiveBackend:
    """Quote the best-supported sentences of the retrieved passages, with markers."""

    name = "extractive"
    live = False
    # Its fixed lead-ins are not claims: the only text the chain does not verify.
    lead_ins = frozenset([*LEAD_INS.values(), *PARTIAL_LEAD_INS.values()])

    def __init__(self, embedder: Embedder, settings: AnswerSettings) -> None:
        self.embedder = embedder
        self.settings = settings
        self.judge = RelevanceJudge(embedder, settings)

    def stream(self, query: Query, hits: Sequence[Hit]) -> Iterator[str]:
        chosen, best = self.select(query, hits)
        if not chosen:
            yield refusal(query.language)
            return
        partial = self.judge.model.level(best) == "partial"
        lead_ins = PARTIAL_LEAD_INS if partial else LEAD_INS
        yield lead_ins.get(query.language, lead_ins["en"])
        for candidate in chosen:
            yield f"\n- {candidate.text} [{candidate.hit_index + 1}]"

    def score(self, question: str, hits: Sequence[Hit]) -> list[Candidate]:
        """All distinct passage sentences with their support for the question, best first."""
        return rank_sentences(self.embedder, self.settings, question, hits)

    def select(self, query: Query, hits: Sequence[Hit]) -> tuple[list[Candidate], float]:
        """The sentences to answer with, in reading order, and the relevance of the best
        candidate; no sentences means refuse. The rules choose the sentences; the
        relevance model also refuses when no candidate is likely to answer. The gist of
        the whole document is a summary (`gist`), with nothing to judge."""
        if query.wants("gist"):
            return gist(self.embedder, self.settings, hits), 1.0
        ranked = not_repeated(query, self.score(query.focus, hits))
        chosen = self._by_rules(query, ranked, hits)
        if not chosen:
            return [], 0.0
        pool = ranked[: self.settings.relevance_pool]
        best = float(self.judge.probabilities(query, pool, hits).max())
        level = self.judge.model.level(best)
        if level == "unrelated" or (level != "answers" and not self.clears_floor(ranked[0])):
            return [], best
        return chosen, best

    def select_by_rules(self, query: Query, hits: Sequence[Hit]) -> list[Candidate]:
        """The sentences the score and the asked-kind rules alone would answer with."""
        return self._by_rules(query, not_repeated(query, self.score(query.focus, hits)), hits)

    def _by_rules(
        self, query: Query, ranked: list[Candidate], hits: Sequence[Hit]
    ) -> list[Candidate]:
        if not ranked or not (self.clears_floor(ranked[0]) or self.judged(query, ranked[0])):
            return []
        if self.refuses(query, ranked[0], hits):
            return []
        best = ranked[0].score
        s = self.settings
        broad = query.broad
        limit = s.broad_points if broad else s.narrow_points
        margin = s.broad_margin if broad else s.narrow_margin
        chosen = [c for c in ranked[:limit] if c.score >= best * margin]
        if _wants_number(query):
            chosen = [c for c in chosen if _states_number(c, hits)]
        if query.wants("reference") and query.language == "en":  # Dutch: as before
            chosen += footnotes_of(chosen, hits)
        order = {id(c): i for i, c in enumerate(chosen)}
        return sorted(
            chosen,
            key=lambda c: (c.hit_index, hits[c.hit_index].chunk.text.find(c.text), order[id(c)]),
        )

    def clears_floor(self, best: Candidate) -> bool:
        """Whether the best sentence's score reaches the support floor."""
        return best.score >= self.settings.min_support

    def judged(self, query: Query, best: Candidate) -> bool:
        """Whether the relevance model, not the floor, decides on this best sentence: one
        in the other language than the question, when `judge_across_languages` is on."""
        return self.settings.judge_across_languages and across(query, best)

    def refuses(self, query: Query, best: Candidate, hits: Sequence[Hit]) -> bool:
        """Whether the best evidence lacks what the question asks for."""
        if _wants_number(query) and not _states_number(best, hits):
            return True  # asked for a number or date; the best evidence holds none
        if query.wants("money") and not MONEY.search(best.text):
            return True  # asked for an amount of money; the best evidence names none
        # asked who someone is; the best evidence names nobody
        return query.wants("person") and not PERSON.search(best.text)


def across(query: Query, candidate: Candidate) -> bool:
    """Whether the sentence is in the other language than the question (by its function
    words). Its score then lacks the shared-stems part (an English question shares no
    stems with a Dutch sentence), so the support floor is no test of it: the relevance
    model, which matches words by meaning across languages, decides instead (`select`)."""
    return guess_language(words(candidate.text)) != query.language


def rank_sentences(
    embedder: Embedder, settings: AnswerSettings, question: str, hits: Sequence[Hit]
) -> list[Candidate]:
    """All distinct passage sentences with their support for the question, best first."""
    texts: list[str] = []
    owners: list[int] = []
    seen: set[str] = set()
    for i, hit in enumerate(hits):
        for j, sentence in enumerate(hit.chunk.sentences):
            if is_planted(hit.chunk, j):  # it addresses the reader or the system
                continue
            text = hit.chunk.sentence_text(sentence)
            key = " ".join(text.split())
            if key in seen or len(key) < settings.min_sentence_chars:
                continue
            seen.add(key)
            texts.append(text)
            owners.append(i)
    candidates = score_sentences(embedder, settings, question, texts, owners, hits)
    return sorted(candidates, key=lambda c: -c.score)


def gist(embedder: Embedder, settings: AnswerSettings, hits: Sequence[Hit]) -> list[Candidate]:
    """For the gist of the whole document: central yet different sentences round the
    sections of the passages (`rag.answer.summary.pick`), each with the sentence before it when
    it leans back, in reading order."""
    found = [
        (i, j)
        for i, hit in enumerate(hits)
        for j, sentence in enumerate(hit.chunk.sentences)
        if len(hit.chunk.sentence_text(sentence).strip()) >= settings.min_sentence_chars
        and not is_planted(hit.chunk, j)
    ]
    if not found:
        return []
    texts = [hits[i].chunk.sentence_text(hits[i].chunk.sentences[j]) for i, j in found]
    groups = [hits[i].chunk.section for i, _ in found]
    chosen = pick(
        embedder.encode_passages(texts), groups, settings.summary_points, settings.summary_diversity
    )
    candidates = []
    for n in sorted(chosen):
        i, j = found[n]
        chunk = hits[i].chunk
        owner, sentences = in_context([h.chunk for h in hits], chunk, j)
        if owner is not chunk:
            i = next(k for k, h in enumerate(hits) if h.chunk is owner)
        candidates.append(Candidate(i, span_text(owner, sentences), 1.0))
    return candidates


def not_repeated(query: Query, ranked: list[Candidate]) -> list[Candidate]:
    """Without the sentences earlier answers already gave, unless the sentence holds a
    word of the follow-up itself ("and with which country are talks still going on?"
    may get the sentence on the talks with India again; "and why?" gets new evidence).
    Asking the same question again may get the same answer."""
    if not query.history or _same(query.history[-1][0], query.text):
        return ranked
    said = " ".join(" ".join(answer.split()) for _, answer in query.history)
    own = content_stems(" ".join(own_subject(query.text)))
    return [
        c
        for c in ranked
        if " ".join(c.text.split()) not in said or stem_overlap(own, content_stems(c.text))
    ]


def footnotes_of(chosen: Sequence[Candidate], hits: Sequence[Hit]) -> list[Candidate]:
    """The linked footnotes whose markers the chosen sentences hold ("… bij.6" → "6 Motie
    Hoogeveen c.s. …"), each once, for a question that asks what a passage cites."""
    notes = {
        (h.chunk.doc_id, h.chunk.footnote_number): i
        for i, h in enumerate(hits)
        if h.chunk.kind == "footnote" and h.chunk.footnote_number is not None
    }
    found: list[Candidate] = []
    for candidate in chosen:
        chunk = hits[candidate.hit_index].chunk
        for number in chunk.footnotes:
            index = notes.pop((chunk.doc_id, number), None)
            if index is None or not re.search(rf"[^\d\s]{number}(?!\d)", candidate.text):
                continue
            note = hits[index].chunk
            texts = [note.sentence_text(s) for s in note.sentences] or [note.text]
            found += [Candidate(index, " ".join(t.split()), candidate.score) for t in texts]
    return found


def _same(question: str, other: str) -> bool:
    return " ".join(question.lower().split()) == " ".join(other.lower().split())


def _wants_number(query: Query) -> bool:
    return query.wants("number") or query.wants("date")


def _states_number(candidate: Candidate, hits: Sequence[Hit]) -> bool:
    """Whether the sentence holds a number of its own (footnote numbers do not count)."""
    return states_number(candidate.text, hits[candidate.hit_index].chunk.kind == "footnote")


def create(settings: Settings, embedder: Embedder) -> AnswerBackend:
    return ExtractiveBackend(embedder, settings.answer)
