"""The plain tutorial RAG pipeline, as the baseline our pipeline is compared with.

LangChain's `RecursiveCharacterTextSplitter` (1000 characters, 200 overlap) over the raw
text of the indexed documents, the same embedder, an exact FAISS inner-product index and
the top 4 passages handed to the same answer backend through
`Pipeline.answer_with_hits`. No cleaning, sections, footnote links, lexical search or
reranking: the difference to our pipeline is what those add.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.load import bundled_corpus, load_file, load_paths
from rag.language.sentences import split_sentences
from rag.types import Answer, Chunk, Hit, RawDocument, Sentence

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4


def baseline_chunks(documents: list[RawDocument]) -> list[Chunk]:
    """Character chunks with raw offsets, line ranges and sentence spans."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
    )
    chunks: list[Chunk] = []
    for doc in documents:
        for i, piece in enumerate(splitter.create_documents([doc.text])):
            start = int(piece.metadata["start_index"])
            text = piece.page_content
            end = start + len(text)
            sentences = [
                Sentence(
                    start=s,
                    end=e,
                    line_start=doc.line_of(start + s),
                    line_end=doc.line_of(start + e - 1),
                )
                for s, e in split_sentences(text)
            ]
            chunks.append(
                Chunk(
                    chunk_id=f"baseline-{doc.doc_id}-{i:04d}",
                    doc_id=doc.doc_id,
                    document=doc.name,
                    text=text,
                    start=start,
                    end=end,
                    line_start=doc.line_of(start),
                    line_end=doc.line_of(end - 1),
                    sentences=sentences,
                )
            )
    return chunks


def indexed_documents(pipeline: Any) -> list[RawDocument]:
    """The raw documents behind the pipeline's index (the bundled letter if unreadable)."""
    documents = []
    for entry in pipeline.documents():
        source = Path(entry.source)
        if source.is_file():
            documents.append(load_file(source, name=entry.name))
    return documents or load_paths([bundled_corpus()])


class BaselinePipeline:
    """Tutorial RAG with the same embedder and answer backend as `pipeline`."""

    def __init__(self, pipeline: Any, documents: list[RawDocument] | None = None) -> None:
        self.pipeline = pipeline
        self.embedder = pipeline.embedder
        self.chunks = baseline_chunks(documents or indexed_documents(pipeline))
        vectors = np.asarray(self.embedder.encode_passages([c.text for c in self.chunks]))
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        faiss.normalize_L2(vectors)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def retrieve(self, question: str, k: int = TOP_K) -> list[Hit]:
        """The k chunks nearest to the question (cosine), best first."""
        query = np.asarray(self.embedder.encode_queries([question]), dtype=np.float32)
        query = np.ascontiguousarray(query.reshape(1, -1))
        faiss.normalize_L2(query)
        scores, ids = self.index.search(query, min(k, len(self.chunks)))
        return [
            Hit(chunk=self.chunks[i], score=float(s), rank=r, scores={"dense": float(s)})
            for r, (i, s) in enumerate(zip(ids[0], scores[0], strict=True), 1)
            if i >= 0
        ]

    def ask(self, question: str, *, k: int | None = None, backend: str | None = None) -> Answer:
        """Answer from the top 4 chunks (k is ignored: the tutorial's fixed top-4)."""
        started = time.perf_counter()
        hits = self.retrieve(question, TOP_K)
        retrieve_ms = (time.perf_counter() - started) * 1000.0
        answer = self.pipeline.answer_with_hits(question, hits, backend=backend)
        timings = {**answer.timings_ms, "retrieve": retrieve_ms}
        timings["total"] = answer.timings_ms.get("total", 0.0) + retrieve_ms
        return answer.model_copy(update={"timings_ms": timings})
