"""Score questions over many documents (the letter + 113 motions): document accuracy,
evidence recall, list completeness, "which document?" rate, latency.

Reads a JSONL of questions with the fields `id`, `lang`, `question`, `type`,
`expected_documents` (ids, file names or Kamerstuk numbers, in order: the first is the
document that answers), `evidence` (verbatim quotes), `keywords`, and for list, count
and submitter questions the expected items (`expected_items` or `items`: documents, or
names for submitters; for a type with "list" or "count" in its name and no items, the
`expected_documents`) and for counts `expected_count`. Types are free text; the
scores are grouped by them, and list/count scores apply to any question with items.

    .venv/bin/python scripts/multidoc_bench.py [--dataset eval/data/multidoc/dev.jsonl]
        [--index FOLDER | --store postgresql://…] [--build] [--compare-postgres]
        [--no-document-stage] [--json OUT.json] [--misses MISSES.jsonl]

`--build` (re)builds the index from `corpus/multidoc/motions` and the bundled letter
first and reports the build time; `--compare-postgres` builds the same corpus into a
temporary PostgreSQL (pgserver) too and counts the answers both stores give alike.
Latency is each answer's own total (`Answer.timings_ms`), the pipeline loaded and warm.
Per question it scores:
- doc@1: the first document the answer rests on (its first citation, else its first
  passage) is the expected first document;
- evidence recall: share of the evidence quotes in the top 5 passages (`eval.metrics`,
  as `scripts/answer_metrics.py` counts it; for a question with items, in any passage
  the list cites);
- which-document: the answer asked back which document was meant;
- items: for a question with expected items, the listed documents (or names) against
  them: recall, precision, and whether every listed document is cited;
- count: the first number of the answer's first line equals `expected_count` (else, for
  a question whose type says "count", the number of expected items);
- keyword recall of the answer text;
- meta recall: for a question with `expected_meta` (`submitters`, `date` yyyy-mm-dd,
  `number`, `kind`), the share of them the answer states;
- unanswerable refused: for a question with `"answerable": false`, the answer refused (or
  asked which document was meant).

To score another file of the same format (a sealed hold-out), pass it with `--dataset`;
`--build` first when the index folder does not hold this corpus yet.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.metrics import evidence_ranks, recall_at_k

ROOT = Path(__file__).resolve().parents[1]
MOTIONS = ROOT / "corpus" / "multidoc" / "motions"
LETTER = ROOT / "index" / "corpus" / "eu-geopolitiek-kamerbrief.txt"
TOP = 5


def key(text: str) -> str:
    """A document reference reduced to letters and digits ("kst-36410-V-51",
    "36410-V, nr. 51" and "kst-36410-v-51.txt" → "36410v51")."""
    text = re.sub(r"\.(txt|md|pdf)$", "", text.strip().lower())
    text = re.sub(r"\b(kst|kamerstuk|nr)\b", "", text)
    return re.sub(r"[^0-9a-z]", "", text)


def squash(text: str) -> str:
    return " ".join(re.sub(r"[^\w%]+", " ", text.lower()).split())


class Resolver:
    """Maps any reference to a document (id, file name, Kamerstuk number) to its id."""

    def __init__(self, documents: Sequence[Any]) -> None:
        self.ids: dict[str, str] = {}
        for d in documents:
            for ref in (d.doc_id, d.name, getattr(d, "dossier", "")):
                if ref:
                    self.ids.setdefault(key(ref), d.doc_id)

    def __call__(self, ref: str) -> str:
        return self.ids.get(key(ref), ref)


def expected_items(row: dict[str, Any]) -> list[str]:
    items = row.get("expected_items") or row.get("items") or []
    kind = str(row.get("type", ""))
    if not items and ("list" in kind or "count" in kind):  # a list (or count) of documents
        items = row.get("expected_documents") or []
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("document") or item.get("doc_id") or item.get("id") or item.get("name")
        if item:
            out.append(str(item))
    return out


def answer_documents(answer: Any) -> list[str]:
    """The documents an answer rests on, in order: cited ones first, then passages."""
    by_chunk = {h.chunk.chunk_id: h.chunk.doc_id for h in answer.passages}
    cited = [by_chunk.get(c.chunk_id, "") for c in answer.citations]
    passages = [h.chunk.doc_id for h in answer.passages]
    return list(dict.fromkeys(d for d in [*cited, *passages] if d))


def score(row: dict[str, Any], answer: Any, resolve: Resolver) -> dict[str, Any]:
    expected = [resolve(d) for d in row.get("expected_documents") or []]
    documents = answer_documents(answer)
    cited_docs = {
        h.chunk.doc_id
        for h in answer.passages
        for c in answer.citations
        if c.chunk_id == h.chunk.chunk_id
    }
    evidence = row.get("evidence") or []
    ranked = [(h.rank, h.chunk.text) for h in answer.passages]
    # A list cites one passage per item: its evidence counts anywhere among them.
    depth = max(TOP, len(ranked)) if expected_items(row) else TOP
    found_at = recall_at_k(evidence_ranks(evidence, ranked), depth) if evidence else None
    text = answer.answer
    result: dict[str, Any] = {
        "id": row["id"],
        "type": row.get("type", ""),
        "lang": row.get("lang", ""),
        "which_document": bool(getattr(answer, "candidates", None)),
        "refused": answer.refused,
        "doc_at_1": (documents[:1] == expected[:1]) if expected else None,
        "evidence_recall": found_at,
        "keyword_recall": _keywords(row.get("keywords") or [], text),
        "ms": answer.timings_ms.get("total", 0.0),
        "documents": documents[:8],
        "first_line": text.splitlines()[0][:200] if text else "",
    }
    items = expected_items(row)
    if items:
        as_documents = [resolve(i) for i in items]
        if any(i in resolve.ids.values() for i in as_documents):  # documents
            listed = _listed(answer, text, resolve)
            hit = [i for i in as_documents if i in listed]
            result["item_recall"] = len(hit) / len(as_documents)
            result["item_precision"] = (
                len([i for i in listed if i in as_documents]) / len(listed) if listed else 0.0
            )
            result["items_cited"] = bool(listed) and all(i in cited_docs for i in listed)
        else:  # names (submitters)
            plain = squash(text)
            result["item_recall"] = sum(squash(n) in plain for n in items) / len(items)
    meta = row.get("expected_meta")
    if isinstance(meta, dict) and meta:
        result["meta_recall"] = meta_recall(meta, text)
    if row.get("answerable") is False:
        result["unanswerable_refused"] = bool(answer.refused or getattr(answer, "candidates", None))
    count = row.get("expected_count")
    if count is None and "count" in str(row.get("type", "")).lower() and items:
        count = len(items)  # a count question whose items are the counted documents
    if count is not None:
        numbers = [int(n) for n in re.findall(r"\b\d+\b", text.split("\n")[0])]
        result["count_correct"] = int(count) in numbers[:1]
    return result


MONTHS = {
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "en": "January February March April May June July August September October November December",
}


def date_forms(iso: str) -> list[str]:
    """A yyyy-mm-dd date as an answer may write it: ISO, "8 februari 2023", "8 February
    2023", "February 8, 2023"."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso.strip())
    if not match:
        return [iso]
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    forms = [iso]
    for names in MONTHS.values():
        name = names.split()[month - 1]
        forms += [f"{day} {name} {year}", f"{name} {day}, {year}", f"{name} {day} {year}"]
    return forms


def meta_recall(meta: dict[str, Any], text: str) -> float | None:
    """Share of the expected metadata the answer states: each submitter, the date (in any
    of its written forms), the number (its digits) and the kind (motie / motion)."""
    plain = squash(text)
    checks: list[bool] = []
    for name in meta.get("submitters") or []:
        checks.append(squash(name) in plain)
    if meta.get("date"):
        checks.append(any(squash(f) in plain for f in date_forms(str(meta["date"]))))
    if meta.get("number"):
        digits = re.findall(r"\d+(?:-[0-9a-z]+)?", str(meta["number"]).lower())
        checks.append(all(d in text.lower() for d in digits))
    if meta.get("kind"):
        kinds = {"motie": ("motie", "motion"), "brief": ("brief", "letter")}
        wanted = kinds.get(str(meta["kind"]).lower(), (str(meta["kind"]).lower(),))
        checks.append(any(k in plain for k in wanted))
    return sum(checks) / len(checks) if checks else None


def _listed(answer: Any, text: str, resolve: Resolver) -> list[str]:
    """The documents an answer lists: those whose id it names, else the cited ones."""
    named = [d for d in resolve.ids.values() if re.search(rf"\[{re.escape(d)}\]", text)]
    if named:
        return list(dict.fromkeys(named))
    by_chunk = {h.chunk.chunk_id: h.chunk.doc_id for h in answer.passages}
    return list(dict.fromkeys(by_chunk[c.chunk_id] for c in answer.citations))


def _keywords(keywords: list[str], text: str) -> float | None:
    if not keywords:
        return None
    plain = squash(text)
    return sum(squash(k) in plain for k in keywords) / len(keywords)


def summarise(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        groups["all"].append(r)
        groups[r["type"] or "?"].append(r)
        groups[f"lang={r['lang']}"].append(r)
    rows = []
    for name, members in groups.items():
        row: dict[str, Any] = {"group": name, "n": len(members)}
        for metric in (
            "doc_at_1",
            "evidence_recall",
            "item_recall",
            "item_precision",
            "items_cited",
            "count_correct",
            "keyword_recall",
            "meta_recall",
            "unanswerable_refused",
            "which_document",
        ):
            values = [float(r[metric]) for r in members if r.get(metric) is not None]
            row[metric] = round(sum(values) / len(values), 3) if values else None
        times = [r["ms"] for r in members]
        row["p50_ms"] = round(float(np.percentile(times, 50)), 1)
        row["p95_ms"] = round(float(np.percentile(times, 95)), 1)
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = ["" if row[c] is None else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def settings_for(args: argparse.Namespace, store: str | None = None) -> Any:
    """Settings with the index folder or server and the ablation switch applied."""
    from rag.settings import Settings

    settings = Settings()
    index = settings.index
    if args.index is not None:
        index = index.model_copy(update={"path": args.index})
    if store or args.store:
        index = index.model_copy(update={"store": store or args.store})
    retrieval = settings.retrieval
    if args.no_document_stage:
        retrieval = retrieval.model_copy(update={"document_stage": False})
    return settings.model_copy(update={"index": index, "retrieval": retrieval})


def build_corpus(settings: Any) -> float:
    """(Re)build the index of the motions and the letter; the seconds it took, the
    encoder's load included (as `rag index build` pays it)."""
    from index.load import load_paths
    from index.stores import write_documents
    from rag.retrieval.embeddings import load_embedder

    started = time.perf_counter()
    embedder = load_embedder(settings.embedding)
    documents = load_paths([MOTIONS, LETTER])
    write_documents(settings, embedder, documents, keep=False)
    return time.perf_counter() - started


def ask_all(settings: Any, rows: list[dict[str, Any]]) -> tuple[list[Any], Resolver]:
    from assembly.library import open_pipeline

    pipeline = open_pipeline(settings)
    pipeline.warm_up()
    pipeline.ask("warm-up: what does the letter say about trade?")
    return [pipeline.ask(row["question"]) for row in rows], Resolver(pipeline.documents())


def temporary_server() -> tuple[Any, str]:
    """A private PostgreSQL 16 + pgvector (the `pgserver` package) and a database URL."""
    import tempfile

    import pgserver
    import psycopg

    server = pgserver.get_server(tempfile.mkdtemp(prefix="rag-pg-"), cleanup_mode="delete")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("drop database if exists multidoc")
        conn.execute("create database multidoc")
    return server, str(server.get_uri("multidoc"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "eval/data/multidoc/dev.jsonl")
    parser.add_argument("--index", type=Path, default=None, help="Index folder.")
    parser.add_argument("--store", default=None, help="A PostgreSQL URL instead of a folder.")
    parser.add_argument("--build", action="store_true", help="Build the mixed index first.")
    parser.add_argument(
        "--compare-postgres",
        action="store_true",
        help="Also build the corpus into a temporary PostgreSQL (pgserver) and count the "
        "questions both stores answer alike.",
    )
    parser.add_argument("--no-document-stage", action="store_true", help="Ablation.")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--misses", type=Path, default=None)
    args = parser.parse_args()

    settings = settings_for(args)
    if args.build:
        print(f"built {args.index or settings.index.path} in {build_corpus(settings):.1f} s")
    rows = [json.loads(line) for line in args.dataset.open(encoding="utf-8") if line.strip()]
    answers, resolve = ask_all(settings, rows)
    results = [score(row, answer, resolve) for row, answer in zip(rows, answers, strict=True)]
    summary = summarise(results)
    print(table(summary))
    if args.compare_postgres:
        server, url = temporary_server()
        try:
            server_settings = settings_for(args, store=url)
            print(f"built PostgreSQL store in {build_corpus(server_settings):.1f} s")
            other, _ = ask_all(server_settings, rows)
        finally:
            server.cleanup()
        alike = sum(
            a.answer == b.answer and answer_documents(a) == answer_documents(b)
            for a, b in zip(answers, other, strict=True)
        )
        times = [b.timings_ms.get("total", 0.0) for b in other]
        print(
            f"PostgreSQL store: {alike}/{len(rows)} answers identical to the folder store's; "
            f"p50 {np.percentile(times, 50):.1f} ms, p95 {np.percentile(times, 95):.1f} ms"
        )
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "results": results}, indent=1))
    if args.misses:
        with args.misses.open("w", encoding="utf-8") as out:
            for r in results:
                if missed(r):
                    out.write(json.dumps(r, ensure_ascii=False) + "\n")


def missed(r: dict[str, Any]) -> bool:
    return bool(
        r["doc_at_1"] is False
        or (r["evidence_recall"] is not None and r["evidence_recall"] < 1)
        or r["which_document"]
        or (r.get("item_recall") is not None and r["item_recall"] < 1)
        or (r.get("item_precision") is not None and r["item_precision"] < 1)
        or r.get("count_correct") is False
    )


if __name__ == "__main__":
    main()
