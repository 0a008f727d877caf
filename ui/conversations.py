"""Saved conversations: what the browser keeps between visits, as plain data.

The app keeps a `Saved` value in the browser's local storage (Gradio's BrowserState):
the conversations, each with an id, a name, when it began and its answers as the JSON of
`Answer`, and which one is open. Everything coming back from a browser is untrusted:
`load` keeps only well-formed conversations and answers, and sizes are bounded
(conversations, turns, name length), so neither storage nor the server can be flooded.
No Gradio in here.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from rag.types import Answer
from ui.numbering import renumbered

MAX_CONVERSATIONS = 30
MAX_TURNS = 30
# A browser keeps about 5 MB per site, and the saved value travels with each question:
# one answer is about 8 KB of JSON, so about 1 MB in all (older conversations give way).
MAX_SAVED_TURNS = 120
MAX_NAME = 80


@dataclass
class Conversation:
    """One saved chat."""

    id: str
    name: str
    created: str
    answers: list[Answer] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "answers": [a.model_dump(mode="json") for a in self.answers[-MAX_TURNS:]],
        }


@dataclass
class Saved:
    """All conversations of one browser, newest first, and the open one."""

    conversations: list[Conversation] = field(default_factory=list)
    active: str = ""

    def to_json(self) -> dict[str, Any]:
        """What the browser keeps: the newest conversations up to MAX_SAVED_TURNS answers."""
        kept: list[dict[str, Any]] = []
        turns = 0
        for conversation in self.conversations[:MAX_CONVERSATIONS]:
            turns += min(len(conversation.answers), MAX_TURNS)
            if kept and turns > MAX_SAVED_TURNS:
                break
            kept.append(conversation.to_json())
        return {"version": 1, "active": self.active, "conversations": kept}

    def current(self) -> Conversation | None:
        return next((c for c in self.conversations if c.id == self.active), None)

    def choices(self) -> list[tuple[str, str]]:
        """(name, id) for the list of saved chats."""
        return [(c.name, c.id) for c in self.conversations]


def new_conversation(name: str) -> Conversation:
    """An empty conversation with a fresh id."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return Conversation(id=secrets.token_hex(6), name=clean_name(name), created=stamp)


def clean_name(name: str) -> str:
    """A conversation name: one line, at most `MAX_NAME` characters, cut between words
    (with "…") rather than inside one."""
    name = " ".join(str(name or "").split())
    if len(name) <= MAX_NAME:
        return name
    cut = name[: MAX_NAME - 1]
    if name[MAX_NAME - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def load(raw: Any) -> Saved:
    """The saved conversations from the browser's value; anything malformed is dropped."""
    if not isinstance(raw, dict):
        return Saved()
    conversations = []
    for item in raw.get("conversations") or []:
        conversation = _conversation(item)
        if conversation is not None:
            conversations.append(conversation)
        if len(conversations) >= MAX_CONVERSATIONS:
            break
    active = str(raw.get("active") or "")
    return Saved(conversations, active if any(c.id == active for c in conversations) else "")


def _conversation(item: Any) -> Conversation | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    answers: list[Answer] = []
    for data in (item.get("answers") or [])[-MAX_TURNS:]:
        try:
            answers.append(renumbered(Answer.model_validate(data)))  # saved before [1]…
        except (ValidationError, TypeError, ValueError):
            continue  # from an older version, or tampered with: dropped
    return Conversation(
        id=item["id"][:32],
        name=clean_name(item.get("name") or ""),
        created=str(item.get("created") or "")[:40],
        answers=answers,
    )


def with_answers(saved: Saved, answers: Sequence[Answer], untitled: str) -> Saved:
    """`saved` with the open conversation's answers replaced (a new one is started
    when none is open); a conversation is named after its first question."""
    current = saved.current()
    if current is None:
        if not answers:
            return saved
        current = new_conversation(untitled)
        saved.conversations.insert(0, current)
        saved.active = current.id
    current.answers = list(answers)[-MAX_TURNS:]
    if answers and current.name in ("", untitled):
        current.name = clean_name(answers[0].question)
    saved.conversations.remove(current)
    saved.conversations.insert(0, current)  # most recently used first
    del saved.conversations[MAX_CONVERSATIONS:]
    return saved


def renamed(saved: Saved, name: str) -> Saved:
    """`saved` with the open conversation renamed (a blank name is ignored)."""
    current = saved.current()
    if current is not None and clean_name(name):
        current.name = clean_name(name)
    return saved


def deleted(saved: Saved, conversation_id: str) -> Saved:
    """`saved` without that conversation; nothing is open afterwards if it was open."""
    saved.conversations = [c for c in saved.conversations if c.id != conversation_id]
    if saved.active == conversation_id:
        saved.active = ""
    return saved
