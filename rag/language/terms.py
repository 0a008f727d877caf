"""The sourced table of Dutch government and EU terms with their standard English
(`lexicon/terms_nl_en.toml`, where each term's source is given), and where its terms
stand in a Dutch text: phrases first ("Buitenlandse Zaken" = "Foreign Affairs", so
"zaken" is never glossed alone), then single words, then compounds of two listed words
("veiligheids" + "architectuur" = "security architecture")."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache

from rag.language.text import LEXICON_DIR

_LINKS = ("", "s", "e")  # Dutch compounds join with nothing, -s- or -e-
_TOKEN = re.compile(r"\w+(?:-\w+)*")
MIN_PART = 4  # a compound's parts: shorter ones match by chance ("kern" + "energie" is fine)


@lru_cache(maxsize=1)
def table() -> dict[str, str]:
    """Lower-case Dutch term → its English term."""
    with (LEXICON_DIR / "terms_nl_en.toml").open("rb") as file:
        return {k.lower(): v for k, v in tomllib.load(file)["terms"].items()}


@lru_cache(maxsize=1)
def _phrases() -> re.Pattern[str]:
    phrases = sorted((k for k in table() if " " in k), key=len, reverse=True)
    alternatives = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def compound(word: str) -> str | None:
    """The English of a compound of two listed words ("veiligheidsstrategie"), else None."""
    terms = table()
    for cut in range(len(word) - MIN_PART, MIN_PART - 1, -1):
        head, tail = word[:cut], word[cut:]
        if tail not in terms:
            continue
        for link in _LINKS:
            stem = head[: len(head) - len(link)] if link and head.endswith(link) else head
            if len(stem) >= MIN_PART and stem in terms and (link or stem == head):
                return f"{terms[stem]} {terms[tail]}"
    return None


def lookup(word: str) -> str | None:
    """A single word's (or hyphenated word's) English from the table, or as a compound."""
    word = word.lower()
    return table().get(word) or compound(word)


def find(text: str) -> list[tuple[str, str | None]]:
    """The text's phrases and words in order, each as written with the table's English
    (None for a word the table does not know)."""
    found: list[tuple[int, str, str | None]] = []
    taken: list[tuple[int, int]] = []
    for match in _phrases().finditer(text):
        key = " ".join(match.group(0).lower().split())
        found.append((match.start(), " ".join(match.group(0).split()), table()[key]))
        taken.append(match.span())
    for match in _TOKEN.finditer(text):
        if any(a <= match.start() < b for a, b in taken):
            continue
        token = match.group(0)
        english = lookup(token)
        if english is not None or "-" not in token:
            found.append((match.start(), token, english))
            continue
        offset = match.start()
        for part in token.split("-"):  # "kerndefensie-uitgaven": each part on its own
            if part:
                found.append((offset, part, lookup(part)))
            offset += len(part) + 1
    return [(text, english) for _, text, english in sorted(found, key=lambda f: f[0])]


@lru_cache(maxsize=1)
def names() -> dict[str, str]:
    """Dutch names of bodies, places and the Dutch short forms of countries with their
    English names (`lexicon/names_nl_en.toml`, every section; matched case-sensitively)."""
    with (LEXICON_DIR / "names_nl_en.toml").open("rb") as file:
        data = tomllib.load(file)
    return {dutch: english for section in data.values() for dutch, english in section.items()}


@lru_cache(maxsize=1)
def _names_pattern() -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names(), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


@lru_cache(maxsize=1024)
def english_of(text: str) -> str:
    """The English of the table's terms and names that stand in a Dutch text, joined
    ("NAVO … bbp" → "NATO GDP"): the words a faithful translation of it would use for them,
    so a cross-lingual check can match "NATO" in an English claim to "NAVO"."""
    found = [english for _, english in find(text) if english]
    found += [names()[match.group(0)] for match in _names_pattern().finditer(text)]
    return " ".join(dict.fromkeys(found))
