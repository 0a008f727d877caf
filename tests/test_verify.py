"""`rag verify`, `POST /api/verify` and the learned judge, end to end with the real
embedder: every input shape, bad lines reported by number and field and skipped, and the
contradictions a verifier must never pass (a flipped negation, a changed number, an
antonym, a claim appended to a quote)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving import serve_in_thread

from rag.pipeline import Pipeline
from rag.retrieval.embeddings import Embedder
from rag.verify.check import InputError, check_record, parse_record, summarise
from rag.verify.judge import judge, macro_f1_by_source
from ui.access import Access
from ui.api import build_api

ROOT = Path(__file__).resolve().parents[1]
PASSAGE_NL = (
    "Het kabinet wil de defensie-uitgaven verhogen naar 3,5 procent van het bbp in 2035. "
    "Die verschillen nemen niet weg dat de lidstaten gezamenlijk optreden."
)
PASSAGE_EN = (
    "The Eiffel Tower was completed in 1889 for the World's Fair in Paris. "
    "It was designed by the engineering firm of Gustave Eiffel."
)
RAGAS = {
    "id": "r1",
    "question": "When was the Eiffel Tower completed?",
    "answer": "The Eiffel Tower was completed in 1889 [1]. "
    "It was designed by the firm of Gustave Eiffel.",
    "contexts": [PASSAGE_EN],
    "source": "demo",
}
ATTRIBUTION = {
    "id": "a1",
    "question": "Who designed the Eiffel Tower?",
    "claim": "The tower was designed by the firm of Gustave Eiffel.",
    "references": [PASSAGE_EN],
    "attribution_label": "attributable",
    "src_dataset": "demo",
}
OWN = {
    "id": "o1",
    "question": "Wat wil het kabinet met de defensie-uitgaven?",
    "answer": "Het kabinet wil de defensie-uitgaven verhogen naar 3,5 procent van het bbp in "
    "2035 [1].",
    "citations": [{"marker": 1, "chunk_id": "c9"}],
    "passages": [
        {"chunk_id": "c3", "text": "Over iets anders."},
        {"chunk_id": "c9", "text": PASSAGE_NL},
    ],
}
WRONG_NUMBER = {
    "id": "w1",
    "answer": "The Eiffel Tower was completed in 1925.",
    "contexts": [PASSAGE_EN],
}


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def input_file(tmp_path: Path) -> Path:
    return _jsonl(
        tmp_path / "answers.jsonl",
        [
            json.dumps(RAGAS),
            json.dumps(ATTRIBUTION),
            "{not json",
            json.dumps({"answer": "Something.", "contexts": "one string"}),
            json.dumps(OWN),
            json.dumps({"claim": "Something.", "question": "q"}),
            "",
            json.dumps(WRONG_NUMBER),
        ],
    )


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", "from ui.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def test_cli_json_checks_every_shape_and_skips_bad_lines(input_file: Path) -> None:
    done = _run("verify", str(input_file), "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    results, summary = lines[:-1], lines[-1]["summary"]
    assert [r["id"] for r in results] == ["r1", "a1", "o1", "w1"]
    assert [r["line"] for r in results] == [1, 2, 5, 8]
    by_id = {r["id"]: r for r in results}
    assert by_id["a1"]["supported"] and len(by_id["a1"]["sentences"]) == 1
    assert by_id["o1"]["supported"] and by_id["o1"]["sentences"][0]["passage"] == 2
    assert not by_id["w1"]["supported"]
    assert any("number mismatch: 1925" in r for r in by_id["w1"]["sentences"][0]["reasons"])
    assert by_id["r1"]["sentences"][0]["supported"]
    errors = done.stderr.splitlines()
    assert any(e.startswith("line 3: field '(line)': is not JSON") for e in errors)
    assert any(e.startswith("line 4: field 'contexts'") for e in errors)
    assert any(e.startswith("line 6: field 'references'") for e in errors)
    assert summary["bad_lines"] == 3 and summary["all"]["answers"] == 4
    assert summary["by_source"]["demo"]["answers"] == 2
    assert summary["agreement_macro_f1"]["demo"] > 0


def test_cli_prints_verdicts_reasons_and_a_summary_table(input_file: Path) -> None:
    done = _run("verify", str(input_file))
    assert done.returncode == 0, done.stderr
    assert "#w1: unsupported" in done.stdout
    assert "why: number mismatch: 1925" in done.stdout
    assert "best: passage 1:" in done.stdout
    assert "answers  supported" in done.stdout and "3 line(s) skipped" in done.stdout


def test_cli_file_without_one_good_line_is_one_clear_error(tmp_path: Path) -> None:
    done = _run("verify", str(_jsonl(tmp_path / "bad.jsonl", ['{"question": "q"}'])))
    assert done.returncode == 1
    assert "line 1: field 'answer'" in done.stderr
    assert "Traceback" not in done.stderr
    missing = _run("verify", str(tmp_path / "absent.jsonl"))
    assert missing.returncode != 0 and "Traceback" not in missing.stderr


def test_parse_record_names_the_field() -> None:
    with pytest.raises(InputError) as caught:
        parse_record({"answer": "x", "contexts": [1, 2]})
    assert caught.value.field == "contexts"
    with pytest.raises(InputError) as caught:
        parse_record({"claim": "x", "references": ["p"], "attribution_label": "maybe"})
    assert caught.value.field == "attribution_label"
    assert parse_record(ATTRIBUTION).whole and not parse_record(RAGAS).whole


@pytest.mark.parametrize(
    ("claim", "passage", "why"),
    [
        (
            "Die verschillen nemen weg dat de lidstaten gezamenlijk optreden.",
            PASSAGE_NL,
            "negation",
        ),
        (
            "Die verschillen nemen wel weg dat de lidstaten gezamenlijk optreden.",
            PASSAGE_NL,
            "negation",
        ),
        (
            "Het kabinet wil de defensie-uitgaven verhogen naar 2 procent van het bbp in 2035.",
            PASSAGE_NL,
            "number",
        ),
        (
            "Het kabinet wil de defensie-uitgaven verlagen naar 3,5 procent van het bbp in 2035.",
            PASSAGE_NL,
            "antonym",
        ),
        (
            "The Eiffel Tower was not completed in 1889 for the World's Fair in Paris.",
            PASSAGE_EN,
            "negation",
        ),
        (
            "The Eiffel Tower was completed in 1889 for the World's Fair in Paris, and therefore "
            "France left the European Union.",
            PASSAGE_EN,
            "missing",
        ),
    ],
)
def test_contradictions_never_pass(
    default_embedder: Embedder, claim: str, passage: str, why: str
) -> None:
    verdict = judge(default_embedder, claim, [passage])
    assert not verdict.supported, verdict
    assert any(r.startswith(why) for r in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    ("claim", "passage"),
    [
        (
            "Het kabinet wil de defensie-uitgaven verhogen naar 3,5 procent van het bbp in 2035.",
            PASSAGE_NL,
        ),
        ("The Eiffel Tower was finished in 1889 for the World's Fair in Paris.", PASSAGE_EN),
        (
            "The government wants to raise defence spending to 3.5 percent of GDP in 2035.",
            PASSAGE_NL,
        ),
    ],
)
def test_faithful_claims_pass(default_embedder: Embedder, claim: str, passage: str) -> None:
    verdict = judge(default_embedder, claim, [passage])
    assert verdict.supported, verdict


def test_macro_f1_matches_a_hand_count() -> None:
    scores = macro_f1_by_source(
        ["a", "a", "a", "a"], [True, True, False, False], [True, True, True, True]
    )
    assert scores == {"a": pytest.approx(33.3, abs=0.1), "average": pytest.approx(33.3, abs=0.1)}


def test_summary_of_hand_built_results(default_embedder: Embedder) -> None:
    results = [check_record(default_embedder, parse_record(r)) for r in (RAGAS, WRONG_NUMBER)]
    summary = summarise(results, bad_lines=1)
    assert summary["all"]["answers"] == 2 and summary["all"]["supported"] == 0.5
    assert summary["bad_lines"] == 1 and "agreement_macro_f1" not in summary


@pytest.fixture(scope="module")
def api(pipeline: Pipeline) -> Iterator[httpx.Client]:
    with (
        serve_in_thread(build_api(pipeline, Access())) as url,
        httpx.Client(base_url=url, timeout=120) as client,
    ):
        yield client


def test_api_verify_checks_shapes_and_reports_bad_items(api: httpx.Client) -> None:
    bad = {"answer": "x"}
    response = api.post(
        "/api/verify", json={"answers": [RAGAS, bad, ATTRIBUTION, OWN, WRONG_NUMBER]}
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert [r["index"] for r in data["results"]] == [0, 2, 3, 4]
    assert data["errors"] == [
        {"index": 1, "field": "contexts", "message": data["errors"][0]["message"]}
    ]
    assert "contexts" in data["errors"][0]["message"]
    assert [r["supported"] for r in data["results"]] == [True, True, True, False]
    assert data["summary"]["bad_lines"] == 1


def test_api_verify_rejects_an_empty_body(api: httpx.Client) -> None:
    response = api.post("/api/verify", json={"answers": []})
    assert response.status_code in (400, 422)
    assert "error" in response.json()
