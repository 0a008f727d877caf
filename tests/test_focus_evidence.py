"""'The letter' / 'deze motie' among several of its kind, decided by the evidence for each
(rag.query.focus.resolve with an evidence function; fakes stand in for the retriever)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.query.focus import ambiguity, resolve, subject


@dataclass
class Doc:
    doc_id: str
    kind: str
    name: str = ""
    title: str = ""
    date: str | None = None
    signatories: list[str] = field(default_factory=list)


DOCS = [Doc("nss-letter", "letter"), Doc("trade-letter", "letter"), Doc("m1", "motion")]


def scores(table: dict[str, float]):  # type: ignore[no-untyped-def]
    def evidence(ids):  # type: ignore[no-untyped-def]
        ranked = sorted(((d, table.get(d, 0.0), f"best of {d}") for d in ids), key=lambda r: -r[1])
        return ranked

    return evidence


def test_the_letter_whose_passages_answer_is_chosen_and_named() -> None:
    question = "What date does the letter give for the new US National Security Strategy?"
    found = resolve(
        question, [], [], DOCS, evidence=scores({"nss-letter": 1.0, "trade-letter": 0.3})
    )
    assert found.scope == ("nss-letter",) and found.named is DOCS[0] and not found.candidates


def test_close_documents_are_listed_with_their_best_passage() -> None:
    found = resolve(
        "Wat zegt de brief over handel?",
        [],
        [],
        DOCS,
        evidence=scores({"nss-letter": 0.9, "trade-letter": 0.88}),
        margin=0.05,
    )
    assert [d.doc_id for d in found.candidates] == ["nss-letter", "trade-letter"]
    assert found.passages == ("best of nss-letter", "best of trade-letter")
    text = ambiguity(found.candidates, "nl", found.passages)
    assert '"best of trade-letter"' in text and "[nss-letter]" in text


def test_a_question_without_a_subject_still_asks_which_document() -> None:
    assert subject("Wie heeft de brief ondertekend?") == []
    found = resolve(
        "Wie heeft de brief ondertekend?", [], [], DOCS, evidence=scores({"nss-letter": 1.0})
    )
    assert len(found.candidates) == 2  # the evidence cannot tell who signed "the letter"


def test_scope_conversation_and_default_still_come_first() -> None:
    evidence = scores({"trade-letter": 1.0})
    assert resolve(
        "Wat zegt de brief over X?", [], ["nss-letter"], DOCS, evidence=evidence
    ).scope == ("nss-letter",)
    defaulted = resolve("Wat zegt de brief over X?", [], [], DOCS, "nss-letter", evidence=evidence)
    assert defaulted.scope == ("nss-letter",)
    talked = resolve(
        "Wat zegt de brief over X?", [("q", "see [nss-letter]")], [], DOCS, evidence=evidence
    )
    assert talked.scope == ("nss-letter",)


def test_a_motion_reference_picks_among_motions_only() -> None:
    found = resolve("Welke motie vraagt om X?", [], [], DOCS, evidence=scores({"m1": 0.5}))
    assert found.scope == ("m1",)  # the only motion


def test_a_reference_to_a_kind_the_index_lacks_gives_way_to_one_it_holds() -> None:
    """ "The Draghi report, according to the letter": no report is indexed, so the letter
    is meant (the only letter among letters and motions)."""
    docs = [Doc("the-letter", "letter"), Doc("m1", "motion"), Doc("m2", "motion")]
    question = (
        "How large an investment gap does the Draghi report identify, according to the letter?"
    )
    found = resolve(question, [], [], docs)
    assert found.scope == ("the-letter",) and found.named is docs[0]
    assert resolve("What does the report say on trade?", [], [], docs).scope == ()


def test_which_documents_a_letter_names_is_no_list_across_documents() -> None:
    from rag.answer.across import asked

    assert asked("In lijn met welke documenten zet de EU volgens de brief stappen?") is None
    assert asked("How many motions mention the letter?") is not None
