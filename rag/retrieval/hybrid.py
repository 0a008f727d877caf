"""Hybrid retrieval: dense (FAISS) + lexical (BM25), fused, diversified, optionally reranked.

1. Dense and lexical candidates (`fetch_k` each) are fused by relative score fusion. The
   lexical side searches cross-lingual concepts (`TermAligner`), so English questions
   match Dutch text. A question about a part of the document ("the opening", "the section
   on trade") puts that part's passages first (`rag.query.structure`).
2. MMR over the fused list avoids near-duplicate (overlapping) passages.
3. An optional cross-encoder reorders the final candidates.
4. Footnotes whose markers sit in a retrieved passage follow it, with the same rank.

`rag.langchain_adapter` exposes the same search as a LangChain `BaseRetriever`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from rag.errors import ConfigError
from rag.language.text import content_pairs, content_words
from rag.query.analysis import Query, analyse
from rag.query.structure import best_heading
from rag.retrieval.corpus_tables import acronyms, from_chunks
from rag.retrieval.documents import (
    DocumentScore,
    filled,
    kept,
    metadata_words,
    rank_documents,
)
from rag.retrieval.embeddings import Embedder
from rag.retrieval.search_index import SearchIndex
from rag.settings import RetrievalSettings
from rag.types import Chunk, Hit

SCOPE_VIEWS = 8  # scoped retrievers kept (each holds a small in-memory index)
ALIGN_MEMO = 4096  # words and pairs whose alignment a TermAligner keeps


class HybridRetriever:
    """Searches one index with both retrievers and returns `Hit`s, best first."""

    def __init__(
        self,
        store: SearchIndex,
        embedder: Embedder,
        settings: RetrievalSettings,
        *,
        document_stage: bool = True,
    ) -> None:
        self.store = store
        self.document_stage = document_stage  # off in a scope's view: its documents are chosen
        self.embedder = embedder
        self.settings = settings
        # The store's own tables if it keeps them (the PostgreSQL store does not hold its
        # passages), else computed from the passages in memory.
        own = getattr(store, "corpus_tables", None)
        self.tables = own() if own is not None else from_chunks(store.chunks)
        self.aligner = TermAligner(
            store.terms,
            store.term_vectors,
            embedder,
            settings,
            names=self.tables.names,
            acronyms=self.tables.acronyms,
        )
        manifest = getattr(store, "manifest", None)
        self._metadata = metadata_words(getattr(manifest, "documents", None) or [])
        self._views: dict[frozenset[str], HybridRetriever | None] = {}
        self._views_lock = threading.Lock()

    def scoped(self, documents: Collection[str] | None) -> HybridRetriever | None:
        """A retriever over the scope as an index of its own (the store's `view`), built
        once per scope (the last `SCOPE_VIEWS` kept); None for no scope, or one the store
        searches itself (too large, or a store without views)."""
        if not documents:
            return None
        key = frozenset(documents)
        with self._views_lock:  # concurrent requests share this retriever
            if key not in self._views:
                make = getattr(self.store, "view", None)
                view = make(key, self.settings.scope_index_limit) if make is not None else None
                if len(self._views) >= SCOPE_VIEWS:
                    self._views.pop(next(iter(self._views)))
                self._views[key] = (
                    None
                    if view is None
                    else HybridRetriever(view, self.embedder, self.settings, document_stage=False)
                )
            return self._views[key]

    def search(
        self, query: Query | str, k: int, *, documents: Collection[str] | None = None
    ) -> list[Hit]:
        """The `k` best passages for an analysed question (or plain text), best first;
        linked footnotes follow their passage. With `documents` (doc ids; None or empty:
        all), only those documents' passages are searched."""
        if isinstance(query, str):
            query = analyse(query)
        view = self.scoped(documents)
        if view is not None:
            return view.search(query, k)
        text = query.standalone
        if not self.store.chunks or not text.strip():
            return []
        scope = frozenset(documents) if documents else None
        s = self.settings
        fused, dense, lexical = self._fused(query, scope)
        if scope is None and s.document_stage and self.document_stage and len(self._metadata) > 1:
            # The documents that matter keep their passages; one document alone is
            # searched as an index of its own (the letter ranks as the letter alone).
            plain = score_fusion([dense, lexical], [s.dense_weight, s.lexical_weight])
            ranking = self.rank_documents(query, fused=plain)
            chosen = kept(ranking, s.document_keep_ratio, s.document_limit)
            chosen = filled(chosen, ranking, self.tables.counts, k) if chosen else chosen
            if 0 < len(chosen) <= s.document_views:
                return self.search(query, k, documents=chosen)
            if chosen:
                fused = [(p, v) for p, v in fused if self.tables.doc_of(p) in chosen]
        scores = {"dense": dict(dense), "lexical": dict(lexical)}
        ranked = mmr_ranked(
            [i for i, _ in fused],
            [s for _, s in fused],
            self.store.vectors,
            k,
            s.mmr_lambda,
        )
        fused_score = dict(fused)
        if s.reranker:
            ranked = _rerank(s.reranker, text, [p for p, _ in ranked], self.store.chunks)
        hits: list[Hit] = []
        for rank, (position, ranking_score) in enumerate(ranked, start=1):
            chunk = self.store.chunks[position]
            hits.append(
                Hit(
                    chunk=chunk,
                    score=ranking_score,  # what ordered the hits: MMR's (or the reranker's)
                    rank=rank,
                    scores={
                        "fused": fused_score.get(position, 0.0),
                        "dense": scores["dense"].get(position, 0.0),
                        "lexical": scores["lexical"].get(position, 0.0),
                    },
                )
            )
        return self._with_footnotes(hits)

    def _fused(
        self, query: Query, scope: frozenset[str] | None
    ) -> tuple[list[tuple[int, float]], list[tuple[int, float]], list[tuple[int, float]]]:
        """Dense and lexical candidates (and the asked part's passages) fused: (fused,
        dense, lexical), each a list of (store position, score), best first."""
        s = self.settings
        text = query.standalone
        query_vector = self.embedder.encode_queries([text])[0]
        # Unscoped calls keep the plain signatures, so any SearchIndex still works.
        where: dict[str, Any] = {} if scope is None else {"documents": scope}
        dense = self.store.dense_search(query_vector, s.fetch_k, **where)
        if s.concept_alignment:
            lexical = self.store.concept_search(self.aligner.concepts(text), s.fetch_k, **where)
        else:
            lexical = self.store.lexical_search(text, s.fetch_k, **where)
        rankings = [dense, lexical]
        weights = [s.dense_weight, s.lexical_weight]
        if s.document_parts:
            # "Summarise the opening", "the section on trade": that part's passages first.
            for part in query.parts:
                positions = self._in_scope(self.tables.parts[part], scope)
                rankings.append([(position, 1.0) for position in positions])
            if query.section:
                positions = self._in_scope(self._section_positions(query.section, scope), scope)
                rankings.append([(position, 1.0) for position in positions])
        weights += [s.structure_boost] * (len(rankings) - 2)
        return score_fusion(rankings, weights), dense, lexical

    def rank_documents(
        self,
        query: Query,
        among: Collection[str] | None = None,
        fused: list[tuple[int, float]] | None = None,
    ) -> list[DocumentScore]:
        """The documents by the evidence for them (`rag.retrieval.documents`), best
        first; `among`: only these (each searched for its own best passages)."""
        s = self.settings
        if fused is None:
            fused = self._fused(query, frozenset(among) if among else None)[0]
        text = query.focus or query.standalone
        if s.concept_alignment:
            concepts = self.aligner.concepts(text, pairs=False)
        else:
            concepts = [[w] for w in content_words(text)]
        return rank_documents(
            fused,
            self.tables.doc_of,
            concepts,
            self._metadata,
            passages=s.document_passages,
            metadata_weight=s.document_metadata_weight,
            among=among,
            sizes=self.tables.sizes,
        )

    def unknown_words(self, query: Query, *, documents: Collection[str] | None = None) -> list[str]:
        """The question's content words that neither occur in the corpus (or the scope)
        nor align with a corpus word ("nuclear" in a letter that never mentions it): a
        sign that the documents do not answer it."""
        view = self.scoped(documents)
        if view is not None:
            return view.unknown_words(query)
        known = self.aligner.known
        return [
            concept[0]
            for concept in self.aligner.concepts(query.focus, pairs=False)
            if len(concept) == 1 and concept[0] not in known
        ]

    def _in_scope(self, positions: list[int], scope: frozenset[str] | None) -> list[int]:
        if scope is None:
            return positions
        return [p for p in positions if self.tables.doc_of(p) in scope]

    def _section_positions(self, topic: str, scope: frozenset[str] | None = None) -> list[int]:
        """The body passages under the heading that `topic` names ([] if none does)."""
        # Headings are short: align the topic's words loosely ("defence" ~ "defensie", 0.68).
        concepts = self.aligner.concepts(
            topic, min_similarity=self.settings.heading_similarity, pairs=False
        )
        headings = self.tables.headings if scope is None else self.tables.scoped_headings(scope)
        heading = best_heading(concepts, headings)
        if heading is None:
            return []
        return self.tables.section_positions(heading)

    def _with_footnotes(self, hits: list[Hit]) -> list[Hit]:
        """Put each linked footnote right after the passage holding its marker."""
        seen = {h.chunk.chunk_id for h in hits}
        result: list[Hit] = []
        for hit in hits:
            result.append(hit)
            for number in hit.chunk.footnotes:
                position = self.tables.footnotes.get((hit.chunk.doc_id, number))
                if position is None:
                    continue
                note = self.store.chunks[position]
                if note.chunk_id in seen:
                    continue
                seen.add(note.chunk_id)
                result.append(
                    Hit(chunk=note, score=hit.score, rank=hit.rank, scores={"linked": 1.0})
                )
        return result


class TermAligner:
    """Cross-lingual query concepts for BM25.

    Each content word of a query, and each pair of adjacent content words, is mapped to
    the corpus words nearest to it in the multilingual embedding space ("trade" →
    "handel", "decision-making" → "besluitvorming", "public finances" →
    "overheidsfinanciën"), so BM25 can match an English question against Dutch text (and
    Dutch synonyms against each other). Word pairs matter because Dutch writes as one
    compound what English writes as a phrase: a pair that aligns closely stands for its
    two words. Each word (or pair) with its aligned terms is one concept, which
    `concept_search` counts once however many of its terms a passage contains."""

    def __init__(
        self,
        terms: Sequence[str],
        vectors: np.ndarray,
        embedder: Embedder,
        settings: RetrievalSettings,
        names: set[str] | None = None,
        acronyms: set[str] | None = None,
    ) -> None:
        self.terms = list(terms)
        self.known = frozenset(self.terms)
        self.vectors = vectors
        self.embedder = embedder
        self.settings = settings
        self.names = names or set()
        self.acronyms = acronyms or set()
        # (unit, capitalised in the query, floor) -> its alignment: `unknown_words` and
        # `search` align the same words of a question; bounded, cleared when full.
        self._aligned: dict[tuple[str, bool, float], list[tuple[str, float]]] = {}

    def concepts(
        self, query: str, min_similarity: float | None = None, pairs: bool = True
    ) -> list[list[str]]:
        """One list per concept of the query: the query's own word first (none for a
        pair), then the corpus terms aligned with it (at `min_similarity` or more)."""
        s = self.settings
        words = content_words(query)
        units = words + (content_pairs(query) if pairs and s.word_pairs else [])
        if not units:
            return []
        floor = s.align_min_similarity if min_similarity is None else min_similarity
        asked_acronyms = acronyms(query)
        aligned = self._align(units, _capitalised(query), floor)
        covered = {
            word
            for unit in units
            if " " in unit and aligned[unit] and aligned[unit][0][1] >= s.compound_similarity
            for word in unit.split()
        }
        concepts: list[list[str]] = []
        for unit in units:
            terms = [term for term, _ in aligned[unit]]
            if " " in unit and terms:
                concepts.append(terms)
            elif " " not in unit and unit not in covered:
                if unit in asked_acronyms:  # embeddings place acronyms poorly ("MFF" ~ "IMF")
                    terms = self._similar_acronyms(unit)
                concepts.append(list(dict.fromkeys([unit, *terms])))
        return concepts

    def _similar_acronyms(self, acronym: str) -> list[str]:
        """Corpus acronyms one letter away: Dutch and English often differ by one
        ("NATO" / "NAVO", "MFF" / "MFK")."""
        return [
            other
            for other in sorted(self.acronyms)
            if len(other) == len(acronym)
            and other != acronym
            and sum(a != b for a, b in zip(other, acronym, strict=True)) == 1
        ]

    def _align(
        self, units: list[str], capitalised: set[str], floor: float
    ) -> dict[str, list[tuple[str, float]]]:
        """The corpus terms (with similarity) close enough to each word or pair, best first."""
        if not self.terms:
            return {unit: [] for unit in units}
        keys = {unit: (unit, unit in capitalised, floor) for unit in units}
        aligned: dict[str, list[tuple[str, float]]] = {}
        todo = []
        for unit in units:
            known = self._aligned.get(keys[unit])
            if known is None:
                todo.append(unit)
            else:
                aligned[unit] = known
        if todo:
            similarity = self.embedder.encode_queries(todo) @ self.vectors.T
            for unit, row in zip(todo, similarity, strict=True):
                aligned[unit] = self._nearest(unit, row, unit in capitalised, floor)
            if len(self._aligned) > ALIGN_MEMO:
                self._aligned.clear()
            self._aligned.update((keys[unit], aligned[unit]) for unit in todo)
        return {unit: list(aligned[unit]) for unit in units}

    def _nearest(
        self, unit: str, row: np.ndarray, capitalised: bool, floor: float
    ) -> list[tuple[str, float]]:
        found = []
        for i in np.argsort(-row)[: self.settings.align_per_word]:
            term = self.terms[int(i)]
            # Names ("Norway" → "noorwegen") align less closely than common words do.
            is_name = capitalised and term in self.names
            if row[i] >= floor - (self.settings.name_discount if is_name else 0.0):
                found.append((term, float(row[i])))
        return found


def _capitalised(text: str) -> set[str]:
    """Lower-cased words written with a capital, wherever they stand."""
    return {m.group(1).lower() for m in re.finditer(r"\b([A-Z][a-z]\w+)", text)}


def score_fusion(
    rankings: Sequence[Sequence[tuple[int, float]]], weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Relative score fusion: each list's scores are divided by its best score and summed.

    Unlike reciprocal rank fusion it keeps score gaps: a passage that BM25 scores ten
    times higher than the rest (an exact rare term such as "Mercosur") stays on top even
    when the embedding ranks it low. Measured on the dev set it matched or beat RRF
    (`python scripts/retrieval_ablation.py`)."""
    fused: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        best = max((score for _, score in ranking), default=0.0)
        if best <= 0:
            continue
        weight = weights[n] if weights else 1.0
        for item, score in ranking:
            fused[item] = fused.get(item, 0.0) + weight * max(score, 0.0) / best
    return sorted(fused.items(), key=lambda pair: -pair[1])


def mmr(
    candidates: Sequence[int],
    relevance: Sequence[float],
    vectors: np.ndarray,
    k: int,
    trade_off: float,
) -> list[int]:
    """Maximal marginal relevance: pick `k` relevant candidates that differ from each other."""
    return [candidate for candidate, _ in mmr_ranked(candidates, relevance, vectors, k, trade_off)]


def mmr_ranked(
    candidates: Sequence[int],
    relevance: Sequence[float],
    vectors: np.ndarray,
    k: int,
    trade_off: float,
) -> list[tuple[int, float]]:
    """MMR's picks with the objective each was picked at: relevance scaled to [0, 1] less
    the redundancy with the picks before it. It never rises from one pick to the next
    (redundancy only grows), so it is the score the ranking used, falling with rank."""
    if not candidates:
        return []
    rel = np.asarray(relevance, dtype=np.float32)
    rel = (rel - rel.min()) / (rel.max() - rel.min() + 1e-9)
    vecs = vectors[list(candidates)]
    chosen: list[tuple[int, float]] = []
    max_sim = np.full(len(candidates), -np.inf, dtype=np.float32)
    available = np.ones(len(candidates), dtype=bool)
    for _ in range(min(k, len(candidates))):
        redundancy = np.where(np.isfinite(max_sim), max_sim, 0.0)
        score = trade_off * rel - (1 - trade_off) * redundancy
        score[~available] = -np.inf
        best = int(np.argmax(score))
        chosen.append((candidates[best], float(score[best])))
        available[best] = False
        max_sim = np.maximum(max_sim, vecs @ vecs[best])
    return chosen


@lru_cache(maxsize=2)
def _cross_encoder(name: str) -> Any:
    try:
        from sentence_transformers import CrossEncoder

        return CrossEncoder(name, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any load failure means the same to users
        raise ConfigError(
            f"Reranker '{name}' could not be loaded offline ({type(exc).__name__}). Put it in "
            "your Hugging Face cache or give a local path in RAG_RETRIEVAL__RERANKER, or unset it."
        ) from None


def _rerank(
    name: str, query: str, positions: list[int], chunks: Sequence[Chunk]
) -> list[tuple[int, float]]:
    model = _cross_encoder(name)
    scores = np.asarray(model.predict([(query, chunks[p].search_text) for p in positions]))
    return [(positions[i], float(scores[i])) for i in np.argsort(-scores)]
