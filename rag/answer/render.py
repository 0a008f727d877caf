"""Answers and briefings as the JSON contract other tools read, and as Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.answer.closest import Excerpt, whole_excerpts
from rag.types import CONTRACT_VERSION, Answer, Citation


def answer_to_json(answer: Answer, question_id: str | None = None) -> dict[str, Any]:
    """The `rag ask --json` contract (keep these names: other tools read them)."""
    return {
        "version": CONTRACT_VERSION,
        "id": question_id,
        "question": answer.question,
        "language": answer.language,
        "answer": answer.answer,
        "refused": answer.refused,
        "backend": answer.backend,
        "citations": [citation_to_json(c) for c in answer.citations],
        "passages": [
            {
                "rank": hit.rank,
                "chunk_id": hit.chunk.chunk_id,
                "document": hit.chunk.document,
                "section": hit.chunk.section,
                "lines": [hit.chunk.line_start, hit.chunk.line_end],
                "page": hit.chunk.page_start,
                "score": round(hit.score, 4),
                "text": hit.chunk.text,
            }
            for hit in answer.passages
        ],
        "sentences": [s.model_dump() for s in answer.sentences],
        "dropped_citations": answer.dropped_citations,
        "unsupported_answer": answer.unsupported_answer,
        "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
        "relevance": answer.relevance.model_dump() if answer.relevance else None,
        "spans": [span.model_dump() for span in answer.spans],
        "glossary": answer.glossary,
        "scope": answer.scope,
        "candidates": answer.candidates,
        "notes": answer.notes,
        "answered": answer.answered,
        "strategy": answer.strategy,
    }


def citation_to_json(citation: Citation) -> dict[str, Any]:
    return {
        "marker": citation.marker,
        "chunk_id": citation.chunk_id,
        "document": citation.document,
        "section": citation.section,
        "lines": list(citation.lines),
        "page": citation.page,
        "quote": citation.quote,
        "supported": citation.supported,
        "support": round(citation.support, 3),
    }


def _where(c: Citation) -> str:
    where = f"{c.document}, lines {c.lines[0]}–{c.lines[1]}"
    if c.page is not None:
        where += f", p. {c.page}"
    if c.section:
        where += f" — {c.section}"
    return where


def citations_markdown(citations: list[Citation]) -> str:
    lines = []
    for c in citations:
        mark = "" if c.supported else " (not verified)"
        lines.append(f"[{c.marker}] {_where(c)}{mark}\n\n> {c.quote}\n")
    return "\n".join(lines)


def excerpt_line(excerpt: Excerpt) -> str:
    """One line: `document, lines a–b, p. n — section: text` (an excerpt of
    `rag.answer.closest`)."""
    chunk = excerpt.hit.chunk
    where = f"{chunk.document}, lines {excerpt.lines[0]}–{excerpt.lines[1]}"
    if excerpt.pages:
        where += f", {excerpt.pages}"
    if chunk.section:
        where += f" — {chunk.section}"
    return f"{where}: {' '.join(excerpt.text.split())}"


def answer_to_markdown(answer: Answer, closest: Sequence[Excerpt] | None = None) -> str:
    """An answer with its citations and verbatim quotes, for export. A refusal lists its
    closest passages: `closest` (`rag.answer.closest.closest_excerpts`), else the first three
    passages whole."""
    parts = [f"**Q:** {answer.question}", "", answer.answer, ""]
    if answer.unsupported_answer:
        parts += ["*Most sentences of this answer are not supported by the cited passages.*", ""]
    if answer.citations:
        parts += ["**Sources**", "", citations_markdown(answer.citations)]
    elif answer.refused and answer.passages:
        excerpts = closest if closest is not None else whole_excerpts(answer.passages[:3])
        parts += ["**Closest passages**", ""]
        parts += [f"- {excerpt_line(e)}" for e in excerpts]
    return "\n".join(parts).strip() + "\n"
