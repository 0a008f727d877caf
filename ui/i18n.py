"""The app's texts in Dutch and English: one message catalogue per language.

The catalogues are `ui/locales/<lang>.toml`, read once. `text(lang, "chat.send")` gives
a text, with `{placeholders}` filled from keyword arguments; `pick_language` chooses the
interface language from what the browser stored or says it prefers (Dutch for any
`nl*` browser, English otherwise). No Gradio in here.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("nl", "en")
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}
DEFAULT_LANGUAGE = "nl"  # most users are Dutch; an English browser gets English
_LOCALES = Path(__file__).parent / "locales"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All texts of one language as {"section.key": text}."""
    data = tomllib.loads((_LOCALES / f"{lang}.toml").read_text(encoding="utf-8"))
    return {
        f"{section}.{key}": value
        for section, entries in data.items()
        for key, value in entries.items()
    }


def text(lang: str, key: str, **values: Any) -> str:
    """The text `key` ("section.key") in `lang` (English when unknown), filled in."""
    texts = catalogue(lang if lang in LANGUAGES else "en")
    return texts[key].format(**values) if values else texts[key]


def pick_language(stored: str | None, browser: str | None) -> str:
    """The interface language: the one the user chose before, else the browser's."""
    if stored in LANGUAGES:
        return str(stored)
    preferred = (browser or "").strip().lower()
    if not preferred:
        return DEFAULT_LANGUAGE
    return "nl" if preferred.startswith("nl") else "en"
