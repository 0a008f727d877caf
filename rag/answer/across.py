"""Questions across documents: "Welke moties vragen de regering om …?", "Which motions did
Baudet submit?", "Hoeveel moties noemen Oekraïne?".

The answer is a list of documents — title, number, date, submitters — each with the
sentences that make it belong, quoted and cited: the first that mentions the asked
subject and the motion's request (what it asks). A count is the length of that list,
and the list follows it (the first `answer.across_limit`), so every counted document
shown is cited.

Which documents belong is read from their text and metadata, not ranked passages: every
document of the asked kind is considered; the names the question gives must have signed
it, a date it places the documents at (`rag.answer.when`) must be theirs, and its subject
must score near the best document's (`rag.answer.members`: rarity-weighted concepts
across Dutch and English, and the subject's cosine with the title and request). The
question patterns are data (`asks_documents`, `asks_document_count`, `request_frame`,
`list_frame`, `list_tail`, `first_signer` and `[document_plurals]` in
`rag/language/lexicon/`).
"""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag.answer.members import (
    Concept,
    asks_first_signer,
    belonging,
    concepts_of,
    has_topic,
    holds,
    names_in,
    signed_by,
    subject_text,
    summary_vectors,
    weighted_share,
)
from rag.answer.verdicts import sentence_citation
from rag.answer.when import date_limit
from rag.language.patterns import fragments, pattern
from rag.language.text import LANGUAGES, lexicon, words
from rag.query.analysis import Query
from rag.query.focus import referred_kind
from rag.settings import AnswerSettings
from rag.types import Answer, Chunk, Citation, Hit, Relevance, Sentence, SentenceVerdict

_TEXTS: weakref.WeakKeyDictionary[Any, dict[str, frozenset[str]]] = weakref.WeakKeyDictionary()
_BY_DOC: weakref.WeakKeyDictionary[Any, tuple[Any, dict[str, list[Chunk]]]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class Asked:
    """What a question across documents asks: the kind, a count or a list, whether it
    asks for the documents' requests, and its subject text."""

    kind: str
    count: bool
    request: bool
    subject: str


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[re.Pattern[str], re.Pattern[str], dict[str, str]], ...]:
    found = []
    for lang in LANGUAGES:
        plurals = {k.lower(): v for k, v in lexicon(lang).get("document_plurals", {}).items()}
        lists, counts = fragments("asks_documents", lang), fragments("asks_document_count", lang)
        if lists and counts:
            found.append(
                (
                    re.compile("|".join(f"(?:{f})" for f in lists), re.I),
                    re.compile("|".join(f"(?:{f})" for f in counts), re.I),
                    plurals,
                )
            )
    return tuple(found)


def asked(question: str) -> Asked | None:
    """The question as one across documents, or None when it is not one."""
    for lists, counts, plurals in _patterns():
        for compiled, count in ((counts, True), (lists, False)):
            match = compiled.search(question)
            if match and match.group("word").lower() in plurals:
                rest = question[: match.start()] + " " + question[match.end() :]
                if not plurals[match.group("word").lower()] and referred_kind(rest) is not None:
                    return None  # "welke documenten noemt de brief?": the letter's content
                request = bool(pattern("request_frame").search(rest))
                rest = pattern("request_frame").sub(" ", rest)
                rest = pattern("list_frame").sub(" ", rest)
                return Asked(plurals[match.group("word").lower()], count, request, rest)
    return None


def answer_across(
    query: Query,
    store: Any,
    retriever: Any,
    scope: Sequence[str],
    backend: str,
    settings: AnswerSettings,
) -> Answer | None:
    """The list (or count) answer, or None when the question asks none or the index
    holds fewer than two documents of the kind."""
    wanted = asked(query.text)
    if wanted is None or store is None:
        return None
    documents = [
        d
        for d in store.manifest.documents
        if (not wanted.kind or d.kind == wanted.kind) and (not scope or d.doc_id in scope)
    ]
    if len(documents) < 2:
        return None
    by_doc = _chunks_by_document(store)
    every = _texts(store, by_doc)
    texts = {d.doc_id: every.get(d.doc_id, frozenset()) for d in documents}
    names = names_in(query.text, documents, texts)
    dated, rest = date_limit(_without(query.text, names) if names else query.text)
    if names or dated:  # the subject without names and date (cut before the frame is)
        wanted = asked(rest) or wanted
    if dated:  # "op 14 februari 2024", "in January 2023"
        documents = [d for d in documents if (d.date or "").startswith(dated)]
    subject = subject_text(wanted.subject, names)
    concepts = concepts_of(subject, getattr(retriever, "aligner", None), texts, query.language)
    if not names and not dated and not has_topic(subject):
        return None
    first = asks_first_signer(query.text)
    signed = any if _either(query.text, names) else all
    candidates = [
        d for d in documents if not names or signed(signed_by(d, n, first) for n in names)
    ]
    if has_topic(subject) and not concepts:  # a subject no document holds: none belongs
        candidates = []
    elif has_topic(subject):
        scores = _scores(wanted, subject, concepts, candidates, texts, store, retriever, settings)
        kept = set(belonging(scores, settings.across_ratio, settings.across_floor))
        candidates = [d for d in candidates if d.doc_id in kept]
    ordered = sorted(candidates, key=lambda d: (d.date or "", d.doc_id))
    chosen = ordered[: settings.across_limit]
    terms = [list(c.terms) for c in concepts]
    return _answer(query, wanted, chosen, len(ordered), by_doc, terms, backend)


def _without(text: str, names: set[str]) -> str:
    cut = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.sub(rf"\b(?:{cut})\b", " ", text, flags=re.I)


def _either(question: str, names: set[str]) -> bool:
    """Whether the question joins its names with "or" / "of" (any of them signed)."""
    if len(names) < 2:
        return False
    where = sorted(m.start() for n in names for m in re.finditer(re.escape(n), question, re.I))
    return bool(re.search(r"\b(?:or|of)\b", question[where[0] : where[-1]], re.I))


def _scores(
    wanted: Asked,
    subject: str,
    concepts: Sequence[Concept],
    documents: Sequence[Any],
    texts: dict[str, frozenset[str]],
    store: Any,
    retriever: Any,
    settings: AnswerSettings,
) -> dict[str, float]:
    """Each document's score for the subject: its lexical share (the request and title
    for a request question, else its text) mixed with its dense score."""
    embedder = getattr(retriever, "embedder", None)
    weight = settings.across_dense_weight if embedder is not None else 0.0
    dense: dict[str, float] = {}
    if weight and embedder is not None:
        vectors = summary_vectors(store, embedder, documents)
        asked_vector = embedder.encode_queries([subject])[0]
        dense = {d: float(v @ asked_vector) for d, v in vectors.items()}
    scores = {}
    for d in documents:
        asks = wanted.request and bool(getattr(d, "request", ""))
        have = _request_words(d) if asks else texts.get(d.doc_id, frozenset())
        lexical = weighted_share(concepts, have)
        scores[d.doc_id] = (1 - weight) * lexical + weight * dense.get(d.doc_id, 0.0)
    return scores


def _request_words(document: Any) -> frozenset[str]:
    return _words_of(f"{document.request} {document.title}")


@lru_cache(maxsize=4096)
def _words_of(text: str) -> frozenset[str]:
    return frozenset(words(text, parts=True))


def _chunks_by_document(store: Any) -> dict[str, list[Chunk]]:
    """Each document's body passages, once per loaded store (and its passage list)."""
    try:
        known = _BY_DOC.get(store)
    except TypeError:  # a store that cannot be weakly referenced: no memo
        known = None
    if known is not None and known[0] is store.chunks:
        return known[1]
    found: dict[str, list[Chunk]] = {}
    for chunk in store.chunks:
        if chunk.kind == "body":
            found.setdefault(chunk.doc_id, []).append(chunk)
    with contextlib.suppress(TypeError):
        _BY_DOC[store] = (store.chunks, found)
    return found


def _texts(store: Any, by_doc: dict[str, list[Chunk]]) -> dict[str, frozenset[str]]:
    """Each document's words (compound parts too), once per loaded store."""
    try:
        known = _TEXTS.get(store)
    except TypeError:  # a store that cannot be weakly referenced: no memo
        known = None
    if known is None:
        known = {
            doc: frozenset(words(" ".join(c.text for c in chunks), parts=True))
            for doc, chunks in by_doc.items()
        }
        with contextlib.suppress(TypeError):
            _TEXTS[store] = known
    return known


def _quoted(
    document: Any, chunks: list[Chunk], concepts: list[list[str]], request: bool
) -> tuple[Chunk, Sentence] | None:
    """The sentence to cite: the request (a request question, or nothing mentions the
    subject), else the first sentence that holds a subject concept."""
    ordered = sorted(chunks, key=lambda c: c.start)
    pairs = [(c, s) for c in ordered for s in c.sentences]
    terms = tuple(sorted({t for c in concepts for t in c}))
    if terms and not request:
        # The motion's own clauses first (not a title or header line that repeats them).
        body = _words_of(" ".join([document.request, *document.considerations]))
        for chunk, sentence in sorted(pairs, key=lambda p: not _inside(p, body)):
            said = tuple(sorted(set(words(chunk.sentence_text(sentence), parts=True))))
            if any(holds(said, t) for t in terms):
                return chunk, sentence
    wanted = set(words(getattr(document, "request", "") or ""))
    if wanted and pairs:
        return max(pairs, key=lambda p: len(wanted & set(words(p[0].sentence_text(p[1])))))
    return pairs[0] if pairs else None


def _quotes(
    document: Any, chunks: list[Chunk], concepts: list[list[str]], request: bool
) -> list[tuple[Chunk, Sentence]]:
    """The sentences to cite: the one that mentions the subject and, when that is not
    it, the document's request (each listed motion shows what it asks)."""
    found = [_quoted(document, chunks, concepts, request)]
    if not request and bool(getattr(document, "request", "")):
        found.append(_quoted(document, chunks, concepts, True))
    unique: dict[tuple[str, int], tuple[Chunk, Sentence]] = {}
    for pair in found:
        if pair is not None:
            unique.setdefault((pair[0].chunk_id, pair[1].start), pair)
    return list(unique.values())


def _head(wanted: Asked, nl: bool, total: int, shown: int) -> str:
    """The answer's first line: the count, or how many documents follow; when the list
    is cut at `answer.across_limit`, that it shows the first ones."""
    kind = {"motion": ("moties", "motions"), "letter": ("brieven", "letters")}.get(
        wanted.kind, ("documenten", "documents")
    )[0 if nl else 1]
    if not total:
        none = f"Geen {kind} gevonden." if nl else f"No {kind} found."
        return f"0 {kind}." if wanted.count else none
    if wanted.count:
        head = f"{total} {kind}"
    elif total == 1:
        return f"{'Eén' if nl else 'One'} {_singular(kind) if nl else kind.rstrip('s')}:"
    else:
        head = f"{'Deze' if nl else 'These'} {total} {kind}"
    if shown < total:
        head += f" (de eerste {shown} hieronder)" if nl else f" (the first {shown} below)"
    return head + ":"


def _singular(kind: str) -> str:
    """ "moties" → "motie", "brieven" → "brief", "documenten" → "document"."""
    return {"moties": "motie", "brieven": "brief"}.get(kind, kind.removesuffix("en"))


def _inside(pair: tuple[Chunk, Sentence], body: frozenset[str]) -> bool:
    """Whether most of a sentence's words belong to the motion's own clauses."""
    said = words(pair[0].sentence_text(pair[1]))
    return bool(said) and sum(w in body for w in said) >= 0.6 * len(said)


def _line(document: Any, language: str) -> str:
    number = f"Kamerstuk {document.dossier}" if document.dossier else document.doc_id
    who = "; ".join(document.submitters or document.signatories or [])
    by = ("ingediend door " if language == "nl" else "submitted by ") + who if who else ""
    details = ", ".join(p for p in (number, document.date or "", by) if p)
    return f"{document.title or document.name} ({details}) [{document.doc_id}]"


def _answer(
    query: Query,
    wanted: Asked,
    chosen: Sequence[Any],
    total: int,
    by_doc: dict[str, list[Chunk]],
    concepts: list[list[str]],
    backend: str,
) -> Answer:
    nl = query.language == "nl"
    hits: list[Hit] = []
    citations: list[Citation] = []
    verdicts: list[SentenceVerdict] = []
    lines: list[str] = []
    for d in chosen:
        lines.append(f"- {_line(d, query.language)}")
        markers: dict[str, int] = {}  # chunk id → its marker: one passage per chunk cited
        for chunk, sentence in _quotes(d, by_doc.get(d.doc_id, []), concepts, wanted.request):
            if chunk.chunk_id not in markers:
                markers[chunk.chunk_id] = len(hits) + 1
                hits.append(
                    Hit(chunk=chunk, score=1.0, rank=len(hits) + 1, scores={"metadata": 1.0})
                )
            marker = markers[chunk.chunk_id]
            quote = " ".join(chunk.sentence_text(sentence).split())
            citations.append(sentence_citation(marker, chunk, [sentence], quote))
            lines.append(f"  {quote} [{marker}]")
            verdicts.append(
                SentenceVerdict(
                    text=quote, markers=[marker], supported=True, support=1.0, grounding="quote"
                )
            )
    head = _head(wanted, nl, total, len(chosen))
    meaning = "Uit de documenten zelf." if nl else "From the documents themselves."
    return Answer(
        question=query.text,
        language=query.language,
        answer="\n".join([head, *lines]),
        refused=not chosen and not wanted.count,
        backend=backend,
        citations=citations,
        passages=hits,
        sentences=verdicts,
        relevance=Relevance(score=1.0, level="answers", meaning=meaning) if chosen else None,
    )
