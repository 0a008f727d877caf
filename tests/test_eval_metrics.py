"""Evaluation metrics on hand-built rankings and answers (pure functions, no pipeline)."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from eval.answers import from_json, looks_like_refusal
from eval.faithfulness import CitedAnswer, Judge, answer_sentences, cached, score_faithfulness
from eval.judges import llm_judge, verifier_judge
from eval.metrics import (
    evidence_ranks,
    keyword_recall,
    latency_summary,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    refusal_correct,
    refusal_metrics,
)
from eval.textmatch import keyword_in_text, quote_in_passage, tokens
from rag.retrieval.embeddings import load_embedder
from rag.settings import GenerationSettings, Settings

P1 = (
    "De EU is de derde economie van de wereld en het grootste handelsblok, met de Euro als "
    "tweede belangrijkste munt ter wereld."
)
P2 = "Versterken van militaire capaciteit moet hand in hand gaan met civiele paraatheid."
P3 = "Het kabinet reageert tevens op het verzoek van uw Kamer om een reactie op de NSS."


def word_judge(sentence: str, passages: Sequence[str]) -> bool:
    """A hand-written judge: ≥ 80% of the sentence's words occur in the passages."""
    words = tokens(sentence)
    pool = set(tokens(" ".join(passages)))
    return bool(words) and sum(w in pool for w in words) / len(words) >= 0.8


# ---- text matching -----------------------------------------------------------------------


def test_quote_matching_tolerates_cleaning_artefacts() -> None:
    passage = "De wereldorde waarin de EU zich de afgelopen 80 jaar heeft ontwik-\nkeld verandert."
    assert quote_in_passage("de afgelopen 80 jaar heeft ontwikkeld verandert", passage)
    assert quote_in_passage("DE   WERELDORDE waarin", passage)
    # a glued footnote number in the quote, absent from the cleaned passage
    long = "in staat zijn Europese waarden als democratie en rechtstaat en andere fundamentele"
    assert quote_in_passage(long + " rechten te beschermen3.", long + " rechten te beschermen.")
    # a footnote quote with its number, against the footnote passage without it
    assert quote_in_passage(
        "3 Hoofdstukken, bijlage bij Kamerstuk 36 715 nr. 1",
        "Hoofdstukken, bijlage bij Kamerstuk 36 715 nr. 1",
    )
    assert not quote_in_passage("De EU is de vierde economie van Azië.", P1)


def test_keywords_match_whole_words_or_long_compact_forms() -> None:
    assert keyword_in_text("21 501-30", "bijlage bij Kamerstuk 21501-30 nr. 614")
    assert keyword_in_text("Economic player", "a more strategic economic player.")
    assert not keyword_in_text("80", "sinds 1980")
    assert keyword_recall(["80", "jaar", "euro"], "De afgelopen 80 jaar.") == pytest.approx(2 / 3)
    assert keyword_recall([], "anything") is None


# ---- retrieval ---------------------------------------------------------------------------


def test_recall_mrr_ndcg_on_a_hand_built_ranking() -> None:
    # rank 1: P3, rank 2: P2 with its footnote (same rank), rank 3: P1
    ranked = [(1, P3), (2, P2), (2, "Voetnoot 7 Kamerstuk 21501-20-2360"), (3, P1)]
    quotes = [
        "met de Euro als tweede belangrijkste munt",
        "Kamerstuk 21501-20-2360",
        "Deze zin staat nergens.",
    ]
    ranks = evidence_ranks(quotes, ranked)
    assert ranks == [3, 2, None]
    assert recall_at_k(ranks, 1) == 0.0
    assert recall_at_k(ranks, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranks, 3) == pytest.approx(2 / 3)
    assert recall_at_k(ranks, 10) == pytest.approx(2 / 3)
    assert reciprocal_rank(ranks) == pytest.approx(1 / 2)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranks, 10) == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / ideal)
    assert ndcg_at_k([1], 10) == 1.0
    assert ndcg_at_k([1, 1], 10) == 1.0  # body and footnote at the same rank: capped
    assert reciprocal_rank([None]) == 0.0
    assert recall_at_k([], 5) is None and reciprocal_rank([]) is None


# ---- faithfulness ------------------------------------------------------------------------


def test_answer_sentences_attach_markers_and_drop_list_intros() -> None:
    text = (
        "De brief noemt:\n- De EU is de derde economie [1].\n"
        "- Civiele paraatheid. [2] Klaar [1, 3]."
    )
    got = answer_sentences(text)
    assert [(s.text, s.markers) for s in got] == [
        ("De EU is de derde economie.", (1,)),
        ("Civiele paraatheid.", (2,)),
        ("Klaar.", (1, 3)),
    ]


def cited(text: str, sources: dict[int, str | None], passages: list[str]) -> CitedAnswer:
    return CitedAnswer(
        text=text, refused=False, passages=list(enumerate(passages, 1)), sources=sources
    )


def test_copied_sentence_with_its_citation_is_supported() -> None:
    answer = cited(f"{P1} [1]", {1: P1}, [P1, P2])
    f = score_faithfulness(answer, word_judge)
    assert (f.citation_recall, f.citation_precision, f.unsupported_share) == (1.0, 1.0, 0.0)


def test_fabricated_sentence_with_a_real_citation_is_unsupported() -> None:
    answer = cited(
        "Nederland stapt in 2027 uit de monetaire unie en voert de gulden in [1].",
        {1: P1},
        [P1, P2],
    )
    f = score_faithfulness(answer, word_judge)
    assert f.citation_recall == 0.0 and f.citation_precision == 0.0
    assert f.unsupported_share == 1.0


def test_citation_to_a_passage_that_was_not_retrieved_counts_as_wrong() -> None:
    # the sentence is true to the source, but its citation points outside the given passages
    answer = cited(f"{P1} [1] {P2} [2]", {1: P1, 2: None}, [P1])
    f = score_faithfulness(answer, word_judge)
    assert f.citation_recall == 0.5
    assert f.citation_precision == 0.5
    assert f.invalid_citations == 1
    # the simple external form: [3] refers past the two passages given
    ext = from_json({"question": "q", "answer": f"{P1} [1] {P2} [3]", "passages": [P1, P2]})
    assert ext.sources[3] is None
    assert score_faithfulness(ext, word_judge).citation_precision == 0.5


def test_superfluous_citation_lowers_precision_not_recall() -> None:
    answer = cited(f"{P2} [1][2]", {1: P2, 2: P3}, [P2, P3])
    f = score_faithfulness(answer, cached(word_judge))
    assert f.citation_recall == 1.0 and f.citation_precision == 0.5


def test_uncited_sentence_lowers_recall() -> None:
    f = score_faithfulness(cited(f"{P1} {P2} [1]", {1: P2}, [P1, P2]), word_judge)
    assert f.sentences == 2 and f.citation_recall == 0.5 and f.unsupported_share == 0.0


def test_refused_answers_have_no_faithfulness() -> None:
    answer = CitedAnswer(text="Dat staat niet in de brief.", refused=True)
    f = score_faithfulness(answer, word_judge)
    assert f.citation_recall is None and f.citation_precision is None


# ---- refusals and latency ----------------------------------------------------------------


def test_refusal_on_unanswerable_question_counts_as_right() -> None:
    assert refusal_correct(refused=True, unanswerable=True)
    assert not refusal_correct(refused=True, unanswerable=False)
    assert not refusal_correct(refused=False, unanswerable=True)
    m = refusal_metrics(
        [(True, True), (True, False), (False, True), (False, False), (False, False)]
    )
    assert m == {
        "refusal_precision": 0.5,
        "refusal_recall": 0.5,
        "wrong_refusal_rate": pytest.approx(1 / 3),
    }
    assert refusal_metrics([(False, False)])["refusal_precision"] is None
    assert looks_like_refusal("Dat staat niet in de brief.")
    assert not looks_like_refusal("De EU is de derde economie [1].")


def test_latency_percentiles_per_stage() -> None:
    timings = [{"retrieve": float(i), "total": 10.0 * i} for i in range(1, 101)]
    lat = latency_summary(timings)
    assert lat["retrieve"]["p50"] == pytest.approx(50.5)
    assert lat["total"]["p95"] == pytest.approx(950.5)


# ---- with the real verifier and the real default embedder -------------------------------


@pytest.fixture(scope="module")
def verifier() -> Judge:
    return verifier_judge(load_embedder(Settings().embedding))


LETTER_PASSAGE = (
    "Versterken van militaire capaciteit moet daarnaast hand in hand gaan met het stimuleren "
    "van investeringen in onze civiele paraatheid. De EU is de derde economie van de wereld "
    "en het grootste handelsblok, met de Euro als tweede belangrijkste munt ter wereld."
)


def test_real_verifier_supports_a_copied_sentence_with_its_citation(verifier: Judge) -> None:
    sentence = "De EU is de derde economie van de wereld en het grootste handelsblok."
    f = score_faithfulness(
        cited(f"{sentence} [1]", {1: LETTER_PASSAGE}, [LETTER_PASSAGE]), verifier
    )
    assert f.citation_recall == 1.0 and f.citation_precision == 1.0


def test_real_verifier_rejects_a_fabricated_sentence_with_a_real_citation(
    verifier: Judge,
) -> None:
    fabricated = "Nederland treedt in 2030 uit de NAVO en schaft zijn eigen krijgsmacht af [1]."
    f = score_faithfulness(cited(fabricated, {1: LETTER_PASSAGE}, [LETTER_PASSAGE]), verifier)
    assert f.citation_recall == 0.0 and f.citation_precision == 0.0
    assert f.unsupported_share == 1.0


def test_llm_judge_asks_an_openai_compatible_server_yes_or_no() -> None:
    """How replies map to verdicts, against a scripted OpenAI-compatible server (a fake:
    the only model that runs here, Gemma 270M, cannot judge reliably; the real-server test
    below checks the plumbing): yes → supported."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["messages"][-1]["content"]
            reply = "No." if "gulden" in prompt else "Yes, it does."
            data = json.dumps({"choices": [{"message": {"content": reply}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        judge = llm_judge("openai", GenerationSettings(base_url=url, timeout_s=5))
        answer = cited(f"{P1} [1] Nederland voert de gulden weer in [1].", {1: P1}, [P1])
        f = score_faithfulness(answer, judge)
        assert f.citation_recall == 0.5 and f.citation_precision == 0.5
    finally:
        server.shutdown()


@pytest.mark.slow
def test_llm_judge_runs_against_a_real_model_server(model_server: str) -> None:
    """Plumbing against llama.cpp's real server: every sentence gets a verdict."""
    judge = llm_judge("openai", GenerationSettings(base_url=model_server, timeout_s=120))
    answer = cited(f"{P1} [1] Nederland voert de gulden weer in [1].", {1: P1}, [P1])
    f = score_faithfulness(answer, judge)
    assert f.citation_recall in (0.0, 0.5, 1.0)
    assert 0.0 <= f.citation_precision <= 1.0
