"""Follow-up questions: make "and what about trade?" searchable using the conversation."""

from __future__ import annotations

import re
from collections.abc import Sequence

_FOLLOW_UP = re.compile(
    r"^(and|en|but|maar|what about|how about|en wat|wat betreft|hoe zit het met|en over|also|ook)\b"
    r"|\b(it|this|that|they|those|these|dit|dat|deze|die|daarover|hierover|daarvan|hiervan)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    """Short questions and ones that lean on what came before ("and …", "that")."""
    return bool(_FOLLOW_UP.search(question)) or len(question.split()) <= 5


def standalone_query(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The question to search and rank with: a follow-up carries the previous question."""
    if history and is_follow_up(question):
        return f"{history[-1][0]} {question}"
    return question
