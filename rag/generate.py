"""Answer backends behind one small protocol, and the factory that picks one by name.

A backend turns (question, language, numbered passages) into answer text that puts a
marker like [2] after each claim, streamed as text deltas. Passage numbers are 1-based
positions in the list it was given. When the passages do not answer the question, a
backend answers with exactly `refusal(language)`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from rag.errors import ConfigError
from rag.settings import Settings
from rag.types import Hit

BACKENDS = ("extractive", "openai", "ollama", "llamacpp")

REFUSALS = {
    "nl": "De documenten geven geen antwoord op deze vraag.",
    "en": "The documents do not answer this question.",
}


def refusal(language: str) -> str:
    """The one fixed refusal phrase, in the question's language."""
    return REFUSALS.get(language, REFUSALS["en"])


def is_refusal(text: str) -> bool:
    stripped = text.strip()
    return any(stripped.startswith(phrase.rstrip(".")) for phrase in REFUSALS.values())


class AnswerBackend(Protocol):
    """What every answer backend provides."""

    name: str

    def stream(
        self,
        question: str,
        language: str,
        hits: Sequence[Hit],
        history: Sequence[tuple[str, str]] = (),
    ) -> Iterator[str]:
        """Yield the answer text in pieces; markers [n] refer to hits[n-1]."""
        ...


def get_backend(name: str, settings: Settings, embedder: object) -> AnswerBackend:
    """The backend called `name`, configured from settings; unknown names list valid ones."""
    if name == "extractive":
        from rag.extractive import ExtractiveBackend

        return ExtractiveBackend(embedder, settings.generation)  # type: ignore[arg-type]
    if name in ("openai", "ollama", "llamacpp"):
        from rag import llm_backends

        return llm_backends.create(name, settings.generation)
    raise ConfigError(f"Unknown answer backend '{name}'. Choose one of: {', '.join(BACKENDS)}.")
