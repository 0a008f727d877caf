"""The document-level stage (rag.retrieval.documents) on hand-built rankings."""

from __future__ import annotations

from rag.retrieval.documents import concept_coverage, kept, metadata_words, rank_documents
from rag.types import Chunk


def _chunk(doc: str, n: int) -> Chunk:
    text = f"passage {n} of {doc}"
    return Chunk.of_text(f"{doc}-{n}", doc, text)


CHUNKS = [_chunk("letter", i) for i in range(4)] + [_chunk("motion", i) for i in range(2)]


def doc_of(position: int) -> str:
    return CHUNKS[position].doc_id


def test_a_document_with_several_good_passages_outranks_one_lucky_passage() -> None:
    fused = [(4, 1.0), (0, 0.9), (1, 0.85), (2, 0.8), (5, 0.2)]
    ranking = rank_documents(fused, doc_of, [], {}, passages=3, metadata_weight=0.5)
    assert [d.doc_id for d in ranking] == ["letter", "motion"]
    assert ranking[0].best == 0
    assert kept(ranking, 0.6, 5) == ["letter"]  # the motion's mean is 0.4 of 0.85


def test_metadata_that_holds_the_question_concepts_counts() -> None:
    class Doc:
        doc_id, title, dossier, submitters = "motion", "Motie over Moldavië", "", ["Piri"]

    meta = metadata_words([Doc()])
    assert concept_coverage([["moldova", "moldavië"], ["piri"]], meta["motion"]) == 1.0
    fused = [(0, 1.0), (4, 0.9)]
    ranking = rank_documents(
        fused, doc_of, [["moldova", "moldavië"]], meta, passages=1, metadata_weight=0.5
    )
    assert ranking[0].doc_id == "motion"


def test_among_scores_documents_without_a_passage_as_zero() -> None:
    ranking = rank_documents(
        [(0, 1.0)], doc_of, [], {}, passages=1, metadata_weight=0.5, among=["motion", "letter"]
    )
    assert [(d.doc_id, d.score) for d in ranking] == [("letter", 1.0), ("motion", 0.0)]
    assert kept([], 0.5, 5) == []


def test_a_short_note_that_fits_best_is_not_the_only_source() -> None:
    """The documents kept are filled up, in ranking order, until they hold k passages."""
    from rag.retrieval.documents import DocumentScore, filled

    ranking = [
        DocumentScore("note", 0.9, 0.9, 0.9, 0),
        DocumentScore("letter", 0.5, 0.5, 0.0, 3),
        DocumentScore("motion", 0.0, 0.0, 0.0, 9),
    ]
    counts = {"note": 1, "letter": 40, "motion": 3}
    assert filled(["note"], ranking, counts, 5) == ["note", "letter"]
    assert filled(["letter"], ranking, counts, 5) == ["letter"]
    assert filled(["note"], ranking[:1], counts, 5) == ["note"]  # nothing else has evidence
