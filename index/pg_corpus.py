"""Per-document retriever tables for the PostgreSQL store, so a worker needs no passages
to build the retriever's whole-corpus tables (`rag.retrieval.corpus_tables`).

Each document's tables (its footnotes, the passages that open and close it, its
headings, body size, name candidates and acronyms; positions are passage numbers within
the document) are computed from its passages when it is written and stored in
`rag_doc_tables`, with its lower-case words in `rag_doc_lower`: a capitalised word is a
name only if no document writes it in lower case, which one indexed query answers. A
document stored before these tables existed gets them from the first worker that reads
it. `corpus_tables` joins the documents' tables into the store's positions.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rag.query.structure import part_positions
from rag.retrieval.corpus_tables import CorpusTables, acronyms, name_words
from rag.types import Chunk


def document_tables(chunks: Sequence[Chunk]) -> tuple[dict, set[str]]:
    """One document's tables (JSON-ready) from its passages in order, and its lower-case
    words."""
    texts = [c.text for c in chunks]
    candidates, lower = name_words(texts)
    tables = {
        "footnotes": [[c.footnote_number, i] for i, c in enumerate(chunks) if c.kind == "footnote"],
        "start": part_positions(chunks, "start"),
        "end": part_positions(chunks, "end"),
        "headings": list(dict.fromkeys(c.section for c in chunks if c.section)),
        "body": sum(c.kind == "body" for c in chunks),
        "passages": len(chunks),
        "candidates": sorted(candidates),
        "acronyms": sorted(acronyms(" ".join(texts))),
    }
    return tables, lower


def store_tables(conn: Any, doc_id: str, first_id: int, chunks: Sequence[Chunk]) -> dict:
    """Write one document's tables (in the caller's transaction); returns them."""
    tables, lower = document_tables(chunks)
    conn.execute(
        "insert into rag_doc_tables values (%s, %s, %s::jsonb) on conflict (doc_id) do "
        "update set first_id = excluded.first_id, tables = excluded.tables",
        (doc_id, first_id, json.dumps(tables)),
    )
    conn.execute("delete from rag_doc_lower where doc_id = %s", (doc_id,))
    with conn.cursor() as cur, cur.copy("copy rag_doc_lower (word, doc_id) from stdin") as copy:
        for word in sorted(lower):
            copy.write_row((word, doc_id))
    return tables


def lower_case_words(conn: Any, words: Sequence[str]) -> set[str]:
    """Which of `words` some document writes in lower case."""
    rows = conn.execute(
        "select distinct word from rag_doc_lower where word = any(%s)", (list(words),)
    ).fetchall()
    return {r[0] for r in rows}


def corpus_tables(
    docs: Sequence[tuple[str, int, dict]],
    names: set[str],
    doc_of: Callable[[int], str],
    section_positions: Callable[[str], list[int]],
) -> CorpusTables:
    """The corpus's tables from each document's (doc id, first position, tables), in
    store order."""
    footnotes: dict[tuple[str, int | None], int] = {}
    parts: dict[str, list[int]] = {"start": [], "end": []}
    headings_by_doc: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    counts: Counter[str] = Counter()
    found_acronyms: set[str] = set()
    for doc_id, offset, tables in docs:
        for number, at in tables["footnotes"]:
            footnotes[(doc_id, number)] = offset + at
        for part in ("start", "end"):
            parts[part] += [offset + at for at in tables[part]]
        if tables["headings"]:
            headings_by_doc[doc_id] = list(tables["headings"])
        if tables["passages"]:
            sizes[doc_id] = int(tables["body"])
            counts[doc_id] = int(tables["passages"])
        found_acronyms.update(tables["acronyms"])
    return CorpusTables(
        names=names,
        acronyms=found_acronyms,
        footnotes=footnotes,
        parts=parts,
        headings=list(dict.fromkeys(h for hs in headings_by_doc.values() for h in hs)),
        headings_by_doc=headings_by_doc,
        sizes=sizes,
        counts=counts,
        doc_of=doc_of,
        section_positions=section_positions,
    )


def int8_array(packed: bytes | None) -> np.ndarray:
    """Big-endian int8 bytes (`string_agg(int8send(…))`) as an int64 array."""
    return np.frombuffer(packed or b"", dtype=">i8").astype(np.int64)
