"""One relevance verdict across languages (issue 21): the labelled pairs it is calibrated
and measured on, the shipped model's features, and the same (question, sentence) pair
judged alike in Dutch and English. On the real letter index with the bundled encoder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import DATA_DIR
from eval.textmatch import compact
from rag.pipeline import Pipeline
from rag.query.analysis import analyse
from rag.verify.relevance import (
    FEATURES,
    MODEL_FILE,
    RelevanceJudge,
    _without_first_word,
    load_model,
)

PAIRS = DATA_DIR.parent / "labels" / "relevance_pairs.jsonl"
LETTER = Path(__file__).resolve().parents[1] / "index" / "corpus" / "eu-geopolitiek-kamerbrief.txt"
NATO_2035 = (
    "In deze context spraken de NAVO-bondgenoten tijdens de NAVO-top in Den Haag af in 2035 "
    "5% van het bbp aan veiligheid (waarvan 3,5% aan harde defensie-uitgaven) te zullen "
    "besteden."
)


def pairs() -> list[dict]:
    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line]


def test_the_labelled_pairs_ask_the_same_questions_in_both_languages() -> None:
    rows = pairs()
    assert len(rows) >= 300
    assert Counter(r["lang"] for r in rows) == {"nl": len(rows) // 2, "en": len(rows) // 2}
    assert {r["label"] for r in rows} == {"answers", "partial", "unrelated"}
    by_group: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for r in rows:
        by_group.setdefault(r["group"], {}).setdefault(r["lang"], []).append(
            (r["sentence"], r["label"])
        )
    for group, wordings in by_group.items():
        assert wordings["nl"] == wordings["en"], group  # same sentences, same labels
    letter = compact(LETTER.read_text(encoding="utf-8"))
    assert all(compact(r["sentence"]) in letter for r in rows)


def test_the_shipped_model_reads_no_feature_that_leans_by_language() -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert tuple(data["weights"]) == FEATURES
    assert not {"lexical", "score", "unknown", "uncovered"} & set(FEATURES)
    assert "--pairs" in load_model().provenance
    held_out = data["labelled_pairs"]["held_out"]
    assert {"nl", "en", "identical_across_languages"} <= set(held_out)


def test_a_question_first_word_is_not_taken_for_a_name() -> None:
    assert _without_first_word("Which countries lead NATO?") == "countries lead NATO?"
    assert _without_first_word("NATO allies spend how much?") == "NATO allies spend how much?"


SIGNATURE = "De minister van Buitenlandse Zaken, D.M. van Weel"


@pytest.mark.parametrize(
    ("dutch", "english"),
    [
        (
            "Hoeveel procent van het bbp spraken de NAVO-bondgenoten af aan veiligheid te "
            "besteden?",
            "What percentage of GDP did the NATO allies agree to spend on security?",
        ),
        (  # a miss with corpus terms aligned from 0.7; passes from 0.65 (rag/settings.py)
            "Wat spraken de bondgenoten af op de NAVO-top in Den Haag?",
            "What did the allies agree at the NATO summit in The Hague?",
        ),
    ],
)
def test_one_question_in_two_languages_is_judged_alike(
    pipeline: Pipeline, dutch: str, english: str
) -> None:
    """The answering sentence scores about the same for both wordings (with the old
    model the English wording scored far lower: shared word stems counted), and an
    unrelated sentence is unrelated in both. The levels may still differ where the
    score sits near a threshold: here the English question retrieves the passage second
    (docs/relevance.md)."""
    judge = RelevanceJudge(pipeline.embedder, pipeline.settings.answer)
    scores, unrelated = {}, {}
    for question in (dutch, english):
        query = analyse(question)
        hits = pipeline.retrieve(query.text)
        owner = next(i for i, h in enumerate(hits) if compact(NATO_2035) in compact(h.chunk.text))
        verdict = judge.sentences(query, [NATO_2035], [owner], hits)[0]
        assert verdict.level != "unrelated"
        scores[query.language] = verdict.score
        last = len(hits) - 1  # a sentence the search found, but last
        unrelated[query.language] = judge.sentences(query, [SIGNATURE], [last], hits)[0].level
    assert abs(scores["nl"] - scores["en"]) < 0.2, scores
    assert unrelated == {"nl": "unrelated", "en": "unrelated"}


def test_a_sentence_is_judged_alike_whatever_else_is_cited_with_it(pipeline: Pipeline) -> None:
    """`gap` is measured against the best sentence of the retrieved passages, not against
    the other cited sentences, so citing a better sentence beside it changes nothing."""
    query = analyse("Which allies and partners remain important for defence cooperation?")
    hits = pipeline.retrieve(query.text)
    judge = RelevanceJudge(pipeline.embedder, pipeline.settings.answer)
    alone = judge.sentences(query, [NATO_2035], [0], hits)[0]
    together = judge.sentences(
        query, [NATO_2035, hits[0].chunk.sentence_text(hits[0].chunk.sentences[0])], [0, 0], hits
    )[0]
    assert alone == together
