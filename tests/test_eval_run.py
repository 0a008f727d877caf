"""`rag eval` end to end on the bundled dev set (eval/data/dev.jsonl), `--answers`,
`--compare`, and corrupted answers.

Runs the real pipeline (bundled embedder, extractive backend) over a fresh index in a
temporary folder. Figures are printed (`pytest -s`), not asserted: they change whenever
retrieval or answering changes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assembly.library import open_pipeline
from eval.answers import from_answer
from eval.dataset import load_dataset
from eval.faithfulness import CitedAnswer, answer_sentences, score_faithfulness
from eval.judges import verifier_judge
from eval.metrics import mean
from eval.textmatch import quote_in_passage
from rag.pipeline import Pipeline
from rag.settings import Settings
from ui.cli import main

pytestmark = pytest.mark.slow

NAMED_METRICS = (
    "recall@1", "recall@3", "recall@5", "recall@10", "mrr", "ndcg@10",
    "keyword_recall", "answer_similarity", "language_match", "text_language_match",
    "citation_recall", "citation_precision", "unsupported_share", "dropped_citations",
    "refusal_precision", "refusal_recall", "wrong_refusal_rate",
)  # fmt: skip
PLOTS = ("recall_at_k.png", "faithfulness_by_type.png")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-index") / "index"


@pytest.fixture(scope="module")
def first_run(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval-run") / "out"
    result = CliRunner().invoke(
        main, ["--index", str(index_dir), "eval", "--baseline", "--out", str(out)]
    )
    print(result.output)
    assert result.exit_code == 0, result.output
    return out


def test_eval_writes_all_outputs(first_run: Path) -> None:
    items = load_dataset()
    rows = [json.loads(line) for line in (first_run / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [item.id for item in items]
    summary = json.loads((first_run / "summary.json").read_text())
    for part in ("ours", "baseline"):
        overall = summary[part]["overall"]
        assert all(name in overall for name in NAMED_METRICS), sorted(overall)
        assert set(summary[part]["by_lang"]) == {"nl", "en"}
        assert set(summary[part]["by_type"]) == {item.type for item in items}
        for stage in ("retrieve", "generate", "verify", "total"):
            assert {"p50", "p95"} <= set(summary[part]["latency_ms"][stage])
    assert set(summary["ratios"]) >= {"recall@5", "citation_recall", "keyword_recall"}
    assert {"accuracy", "precision", "recall", "threshold"} <= set(summary["verifier"])
    report = (first_run / "report.md").read_text()
    assert "Ours / baseline" in report and "Verifier agreement" in report
    for plot in PLOTS:
        assert (first_run / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(json.dumps(summary["ours"]["overall"], indent=1))


def test_answers_file_is_scored_against_its_own_passages(first_run: Path, tmp_path: Path) -> None:
    items = {item.id: item for item in load_dataset()}
    quote = items["d004"].evidence[0]
    passage = f"Over defensie. {quote} Verder niets."
    simple = [
        {"id": "d004", "question": "ignored", "answer": f"{quote} [1]", "passages": [passage]},
        {  # matched by question text; a fabricated claim with a real citation
            "question": items["d001"].question,
            "answer": "De EU bestaat sinds 1200 en heeft de maan gekoloniseerd [1].",
            "passages": [passage],
        },
        {"id": "d021", "question": "", "answer": "The documents do not answer this question.",
         "passages": []},
        {"id": "d010", "question": "", "answer": f"{quote} [2]", "passages": [passage]},
    ]  # fmt: skip
    contract = (first_run / "answers.jsonl").read_text().splitlines()[1:3]  # d002, d003
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join([*(json.dumps(r) for r in simple), *contract]) + "\n")
    out = tmp_path / "scored"
    result = CliRunner().invoke(main, ["eval", "--answers", str(answers), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert set(rows) == {"d004", "d001", "d021", "d010", "d002", "d003"}
    assert rows["d004"]["citation_recall"] == 1.0 and rows["d004"]["citation_precision"] == 1.0
    assert rows["d004"]["keyword_recall"] == 1.0 and rows["d004"]["recall@1"] == 1.0
    assert rows["d001"]["citation_recall"] == 0.0
    assert rows["d021"]["refused"] and rows["d021"]["refusal_correct"]
    assert rows["d010"]["invalid_citations"] == 1 and rows["d010"]["citation_precision"] == 0.0
    assert (out / "report.md").exists() and (out / "summary.json").exists()


def test_compare_reports_improvements_and_regressions(first_run: Path, tmp_path: Path) -> None:
    earlier = json.loads((first_run / "summary.json").read_text())
    earlier["ours"]["overall"]["recall@5"] = 0.0  # pretend retrieval used to be worse
    earlier["ours"]["overall"]["citation_recall"] = 2.0  # and faithfulness better
    older = tmp_path / "older"
    older.mkdir()
    (older / "summary.json").write_text(json.dumps(earlier))
    answers = first_run / "answers.jsonl"
    out = tmp_path / "now"
    result = CliRunner().invoke(
        main, ["eval", "--answers", str(answers), "--compare", str(older), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    changes = {c["metric"]: c for c in json.loads((out / "summary.json").read_text())[
        "comparison"]["changes"]}  # fmt: skip
    assert changes["recall@5"]["verdict"] == "improved"
    assert changes["citation_recall"]["verdict"] == "regressed"
    assert "## Compared with" in (out / "report.md").read_text()
    assert "Improved:" in result.output and "Regressed:" in result.output


def test_missing_dataset_or_summary_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "--dataset", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1 and "does not exist" in result.output
    result = CliRunner().invoke(
        main, ["eval", "--answers", str(tmp_path / "a.jsonl"), "--compare", str(tmp_path)]
    )
    assert result.exit_code == 1 and "No summary.json" in result.output


# ---- corrupted answers score clearly worse ----------------------------------------------

FABRICATIONS = [
    "Nederland treedt in 2030 uit de Europese Unie en voert de gulden weer in.",
    "The letter says the EU will disband its common foreign policy by 2027.",
    "Volgens de brief heeft China toegezegd de NAVO-begroting volledig te financieren.",
    "The cabinet proposes to move the European Parliament to Amsterdam next year.",
]


@pytest.fixture(scope="module")
def pipeline(index_dir: Path) -> Pipeline:
    settings = Settings()
    settings = settings.model_copy(
        update={"index": settings.index.model_copy(update={"path": index_dir})}
    )
    return open_pipeline(settings, build_if_missing=True)


def test_corrupted_answers_score_clearly_worse(pipeline: Pipeline) -> None:
    judge = verifier_judge(pipeline.embedder)
    items = [item for item in load_dataset() if not item.unanswerable][:12]
    answers = [from_answer(pipeline.ask(item.question)) for item in items]
    true = [a for a in answers if not a.refused and a.sources][:5]
    assert len(true) >= 3, "too few answered dev questions to corrupt"
    cited_texts = [t for a in true for t in a.sources.values() if t]

    def shuffled(i: int, answer: CitedAnswer) -> CitedAnswer:
        """Every citation moved to a passage, cited for another question, that lacks the
        answer's sentences."""
        said = [s.text for s in answer_sentences(answer.text)]
        wrong = [t for t in cited_texts if not any(quote_in_passage(s, t) for s in said)]
        sources = {m: wrong[(i + j) % len(wrong)] for j, m in enumerate(answer.sources)}
        return dataclasses.replace(answer, sources=sources)

    def altered(i: int, answer: CitedAnswer) -> CitedAnswer:
        """Every sentence replaced by a fabrication, markers kept."""
        markers = "".join(f"[{m}]" for m in answer.sources)
        return dataclasses.replace(answer, text=f"{FABRICATIONS[i % len(FABRICATIONS)]} {markers}")

    def faith(batch: list[CitedAnswer]) -> tuple[float, float]:
        scores = [score_faithfulness(a, judge) for a in batch]
        return (
            mean(s.citation_recall for s in scores) or 0.0,
            mean(s.citation_precision for s in scores) or 0.0,
        )

    good = faith(true)
    bad_citations = faith([shuffled(i, a) for i, a in enumerate(true)])
    bad_sentences = faith([altered(i, a) for i, a in enumerate(true)])
    print(f"true {good}, shuffled citations {bad_citations}, altered sentences {bad_sentences}")
    for bad in (bad_citations, bad_sentences):
        assert bad[0] <= good[0] - 0.5 and bad[1] <= good[1] - 0.5
