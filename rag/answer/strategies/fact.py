"""One fact, or one list: the passages the retriever ranks best; the backend answers."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.strategies.base import Draft, Tools
from rag.query.analysis import Query


class FactStrategy:
    """The default: search once, and let the backend answer from the passages."""

    name = "fact"

    def applies(self, query: Query) -> bool:
        return True

    def draft(
        self, tools: Tools, query: Query, k: int, scope: Sequence[str], extractive: bool
    ) -> Draft:
        return Draft(hits=tools.search(query, k, scope))
