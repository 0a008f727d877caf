"""The question patterns of `rag/language/lexicon/<language>.toml`, compiled once.

A kind ("asks_number", "part_end", …) joins the fragments of every language, so a
question is understood whichever language it is in. `{doc}` in a fragment stands for
any language's word for the document ("letter", "brief", …).
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.language.text import LANGUAGES, lexicon

# Kinds whose fragments are whole words or phrases; the others carry their own anchors.
WHOLE_WORDS = frozenset(
    {
        "asks_number",
        "asks_money",
        "asks_list",
        "asks_summary",
        "about_the_text",
        "points_back",
        "negation",
        "asks_gist",
    }
)


def fragments(kind: str, language: str) -> list[str]:
    """One language's fragments of a kind, with `{doc}` filled in."""
    doc = "(?:" + "|".join(document_words()) + ")"
    return [f.replace("{doc}", doc) for f in lexicon(language)["patterns"].get(kind, ())]


@lru_cache(maxsize=1)
def document_words() -> tuple[str, ...]:
    return tuple(w for lang in LANGUAGES for w in lexicon(lang)["patterns"]["document_words"])


@lru_cache(maxsize=32)
def pattern(kind: str) -> re.Pattern[str]:
    """All languages' fragments of a kind as one case-insensitive pattern."""
    body = "|".join(f"(?:{f})" for lang in LANGUAGES for f in fragments(kind, lang))
    source = rf"\b(?:{body})\b" if kind in WHOLE_WORDS else body
    return re.compile(source, re.IGNORECASE)


@lru_cache(maxsize=32)
def language_patterns(kind: str) -> tuple[re.Pattern[str], ...]:
    """One pattern per language (for kinds with a named group, which may occur once)."""
    return tuple(
        re.compile("|".join(f"(?:{f})" for f in fragments(kind, lang)), re.IGNORECASE)
        for lang in LANGUAGES
        if fragments(kind, lang)
    )


@lru_cache(maxsize=32)
def fragment_patterns(kind: str) -> tuple[re.Pattern[str], ...]:
    """Every fragment of a kind, each its own case-insensitive pattern, language by
    language (for fragments that reuse one named group, and to try them in order)."""
    return tuple(
        re.compile(fragment, re.IGNORECASE)
        for lang in LANGUAGES
        for fragment in fragments(kind, lang)
    )


def warm_up() -> None:
    """Compile every kind's patterns now rather than in the first question that meets it."""
    kinds = {kind for lang in LANGUAGES for kind in lexicon(lang)["patterns"]}
    for kind in sorted(kinds - {"document_words"}):
        language_patterns(kind)
        try:
            pattern(kind)
        except re.error:  # kinds with a named group are only used one language at a time
            continue
