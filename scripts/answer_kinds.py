"""The answer issue's figures by question kind, for Dutch and English separately.

Reads a question set with the kinds of `eval/data/answers_dev.jsonl` (summary,
multi_part with `evidence_per_part`, list with `items`, paraphrase pairs, follow-up
pairs, tempting_unanswerable) and prints, per language:
- summary: share of the expected evidence quotes that the answer cites (a citation's
  quote holds the evidence, or the evidence holds the quote);
- multi_part: recall_all@5, the share of questions with evidence for every part in the
  top 5, and the share of parts with some evidence in the top 5;
- paraphrase: recall@5 of the original wordings and of the paraphrases, and the gap;
- list: item completeness (share of the expected items named in the answer text);
- follow_up: recall@5 and keyword recall of the follow-ups asked after their first
  turn (with history) and alone;
- tempting_unanswerable: share answered 'partial' or refused; answerable questions
  refused or marked partial;
- factoid, list and all answerable: recall@5 and keyword recall; p95 ms per question.

    .venv/bin/python scripts/answer_kinds.py [--dataset FILE.jsonl] [--misses]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from assembly.library import open_pipeline
from eval.metrics import evidence_ranks, keyword_recall, percentile, recall_at_k
from eval.textmatch import keyword_in_text, quote_in_passage
from rag.settings import Settings
from rag.types import Answer

DEFAULT = Path(__file__).resolve().parents[1] / "eval" / "data" / "answers_dev.jsonl"


def recall5(answer: Answer, evidence: list[str]) -> float | None:
    ranked = [(h.rank, h.chunk.text) for h in answer.passages]
    return recall_at_k(evidence_ranks(evidence, ranked), 5) if evidence else None


def cited_share(answer: Answer, evidence: list[str]) -> float:
    quotes = [q for c in answer.citations for q in c.quote.split(" … ")]
    found = [
        any(quote_in_passage(e, q) or quote_in_passage(q, e) for q in quotes) for e in evidence
    ]
    return sum(found) / len(found) if found else 0.0


def hedge(answer: Answer) -> float:
    """1 when the answer is refused or marked partial."""
    return float(answer.refused or getattr(answer, "answered", "full") != "full")


def mean(values: list[float]) -> str:
    return f"{sum(values) / len(values):.3f} (n={len(values)})" if values else "-"


def run(path: Path, show_misses: bool) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    pipeline.warm_up()
    pipeline.ask(rows[0]["question"])
    answers: dict[str, Answer] = {}
    alone: dict[str, Answer] = {}
    times: dict[str, float] = {}
    by_id = {r["id"]: r for r in rows}
    for row in rows:
        history: list[tuple[str, str]] = []
        first = by_id.get(row.get("follow_up_of", ""))
        if first is not None and first["id"] in answers:
            history = [(first["question"], answers[first["id"]].answer)]
            alone[row["id"]] = pipeline.ask(row["question"])
        started = time.perf_counter()
        answers[row["id"]] = pipeline.ask(row["question"], history=history)
        times[row["id"]] = (time.perf_counter() - started) * 1000
    for lang in ("nl", "en"):
        print(f"## {lang}")
        report(lang, [r for r in rows if r["lang"] == lang], answers, alone, times, show_misses)


def report(
    lang: str,
    rows: list[dict[str, Any]],
    answers: dict[str, Answer],
    alone: dict[str, Answer],
    times: dict[str, float],
    show_misses: bool,
) -> None:
    def of(kind: str) -> list[dict[str, Any]]:
        return [r for r in rows if r["type"] == kind]

    summary = [cited_share(answers[r["id"]], r["evidence"]) for r in of("summary")]
    print(f"summary evidence cited: {mean(summary)}")
    whole, parts = [], []
    for r in of("multi_part"):
        found = [recall5(answers[r["id"]], e) or 0.0 for e in r.get("evidence_per_part", [])]
        whole.append(float(all(f > 0 for f in found)))
        parts += [float(f > 0) for f in found]
    print(
        f"multi_part recall_all@5: {mean(whole)}; parts with evidence in the top 5: {mean(parts)}"
    )
    pairs: dict[str, dict[str, float]] = {}
    for r in of("paraphrase"):
        pairs.setdefault(r["pair"], {})[r["wording"]] = (
            recall5(answers[r["id"]], r["evidence"]) or 0
        )
    original = [p["original"] for p in pairs.values() if len(p) == 2]
    paraphrased = [p["paraphrase"] for p in pairs.values() if len(p) == 2]
    print(f"paraphrase recall@5: original {mean(original)}, paraphrase {mean(paraphrased)}")
    items = []
    for r in of("list"):
        expected = r.get("items") or r["keywords"]
        items.append(
            sum(keyword_in_text(i, answers[r["id"]].answer) for i in expected) / len(expected)
        )
    print(f"list items named: {mean(items)}")
    with_history = [recall5(answers[r["id"]], r["evidence"]) or 0.0 for r in of("follow_up")]
    without = [
        recall5(alone[r["id"]], r["evidence"]) or 0.0 for r in of("follow_up") if r["id"] in alone
    ]
    kw_with = [
        keyword_recall(r["keywords"], answers[r["id"]].answer) or 0.0 for r in of("follow_up")
    ]
    kw_alone = [
        keyword_recall(r["keywords"], alone[r["id"]].answer) or 0.0
        for r in of("follow_up")
        if r["id"] in alone
    ]
    print(
        f"follow_up recall@5 with history {mean(with_history)}, alone {mean(without)}; "
        f"keywords with {mean(kw_with)}, alone {mean(kw_alone)}"
    )
    tempting = [(hedge(answers[r["id"]])) for r in of("tempting_unanswerable")]
    answerable = [r for r in rows if r.get("answerable", True)]
    hedged = [(hedge(answers[r["id"]])) for r in answerable]
    print(
        f"tempting unanswerable partial or refused: {mean(tempting)}; "
        f"answerable refused or partial: {mean(hedged)}"
    )
    for kind in ("factoid", "list"):
        got = [recall5(answers[r["id"]], r["evidence"]) or 0.0 for r in of(kind)]
        print(f"{kind} recall@5: {mean(got)}")
    recall_all = [
        recall5(answers[r["id"]], r["evidence"]) or 0.0 for r in answerable if r["evidence"]
    ]
    keywords = [
        keyword_recall(r["keywords"], answers[r["id"]].answer) or 0.0
        for r in answerable
        if r["keywords"]
    ]
    print(f"answerable recall@5: {mean(recall_all)}; keyword recall: {mean(keywords)}")
    p95 = percentile([times[r["id"]] for r in rows], 95)
    print(f"p95 ms per question: {p95:.0f}" if p95 is not None else "p95: -")
    if show_misses:
        for r in rows:
            a = answers[r["id"]]
            first_line = a.answer.strip().splitlines()[0][:100] if a.answer.strip() else ""
            print(
                f"  {r['id']} {r['type']} answered={getattr(a, 'answered', '')} "
                f"strategy={getattr(a, 'strategy', '')} | {first_line}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT)
    parser.add_argument("--misses", action="store_true", help="One line per question too.")
    args = parser.parse_args()
    run(args.dataset, args.misses)


if __name__ == "__main__":
    main()
