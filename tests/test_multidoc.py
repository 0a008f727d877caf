"""Many documents, on the real corpus (corpus/multidoc: 113 motions + the letter): lists
and counts across documents, motions found by their content, the letter unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from assembly.library import open_pipeline
from index.build import build
from index.load import bundled_corpus, load_paths
from rag.answer.across import asked
from rag.pipeline import Pipeline
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings

MOTIONS = Path(__file__).resolve().parents[1] / "corpus" / "multidoc" / "motions"
LETTER = "eu-geopolitiek-kamerbrief"


def test_questions_across_documents_are_recognised() -> None:
    found = asked("Welke moties vragen de regering om Oekraïne te steunen?")
    assert found is not None and found.kind == "motion" and found.request and not found.count
    counted = asked("How many motions mention Gaza?")
    assert counted is not None and counted.count and "Gaza" in counted.subject
    assert asked("Wat vraagt de motie over Moldavië?") is None  # one motion, not a list
    for other in ("Zijn er moties over Gaza?", "Are there any motions about Gaza?"):
        assert (found := asked(other)) is not None and found.kind == "motion"
    assert asked("Which of the motions mention Gaza?") is not None
    assert asked("Which countries does the letter name?") is None


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder) -> Pipeline:
    assert MOTIONS.is_dir(), "corpus/multidoc/motions ships with the repository"
    settings = Settings(index={"path": tmp_path_factory.mktemp("multidoc")})
    build(settings, default_embedder, documents=load_paths([MOTIONS, bundled_corpus()]))
    return open_pipeline(settings)


@pytest.mark.slow
def test_a_list_names_each_document_with_its_cited_sentence(corpus: Pipeline) -> None:
    answer = corpus.ask("Welke moties gaan over Nigeria?")
    listed = {h.chunk.doc_id for h in answer.passages}
    assert listed == {"kst-36410-v-63", "kst-36410-v-64"}
    cited = {
        h.chunk.doc_id
        for h in answer.passages
        for c in answer.citations
        if c.chunk_id == h.chunk.chunk_id
    }
    assert cited == listed and all(c.quote for c in answer.citations)
    # Each listed motion shows what it asks (its request quoted), besides where it names Nigeria.
    requests = [d.request for d in corpus.documents() if d.doc_id in listed]
    quotes = [set(c.quote.lower().split()) for c in answer.citations]
    assert all(
        any(len(q & set(r.lower().split())) >= 0.6 * len(q) for q in quotes) for r in requests
    )
    assert "Ceder" in answer.answer  # the submitters are listed
    count = corpus.ask("How many motions mention Nigeria?")
    assert count.answer.startswith("2 motions")


@pytest.mark.slow
def test_a_motion_is_found_by_what_it_asks_and_named(corpus: Pipeline) -> None:
    answer = corpus.ask("Wat vraagt de motie over de Russische diamantenhandel?")
    assert answer.scope == ["kst-36045-143"] and not answer.candidates
    assert "[kst-36045-143]" in answer.answer
    who = corpus.ask("Who submitted the motion asking to recognise the Palestinian State?")
    assert "Van Baarle" in who.answer and who.scope == ["kst-36410-v-68"]


@pytest.mark.slow
def test_the_letter_is_the_only_letter_and_keeps_its_answers(corpus: Pipeline) -> None:
    answer = corpus.ask("Wie heeft de brief ondertekend?")
    assert answer.scope == [LETTER] and "D.M. van Weel" in answer.answer


@pytest.mark.slow
def test_a_motion_named_by_its_number_is_answered_from_its_record(corpus: Pipeline) -> None:
    who = corpus.ask("Wie dienden motie 36410-V nr. 51 in?")
    assert who.scope == ["kst-36410-v-51"] and "Piri" in who.answer and "Veldkamp" in who.answer
    asks = corpus.ask("Wat vraagt motie kst-36045-143?")
    assert asks.scope == ["kst-36045-143"] and not asks.refused
    assert "diamantenhandel af te knijpen" in asks.citations[0].quote
    when = corpus.ask("Op welke datum is motie 36180-42 ingediend?")
    assert when.scope == ["kst-36180-42"] and "23 februari 2023" in when.answer


@pytest.mark.slow
def test_an_admin_corrects_a_misread_submitter(corpus: Pipeline) -> None:
    from index.build import set_metadata

    entry = set_metadata(corpus.settings, "kst-36410-v-45", {"submitters": ["De Roon"]})
    assert entry.submitters == ["De Roon"] and "submitters" in entry.edited


@pytest.mark.slow
def test_what_kind_of_document_is_answered_from_its_record(corpus: Pipeline) -> None:
    answer = corpus.ask("What kind of document is the one about the Dutch embassy in Israel?")
    assert answer.scope == ["kst-36410-v-43"] and "motion" in answer.answer
    assert "Motie" in answer.citations[0].quote  # the sentence that names it, cited


def _listed(answer: object) -> set[str]:
    return {h.chunk.doc_id for h in answer.passages}  # type: ignore[attr-defined]


@pytest.mark.slow
def test_lists_read_the_subject_and_the_names_in_other_words(corpus: Pipeline) -> None:
    """Questions worded apart from the calibration sets: names joined or first, an English
    request frame with alternatives, and a subject no motion discusses."""
    joint = corpus.ask("Welke moties dienden Hirsch en Teunissen samen in?")
    assert _listed(joint) == {"kst-21501-02-2833", "kst-21501-02-2834"}
    first = corpus.ask("Hoeveel moties heeft Kuzu als eerste ingediend?")
    assert first.answer.startswith("4 moties") and len(first.citations) == 4
    syria = corpus.ask("Which motions ask the government to lift or ease the sanctions on Syria?")
    assert {"kst-21501-20-1919", "kst-36180-42"} <= _listed(syria)
    assert all(c.quote for c in syria.citations)
    january = corpus.ask("How many motions were tabled in January 2023?")
    dates = {d.doc_id: d.date for d in corpus.documents()}
    assert january.answer.startswith("8 motions")
    assert {dates[d] for d in _listed(january)} == {"2023-01-26"}
    none = corpus.ask("Which motions are about Japan?")
    assert none.refused and not none.citations and none.answer.startswith("No motions")


@pytest.mark.slow
def test_who_signed_a_motion_in_the_plural_is_answered_from_its_record(corpus: Pipeline) -> None:
    answer = corpus.ask(
        "Wie ondertekenden de motie over het postennetwerk en de diplomatieke slagkracht?"
    )
    names = [line for line in answer.answer.splitlines() if line.startswith("- ")]
    assert [n.split(" [")[0] for n in names] == ["- Piri", "- Veldkamp"]  # from the record
    assert "[kst-36410-v-51]" in answer.answer and answer.citations
