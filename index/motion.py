"""The structure of a motion (motie): its considerations, its request and its submitters.

A Dutch parliamentary motion reads "De Kamer, gehoord de beraadslaging, overwegende dat
…, verzoekt de regering …, en gaat over tot de orde van de dag." with the names of its
submitters below, one a line. The clause words and the footer lines are data (the
`[motion]` table of `index/metadata.toml`). What the paper says is kept as it reads:
a scanned motion's OCR noise in a name ("Daseu") stays until an admin corrects it
(`rag index set-meta ID --submitter …`). "c.s." in the title is expanded by the
signature lines; a motion without them keeps the names its title gives.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from index.conventions import conventions

MAX_NAME_CHARS = 40  # a signature line is a name, not a sentence


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    table = conventions()["motion"]

    def words(key: str) -> str:
        return "|".join(table[key])

    return {
        "clause": re.compile(
            rf"(?:^|(?<=[,;.:]))\s*(?=(?:{words('consideration')}|{words('request')})\b)",
            re.I | re.M,
        ),
        "consideration": re.compile(rf"^(?:{words('consideration')})\b", re.I),
        "request": re.compile(rf"^(?:{words('request')})\b", re.I),
        "opening": re.compile(rf"(?:{words('opening')})", re.I),
        "closing": re.compile(rf"(?:{words('closing')})\s*[.,]?", re.I),
        "footer": [re.compile(p, re.I) for p in table["footer"]],
        "title": [re.compile(p, re.I) for p in table["title_submitters"]],
    }


def structure(text: str, title: str = "") -> dict[str, Any]:
    """`considerations` (list), `request` and `submitters` (list) of a motion's text;
    empty when the text has no motion's closing formula."""
    rules = _rules()
    text = "\n".join(_without_footers(text.splitlines()))
    closing = rules["closing"].search(text)
    if closing is None:
        return {"considerations": [], "request": "", "submitters": _from_title(title)}
    body = text[: closing.start()]
    openings = list(rules["opening"].finditer(body))
    if openings:
        body = body[openings[-1].end() :]
    clauses = [" ".join(c.split()).strip(" ,;") for c in rules["clause"].split(body)]
    clauses = [c for c in clauses if c]
    considerations = [c for c in clauses if rules["consideration"].match(c)]
    requests = [c for c in clauses if rules["request"].match(c)]
    submitters = _signed(text[closing.end() :]) or _from_title(title)
    return {
        "considerations": considerations,
        "request": " ".join(requests),
        "submitters": submitters,
    }


def _without_footers(lines: list[str]) -> list[str]:
    """The lines without the print's page footers (a two-page motion has one between
    its pages): from a footer line to the next blank line."""
    kept: list[str] = []
    skipping = False
    for line in lines:
        if any(p.search(line) for p in _rules()["footer"]):
            skipping = True
        elif not line.strip():
            skipping = False
        if not skipping:
            kept.append(line)
    return kept


def _signed(tail: str) -> list[str]:
    """The names below the closing formula (page footers removed)."""
    names: list[str] = []
    for raw in tail.splitlines():
        line = " ".join(raw.split())
        letters = sum(ch.isalpha() for ch in line)
        if letters >= 3 and len(line) <= MAX_NAME_CHARS and line[:1].isupper():
            names.append(line)
    return names


def _from_title(title: str) -> list[str]:
    """The names a title gives ("Motie van de leden Piri en Veldkamp over …")."""
    for pattern in _rules()["title"]:
        found = pattern.search(title)
        if found:
            names = re.sub(r"\s+c\.\s?s\.?$", "", found.group("names").strip())
            return [n.strip() for n in re.split(r",|\s+en\s+", names) if n.strip()]
    return []
