"""Which documents belong in a list across documents ("Welke moties vragen …?", "Which
motions mention …?"): every document of the asked kind is scored, not the top passages.

The subject is what is left of the question once its frame ("which motions ask the
government to", "and what do they ask?") and the submitters it names are cut away. Each
of its concepts (a word with the corpus terms aligned with it across Dutch and English,
`TermAligner`, and the Dutch terms of `lexicon/terms_nl_en.toml` for an English word)
weighs as rare as it is among the documents (inverse document frequency): "Rafah" or
"UNRWA" decide, "Europese" hardly does; a concept no document holds weighs nothing (a
frame word the patterns missed). A document's lexical score is the weighted share of the
concepts its field holds (its request and title when the question asks what documents
ask, else its whole text); its dense score the cosine of the subject and its title and
request (the multilingual encoder, so an English subject meets Dutch text). The two are
mixed (`answer.across_dense_weight`) and the documents within `answer.across_ratio` of
the best one, and above `answer.across_floor`, belong; both calibrated on the
development sets of `eval/data/multidoc/`.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

import numpy as np

from rag.language import terms
from rag.language.patterns import pattern
from rag.language.text import VAGUE_WORDS, content_words, lexicon, words

STEM = 5  # letters an inflection shares with the word ("sancties" / "sanctie")
ALIGNED = 0.6  # looser than retrieval's 0.7 ("settlers" ~ "kolonisten"): `exact` filters
COGNATE = 4  # letters a Dutch word shares with its English cognate ("syria" / "syrië")
NAME_SPELLING = 0.5  # spelling likeness (difflib) of one name in two languages: "ukraine" /
# "oekraïne" 0.67, "morocco" / "marokko" 0.57, "france" / "frankrijk" 0.53; of two names:
# "japan" / "indonesië" 0.14, "poland" / "nederlanden" 0.47, "germany" / "europe" 0.31
PREFIX = 4  # a term this long also matches the compounds it opens ("asiel": "asielstop")
SIGNATURE = 2  # a name the texts use this many times more often than they sign with it
# ("Europese", an OCR slip in a signature line) is a word, not a submitter

_VECTORS: weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Concept:
    """A subject word with its aligned terms and its weight (inverse document frequency)."""

    terms: tuple[str, ...]
    weight: float


def subject_text(subject: str, names: Iterable[str]) -> str:
    """The subject without the names it gives, a trailing "and what do they ask?" and
    "the first submitter"."""
    cut = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    text = re.sub(cut, " ", subject, flags=re.I) if cut else subject
    for kind in ("list_tail", "first_signer"):
        text = pattern(kind).sub(" ", text)
    return text


def asks_first_signer(question: str) -> bool:
    """Whether the question asks for documents a name submitted first ("eerste indiener")."""
    return bool(pattern("first_signer").search(question))


def names_in(
    question: str, documents: Sequence[Any], texts: Mapping[str, frozenset[str]]
) -> set[str]:
    """Submitters' names the question gives ("Baudet", "Van der Lee"), not a word the
    texts use far more often than their signatures do."""
    signed: dict[str, int] = {}
    for d in documents:
        for n in getattr(d, "submitters", []) or []:
            if len(n) > 2:
                signed[n] = signed.get(n, 0) + 1
    found = set()
    for name, count in signed.items():
        if not re.search(rf"\b{re.escape(name)}\b", question, re.I):
            continue
        last = words(name)[-1:] or [name.lower()]
        used = sum(last[0] in texts.get(d.doc_id, frozenset()) for d in documents)
        if used <= SIGNATURE * count + SIGNATURE:
            found.add(name)
    return found


def signed_by(document: Any, name: str, first: bool = False) -> bool:
    """Whether the name is among the submitters (the first one: `first`), or in the title
    ("Motie van het lid X", "… de leden X en Y")."""
    listed = [s.lower() for s in document.submitters or []]
    if first:
        title = re.search(
            rf"\b(?:lid|leden|member|members)\s+{re.escape(name)}\b", document.title or "", re.I
        )
        return listed[:1] == [name.lower()] or bool(title)
    return name.lower() in listed or bool(
        re.search(rf"\b{re.escape(name)}\b", document.title or "", re.I)
    )


def concepts_of(
    subject: str, aligner: Any, texts: Mapping[str, frozenset[str]], language: str = ""
) -> list[Concept]:
    """The subject's concepts, each weighted by how rare it is among `texts` (document id
    → its words); alternatives ("lift, ease or pause", "sancties of strafmaatregelen") are
    one concept; concepts no document holds are left out."""
    topic = [w for w in content_words(subject) if w not in VAGUE_WORDS]
    if not topic:
        return []
    if aligner is not None:
        aligned = aligner.concepts(subject, pairs=False, min_similarity=ALIGNED)
        raw = exact(aligned, aligner.known, _capitalised(subject))
        found = [c for c in raw if c and c[0] in set(topic)]
    else:
        found = [[w] for w in topic]
    found = _with_phrases(found, subject)
    documents = list(texts.values())
    out = []
    for group in _alternatives(found, subject, language):
        listed = tuple(dict.fromkeys(t for c in group for t in [*c, *_table_terms(c[0])]))
        held = sum(share([listed], have) > 0 for have in documents)
        if held:
            out.append(Concept(listed, math.log((len(documents) + 1) / (held + 0.5))))
    return out


def _alternatives(concepts: list[list[str]], subject: str, language: str) -> list[list[list[str]]]:
    """The concepts grouped: words the subject joins by "or" ("of" in Dutch), with the
    commas before it, stand for one another."""
    joiner = lexicon(language).get("alternative_words", []) if language else []
    if not joiner:
        return [[c] for c in concepts]
    word = r"[^\W\d_][\w-]*"
    either = "|".join(re.escape(j) for j in joiner)
    together: dict[str, int] = {}
    source = rf"({word}(?:\s*,\s*{word})*)\s*,?\s+(?:{either})\s+(?:to\s+|te\s+)?({word})"
    for n, match in enumerate(re.finditer(source, subject, re.I)):
        for w in [*re.split(r"\s*,\s*", match.group(1)), match.group(2)]:
            together.setdefault(w.lower(), n)
    groups: dict[object, list[list[str]]] = {}
    for c in concepts:
        groups.setdefault(together.get(c[0], ("alone", c[0])), []).append(c)
    return list(groups.values())


def _with_phrases(concepts: list[list[str]], subject: str) -> list[list[str]]:
    """An English phrase of the term table ("tax avoidance") is one concept with its Dutch
    term ("belastingontwijking"), in place of its words."""
    lowered = " ".join(words(subject))
    phrases = [(p, d) for p, d in _english_to_dutch().items() if " " in p]
    taken: set[str] = set()
    added = []
    for phrase, dutch in phrases:
        if re.search(rf"\b{re.escape(phrase)}\b", lowered):
            taken.update(phrase.split())
            added.append([phrase.replace(" ", "-"), *dutch])
    return [c for c in concepts if c[0] not in taken] + added


@lru_cache(maxsize=1)
def _english_to_dutch() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for dutch, english in terms.table().items():
        if " " not in dutch:
            found.setdefault(english.lower(), []).append(dutch)
    return {k: tuple(v) for k, v in found.items()}


def _table_terms(word: str) -> tuple[str, ...]:
    """The Dutch terms the term table gives for an English word (or its singular)."""
    table = _english_to_dutch()
    return table.get(word, ()) or table.get(word.removesuffix("s"), ())


def exact(
    concepts: list[list[str]], known: frozenset[str], names: frozenset[str] = frozenset()
) -> list[list[str]]:
    """A list must be precise: a word the corpus itself uses keeps only its inflections
    among its aligned terms ("gaza" drops the look-alike "gaziantep"); a word it does not
    use (an English question on Dutch text) keeps its cognates when it has any ("syria"
    keeps "syrië", drops "arabië"), else all its aligned terms ("settlers": "kolonisten"),
    except a name (`names`, lower case), which keeps only the terms spelled alike
    ("Ukraine": "oekraïne"; "Japan" is not "Indonesië", "Poland" not "Nederlanden")."""
    found = []
    for c in concepts:
        if not c:
            continue
        word, aligned = c[0], c[1:]
        if word in known:
            found.append([word, *(t for t in aligned if t[:STEM] == word[:STEM])])
            continue
        if word in names:  # a name is written alike across languages, or it is another name
            found.append([word, *(t for t in aligned if _spelled_alike(word, t))])
            continue
        cognates = [t for t in aligned if t[:COGNATE] == word[:COGNATE]]
        found.append([word, *(cognates or aligned)])
    return found


def _spelled_alike(word: str, term: str) -> bool:
    """ "ukraine" / "oekraïne", "morocco" / "marokko": the same name in two languages."""
    return SequenceMatcher(None, word, term).ratio() >= NAME_SPELLING


def _capitalised(text: str) -> frozenset[str]:
    """The words written with a capital (names: "Japan", "Nigeria"), lower case."""
    return frozenset(w.lower() for w in re.findall(r"\b[A-ZÀ-Þ][\w-]*", text))


def has_topic(subject: str) -> bool:
    """Whether the subject has words of its own (after the frame and the names)."""
    return any(w not in VAGUE_WORDS for w in content_words(subject))


def warm(store: Any, embedder: Any) -> None:
    """Encode the summaries of the documents a list could hold (kinds with two or more
    documents) now, so the first list question does not pay for it."""
    documents = list(getattr(getattr(store, "manifest", None), "documents", None) or [])
    kinds: dict[str, int] = {}
    for d in documents:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    listed = [d for d in documents if d.kind and kinds[d.kind] > 1]
    if listed:
        summary_vectors(store, embedder, listed)


def share(concepts: Sequence[Sequence[str]], have: frozenset[str]) -> float:
    """Share of the concepts (each a list of terms) `have` holds, a term also matching the
    compounds it opens (1: no concepts)."""
    if not concepts:
        return 1.0
    ordered = _sorted(have)
    return sum(any(holds(ordered, t) for t in c) for c in concepts) / len(concepts)


def weighted_share(concepts: Sequence[Concept], have: frozenset[str]) -> float:
    """The weighted share of the concepts `have` holds (0 without concepts)."""
    total = sum(c.weight for c in concepts)
    if not total:
        return 0.0
    ordered = _sorted(have)
    return sum(c.weight for c in concepts if any(holds(ordered, t) for t in c.terms)) / total


@lru_cache(maxsize=8192)
def _sorted(have: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(have))


def holds(ordered: tuple[str, ...], term: str) -> bool:
    """Whether the sorted words hold the term, or a compound it opens."""
    at = bisect.bisect_left(ordered, term)
    if at < len(ordered) and ordered[at] == term:
        return True
    return len(term) >= PREFIX and at < len(ordered) and ordered[at].startswith(term)


def summary_vectors(store: Any, embedder: Any, documents: Sequence[Any]) -> dict[str, np.ndarray]:
    """Each document's title and request as one unit vector, encoded once per store."""
    try:
        known = _VECTORS.get(store)
    except TypeError:  # a store that cannot be weakly referenced: no memo
        known = None
    if known is None:
        known = {}
        with contextlib.suppress(TypeError):
            _VECTORS[store] = known
    todo = [d for d in documents if d.doc_id not in known]
    if todo:
        texts = [" ".join(p for p in (d.title, getattr(d, "request", "")) if p) for d in todo]
        for d, vector in zip(todo, embedder.encode_passages(texts), strict=True):
            known[d.doc_id] = vector
    return {d.doc_id: known[d.doc_id] for d in documents}


def belonging(scores: Mapping[str, float], ratio: float, floor: float) -> list[str]:
    """The documents scoring at least `floor` and `ratio` of the best score."""
    best = max(scores.values(), default=0.0)
    if best < floor:
        return []
    return [d for d, s in scores.items() if s >= max(floor, ratio * best)]
