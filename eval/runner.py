"""Run a system over a dataset and score every question: one flat result row each.

A *system* is anything with `retrieve(question, k)` and `ask(question, k=, backend=)`:
our `Pipeline` or the tutorial `BaselinePipeline`. Retrieval is scored on one top-10
retrieval cut by rank; the answer is produced by `ask` with the configured k. Answers
produced elsewhere (`--answers`) are scored by `score_item` from their own passages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eval.answers import from_answer
from eval.dataset import EvalItem
from eval.faithfulness import CitedAnswer, Judge, score_faithfulness
from eval.metrics import (
    NDCG_K,
    RECALL_KS,
    evidence_ranks,
    keyword_recall,
    language_match,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    refusal_correct,
)
from rag.language.identify import detect_language
from rag.types import Answer, Hit

RETRIEVE_K = max(RECALL_KS)
_MARKERS = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")
Similarity = Callable[[str, str], float]
"""similarity(answer, reference) → cosine of their embeddings."""
Progress = Callable[[int, int], None]


class System(Protocol):
    def retrieve(self, question: str, k: int) -> list[Hit]: ...
    def ask(self, question: str, *, k: int | None = ..., backend: str | None = ...) -> Answer: ...


def score_item(
    item: EvalItem,
    answer: CitedAnswer,
    ranked: Sequence[tuple[int, str]],
    judge: Judge,
    similarity: Similarity | None = None,
    extra_judges: dict[str, Judge] | None = None,
) -> dict[str, Any]:
    """All per-question metrics of one answer; `ranked`: (rank, text) of retrieved passages."""
    row: dict[str, Any] = {
        "id": item.id,
        "lang": item.lang,
        "type": item.type,
        "question": item.question,
        "answer": answer.text,
        "refused": answer.refused,
        "language": answer.language,
        "refusal_correct": refusal_correct(answer.refused, item.unanswerable),
    }
    ranks = evidence_ranks(item.evidence, ranked) if item.evidence else []
    row["evidence_ranks"] = ranks
    for k in RECALL_KS:
        row[f"recall@{k}"] = recall_at_k(ranks, k)
    row["mrr"] = reciprocal_rank(ranks)
    row[f"ndcg@{NDCG_K}"] = ndcg_at_k(ranks, NDCG_K)
    answerable = not item.unanswerable
    row["keyword_recall"] = keyword_recall(item.keywords, answer.text) if answerable else None
    row["answer_similarity"] = (
        similarity(answer.text, item.answer)
        if similarity is not None and answerable and item.answer and answer.text
        else None
    )
    row["language_match"] = language_match(answer.language, item.lang)
    row["text_language_match"] = (
        None if answer.refused else language_match(text_language(answer.text), item.lang)
    )
    faith = score_faithfulness(answer, judge)
    row.update(
        citation_recall=faith.citation_recall,
        citation_precision=faith.citation_precision,
        unsupported_share=faith.unsupported_share,
        sentences=faith.sentences,
        citations=faith.citations,
        invalid_citations=faith.invalid_citations,
        dropped_citations=faith.dropped_citations,
    )
    for name, other in (extra_judges or {}).items():
        extra = score_faithfulness(answer, other)
        row[f"citation_recall_{name}"] = extra.citation_recall
        row[f"citation_precision_{name}"] = extra.citation_precision
    row["timings_ms"] = {k: round(v, 1) for k, v in answer.timings_ms.items()}
    return row


def text_language(text: str) -> str:
    """The language the answer text is actually written in (markers and quotes count)."""
    return detect_language(_MARKERS.sub(" ", text))


def run_system(
    system: System,
    items: Sequence[EvalItem],
    judge: Judge,
    *,
    k: int | None = None,
    backend: str | None = None,
    similarity: Similarity | None = None,
    extra_judges: dict[str, Judge] | None = None,
    progress: Progress | None = None,
) -> tuple[list[dict[str, Any]], list[Answer]]:
    """Retrieve (top 10), answer and score each dataset question."""
    rows: list[dict[str, Any]] = []
    answers: list[Answer] = []
    for done, item in enumerate(items, 1):
        hits = system.retrieve(item.question, RETRIEVE_K)
        answer = system.ask(item.question, k=k, backend=backend)
        ranked = [(hit.rank, hit.chunk.text) for hit in hits]
        rows.append(score_item(item, from_answer(answer), ranked, judge, similarity, extra_judges))
        answers.append(answer)
        if progress is not None:
            progress(done, len(items))
    return rows, answers


def score_answers(
    items: Sequence[EvalItem],
    answers: dict[str, CitedAnswer],
    judge: Judge,
    similarity: Similarity | None = None,
) -> list[dict[str, Any]]:
    """Score answers from another system; retrieval is judged on the passages they give."""
    return [
        score_item(item, answers[item.id], answers[item.id].passages, judge, similarity)
        for item in items
        if item.id in answers
    ]
