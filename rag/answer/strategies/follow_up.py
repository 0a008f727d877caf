"""A follow-up that only points back at the previous turn ("waarom?", "tell me more",
"what does that mean?"): answered from the previous answer's neighbourhood too. One
that names a subject of its own ("and for the Netherlands?") is searched as a fact.

The passages the previous answer quoted are found again (each quoted sentence's nearest
passage), with the passages just before and after them in their document; that
neighbourhood follows the search for the follow-up made standalone, so the answer may
draw on it when the search's own passages hold nothing new (the reason for a claim, or
what it means, is usually next to it). The extractive backend skips the sentences the
previous answer already gave.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.strategies.base import Draft, Tools, merged
from rag.language.patterns import pattern
from rag.query.analysis import Query, own_subject
from rag.types import Hit

_QUOTED_LINE = re.compile(r"^\s*-\s+(.+?)\s*(?:\[\d+\]\s*)+$", re.MULTILINE)
NEIGHBOURS = 1  # passages on each side of a quoted one


def leans_back(query: Query) -> bool:
    """Whether the question only points back at the previous turn ("waarom?", "tell me
    more", "what does that mean?"), naming no subject of its own."""
    if not query.history:
        return False
    return bool(pattern("points_back").search(query.text)) and not own_subject(query.text)


class FollowUpStrategy:
    """Follow-ups that point back: the previous answer's passages and their neighbours."""

    name = "follow_up"

    def applies(self, query: Query) -> bool:
        return leans_back(query)

    def draft(
        self, tools: Tools, query: Query, k: int, scope: Sequence[str], extractive: bool
    ) -> Draft:
        searched = tools.search(query, k, scope)
        near = neighbourhood(tools, query.history[-1][1], scope)
        return Draft(hits=merged([searched + near], k + 2 * NEIGHBOURS))


def neighbourhood(tools: Tools, previous_answer: str, scope: Sequence[str]) -> list[Hit]:
    """The passages holding the previous answer's quoted sentences, each followed by its
    neighbours in the same document."""
    quotes = [m.group(1) for m in _QUOTED_LINE.finditer(previous_answer)]
    store = getattr(tools.retriever, "store", None)
    if not quotes or store is None or not len(getattr(store, "chunks", ())):
        return []
    chunks = store.chunks
    vectors = tools.embedder.encode_queries(quotes)
    where = {"documents": frozenset(scope)} if scope else {}
    positions: list[int] = []
    for vector, quote in zip(vectors, quotes, strict=True):
        found = store.dense_search(vector, 3, **where)
        plain = " ".join(quote.split())
        exact = [p for p, _ in found if plain in " ".join(chunks[p].text.split())]
        if not exact:
            continue
        centre = exact[0]
        for p in range(centre - NEIGHBOURS, centre + NEIGHBOURS + 1):
            if 0 <= p < len(chunks) and chunks[p].doc_id == chunks[centre].doc_id:
                positions.append(p)
    ordered = list(dict.fromkeys(positions))
    return [Hit(chunk=chunks[p], score=1.0, rank=r) for r, p in enumerate(ordered, start=1)]
