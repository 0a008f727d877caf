"""Follow-up questions: make "and why?" or "what does that mean?" searchable.

A follow-up that names its own subject ("and what about trade?") is searched as it is:
it changes the topic. One that only points back ("why?", "what does that mean for the
Netherlands?") is searched together with the previous question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.language import EN_WORDS, NL_WORDS

_POINTS_BACK = re.compile(
    r"\b(it|its|this|that|they|them|those|these|he|she|dit|dat|deze|die|het daarover|"
    r"daarover|hierover|daarvan|hiervan|daarmee|hiermee|daarbij|hij|zij|ze)\b",
    re.IGNORECASE,
)
_META = {
    "brief",
    "letter",
    "tekst",
    "text",
    "zegt",
    "say",
    "says",
    "document",
    "kabinet",
    "government",
    "staat",
    "stand",
    "mention",
    "noemt",
    "about",
    "over",
    "more",
    "meer",
}
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def own_subject(question: str) -> list[str]:
    """Content words of the question itself (no stop words, no words about the letter)."""
    words = [w.lower() for w in _WORD.findall(question)]
    return [w for w in words if w not in NL_WORDS and w not in EN_WORDS and w not in _META]


_ABOUT_THE_TEXT = re.compile(
    r"\b(according to the (letter|text|document|government|cabinet)|volgens (de|het) "
    r"(brief|tekst|document|kabinet)|(what|how) does the (letter|text|document) "
    r"(say|describe|mention)( about)?|does the (letter|text) (say|mention)|in the (letter|text)|"
    r"wat (zegt|schrijft|vermeldt) (de|het) (brief|tekst|document|kabinet)( over)?|"
    r"in (de|het) (brief|tekst))\b",
    re.IGNORECASE,
)


def asks_about_the_text(question: str) -> bool:
    """ "What does the letter say about X?": a broad question that wants several points."""
    return bool(_ABOUT_THE_TEXT.search(question))


def focus(question: str) -> str:
    """The question without the words that only point at the document ("what does the
    letter say about X" → "X"), which otherwise pull towards sentences about the letter."""
    stripped = " ".join(_ABOUT_THE_TEXT.sub(" ", question).split())
    return stripped if len(stripped) >= 3 else question


def standalone_query(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The question to search and rank with, given earlier (question, answer) turns."""
    if not history:
        return question
    if own_subject(question) and not _POINTS_BACK.search(question):
        return question
    return f"{history[-1][0]} {question}"
