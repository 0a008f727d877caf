"""Answers to score, from our pipeline or from another system, as `CitedAnswer`s.

Two external forms are read (one JSON object per line):

* the `rag ask --json` contract: `answer` with [n] markers, `citations` (marker,
  chunk_id, quote) and `passages` (chunk_id, rank, text). A citation whose chunk_id is
  not among the passages, or a marker without a citation, points to nothing given;
* a simpler form `{"id"?, "question", "answer", "passages": ["text", ...], "refused"?}`
  where [n] refers to passages[n-1].

Rows are matched to dataset items by id, else by (normalised) question text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.dataset import EvalItem
from eval.faithfulness import CitedAnswer, answer_sentences
from eval.textmatch import normalise
from rag.backends.base import is_refusal
from rag.errors import InputError
from rag.language.sentences import sentences
from rag.types import Answer

REFUSAL_PHRASES = (
    "niet in de brief",
    "staat niet in",
    "geen antwoord",
    "do not answer",
    "kan ik niet",
    "weet ik niet",
    "niet te vinden",
    "not in the letter",
    "does not say",
    "doesn't say",
    "does not mention",
    "cannot answer",
    "can't answer",
    "i don't know",
    "no information",
)


def from_answer(answer: Answer) -> CitedAnswer:
    """Our pipeline's Answer: markers resolve via citations to the retrieved passages."""
    by_id = {hit.chunk.chunk_id: hit.chunk.text for hit in answer.passages}
    sources: dict[int, str | None] = {c.marker: by_id.get(c.chunk_id) for c in answer.citations}
    for sentence in answer_sentences(answer.answer):
        for marker in sentence.markers:
            sources.setdefault(marker, None)
    return CitedAnswer(
        text=answer.answer,
        refused=answer.refused,
        passages=[(hit.rank, hit.chunk.text) for hit in answer.passages],
        sources=sources,
        language=answer.language,
        dropped_citations=answer.dropped_citations,
        timings_ms=dict(answer.timings_ms),
    )


def from_json(row: dict[str, Any]) -> CitedAnswer:
    """An external answer in either accepted form."""
    text = str(row.get("answer") or "")
    raw_passages = row.get("passages") or []
    markers = [m for s in answer_sentences(text) for m in s.markers]
    if raw_passages and all(isinstance(p, str) for p in raw_passages):
        passages = [(i, p) for i, p in enumerate(raw_passages, 1)]
        sources = {m: raw_passages[m - 1] if 1 <= m <= len(raw_passages) else None for m in markers}
        citations = len(markers)
    else:
        passages = [
            (int(p.get("rank") or i), str(p.get("text") or ""))
            for i, p in enumerate(raw_passages, 1)
        ]
        by_id = {str(p.get("chunk_id")): str(p.get("text") or "") for p in raw_passages}
        sources = {
            int(c["marker"]): by_id.get(str(c.get("chunk_id"))) for c in row.get("citations") or []
        }
        for m in markers:
            sources.setdefault(m, None)
        citations = len(sources)
    refused = row.get("refused")
    if refused is None:
        refused = not citations and looks_like_refusal(text)
    timings = row.get("timings_ms") or {}
    return CitedAnswer(
        text=text,
        refused=bool(refused),
        passages=passages,
        sources=sources,
        language=row.get("language"),
        dropped_citations=int(row.get("dropped_citations") or 0),
        timings_ms={str(k): float(v) for k, v in timings.items()},
    )


def looks_like_refusal(text: str) -> bool:
    """Heuristic for answers without a `refused` flag: empty, our fixed refusal, or only
    sentences with a typical refusal phrase (a refusal phrase before a claim does not
    make the claim a refusal: it is scored)."""
    plain = normalise(text)
    if not plain or is_refusal(text):
        return True
    parts = [normalise(s) for s in sentences(text)] or [plain]
    return all(any(p in part for p in REFUSAL_PHRASES) for part in parts if part)


def load_answers(path: Path, items: Sequence[EvalItem]) -> dict[str, CitedAnswer]:
    """Read an answers file and match its rows to dataset items (by id, else question)."""
    if not path.exists():
        raise InputError(
            f"Answers file '{path}' does not exist. Check the path given to --answers."
        )
    by_id = {item.id: item for item in items}
    by_question = {_key(item.question): item for item in items}
    matched: dict[str, CitedAnswer] = {}
    unmatched = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            item = by_id.get(str(row.get("id"))) or by_question.get(_key(row.get("question", "")))
            if item is None:
                unmatched += 1
                continue
            matched[item.id] = from_json(row)
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError, KeyError) as exc:
            raise InputError(
                f"{path}:{number}: not an answer row ({type(exc).__name__}: {exc}). Use the "
                '`rag ask --json` form or {"question", "answer", "passages": [...]}.'
            ) from None
    if not matched:
        raise InputError(
            f"No row of '{path}' matches a dataset question by id or question text "
            f"({unmatched} unmatched). Check that --dataset is the set the answers are for."
        )
    return matched


def _key(question: str) -> str:
    return re.sub(r"[^\w]+", " ", normalise(str(question))).strip()
