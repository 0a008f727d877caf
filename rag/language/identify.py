"""Which language a question is in: Dutch, English, or another one we cannot serve.

Dutch and English are told apart by their stop words, which is reliable even for
three-word follow-ups ("en over handel?"). A longer text with few Dutch or English
stop words is checked with py3langid to recognise a third language.
"""

from __future__ import annotations

import threading
from typing import Any

from rag.language.text import QUESTION_STOP_WORDS, letter_words

NL_WORDS = QUESTION_STOP_WORDS["nl"]
EN_WORDS = QUESTION_STOP_WORDS["en"]


def detect_language(text: str) -> str:
    """'nl', 'en', or an ISO code of another language (e.g. 'fr', 'de')."""
    words = letter_words(text)
    nl = sum(w in NL_WORDS for w in words)
    en = sum(w in EN_WORDS for w in words)
    if len(words) >= 4 and max(nl, en) <= len(words) * 0.4:
        other = _langid(text)
        if other not in ("nl", "en"):
            return other
    if nl == en:
        guess = _langid(text) if words else "nl"
        return guess if guess in ("nl", "en") else "nl"
    return "nl" if nl > en else "en"


def answer_language(text: str) -> str:
    """The language to answer in: the question's if Dutch or English, else English."""
    lang = detect_language(text)
    return lang if lang in ("nl", "en") else "en"


def warm_up() -> None:
    """Load the language identifier's model now rather than during the first question."""
    _langid("warm up")


_LOAD = threading.Lock()  # a warm-up thread and a first question load the model once
_LOADED: list[Any] = []


def _identifier() -> Any:
    """py3langid's identifier, its model loaded once (`rag.language.langid_unpacked`)."""
    if not _LOADED:
        with _LOAD:
            if not _LOADED:
                from rag.language.langid_unpacked import identifier

                _LOADED.append(identifier())
    return _LOADED[0]


def _langid(text: str) -> str:
    lang, _ = _identifier().classify(text)
    return str(lang)
