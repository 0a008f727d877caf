"""Raise footnote numbers in text as it streams (for `rag ask`): "bij.6" → "bij.⁶".

While an answer streams, the passages it will cite are not known yet, so a number glued
to a word counts as a footnote reference only when the index holds a passage with that
footnote and that very word-and-number in its text. Text is passed on word by word: only
the word being written is held back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Chunk
from ui.export_text import footnote_marks

_GLUED = re.compile(r"[A-Za-zÀ-ÿ).’”](\d{1,3})[,;:]?$")


class FootnoteStream:
    """Feed pieces of streamed text; get back what can be printed now."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self._chunks = [c for c in chunks if c.footnotes]
        self._pending = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        cut = max(text.rfind(" "), text.rfind("\n")) + 1
        self._pending = text[cut:]
        return self._raised(text[:cut])

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self._raised(text)

    def _raised(self, text: str) -> str:
        for word in set(text.split()):
            match = _GLUED.search(word)
            if match is None:
                continue
            number, token = int(match.group(1)), word.rstrip(",;:")
            if any(number in c.footnotes and token in c.text for c in self._chunks):
                text = re.sub(
                    rf"(?<!\S){re.escape(token)}(?=[\s,;:]|$)",
                    footnote_marks(token, {number}),
                    text,
                )
        return text
