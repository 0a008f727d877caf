"""Who signed a document, and its date: answered from the document's metadata (read at
index time from its signature block and heading, `index.metadata`) and cited from the
passage that holds it.

Embeddings and BM25 do not find "who signed the letter?" (a signature is a name under an
office, no sentence about signing), so the answer step would refuse or, in a mixed
index, quote another paper's sentence about signing an agreement. Here the document in
focus says who signed it and when; the passage of that document that holds the words is
cited (added to the passages if retrieval missed it), so the answer is a verbatim,
verified quote. Metadata no passage holds (an admin's correction) is given labelled as
such, uncited, and the answer counts as refused. The question patterns are data
(`asks_signature`, `asks_document_date` in `rag/language/lexicon/`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from rag.language.patterns import pattern
from rag.language.text import LANGUAGES, lexicon
from rag.types import Chunk, Hit, Relevance
from rag.verify.support import normalise

Fact = Literal["signature", "date", "request", "kind"]
KIND_NAMES = {
    "nl": {"letter": "brief", "motion": "motie", "report": "verslag", "note": "notitie"},
    "en": {},
}


class DocumentFacts(Protocol):
    doc_id: str
    date: str | None
    signatories: list[str]


def asked_fact(question: str) -> Fact | None:
    """Whether the question asks who signed the document, its date, its request (a
    motion's) or what kind of paper it is."""
    if pattern("asks_kind").search(question):
        return "kind"
    if pattern("asks_signature").search(question):
        return "signature"
    if pattern("asks_document_date").search(question) or pattern("asks_motion_date").search(
        question
    ):
        return "date"
    if pattern("asks_request").search(question):
        return "request"
    return None


def from_record(
    question: str, named: DocumentFacts | None, store: Any, hits: Sequence[Hit], language: str
) -> tuple[str, list[Hit]] | None:
    """`fact_answer` for a question over a store (a `SearchIndex`): about `named`, the
    document in focus, or the store's only document; None when it asks no fact, or
    when no one document is meant."""
    fact = asked_fact(question)
    if fact is None or store is None:
        return None
    documents = list(getattr(getattr(store, "manifest", None), "documents", None) or [])
    document = named or (documents[0] if len(documents) == 1 else None)
    if document is None:
        return None
    own = getattr(store, "document_chunks", None)  # a store that holds no passages
    if own is not None:
        chunks = own(document.doc_id)
    else:
        chunks = [c for c in store.chunks if c.doc_id == document.doc_id]
    return fact_answer(fact, document, chunks, hits, language)


def contained(sentence: str, chunk: Chunk) -> list[int]:
    """Indices of the passage's sentences that the answer sentence quotes whole (a
    signature block the chunker split over lines is quoted whole)."""
    plain = normalise(sentence)
    return [i for i, s in enumerate(chunk.sentences) if normalise(chunk.sentence_text(s)) in plain]


def fact_answer(
    fact: Fact,
    document: DocumentFacts,
    chunks: Sequence[Chunk],
    hits: Sequence[Hit],
    language: str,
) -> tuple[str, list[Hit]] | None:
    """The answer text (quotes with markers) and the passages it cites from (`hits`, plus
    the passage holding the fact if it was not among them); None when the metadata does
    not hold the fact."""
    wanted = _quotes(fact, document, chunks)
    if wanted is None:
        return None
    result = list(hits)
    lines = []
    for quote, chunk in wanted:
        if chunk is None:
            lines.append(_uncited(fact, quote, language))
            continue
        position = next(
            (i for i, h in enumerate(result) if h.chunk.chunk_id == chunk.chunk_id), None
        )
        if position is None:
            result.append(
                Hit(chunk=chunk, score=0.0, rank=len(result) + 1, scores={"metadata": 1.0})
            )
            position = len(result) - 1
        lines.append(f"- {quote} [{position + 1}]")
    return "\n".join(lines), result


def _quotes(
    fact: Fact, document: DocumentFacts, chunks: Sequence[Chunk]
) -> list[tuple[str, Chunk | None]] | None:
    """What to quote, each with the passage that holds it (None: no passage does)."""
    body = [c for c in chunks if c.kind == "body"]
    if fact == "signature":  # a motion's submitters sign it
        signed_by = document.signatories or list(getattr(document, "submitters", []) or [])
        if not signed_by:
            return None
        return [(signed, _holding(signed, body)) for signed in signed_by]
    if fact == "kind":  # the sentence that names it ("MOTIE VAN HET LID …"), and the kind
        return [*_naming_sentence(document, body), (str(getattr(document, "kind", "")), None)]
    if fact == "request":  # a motion's request, quoted from its own sentence(s)
        request = getattr(document, "request", "") or ""
        return _request_quotes(request, body) if request else None
    if not document.date:
        return None
    year, month, day = document.date.split("-")
    dated = re.compile(rf"\b0?{int(day)}\s+[^\W\d_]+\.?\s+{year}\b")
    for chunk in body:
        for sentence in chunk.sentences:
            text = chunk.sentence_text(sentence)
            if dated.search(text) and _month_agrees(dated.search(text), int(month)):
                return [(" ".join(text.split()), chunk)]
    return [(document.date, None)]


def _naming_sentence(
    document: DocumentFacts, chunks: Sequence[Chunk]
) -> list[tuple[str, Chunk | None]]:
    """The first sentence, in reading order, with a word that names the document's kind
    (`[document_refs]` of the lexicons: "motie", "brief", …); none if none has."""
    kind = getattr(document, "kind", "")
    names = {
        w.lower()
        for lang in LANGUAGES
        for w, k in lexicon(lang).get("document_refs", {}).items()
        if k == kind
    }
    for chunk in sorted(chunks, key=lambda c: c.start):
        for sentence in chunk.sentences:
            text = " ".join(chunk.sentence_text(sentence).split())
            if names & {w.lower() for w in re.findall(r"\w+", text)}:
                return [(text, chunk)]
    return []


def _request_quotes(request: str, chunks: Sequence[Chunk]) -> list[tuple[str, Chunk | None]]:
    """The passage sentences that hold a motion's request, in reading order: the one that
    holds most of its words, and any other made almost only of its words (a request may
    run over several sentences, or sit in one long sentence with the considerations)."""
    wanted = set(normalise(request).split())
    scored = []
    for chunk in sorted(chunks, key=lambda c: c.start):
        for sentence in chunk.sentences:
            text = " ".join(chunk.sentence_text(sentence).split())
            have = normalise(text).split()
            inside = sum(w in wanted for w in have)
            covers = len(wanted & set(have)) / max(len(wanted), 1)
            scored.append((text, chunk, covers, inside >= 0.8 * len(have) and len(have) >= 4))
    if not scored:
        return [(request, None)]
    best = max(scored, key=lambda s: s[2])
    if best[2] < 0.5:
        return [(request, None)]
    found: list[tuple[str, Chunk | None]] = []
    for text, chunk, _covers, part in scored:
        if (text == best[0] or part) and text not in (t for t, _ in found):
            found.append((text, chunk))
    return found


def _holding(quote: str, chunks: Sequence[Chunk]) -> Chunk | None:
    """The last passage whose text holds the quote (a signature closes its document)."""
    plain = normalise(quote)
    return next((c for c in reversed(chunks) if plain in normalise(c.text)), None)


_MONTHS = {
    **{
        m: n
        for n, m in enumerate(
            ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"), 1
        )
    },
    **{
        m: n
        for n, m in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
        )
    },
}


def _month_agrees(match: re.Match[str] | None, month: int) -> bool:
    """Whether the month word of a found date is the metadata's month (by its first
    three letters, Dutch or English: "maart", "mrt", "March")."""
    if match is None:
        return False
    word = match.group(0).split()[1].lower().rstrip(".")
    return _MONTHS.get(word[:3]) == month or (word[:3] == "maa" and month == 3)


MONTH_NAMES = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip


def _uncited(fact: Fact, value: str, language: str) -> str:
    """Metadata that no passage's text holds (it stands in a heading, or an admin set
    it), labelled as such: the reader sees it is not a verified quote."""
    language = "nl" if language == "nl" else "en"
    if fact == "date":
        year, month, day = value.split("-")
        value = f"{int(day)} {MONTH_NAMES[language][int(month) - 1]} {year}"
    if fact == "kind":
        value = KIND_NAMES.get(language, {}).get(value, value)
    what = {
        ("kind", "nl"): "soort document:",
        ("kind", "en"): "kind of document:",
        ("request", "nl"): "verzoek",
        ("request", "en"): "request",
        ("signature", "nl"): "ondertekend door",
        ("signature", "en"): "signed by",
        ("date", "nl"): "gedateerd",
        ("date", "en"): "dated",
    }[(fact, language)]
    if language == "nl":
        return (
            "Volgens de gegevens van het document (uit een kop of de ondertekening, niet uit "
            f"een geciteerde passage): {what} {value}."
        )
    return (
        "According to the document's details (from a heading or its signature block, not "
        f"from a cited passage): {what} {value}."
    )


def fact_relevance(language: str) -> Relevance:
    """The relevance of a quoted signature or date: it answers, by construction."""
    meaning = {
        "nl": "Overgenomen uit de ondertekening of datering van het document zelf.",
        "en": "Quoted from the document's own signature block or date line.",
    }
    return Relevance(score=1.0, level="answers", meaning=meaning.get(language, meaning["en"]))
