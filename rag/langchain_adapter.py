"""LangChain at the edge: the retriever as a `BaseRetriever`, the whole chain as a `Runnable`.

`as_retriever(index=PATH, k=5)` returns a `PassageRetriever`; `invoke(q, k=…)` returns at
most `k` LangChain `Document`s, best first, each with JSON-serialisable metadata
(document, section, lines, page, chunk_id, rank, score, footnotes). A footnote linked
to a passage is folded into that passage's `metadata["footnotes"]`, so it never pushes
the result past `k`. `score` is the hit's ranking score (`Hit.score`).

`as_chain(...)` returns a `Runnable` over `{"question", "history"}` that returns the
`Answer`, so the assistant composes in LCEL.

The project's own code passes `rag.types`; LangChain types live only in this module.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict, Field

from rag.errors import InputError
from rag.settings import Settings
from rag.types import Answer, Hit

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

# `rag` never imports the packages above it (`assembly`, `ui`); the function that opens a
# pipeline over an on-disk index is named here, like an entry point, and resolved only
# when `as_retriever`/`as_chain` are given a path instead of a pipeline.
PIPELINE_OPENER = "assembly.library:open_pipeline"


def open_pipeline(index: str | Path | None = None, settings: Settings | None = None) -> Pipeline:
    """The pipeline over the index at `index` (default: the configured index path)."""
    settings = settings or Settings()
    if index is not None:
        settings = settings.model_copy(
            update={"index": settings.index.model_copy(update={"path": Path(index)})}
        )
    module, name = PIPELINE_OPENER.split(":")
    opener = getattr(importlib.import_module(module), name)
    pipeline: Pipeline = opener(settings)
    return pipeline


class PassageRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain retriever: at most `k` passages, best first."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pipeline: Any = Field(description="A rag.pipeline.Pipeline (opened from `index` if absent).")
    index: str | None = Field(default=None, description="Index folder, used when no pipeline.")
    k: int = Field(default=5, ge=1, le=50, description="Passages returned per query.")

    def __init__(self, **data: Any) -> None:
        if data.get("pipeline") is None:
            data["pipeline"] = open_pipeline(data.get("index"))
        super().__init__(**data)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[LCDocument]:
        limit = self.k if k is None else k
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InputError(f"k must be a whole number of at least 1, not {limit!r}.")
        return hits_to_documents(self.pipeline.retrieve(query, limit), limit)


def hits_to_documents(hits: Sequence[Hit], k: int) -> list[LCDocument]:
    """Hits as LangChain Documents; linked footnotes folded into their passage (≤ k)."""
    documents: list[LCDocument] = []
    for hit in hits:
        if hit.chunk.kind == "footnote" and documents and "linked" in hit.scores:
            documents[-1].metadata["footnotes"].append(_footnote(hit))
            continue
        if len(documents) == k:
            break
        documents.append(to_document(hit))
    return documents


def to_document(hit: Hit) -> LCDocument:
    """One hit as a LangChain Document with plain, JSON-serialisable metadata."""
    chunk = hit.chunk
    return LCDocument(
        page_content=chunk.text,
        id=chunk.chunk_id,
        metadata={
            "document": chunk.document,
            "doc_id": chunk.doc_id,
            "section": chunk.section,
            "lines": [chunk.line_start, chunk.line_end],
            "page": chunk.page_start,
            "chunk_id": chunk.chunk_id,
            "rank": hit.rank,
            "score": round(float(hit.score), 6),
            "footnotes": [],
        },
    )


def _footnote(hit: Hit) -> dict[str, Any]:
    chunk = hit.chunk
    return {
        "number": chunk.footnote_number,
        "chunk_id": chunk.chunk_id,
        "lines": [chunk.line_start, chunk.line_end],
        "text": chunk.text,
    }


def as_retriever(
    index: str | Path | None = None,
    k: int = 5,
    *,
    pipeline: Pipeline | None = None,
    settings: Settings | None = None,
) -> PassageRetriever:
    """A LangChain retriever over the index at `index` (default: the configured one).

    >>> retriever = rag.as_retriever(k=3)
    >>> retriever.invoke("Wat is de NAVO-norm voor 2035?", k=1)[0].metadata["lines"]
    """
    if pipeline is None:
        pipeline = open_pipeline(index, settings)
    return PassageRetriever(pipeline=pipeline, k=k)


def as_chain(
    index: str | Path | None = None,
    *,
    pipeline: Pipeline | None = None,
    settings: Settings | None = None,
    backend: str | None = None,
    k: int | None = None,
) -> Runnable[dict[str, Any], Answer]:
    """The whole assistant as a Runnable: {"question", "history"?} → `Answer`.

    `history` is a list of earlier (question, answer) pairs or of chat messages
    ({"role": "user"|"assistant", "content": …})."""
    active = pipeline if pipeline is not None else open_pipeline(index, settings)

    def answer(request: dict[str, Any]) -> Answer:
        if not isinstance(request, dict) or not isinstance(request.get("question"), str):
            raise InputError('Give a dict with a string "question" (and optional "history").')
        history = history_pairs(request.get("history") or [])
        return active.ask(request["question"], k=k, backend=backend, history=history)

    return RunnableLambda(answer, name="kamerbrief_rag")


def history_pairs(history: Sequence[Any]) -> list[tuple[str, str]]:
    """Earlier turns as (question, answer) pairs, from pairs or from chat messages."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for item in history:
        if isinstance(item, dict):
            role, content = item.get("role"), item.get("content")
            if not isinstance(content, str):
                raise InputError("Every history message needs a string 'content'.")
            if role == "user":
                question = content
            elif role == "assistant" and question is not None:
                pairs.append((question, content))
                question = None
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            pairs.append((str(item[0]), str(item[1])))
        else:
            raise InputError("History items must be [question, answer] pairs or chat messages.")
    return pairs
