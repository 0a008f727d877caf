"""A summary of a topic ("vat het defensiebeleid samen", "the main points on trade"):
cited bullets from different sections, each a sentence that stands on its own.

The sentences are those a topic briefing takes (`rag.answer.topic.topic_sentences`: the
topic and its aligned corpus words ranked over the retrieved passages), a sentence that
opens by pointing back ("Dat", "This") with the sentence before it, in reading order. The
gist of the whole document is searched as the chain always did (passages round the
sections) and answered by the extractive backend's summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.strategies.base import Draft, Tools, marker_of, merged
from rag.answer.topic import in_reading_order, topic_sentences
from rag.backends.extractive import LEAD_INS
from rag.query.analysis import Query, topic
from rag.types import Hit

FOLLOW = 1  # sentences after a bullet's own that may join it (docs/answers.md)
SPECIFIC = frozenset({"number", "date", "money", "person"})


class OverviewStrategy:
    """Summaries: of a topic by bullets across sections; of the whole document, its gist."""

    name = "overview"

    def applies(self, query: Query) -> bool:
        return (query.wants("summary") or query.wants("gist")) and not query.asks & SPECIFIC

    def draft(
        self, tools: Tools, query: Query, k: int, scope: Sequence[str], extractive: bool
    ) -> Draft:
        searched = tools.search(query, k, scope)
        if query.wants("gist") or query.parts or query.section:
            return Draft(hits=searched)
        picked = topic_sentences(
            tools.retriever,
            tools.embedder,
            tools.settings,
            topic(query.text),
            tools.chunks,
            scope,
            FOLLOW,
        )
        if not picked:
            return Draft(hits=searched)
        picked = in_reading_order(picked)
        # The search's ranking first (what a reader checks first), then the bullets' own.
        cited = [Hit(chunk=chunk, score=1.0, rank=1) for chunk, _ in picked]
        hits = merged([searched + cited], len(searched) + len(cited))
        if not extractive:
            return Draft(hits=hits)
        lead = LEAD_INS.get(query.language, LEAD_INS["en"])
        lines = [lead]
        for chunk, sentences in picked:
            marker = marker_of(hits, chunk.chunk_id)
            # Each sentence cites: a bullet's context and its following sentences are
            # quoted from the same passage, so each is a claim the reader can check.
            said = [" ".join(chunk.sentence_text(s).split()) for s in sentences]
            lines.append("- " + " ".join(f"{text} [{marker}]" for text in said))
        return Draft(hits=hits, text="\n".join(lines), framing={lead})
