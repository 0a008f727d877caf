"""Answer strategies: how a question of each kind is searched and answered.

A strategy takes the analysed question (`Query`) and the chain's tools (`base.Tools`:
search, the extractive backend, the corpus) and returns a `base.Draft`: the passages to
answer from and, for the extractive backend, the answer text with its markers (a model
backend writes its own text from the same passages). `choose` picks the first strategy
that applies: a follow-up that points back at the previous turn (`follow_up`), a
question of several parts or a comparison (`multi_part`), a summary of a topic
(`overview`), else one fact or list (`fact`). A new kind of question is a new
module here, not a new branch in the chain.
"""

from __future__ import annotations

from rag.answer.strategies.base import Draft, Strategy, Tools
from rag.answer.strategies.fact import FactStrategy
from rag.answer.strategies.follow_up import FollowUpStrategy
from rag.answer.strategies.multi_part import MultiPartStrategy
from rag.answer.strategies.overview import OverviewStrategy
from rag.query.analysis import Query

STRATEGIES: tuple[Strategy, ...] = (
    FollowUpStrategy(),
    MultiPartStrategy(),
    OverviewStrategy(),
    FactStrategy(),
)

__all__ = ["STRATEGIES", "Draft", "Strategy", "Tools", "choose"]


def choose(query: Query) -> Strategy:
    """The first strategy that applies to the question (the fact strategy always does)."""
    return next(s for s in STRATEGIES if s.applies(query))
