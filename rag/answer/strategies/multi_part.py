"""A question of several parts, or a comparison: each part searched and answered alone.

"Wat wil het kabinet voor defensie, en waarom?" is split into its parts
(`rag.query.parts`); each part gets its own search, and the passages of all parts are
added after the whole question's own ranking (round-robin over the parts), so the
passages the whole question ranks first keep their places and each part's best passages
follow them. The extractive
answer gives each part under its own heading with its own cited sentences, and says
plainly which part the documents leave open.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.strategies.base import Draft, Tools, appended, marker_of
from rag.query.analysis import Query, analyse
from rag.query.parts import split_parts
from rag.types import Hit
from rag.verify.relevance import Candidate

OPEN_PART = {
    "nl": "De documenten geven geen antwoord op dit deel van de vraag.",
    "en": "The documents do not answer this part of the question.",
}


class MultiPartStrategy:
    """Questions of two or three parts, and comparisons of two things."""

    name = "multi_part"

    def applies(self, query: Query) -> bool:
        return not query.wants("gist") and len(split_parts(query.text)) > 1

    def draft(
        self, tools: Tools, query: Query, k: int, scope: Sequence[str], extractive: bool
    ) -> Draft:
        parts = split_parts(query.text)
        queries = [analyse(part.text, query.history) for part in parts]
        per_part = [tools.search(q, k, scope) for q in queries]
        # The whole question's own ranking in place, each part's passages after it: a
        # round-robin would push the whole question's 2nd-5th passages below the 5th.
        hits = appended(tools.search(query, k, scope), per_part, k * (len(parts) + 1))
        if not extractive:
            return Draft(hits=hits)
        lines: list[str] = []
        framing: set[str] = set()
        open_parts: list[str] = []
        used: set[str] = set()
        for part, part_query, part_hits in zip(parts, queries, per_part, strict=True):
            heading = part.shown if part.shown.endswith(("?", ":")) else f"{part.shown}:"
            lines.append(heading if not lines else f"\n{heading}")
            framing.add(heading)
            chosen = unused(tools, part_query, part_hits, used)
            used |= {c.text for c in chosen}
            if not chosen:
                lines.append(f"- {OPEN_PART.get(query.language, OPEN_PART['en'])}")
                open_parts.append(part.shown)
                continue
            for candidate in chosen:
                marker = marker_of(hits, part_hits[candidate.hit_index].chunk.chunk_id)
                lines.append(f"- {candidate.text} [{marker}]")
        return Draft(hits=hits, text="\n".join(lines), framing=framing, open_parts=open_parts)


def unused(tools: Tools, query: Query, hits: Sequence[Hit], used: set[str]) -> list[Candidate]:
    """The part's answer sentences that no earlier part gave; when the extractive backend
    would repeat them all ("and why?" ranks the first part's sentence first), the best
    other sentence that still clears the support floor, or none."""
    chosen, _ = tools.extractive.select(query, hits)
    fresh = [c for c in chosen if c.text not in used]
    if fresh or not chosen:
        return fresh
    floor = tools.settings.answer.min_support
    ranked = tools.extractive.score(query.focus, hits)
    return [c for c in ranked if c.text not in used and c.score >= floor][:1]
