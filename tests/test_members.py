"""Which documents belong in a list across documents (`rag.answer.members`): the
subject without its frame, names that are names, alternatives as one concept, the rarity
weights and the cut relative to the best document."""

from __future__ import annotations

from types import SimpleNamespace

from rag.answer.members import (
    Concept,
    belonging,
    concepts_of,
    exact,
    names_in,
    signed_by,
    subject_text,
    weighted_share,
)


def _motion(doc_id: str, submitters: list[str], title: str = "") -> SimpleNamespace:
    return SimpleNamespace(doc_id=doc_id, submitters=submitters, title=title)


def test_the_subject_loses_a_trailing_question_about_the_list() -> None:
    assert "ask" not in subject_text("the sanctions on Syria, and what do they ask?", set())
    assert "waarover" not in subject_text("over Gaza, en waarover gaan ze?", set())
    assert "Baudet" not in subject_text("did member Baudet submit", {"Baudet"})
    assert "Syria" in subject_text("the sanctions on Syria, and what do they ask?", set())


def test_a_word_the_texts_use_everywhere_is_no_submitter() -> None:
    documents = [_motion(f"m{i}", ["Piri"] if i == 0 else []) for i in range(10)]
    documents.append(_motion("ocr", ["Europese"]))  # an OCR slip in a signature line
    texts = {
        d.doc_id: frozenset({"europese", "piri"} if d.doc_id == "m0" else {"europese"})
        for d in documents
    }
    found = names_in("Welke moties van Piri gaan over Europese schulden?", documents, texts)
    assert found == {"Piri"}


def test_the_first_submitter_is_the_first_signature_or_the_title() -> None:
    joint = _motion("a", ["Van Baarle", "Piri"], "Motie van de leden Van Baarle en Piri over …")
    assert signed_by(joint, "Piri") and not signed_by(joint, "Piri", first=True)
    assert signed_by(joint, "Van Baarle", first=True)


def test_alternatives_are_one_concept_weighted_by_rarity() -> None:
    texts = {
        "a": frozenset({"sancties", "opheffen", "syrië"}),
        "b": frozenset({"sancties", "verlichten", "syrië"}),
        "c": frozenset({"sancties", "rusland"}),
        "d": frozenset({"handel"}),
    }
    concepts = concepts_of("de sancties tegen Syrië opheffen of verlichten", None, texts, "nl")
    terms = [set(c.terms) for c in concepts]
    assert {"opheffen", "verlichten"} in terms  # one concept: either word will do
    weight = {c.terms[0]: c.weight for c in concepts}
    assert weight["syrië"] > weight["sancties"]  # rarer, so it decides more
    assert all(weighted_share(concepts, texts[d]) == 1.0 for d in ("a", "b"))
    assert weighted_share(concepts, texts["c"]) < 0.5
    # In English "of" is no alternative: "recommendations of the Commission" are two concepts.
    english = concepts_of(
        "recommendations of commission",
        None,
        {"x": frozenset({"recommendations", "commission"})},
        "en",
    )
    assert len(english) == 2


def test_a_name_the_corpus_lacks_is_not_another_name() -> None:
    known = frozenset({"indonesië", "syrië", "kolonisten"})
    assert exact([["japan", "indonesië"]], known, frozenset({"japan"})) == [["japan"]]
    assert exact([["syria", "syrië", "arabië"]], known, frozenset({"syria"})) == [
        ["syria", "syrië"]
    ]
    assert exact([["settlers", "kolonisten"]], known) == [["settlers", "kolonisten"]]


def test_documents_belong_within_a_share_of_the_best() -> None:
    scores = {"a": 0.8, "b": 0.5, "c": 0.3, "d": 0.1}
    assert belonging(scores, 0.55, 0.2) == ["a", "b"]
    assert belonging({"a": 0.15, "b": 0.1}, 0.55, 0.2) == []  # nothing near the subject
    assert weighted_share([Concept(("x",), 1.0)], frozenset()) == 0.0


def test_a_date_placed_on_the_documents_limits_the_list() -> None:
    from rag.answer.when import date_limit

    assert date_limit("Welke moties zijn op 14 februari 2024 ingediend?")[0] == "2024-02-14"
    assert date_limit("Which motions were submitted on February 8, 2023?")[0] == "2023-02-08"
    assert date_limit("How many motions were tabled in January 2023?")[0] == "2023-01"
    assert date_limit("Welke moties uit 2024 gaan over Gaza?") == (
        "2024",
        "Welke moties   gaan over Gaza?",
    )
    # A date inside what the motions ask is their subject, not a limit.
    assert date_limit("Welke moties vragen om vóór 15 maart 2023 met een plan te komen?")[0] == ""


def test_a_cut_list_gives_the_full_count_and_says_it_shows_the_first() -> None:
    from rag.answer.across import Asked, _head

    counted = Asked("motion", count=True, request=False, subject="")
    listed = Asked("motion", count=False, request=False, subject="")
    assert _head(counted, True, 86, 40) == "86 moties (de eerste 40 hieronder):"
    assert _head(listed, False, 2, 2) == "These 2 motions:"
    assert _head(counted, False, 0, 0) == "0 motions."
    assert _head(listed, True, 0, 0) == "Geen moties gevonden."
