"""Which document "de brief", "the letter", "this document", "deze motie" mean.

A question that points at one document is answered from the document in focus: the
scope when it holds one document; else, among the documents of the kind the word names
(a "brief" is a letter, a "verslag" a report, a "motie" a motion; "document" any), the
one the conversation has been about (named in an earlier question or answer), else the
configured default document, else the only one of that kind, else the one whose
passages and metadata best answer the question (`evidence`: the document-level score of
`rag.retrieval.documents`) when it leads the next by a calibrated margin. When several
fit and nothing decides, the answer says so and lists the close ones, each with its
best passage, instead of mixing documents. An index of one document needs no
resolving, so its answers do not change. The words are data (`refers_to_document` and
`[document_refs]` in `rag/language/lexicon/`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from rag.language.patterns import fragments, pattern
from rag.language.text import LANGUAGES, VAGUE_WORDS, content_words, lexicon


class DocumentInfo(Protocol):
    """What focus needs of an indexed document (`index.store.DocumentEntry` has it)."""

    doc_id: str
    name: str
    title: str
    kind: str
    date: str | None
    signatories: list[str]


@dataclass(frozen=True)
class Focus:
    """The scope to answer from, the document a reference resolved to (named in the
    answer), and the candidates when the reference is ambiguous."""

    scope: tuple[str, ...]
    named: DocumentInfo | None = None
    candidates: tuple[DocumentInfo, ...] = ()
    passages: tuple[str, ...] = ()  # with candidates: each one's best passage ("" if none)


# Document ids → (doc_id, score, its best passage's text), best first.
Evidence = Callable[[Sequence[str]], Sequence[tuple[str, float, str]]]
MAX_CANDIDATES = 5


@lru_cache(maxsize=1)
def _references() -> tuple[tuple[re.Pattern[str], dict[str, str]], ...]:
    return tuple(
        (
            re.compile("|".join(f"(?:{f})" for f in fragments("refers_to_document", lang)), re.I),
            {k.lower(): v for k, v in lexicon(lang).get("document_refs", {}).items()},
        )
        for lang in LANGUAGES
        if fragments("refers_to_document", lang)
    )


def referred_kind(question: str, present: Collection[str] | None = None) -> str | None:
    """The kind of document the question points at ("letter", "report", …; "" for any
    document), or None when it points at none. With `present` (the kinds the index
    holds), the first reference to a kind it holds: "the Draghi report, according to the
    letter" points at the letter in an index without reports."""
    found = []
    for compiled, kinds in _references():
        for match in compiled.finditer(question):
            if match.group("word").lower() in kinds:
                found.append((match.start(), kinds[match.group("word").lower()]))
    found.sort()
    held = [k for _, k in found if present is None or not k or k in present]
    return held[0] if held else (found[0][1] if found else None)


def resolve(
    question: str,
    history: Sequence[tuple[str, str]],
    scope: Sequence[str],
    documents: Sequence[DocumentInfo],
    default: str | None = None,
    evidence: Evidence | None = None,
    margin: float = 0.15,
) -> Focus:
    """The focus of a question over `documents` (see the module docstring); `margin`:
    the share of its own score by which the best document must lead the second."""
    if len(documents) > 1 and len(scope) != 1:
        numbered = named_by_number(
            question, [d for d in documents if not scope or d.doc_id in scope]
        )
        if numbered is not None:  # "motie 36410-V nr. 51", "Kamerstuk 21501-20, nr. 1911"
            return Focus((numbered.doc_id,), named=numbered)
    kind = referred_kind(question, {d.kind for d in documents})
    if kind is None and pattern("asks_kind").search(question):
        kind = ""  # "what kind of document is the one about X?": any document
    if kind is None or len(documents) <= 1:
        return Focus(tuple(scope))
    by_id = {d.doc_id: d for d in documents}
    if len(scope) == 1:
        return Focus(tuple(scope), named=by_id.get(scope[0]))
    pool = [by_id[d] for d in scope if d in by_id] if scope else list(documents)
    fitting = [d for d in pool if not kind or d.kind == kind]
    if not fitting:
        return Focus(tuple(scope))  # nothing of that kind: the words decide nothing
    talked_about = [d for d in fitting if _mentioned(d, history)]
    chosen = (
        talked_about[-1:]
        if len(talked_about) == 1
        else [d for d in fitting if d.doc_id == default] or fitting
    )
    if len(chosen) == 1:
        return Focus((chosen[0].doc_id,), named=chosen[0])
    if evidence is None or not subject(question):  # nothing to weigh the documents by
        return Focus(tuple(scope), candidates=tuple(fitting))
    return _by_evidence(scope, chosen, by_id, evidence, margin)


# What a question asks of any document (who signed it, its date, its gist): no subject.
FRAMES = (
    "asks_signature",
    "asks_document_date",
    "asks_gist",
    "asks_summary",
    "document_frame",
    "asks_kind",
)


def subject(question: str) -> list[str]:
    """The question's subject words: its content words without the reference to the
    document and what it asks of any document ("Wie heeft de brief ondertekend?" has
    none, "Who submitted the motion on Moldova?" has "moldova" and "submitted")."""
    text = question
    for frame in FRAMES:
        text = pattern(frame).sub(" ", text)
    for compiled, _ in _references():
        text = compiled.sub(" ", text)
    return [w for w in content_words(text) if w not in VAGUE_WORDS]


def _by_evidence(
    scope: Sequence[str],
    fitting: Sequence[DocumentInfo],
    by_id: dict[str, DocumentInfo],
    evidence: Evidence,
    margin: float,
) -> Focus:
    """The fitting document the evidence clearly favours, else the close ones."""
    ranked = [r for r in evidence([d.doc_id for d in fitting]) if r[0] in by_id]
    if not ranked or ranked[0][1] <= 0:
        return Focus(tuple(scope), candidates=tuple(fitting))
    best = ranked[0][1]
    if len(ranked) == 1 or best - ranked[1][1] >= margin * best:
        document = by_id[ranked[0][0]]
        return Focus((document.doc_id,), named=document)
    close = [r for r in ranked if best - r[1] < margin * best][:MAX_CANDIDATES]
    return Focus(
        tuple(scope),
        candidates=tuple(by_id[r[0]] for r in close),
        passages=tuple(r[2] for r in close),
    )


# A paper's number as a question writes it: "36410-V nr. 51", "21 501-20, nr. 1911",
# "kst-36045-143", "Kamerstuk 25087 nr 310".
_NUMBER = re.compile(
    r"\b(?:kst-)?\d{2}\s?\d{3}(?:-[0-9A-Za-z]{1,3})?(?:\s*[-,]?\s*(?:nr\.?|no\.?|number)?\s*\d{1,4})\b",
    re.I,
)


def names_paper(text: str) -> bool:
    """Whether the text holds a parliamentary paper's number ("21 501-20, nr. 2344")."""
    return _NUMBER.search(text) is not None


def number_key(text: str) -> str:
    """A paper number reduced to its letters and digits ("kst-36410-V-51", "36410-V, nr.
    51" → "36410v51")."""
    text = re.sub(r"\b(?:kst|kamerstuk|nr|no|number)\b\.?", " ", text.lower())
    return re.sub(r"[^0-9a-z]", "", text)


def named_by_number(question: str, documents: Sequence[DocumentInfo]) -> DocumentInfo | None:
    """The one document whose id or dossier number the question gives, if any."""
    wanted = {number_key(m.group(0)) for m in _NUMBER.finditer(question)}
    if not wanted:
        return None
    found = [
        d
        for d in documents
        if wanted & {number_key(d.doc_id), number_key(getattr(d, "dossier", "") or "")}
    ]
    return found[0] if len(found) == 1 else None


def _mentioned(document: DocumentInfo, history: Sequence[tuple[str, str]]) -> bool:
    """Whether an earlier question or answer names the document (its id, file name or
    a title of more than one word)."""
    names = [document.doc_id, document.name]
    if len(document.title.split()) > 1:
        names.append(document.title)
    text = " ".join(f"{q} {a}" for q, a in history).lower()
    return any(name and name.lower() in text for name in names)


def naming(document: DocumentInfo, language: str) -> str:
    """The line that names the document an answer used."""
    date = f", {document.date}" if document.date else ""
    title = document.title or document.name
    lead = "Uit" if language == "nl" else "From"
    return f"({lead}: {title}{date} [{document.doc_id}])"


def ambiguity(
    candidates: Sequence[DocumentInfo], language: str, passages: Sequence[str] = ()
) -> str:
    """What to say when a reference fits several documents: which ones (with the best
    passage of each when known), and how to pick."""
    quotes = [_excerpt(p) for p in passages] if passages else [""] * len(candidates)
    listed = "; ".join(
        f"{d.title or d.name}{', ' + d.date if d.date else ''} [{d.doc_id}]"
        + (f': "{quote}"' if quote else "")
        for d, quote in zip(candidates, quotes, strict=False)
    )
    if language == "nl":
        return (
            f"Meerdere documenten passen bij uw vraag: {listed}. Welk bedoelt u? Kies er een "
            "als bron (rag ask --document ID) of noem het in uw vraag."
        )
    return (
        f"Several documents fit your question: {listed}. Which one do you mean? Choose one "
        "as the source (rag ask --document ID) or name it in your question."
    )


EXCERPT_CHARS = 160


def _excerpt(text: str) -> str:
    """A passage shortened to about `EXCERPT_CHARS` characters, at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
