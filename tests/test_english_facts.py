"""`scripts/english_facts.py`: the asked fact of an English question, scored from the
question's own `fact_kind` / `fact_keywords_en` (as a sealed set carries them) or from
the bundled labels, on the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path

from rag.pipeline import Pipeline
from scripts.english_facts import LABELS, SPLITS, has_fact, load_labels, questions, run


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_a_questions_own_fact_fields_are_scored(pipeline: Pipeline, tmp_path: Path) -> None:
    signed = {"lang": "en", "type": "factoid", "question": "Who signed the letter?"}
    rows = [
        signed | {"id": "s1", "fact_kind": "person", "fact_keywords_en": ["van Weel"]},
        signed | {"id": "s2", "fact_kind": "person", "fact_keywords_en": ["Prime Minister"]},
        signed | {"id": "s3", "fact_kind": "other", "fact_keywords_en": ["van Weel"]},
        {"id": "s4", "lang": "nl", "type": "factoid", "question": "Wie tekende de brief?"},
    ]
    path = _write(tmp_path / "sealed.jsonl", rows)
    found = questions(path, {})
    assert [q.id for q in found] == ["s1", "s2", "s3"]
    assert found[0].fact_kind == "person" and found[0].fact_keywords == ["van Weel"]
    scored = {r["id"]: r for r in run(pipeline, [path], "given files", False)}
    assert scored["s1"]["fact_in_english"] is True
    assert scored["s2"]["fact_in_english"] is False
    assert scored["s1"]["unfounded"] == 0


def test_the_bundled_labels_cover_every_english_factoid_and_list_question() -> None:
    labels = load_labels(LABELS)
    kinds = {"number", "date", "person", "country", "organisation", "acronym", "yes_no"}
    assert {str(row["fact_kind"]) for row in labels.values()} <= kinds | {"amount", "other"}
    data = Path(LABELS).parents[1] / "data"
    for split, names in SPLITS.items():
        for name in names:
            for question in questions(data / f"{name}.jsonl", labels):
                assert question.fact_kind != "unlabelled", (name, question.id)
                assert question.fact_keywords, (name, question.id)
                assert labels[(name, question.id)]["split"] == split


def test_a_fact_keyword_may_name_alternatives() -> None:
    assert has_fact("United Kingdom|UK", "Countries named: the UK, Norway.")
    assert not has_fact("United Kingdom|UK", "Countries named: Ukraine.")
