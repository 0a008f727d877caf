"""Facts of a cited Dutch sentence stated in English: people with their office, offices
named without a person, and acronyms with the expansion the sentence gives, each
checked before it is shown.

"De minister van Buitenlandse Zaken, D.M. van Weel" gives "D.M. van Weel, Minister of
Foreign Affairs": the office word is translated by a fixed list (`OFFICES`), the
portfolio by the sourced term table (`rag.language.terms`); a portfolio the table does
not know leaves the person without an office rather than guess one. "Prioritised
Capability Areas (PCA’s)" gives "PCA: Prioritised Capability Areas" (an English
expansion is kept; a Dutch one is shown in English only when the table has it). "het lid
Dassen (Volt" gives "Dassen (Volt), Member of Parliament". A yes/no question ("Does the
EU have the means to act?") gets "Yes" from a sentence that states its predicate, "No"
from one that negates it. Every fact is then put to the answer verifier
(`rag.verify.support`) against the Dutch words it renders (a yes/no answer: the
question's predicate as a claim, with "not" for "No", against the whole sentence) and
dropped below the support threshold.
"""

from __future__ import annotations

import re
from typing import Any

from rag.language import terms
from rag.language.identify import detect_language
from rag.language.patterns import pattern as lexicon_pattern
from rag.settings import AnswerSettings
from rag.verify.support import support_score

# Dutch office titles → English, as the Dutch government writes them on government.nl.
OFFICES = {
    "minister-president": "Prime Minister",
    "minister": "Minister",
    "staatssecretaris": "State Secretary",
    "premier": "Prime Minister",
}
_OFFICE = "(?i:minister-president|minister|staatssecretaris|premier)"
_NAME = r"(?:[A-Z]\.){1,4}\s?(?:(?:van|de|der|den|ter) )*[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
_PORTFOLIO = r"[A-Z][\w-]*(?:,? (?:en )?[A-Z][\w-]*)*"
_ROLE = re.compile(rf"\b(?P<office>{_OFFICE}) (?:(?:van|voor) )?(?P<portfolio>{_PORTFOLIO})?")
_PERSON_AFTER_ROLE = re.compile(rf"(?P<role>{_ROLE.pattern}),? (?P<name>{_NAME})")
_PERSON_BEFORE_ROLE = re.compile(rf"(?P<name>{_NAME}),? (?:de |het )?(?P<role>{_ROLE.pattern})")
_MEMBER = re.compile(
    r"\b(?:het |de )?(?:Kamer)?lid (?P<name>[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
    r"(?: \((?P<party>[A-Z][\w-]*))?"
)
_YES_NO = re.compile(
    r"^\s*(?:(?:according to|in|per) [^,?]+,\s*)?"
    r"(?P<aux>is|are|was|were|do|does|did|can|could|should|will|would|has|have|had|must|may|shall)"
    r"\s+(?P<body>[^?]+)\?\s*$",
    re.IGNORECASE,
)
# Negation words that do not deny the sentence's statement ("not only", "without").
_NOT_A_NEGATION = re.compile(
    r"\b(?:(?:niet|not) (?:alleen|enkel|slechts|only)|zonder|without)\b", re.IGNORECASE
)
# A parliamentary reference: "Kamerstuk 36 715 nr. 1", "Motie Hoogeveen c.s. 21 501-20, nr. 2344".
_REFERENCE = re.compile(
    r"\b(?P<what>[Kk]amerstuk|[Mm]otie(?: (?P<mover>[A-Z][\w-]+)(?P<cs> c\.s\.)?)?)\s+"
    r"(?P<number>\d{2}[\d ]*\d(?:-\d+)*)(?:,?\s+nr\.\s?(?P<no>\d+))?"
)
# Where a Dutch sentence's clauses part: punctuation, a dash, and the conjunctions that
# open a new clause.
_CLAUSE = re.compile(r"[,;:–—]\s*|\s+(?:dat|maar|omdat|terwijl|want|doch|hoewel)\s+")
_ACRONYM = re.compile(r"\(\s*(?P<acronym>[A-Z][A-Za-z]{1,7}?)(?:[’']s)?\s*\)")
MAX_EXPANSION = 8


def office(role: str) -> str | None:
    """'minister van Buitenlandse Zaken' → 'Minister of Foreign Affairs'; None when the
    portfolio is not in the term table."""
    match = _ROLE.match(role)
    if match is None:
        return None
    title = OFFICES[match.group("office").lower()]
    portfolio = (match.group("portfolio") or "").strip()
    if not portfolio:
        return title
    english = terms.table().get(portfolio.lower())
    if english is None:
        return None
    joint = "for" if title == "State Secretary" else "of"
    return f"{title} {joint} {_title_case(english)}"


def _title_case(text: str) -> str:
    small = {"and", "of", "the", "for"}
    return " ".join(w if w in small or w[:1].isupper() else w.capitalize() for w in text.split())


def people(text: str) -> list[tuple[str, str]]:
    """(English, Dutch source) for each person with an office, and each office alone."""
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern in (_PERSON_AFTER_ROLE, _PERSON_BEFORE_ROLE):
        for match in pattern.finditer(text):
            english = office(match.group("role"))
            name = match.group("name")
            shown = f"{name}, {english}" if english else name
            found.append((match.start(), shown, match.group(0)))
            taken.append(match.span())
    for match in _ROLE.finditer(text):
        if any(a <= match.start() < b for a, b in taken) or not match.group("portfolio"):
            continue
        english = office(match.group(0))
        if english:
            found.append((match.start(), english, match.group(0)))
    for match in _MEMBER.finditer(text):
        party = f" ({match.group('party')})" if match.group("party") else ""
        shown = f"{match.group('name')}{party}, Member of Parliament"
        found.append((match.start(), shown, match.group(0)))
    return [(shown, source) for _, shown, source in sorted(found)]


def references(text: str) -> list[tuple[str, str]]:
    """(English, Dutch source) for each parliamentary reference: "Kamerstuk 36 715 nr. 1"
    → "parliamentary paper 36 715, no. 1" (the document words from the term table, the
    numbers as written; "c.s." is "et al.")."""
    found = []
    for match in _REFERENCE.finditer(text):
        kind = "motie" if match.group("what").lower().startswith("motie") else "kamerstuk"
        english = terms.table().get(kind)
        if english is None:
            continue
        mover = f" {match.group('mover')}" if match.group("mover") else ""
        others = " et al." if match.group("cs") else ""
        number = f", no. {match.group('no')}" if match.group("no") else ""
        shown = f"{english.capitalize()}{mover}{others} {match.group('number').strip()}{number}"
        found.append((shown, match.group(0)))
    return found


def yes_no(question: str, text: str, embedder: Any) -> tuple[str, str] | None:
    """("Yes" or "No", the clause that says so) for an English yes/no question: the
    sentence's clause closest to the question's predicate answers it, "No" where that
    clause holds a negation ("niet", "geen"; "niet alleen", "zonder" are none), else
    "Yes", and only when the verifier supports the predicate (with "not" for "No")
    against that clause alone (a negation elsewhere in the sentence denies something
    else). None for another question, an alternative ("A or B?"), a question that is
    itself negated ("Isn't …?"), or a predicate no clause supports."""
    match = _YES_NO.match(question)
    if match is None:
        return None
    body = match.group("body").strip()
    negation = lexicon_pattern("negation")
    if re.search(r"\bor\b", body) or negation.search(question):
        return None
    clauses = [c.strip() for c in _CLAUSE.split(text) if c and len(c.split()) > 2]
    if not clauses:
        return None
    closest = max(clauses, key=lambda clause: support_score(embedder, body, [clause]))
    negated = bool(negation.search(_NOT_A_NEGATION.sub(" ", closest)))
    answer, claim = ("No", f"not {body}") if negated else ("Yes", body)
    return (answer, closest) if checked([(claim, closest)], embedder) else None


def acronyms(text: str) -> list[tuple[str, str]]:
    """(English, Dutch source) for each 'Long Name (ABC)' whose initials spell ABC."""
    found: list[tuple[str, str]] = []
    for match in _ACRONYM.finditer(text):
        acronym = match.group("acronym")
        before = text[: match.start()].split()[-MAX_EXPANSION:]
        for size in range(2, min(len(before), MAX_EXPANSION) + 1):
            words = before[-size:]
            if words[0][0].upper() != acronym[0] or not words[0][0].isalpha():
                continue
            if size > len(acronym):
                break
            expansion = " ".join(words)
            english = _english(expansion, size)
            if english:
                source = text[text.index(expansion, 0, match.end()) : match.end()]
                found.append((f"{acronym}: {english}", source))
            break
    return found


def _english(expansion: str, size: int) -> str | None:
    """The expansion in English: as it stands when it is English, else the table's."""
    known = terms.table().get(expansion.lower())
    if known is not None:
        return known[0].upper() + known[1:]
    capitalised = all(w[0].isupper() for w in expansion.split())
    if capitalised and size >= 2 and detect_language(expansion) == "en":
        return expansion
    return None


def checked(
    facts: list[tuple[str, str]], embedder: Any, settings: AnswerSettings | None = None
) -> list[str]:
    """The facts the verifier supports against the Dutch words they render."""
    threshold = (settings or AnswerSettings()).support_threshold
    return [
        shown for shown, source in facts if support_score(embedder, shown, [source]) >= threshold
    ]
