"""Questions across documents: "Welke moties vragen de regering om …?", "Which motions did
Baudet submit?", "Hoeveel moties noemen Oekraïne?".

The answer is a list of documents — title, number, date, submitters — each with the
sentence that makes it belong, quoted and cited: a motion's request when the question
asks what motions ask ("vragen de regering om", "ask the government to"), else the first
sentence that mentions the asked subject. A count is the length of that list, and the
list follows it, so every counted document is cited.

Which documents belong is read from their text and metadata, not ranked passages: a
document of the asked kind belongs when its submitters include a name the question
gives, and when enough of the question's subject concepts (each a word and the corpus
words aligned with it across Dutch and English, `TermAligner`) occur in its request and
title (request questions) or its whole text (others); `answer.across_coverage` is that
share, calibrated on `eval/data/multidoc/dev.jsonl`. The question patterns are data
(`asks_documents`, `asks_document_count`, `request_frame`, `list_frame` and
`[document_plurals]` in `rag/language/lexicon/`).
"""

from __future__ import annotations

import bisect
import contextlib
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag.answer.verdicts import sentence_citation
from rag.language.patterns import fragments, pattern
from rag.language.text import LANGUAGES, VAGUE_WORDS, content_words, lexicon, words
from rag.query.analysis import Query
from rag.types import Answer, Chunk, Citation, Hit, Relevance, Sentence, SentenceVerdict

_TEXTS: weakref.WeakKeyDictionary[Any, dict[str, frozenset[str]]] = weakref.WeakKeyDictionary()


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
    coverage: float,
    limit: int,
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
    names = _names_in(query.text, documents)
    subject = re.sub(
        "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "$^",
        " ",
        wanted.subject,
        flags=re.I,
    )
    topic = [w for w in content_words(subject) if w not in VAGUE_WORDS]
    aligner = getattr(retriever, "aligner", None)
    kept_words = set(topic)
    concepts = (
        [
            c
            for c in _exact(
                aligner.concepts(subject, pairs=False, min_similarity=ALIGNED), aligner.known
            )
            if c and c[0] in kept_words
        ]
        if aligner is not None and topic
        else [[w] for w in topic]
    )
    if not names and not concepts:
        return None
    by_doc = _chunks_by_document(store)
    texts = _texts(store, by_doc)
    chosen = []
    for d in documents:
        if names and not any(_signed_by(d, n) for n in names):
            continue
        asks = wanted.request and bool(getattr(d, "request", ""))
        have = _request_words(d) if asks else texts.get(d.doc_id, frozenset())
        if _share(concepts, have) >= coverage:
            chosen.append(d)
    chosen = sorted(chosen, key=lambda d: (d.date or "", d.doc_id))[:limit]
    return _answer(query, wanted, chosen, by_doc, concepts, backend)


STEM = 5  # letters an inflection shares with the word ("sancties" / "sanctie")


ALIGNED = 0.6  # looser than retrieval's 0.7 ("settlers" ~ "kolonisten"): `_exact` filters
COGNATE = 4  # letters a Dutch word shares with its English cognate ("syria" / "syrië")


def _exact(concepts: list[list[str]], known: frozenset[str]) -> list[list[str]]:
    """A list must be precise: a word the corpus itself uses keeps only its inflections
    among its aligned terms ("gaza" drops the look-alike "gaziantep"); a word it does not
    use (an English question on Dutch text) keeps its cognates when it has any ("syria"
    keeps "syrië", drops "arabië"), else all its aligned terms ("settlers": "kolonisten")."""
    found = []
    for c in concepts:
        if not c:
            continue
        word, terms = c[0], c[1:]
        if word in known:
            found.append([word, *(t for t in terms if t[:STEM] == word[:STEM])])
            continue
        cognates = [t for t in terms if t[:COGNATE] == word[:COGNATE]]
        found.append([word, *(cognates or terms)])
    return found


PREFIX = 4  # a term this long also matches the compounds it opens ("asiel": "asielstop")


def _share(concepts: Sequence[Sequence[str]], have: frozenset[str]) -> float:
    """Share of the concepts (each a word and its aligned terms) `have` holds, a term
    also matching the compounds it opens (1: no concepts)."""
    if not concepts:
        return 1.0
    ordered = _sorted(have)
    return sum(any(_holds(ordered, t) for t in c) for c in concepts) / len(concepts)


@lru_cache(maxsize=8192)
def _sorted(have: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(have))


def _holds(ordered: tuple[str, ...], term: str) -> bool:
    at = bisect.bisect_left(ordered, term)
    if at < len(ordered) and ordered[at] == term:
        return True
    return len(term) >= PREFIX and at < len(ordered) and ordered[at].startswith(term)


def _names_in(question: str, documents: Sequence[Any]) -> set[str]:
    """Submitters' names the question gives ("Baudet", "Van der Lee")."""
    names = {n for d in documents for n in getattr(d, "submitters", []) or [] if len(n) > 2}
    return {n for n in names if re.search(rf"\b{re.escape(n)}\b", question, re.I)}


def _signed_by(document: Any, name: str) -> bool:
    """Whether the name is among the submitters, or in the title ("Motie van het lid X")."""
    plain = name.lower()
    return any(s.lower() == plain for s in document.submitters or []) or bool(
        re.search(rf"\b{re.escape(name)}\b", document.title or "", re.I)
    )


def _request_words(document: Any) -> frozenset[str]:
    return _words_of(f"{document.request} {document.title}")


@lru_cache(maxsize=4096)
def _words_of(text: str) -> frozenset[str]:
    return frozenset(words(text, parts=True))


def _chunks_by_document(store: Any) -> dict[str, list[Chunk]]:
    found: dict[str, list[Chunk]] = {}
    for chunk in store.chunks:
        if chunk.kind == "body":
            found.setdefault(chunk.doc_id, []).append(chunk)
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
            said = _sorted(frozenset(words(chunk.sentence_text(sentence), parts=True)))
            if any(_holds(said, t) for t in terms):
                return chunk, sentence
    wanted = set(words(getattr(document, "request", "") or ""))
    if wanted and pairs:
        return max(pairs, key=lambda p: len(wanted & set(words(p[0].sentence_text(p[1])))))
    return pairs[0] if pairs else None


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
        found = _quoted(d, by_doc.get(d.doc_id, []), concepts, wanted.request)
        lines.append(f"- {_line(d, query.language)}")
        if found is None:
            continue
        chunk, sentence = found
        marker = len(hits) + 1
        quote = " ".join(chunk.sentence_text(sentence).split())
        hits.append(Hit(chunk=chunk, score=1.0, rank=marker, scores={"metadata": 1.0}))
        citations.append(sentence_citation(marker, chunk, [sentence], quote))
        lines.append(f"  {quote} [{marker}]")
        verdicts.append(
            SentenceVerdict(
                text=quote, markers=[marker], supported=True, support=1.0, grounding="quote"
            )
        )
    kind = {"motion": ("moties", "motions"), "letter": ("brieven", "letters")}.get(
        wanted.kind, ("documenten", "documents")
    )[0 if nl else 1]
    if wanted.count:
        head = f"{len(chosen)} {kind}" + (":" if chosen else ".")
    elif len(chosen) == 1:
        head = f"{'Eén' if nl else 'One'} {kind.rstrip('s') if not nl else _singular(kind)}:"
    elif chosen:
        head = f"{'Deze' if nl else 'These'} {len(chosen)} {kind}:"
    else:
        head = f"Geen {kind} gevonden." if nl else f"No {kind} found."
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
