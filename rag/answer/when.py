"""The date a list question limits its documents to: "Welke moties zijn op 14 februari
2024 ingediend?", "How many motions were tabled in January 2023?", "… in 2024?".

A date counts as a limit only after a word that places the documents at it ("op", "on",
"dated", "in", "van"); a date inside the subject ("met een plan te komen vóór 15 maart")
is left to the subject. The limit is a prefix of the documents' yyyy-mm-dd dates.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.answer.facts import MONTH_NAMES

_AT = r"(?:on|dated|op|gedateerd|van)\s+(?:the\s+|de\s+)?"
_IN = r"(?:in|during|tijdens|uit|from|of)\s+"


@lru_cache(maxsize=1)
def _months() -> dict[str, int]:
    """Month names, Dutch and English, and their three-letter forms → month number."""
    found: dict[str, int] = {}
    for names in MONTH_NAMES.values():
        for number, name in enumerate(names, start=1):
            found[name.lower()] = number
            found.setdefault(name.lower()[:3], number)
    return found


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], ...]:
    month = "(?P<month>" + "|".join(sorted(_months(), key=len, reverse=True)) + r")\.?"
    day, year = r"(?P<day>\d{1,2})", r"(?P<year>(?:19|20)\d{2})"
    return tuple(
        re.compile(source, re.IGNORECASE)
        for source in (
            rf"\b{_AT}{day}\s+{month}\s+{year}\b",
            rf"\b{_AT}{month}\s+{day}(?:st|nd|rd|th)?,?\s+{year}\b",
            rf"\b(?:{_IN}|{_AT}){month}\s+{year}\b",
            rf"\b{_IN}{year}\b",
        )
    )


def date_limit(question: str) -> tuple[str, str]:
    """(the date prefix the documents must have — "2024-02-14", "2023-01", "2024" —, the
    question without it); ("", question) when it sets none."""
    for compiled in _patterns():
        match = compiled.search(question)
        if match is None:
            continue
        found = match.groupdict()
        parts = [found["year"]]
        if found.get("month"):
            parts.append(f"{_months()[found['month'].lower()]:02d}")
        if found.get("day"):
            if not 1 <= int(found["day"]) <= 31:
                continue
            parts.append(f"{int(found['day']):02d}")
        return "-".join(parts), question[: match.start()] + " " + question[match.end() :]
    return "", question
