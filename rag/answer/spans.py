"""Answer spans: the exact figures, dates, names and countries a question asks for, taken
from the cited sentences and framed in the reader's language.

"What percentage of GDP will NATO allies spend in 2035?" answered from a Dutch sentence
opens with "Figures in the cited text: 5%, 3.5%, 2035 [1]." Every span is cut from the
sentence it cites (that is the check: a span is shown only where it stands in the
source); for English readers only the notation changes: a decimal comma becomes a point,
"miljard" becomes "billion", a Dutch month becomes an English one, and a country or an
EU institution gets its standard English name (countries from pycountry's ISO 3166 names
and their Dutch translations; institutions from `rag/language/lexicon/names_nl_en.toml`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from rag.answer import spans_en
from rag.language.text import LEXICON_DIR
from rag.query.analysis import Query
from rag.types import AnswerSpan
from rag.verify.relevance import PERSON

_MONTHS_NL = (
    "januari februari maart april mei juni juli augustus september oktober november december"
).split()
_MONTHS_EN = (
    "January February March April May June July August September October November December"
).split()
_MONTH = "|".join(_MONTHS_NL)
DATE = re.compile(rf"\b\d{{1,2}} (?:{_MONTH}) \d{{4}}\b", re.IGNORECASE)
# English readers also get a date without its year and with the month abbreviated as
# Dutch letters write it ("11 dec. jl." → "11 December"); Dutch answers keep `DATE`.
_SHORT_NL = "jan feb mrt apr mei jun jul aug sep okt nov dec".split()
_MONTHS_SHORT = dict(zip(_SHORT_NL, _MONTHS_EN, strict=True))
_MONTHS_SHORT["sept"] = "September"
DATE_EN = re.compile(
    rf"\b\d{{1,2}} (?:(?:{_MONTH})|(?:{'|'.join(_MONTHS_SHORT)})\.)(?: \d{{4}})?(?!\w)",
    re.IGNORECASE,
)
_BARE_ACRONYM = re.compile(r"(?<![\w-])[A-Z]{2,6}(?![\w-])")
_ROMAN = re.compile(r"^[IVXLC]+$")
AMOUNT = re.compile(
    r"(?:€|EUR|\$)\s?\d+(?:[.,]\d+)*(?:\s?(?:miljard|miljoen|mld|mln|billion|million))?"
    r"|\b\d+(?:[.,]\d+)*\s?(?:miljard|miljoen|billion|million)(?:\s?(?:euro|dollar))?",
    re.IGNORECASE,
)
_FIGURE = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*\s?(?:%|procent|percent)?(?![\w])")
_UNITS = {"miljard": "billion", "miljoen": "million", "mld": "billion", "mln": "million"}
FRAMES = {
    "figures": {"en": "Figures in the cited text", "nl": "Cijfers in de geciteerde tekst"},
    "people": {"en": "Named in the cited text", "nl": "Genoemd in de geciteerde tekst"},
    "countries": {"en": "Countries named", "nl": "Genoemde landen"},
    "places": {"en": "Places named", "nl": "Genoemde plaatsen"},
    "bodies": {"en": "Bodies and instruments named", "nl": "Genoemde organen en instrumenten"},
    "acronyms": {"en": "Acronyms as written", "nl": "Afkortingen"},
    "references": {"en": "Documents cited", "nl": "Geciteerde stukken"},
}
# A yes/no answer opens the answer, before the facts of its sentence.
YES_NO_FRAME = {"en": "Answer", "nl": "Antwoord"}


@lru_cache(maxsize=1)
def countries_nl_en() -> dict[str, str]:
    """Dutch country names → English (ISO 3166 via pycountry's Dutch translation)."""
    import gettext

    import pycountry

    dutch = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["nl"])
    names: dict[str, str] = {}
    for country in pycountry.countries:
        english = getattr(country, "common_name", None) or country.name
        names[dutch.gettext(country.name)] = english
    return names


@lru_cache(maxsize=1)
def _names_table() -> dict[str, dict[str, str]]:
    """`names_nl_en.toml`, read once: its sections of Dutch → English names."""
    with (LEXICON_DIR / "names_nl_en.toml").open("rb") as file:
        return tomllib.load(file)


@lru_cache(maxsize=1)
def countries_for_english() -> dict[str, str]:
    """ISO's names and the Dutch short forms ("VK", "VS"): the table both languages' list
    lead-ins read (a Dutch answer shows the Dutch name, an English one the English)."""
    return countries_nl_en() | _names_table()["countries"]


@lru_cache(maxsize=1)
def bodies_for_english() -> dict[str, str]:
    """The bodies of `bodies_nl_en` and those listed for English readers only."""
    return bodies_nl_en() | _names_table()["names_english"]


@lru_cache(maxsize=1)
def places_nl_en() -> dict[str, str]:
    """Dutch names of places and regions that are not countries ("Den Haag")."""
    return dict(_names_table()["places"])


@lru_cache(maxsize=1)
def bodies_nl_en() -> dict[str, str]:
    return dict(_names_table()["names"])


@lru_cache(maxsize=1)
def _table_names() -> frozenset[str]:
    """Every Dutch name the country, body and place tables render."""
    return frozenset(countries_for_english()) | set(bodies_for_english()) | set(places_nl_en())


def warm_up() -> None:
    """Load the name tables and compile their patterns now, not in the first answer."""
    for table in (countries_for_english(), places_nl_en(), bodies_for_english()):
        for name in table:
            _name_pattern(name)


@lru_cache(maxsize=1024)  # the two tables hold about 300 names
def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")


_LONGEST_FIRST: dict[int, list[str]] = {}  # per name table (each is loaded once)


def named(text: str, table: dict[str, str]) -> list[str]:
    """Dutch names from `table` that stand in `text` (longest first, no overlaps)."""
    found: list[tuple[int, str]] = []
    taken: list[range] = []
    names = _LONGEST_FIRST.get(id(table))
    if names is None:
        names = _LONGEST_FIRST[id(table)] = sorted(table, key=len, reverse=True)
    for name in names:
        if name not in text:  # a plain substring test first: most names are absent
            continue
        for match in _name_pattern(name).finditer(text):
            span = range(match.start(), match.end())
            if not any(set(span) & set(t) for t in taken):
                taken.append(span)
                found.append((match.start(), name))
    return [name for _, name in sorted(found)]


def figures_of(text: str, dates: re.Pattern[str] = DATE) -> list[str]:
    """Dates, amounts, then the other numbers and percentages of a text, as written."""
    figures = dates.findall(text) + AMOUNT.findall(text)
    rest = AMOUNT.sub(" ", dates.sub(" ", text))
    return figures + [f.strip() for f in _FIGURE.findall(rest)]


def extract(query: Query, text: str, marker: int, embedder: Any | None = None) -> list[AnswerSpan]:
    """The spans of one cited sentence that answer the question's asked-for kind, as they
    stand in the source and as the reader is shown them. For an English question with an
    encoder at hand, also every person with their office, every country and body, and
    every acronym the sentence expands, in English and checked (`rag.answer.spans_en`)."""
    if query.language == "en" and embedder is not None:
        return _english(query, text, marker, embedder)
    found = _figures(query, text)
    if query.wants("person"):
        people = [m.group(0) for m in PERSON.finditer(text)]
        if people:
            found.append(("people", people))
    if query.wants("list"):
        for kind, table in (("countries", countries_for_english()), ("bodies", bodies_nl_en())):
            names = named(text, table)
            if names:
                found.append((kind, names))
    return _spans(query, found, marker)


def _figures(query: Query, text: str) -> list[tuple[str, list[str]]]:
    """The figures of a sentence, for a question that asks a number, date or amount."""
    if query.wants("number") or query.wants("date") or query.wants("money"):
        figures = figures_of(text, DATE_EN if query.language == "en" else DATE)
        if figures:
            return [("figures", figures)]
    return []


def _spans(query: Query, found: list[tuple[str, list[str]]], marker: int) -> list[AnswerSpan]:
    """Found (kind, texts) as spans: the source as written, shown in the reader's way."""
    return [
        AnswerSpan(
            kind=kind,  # type: ignore[arg-type]
            source=list(dict.fromkeys(texts)),
            shown=list(dict.fromkeys(render(t, kind, query.language) for t in texts)),
            marker=marker,
        )
        for kind, texts in found
    ]


def _english(query: Query, text: str, marker: int, embedder: Any) -> list[AnswerSpan]:
    """An English question's spans: a verified yes/no, the asked figures, then the facts
    of `spans_en` (people, acronyms: checked by the verifier), the countries, places and
    bodies the name tables render (checked by the Dutch name standing in the sentence),
    for a question that asks which, the other acronyms as the sentence writes them, and
    for one that asks what a passage cites, its parliamentary references."""
    spans = _yes_no(query, text, marker, embedder)
    spans += _spans(query, _figures(query, text), marker)
    facts = {"people": spans_en.people(text), "bodies": spans_en.acronyms(text)}
    if query.wants("person") and not facts["people"]:
        facts["people"] = [(m.group(0), m.group(0)) for m in PERSON.finditer(text)]
    tables = (
        ("countries", countries_for_english()),
        ("places", places_nl_en()),
        ("bodies", bodies_for_english()),
    )
    for kind, table in tables:
        pairs_named = [(table[name], name) for name in named(text, table)]
        facts[kind] = facts.get(kind, []) + pairs_named
    if query.wants("list"):  # "which bodies …": not on every sentence that says "EU"
        facts["acronyms"] = [(a, a) for a in _bare_acronyms(text, facts)]
    if query.wants("reference"):
        facts["references"] = spans_en.references(text)
    for kind in ("people", "countries", "places", "bodies", "acronyms", "references"):
        pairs = [p for p in facts.get(kind, []) if p[0] in _verified(p, embedder, kind)]
        if pairs:
            spans.append(
                AnswerSpan(
                    kind=kind,  # type: ignore[arg-type]
                    source=list(dict.fromkeys(source for _, source in pairs)),
                    shown=list(dict.fromkeys(shown for shown, _ in pairs)),
                    marker=marker,
                )
            )
    return spans


def _yes_no(query: Query, text: str, marker: int, embedder: Any) -> list[AnswerSpan]:
    """ "Yes"/"No" for a yes/no question, when the verifier supports the question's
    predicate (negated for "No") against the clause of the cited sentence that answers."""
    found = spans_en.yes_no(query.text, text, embedder)
    if found is None:
        return []
    return [AnswerSpan(kind="yes_no", source=[found[1]], shown=[found[0]], marker=marker)]


def _bare_acronyms(text: str, facts: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Acronyms of the sentence that no table renders and no expansion states ("IMF",
    "WTO"): shown as written, the name an English text uses too."""
    known = _table_names()
    stated = {shown.split(":")[0] for pairs in facts.values() for shown, _ in pairs}
    stated |= {shown for pairs in facts.values() for shown, _ in pairs}
    found = [m.group(0) for m in _BARE_ACRONYM.finditer(text)]
    return [
        a
        for a in dict.fromkeys(found)
        if a not in known and a not in stated and not _ROMAN.match(a)
    ]


def _verified(pair: tuple[str, str], embedder: Any, kind: str) -> list[str]:
    """A table's name is its Dutch name's by the table (the verifier's cosine of two
    short names is no test: "United Kingdom" ~ "VK" scores 0.28); composed facts (a
    person's office, an acronym's expansion) go to the verifier."""
    shown, source = pair
    if (
        shown == source
        or kind in ("countries", "places", "references")  # table words, numbers as written
        or (kind == "bodies" and ": " not in shown)
    ):
        return [shown]
    return spans_en.checked([pair], embedder)


def render(span: str, kind: str, language: str) -> str:
    """One span in the reader's notation (English: decimal point, English names)."""
    if language != "en":
        return span
    if kind == "countries":
        return countries_for_english().get(span, span)
    if kind == "bodies":
        return bodies_nl_en().get(span, span)
    if kind == "figures":
        text = re.sub(r"(\d)\.(\d{3})\b", r"\1,\2", span)  # thousands: 1.000 → 1,000
        text = re.sub(r"(\d),(\d{1,2})\b", r"\1.\2", text)  # decimals: 3,5 → 3.5
        text = re.sub(r"\bprocent\b", "percent", text, flags=re.IGNORECASE)
        for dutch, english in _UNITS.items():
            text = re.sub(rf"\b{dutch}\b", english, text, flags=re.IGNORECASE)
        for dutch, english in zip(_MONTHS_NL, _MONTHS_EN, strict=True):
            text = re.sub(rf"\b{dutch}\b", english, text, flags=re.IGNORECASE)
        for short, english in _MONTHS_SHORT.items():
            text = re.sub(rf"\b{short}\.", english, text, flags=re.IGNORECASE)
        return re.sub(r"€\s+(?=\d)", "€", text)  # "€ 800 billion" → "€800 billion"
    return span


def opening(spans: Sequence[AnswerSpan], language: str) -> str:
    """The answer's first lines: a yes/no its cited sentences agree on, then each kind's
    spans, in the reader's language, cited."""
    answers = [s for s in spans if s.kind == "yes_no"]
    lines = []
    if answers and len({s.shown[0] for s in answers}) == 1:
        markers = "".join(f"[{m}]" for m in dict.fromkeys(s.marker for s in answers))
        lines.append(f"{YES_NO_FRAME[language]}: {answers[0].shown[0]} {markers}.")
    for kind in FRAMES:
        parts = [f"{', '.join(s.shown)} [{s.marker}]" for s in spans if s.kind == kind]
        if parts:
            lines.append(f"{FRAMES[kind][language]}: {'; '.join(parts)}.")
    return "\n".join(lines)
