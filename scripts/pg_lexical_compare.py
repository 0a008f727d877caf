"""Which lexical ranking for the PostgreSQL store: the engine's ts_rank_cd over
`tsvector`s (Dutch or English Snowball configuration per passage) or BM25 from the
store's posting tables (what it uses). recall@5/@10 of the evidence quotes, per language,
with plain query words and with the aligned concepts the retriever searches.

    RAG_INDEX__STORE=postgresql://… .venv/bin/python scripts/pg_lexical_compare.py \
        [--dataset eval/data/dev.jsonl]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from assembly.library import open_pipeline
from eval.dataset import DEFAULT_DATASET, load_dataset
from eval.metrics import recall_table
from rag.language.text import guess_language, words
from rag.settings import Settings

_TS_SQL = """
select id from (
  select p.id, ts_rank_cd(to_tsvector(x.cfg::regconfig, p.chunk->>'section' || ' ' ||
         (p.chunk->>'text')), to_tsquery('dutch', %(q)s) || to_tsquery('english', %(q)s)) r
  from rag_passages p join unnest(%(ids)s::bigint[], %(cfgs)s::text[]) x(id, cfg) on x.id = p.id
) s where r > 0 order by r desc, id limit %(k)s
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    pipeline = open_pipeline(Settings())
    store, aligner = pipeline.store, pipeline.retriever.aligner
    if not hasattr(store, "pool"):
        raise SystemExit("Set RAG_INDEX__STORE to a postgresql:// URL holding the index.")
    configs = [
        "english" if guess_language(words(c.search_text, parts=True)) == "en" else "dutch"
        for c in store.chunks
    ]

    def ts_rank(terms: list[str]) -> list[int]:
        clean = [t for t in (re.sub(r"\W+", " ", term).strip() for term in terms) if t]
        if not clean:
            return []
        query = " | ".join(
            f"'{t}'" if " " not in t else f"({' <-> '.join(t.split())})" for t in clean
        )
        with store.pool.connection() as conn:
            rows = conn.execute(
                _TS_SQL, {"q": query, "ids": store.ids, "cfgs": configs, "k": 10}
            ).fetchall()
        return [store._position_of_id[r[0]] for r in rows]

    def concepts(q: str) -> list[str]:
        return [term for concept in aligner.concepts(q) for term in concept]

    variants = {
        "BM25 (posting tables)": lambda q: [p for p, _ in store.lexical_search(q, 10)],
        "ts_rank_cd": lambda q: ts_rank(words(q, parts=True)),
        "BM25 + alignment": lambda q: [p for p, _ in store.concept_search(aligner.concepts(q), 10)],
        "ts_rank_cd + alignment": lambda q: ts_rank(concepts(q)),
    }
    items = [item for item in load_dataset(args.dataset) if item.evidence]
    texts = {
        name: lambda q, rank=ranker: [store.chunks[p].text for p in rank(q)]
        for name, ranker in variants.items()
    }
    print("\n".join(recall_table(items, texts, "lexical ranking")))


if __name__ == "__main__":
    main()
