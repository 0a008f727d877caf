"""The document-level stage: which documents a question is about, before its passages.

In an index of many documents a question about one of them drifts: a short motion that
shares a word with the question outranks the letter's passage that answers it, and the
answer mixes documents. Here each document gets one score from the evidence for it —
its best passages in the fused ranking (dense + lexical) and its title and metadata
(how many of the question's concepts, aligned across Dutch and English, its title,
dossier and submitters hold) — and only the passages of the documents near the best
one go on to MMR and the answer. The same score picks the document "the letter" /
"deze motie" means among those of that kind (`rag.query.focus`).

The weights and the keep ratio were calibrated on `eval/data/multidoc/dev.jsonl` and the
bundled letter sets asked in the mixed index (`scripts/multidoc_bench.py`,
`scripts/answer_metrics.py`; docs/multidoc.md has the ablation).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rag.language.text import words


@dataclass(frozen=True)
class DocumentScore:
    """A document's score for a question and its best passage (a store position)."""

    doc_id: str
    score: float
    passages: float
    metadata: float
    best: int


def metadata_words(documents: Iterable[object]) -> dict[str, frozenset[str]]:
    """Per document id, the words of its title, dossier and submitters (what a question
    that names a document by its subject or its author matches)."""
    found: dict[str, frozenset[str]] = {}
    for d in documents:
        parts = [
            getattr(d, "title", ""),
            getattr(d, "dossier", ""),
            " ".join(getattr(d, "submitters", []) or []),
        ]
        found[str(getattr(d, "doc_id", ""))] = frozenset(words(" ".join(parts), parts=True))
    return found


def concept_coverage(concepts: Sequence[Sequence[str]], have: frozenset[str]) -> float:
    """Share of the question's concepts (each a word and its aligned terms) `have` holds."""
    if not concepts:
        return 0.0
    return sum(any(term in have for term in concept) for concept in concepts) / len(concepts)


def rank_documents(
    fused: Sequence[tuple[int, float]],
    doc_of: Callable[[int], str],
    concepts: Sequence[Sequence[str]],
    metadata: dict[str, frozenset[str]],
    *,
    passages: int,
    metadata_weight: float,
    among: Iterable[str] | None = None,
    sizes: dict[str, int] | None = None,
) -> list[DocumentScore]:
    """Documents by score, best first: the mean of a document's best `passages` fused
    scores (scaled so the best passage is 1; missing ones count as 0, but a document of
    fewer passages (`sizes`) is not asked for more than it has) plus `metadata_weight`
    times the share of concepts its metadata holds. `doc_of`: a position's document.
    `among`: only these documents (they are scored even without a fused passage)."""
    top = max((s for _, s in fused), default=0.0) or 1.0
    per_document: dict[str, list[tuple[float, int]]] = {}
    for position, score in fused:
        per_document.setdefault(doc_of(position), []).append((score / top, position))
    ids = list(per_document) if among is None else sorted(set(among))
    ranked = []
    for doc_id in ids:
        scored = sorted(per_document.get(doc_id, []), reverse=True)
        counted = min(passages, (sizes or {}).get(doc_id, passages)) or 1
        evidence = sum(s for s, _ in scored[:counted]) / counted
        meta = concept_coverage(concepts, metadata.get(doc_id, frozenset()))
        best = scored[0][1] if scored else -1
        ranked.append(
            DocumentScore(doc_id, evidence + metadata_weight * meta, evidence, meta, best)
        )
    return sorted(ranked, key=lambda d: -d.score)


def kept(ranking: Sequence[DocumentScore], ratio: float, limit: int) -> list[str]:
    """The documents that matter: those scoring at least `ratio` of the best one's score,
    at most `limit` of them, best first (none when no document has evidence)."""
    if not ranking or ranking[0].score <= 0:
        return []
    floor = ratio * ranking[0].score
    return [d.doc_id for d in ranking[:limit] if d.score >= floor]


def filled(
    chosen: Sequence[str],
    ranking: Sequence[DocumentScore],
    passages: Mapping[str, int],
    k: int,
) -> list[str]:
    """`chosen`, and after it the next documents of the ranking that have evidence, until
    they hold at least `k` passages together: a short note that fits the question best
    must not be the only source (it may hold one passage, and not the answer)."""
    out = list(chosen)
    held = sum(passages.get(d, 0) for d in out)
    for document in ranking:
        if held >= k or document.score <= 0:
            break
        if document.doc_id not in out:
            out.append(document.doc_id)
            held += passages.get(document.doc_id, 0)
    return out


class Ranker(Protocol):
    """What `evidence_for` needs of a retriever (`rag.retrieval.hybrid.HybridRetriever`)."""

    store: Any

    def rank_documents(
        self, query: Any, among: Collection[str] | None = None
    ) -> list[DocumentScore]: ...


def evidence_for(
    retriever: Any, query: Any
) -> Callable[[Sequence[str]], list[tuple[str, float, str]]] | None:
    """For `rag.query.focus.resolve`: document ids → (id, score, best passage text), best
    first, from the retriever's document ranking; None for a retriever without one."""
    if not hasattr(retriever, "rank_documents"):
        return None
    ranker: Ranker = retriever

    def scored(ids: Sequence[str]) -> list[tuple[str, float, str]]:
        chunks = ranker.store.chunks
        return [
            (d.doc_id, d.score, chunks[d.best].text if d.best >= 0 else "")
            for d in ranker.rank_documents(query, among=ids)
        ]

    return scored
