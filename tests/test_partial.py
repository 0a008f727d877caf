"""Honest partial answers by asked kind (rag/answer/partial.py, rag/query/kinds.py): a
question asking for a count, an amount, a percentage, a date, a person, countries or
organisations is answered only by a cited sentence naming a thing of that kind; a lead-in
shows only what a sentence stating the asked relation names, never what the question
names itself. Synthetic sentences, so that no rule can lean on the letter's wording."""

from __future__ import annotations

import pytest

from rag.answer.partial import (
    covered_share,
    lead_spans,
    partial_note,
    relation_words,
    repeats_reference,
    stated,
)
from rag.query.analysis import analyse
from rag.query.kinds import asked_kind
from rag.retrieval.embeddings import Embedder
from rag.types import AnswerSpan

# (question, its kind, a quote on the topic without the asked thing, one with it)
CASES = [
    (
        "Which other countries besides the Netherlands lead the coalition?",
        "country",
        "Nederland leidt samen met anderen de coalitie.",
        "Nederland leidt samen met Noorwegen de coalitie.",
    ),
    (
        "Hoe groot is het budget van het SAFE-instrument?",
        "amount",
        "Nederland vindt het belangrijk dat SAFE snel wordt geïmplementeerd.",
        "Het SAFE-instrument heeft een budget van €150 miljard.",
    ),
    (
        "Wanneer is het handelsakkoord ondertekend?",
        "date",
        "Het handelsakkoord draagt bij aan de economische weerbaarheid.",
        "Het handelsakkoord is op 6 december 2024 ondertekend.",
    ),
    (
        "Which official presented the new strategy?",
        "person",
        "The administration sets out its priorities in the new strategy.",
        "Minister Jansen presented the new strategy in December.",
    ),
    (
        "By what percentage did gas imports fall?",
        "percent",
        "De invoer van gas is sterk gedaald.",
        "De invoer van gas is met 80% gedaald.",
    ),
    (
        "Welke organisaties noemt de brief als partners bij de hervorming?",
        "organisation",
        "De hervorming vraagt om sterke multilaterale samenwerking.",
        "Bij de hervorming zijn de VN, het IMF en de Wereldbank partners.",
    ),
    (
        "How many votes did the motion get?",
        "count",
        "See the motion by member Smit (21 501-20, no. 12).",
        "The motion was carried with 120 votes.",
    ),
]


@pytest.mark.parametrize(("question", "kind", "without", "with_it"), CASES)
def test_an_answer_must_name_a_thing_of_the_asked_kind(
    default_embedder: Embedder, question: str, kind: str, without: str, with_it: str
) -> None:
    query = analyse(question)
    assert query.kind is not None and query.kind.kind == kind
    assert stated(query, [without], default_embedder, 0.0).missing
    found = stated(query, [without, with_it], default_embedder, 0.0)
    assert not found.missing and found.stating == {1}


def test_a_question_without_an_asked_kind_is_never_partial(default_embedder: Embedder) -> None:
    query = analyse("Wat wil het kabinet met de handel?")
    assert query.kind is None and asked_kind("Why does the letter say so?") is None
    assert stated(query, ["Iets anders."], default_embedder, 0.9) == stated(
        query, ["Iets anders."], default_embedder, 0.0
    )
    assert not stated(query, ["Iets anders."], default_embedder, 0.9).missing


def test_the_note_says_what_is_not_said_in_the_questions_language() -> None:
    assert "do not say which countries" in partial_note(analyse("Which countries lead it?"))
    assert "zeggen niet wanneer" in partial_note(analyse("Wanneer is het akkoord gesloten?"))
    assert "hoeveel stemmen" in partial_note(analyse("Met hoeveel stemmen werd zij aangenomen?"))


def test_the_relation_is_the_question_without_the_words_asking_for_the_kind() -> None:
    words = relation_words(analyse("Welke landen leiden volgens de brief de coalitie?"))
    assert words == ["leiden", "coalitie"]


def test_a_lead_in_comes_only_from_a_sentence_that_names_the_relation(
    default_embedder: Embedder,
) -> None:
    """A country that the coalition is *for* is not a country that *leads* it: the
    sentence names a country, so the answer is not partial, but it does not state the
    asked relation, so no lead-in is taken from it."""
    query = analyse("Welke landen leiden de coalitie?")
    near = "De coalitie steunt Oekraïne."
    stating = "Nederland en Noorwegen leiden de coalitie."
    assert covered_share(relation_words(query), near, None) < 0.75
    found = stated(query, [near, stating], default_embedder, 0.75)
    assert not found.missing and found.stating == {1}
    spans = [
        AnswerSpan(kind="countries", source=["Oekraïne"], shown=["Oekraïne"], marker=1),
        AnswerSpan(
            kind="countries",
            source=["Nederland", "Noorwegen"],
            shown=["Nederland", "Noorwegen"],
            marker=2,
        ),
    ]
    assert lead_spans(query, spans, {2}) == [spans[1]]


def test_a_lead_in_never_repeats_what_the_question_names() -> None:
    query = analyse("Which other countries besides the Netherlands lead the coalition?")
    span = AnswerSpan(
        kind="countries",
        source=["Nederland", "Noorwegen"],
        shown=["Netherlands", "Norway"],
        marker=1,
    )
    kept = lead_spans(query, [span], {1})
    assert [s.shown for s in kept] == [["Norway"]] and kept[0].source == ["Noorwegen"]
    only_own = span.model_copy(update={"source": ["Nederland"], "shown": ["Netherlands"]})
    assert lead_spans(query, [only_own], {1}) == []


def test_the_note_names_what_the_documents_do_discuss_word_for_word() -> None:
    query = analyse("Which countries lead the coalition of the willing?")
    quote = "Nederland neemt deel aan de coalition of the willing voor Oekraïne."
    note = partial_note(query, [quote])
    assert note.startswith("The documents discuss “coalition of the willing” but do not say")
    assert "this topic" in partial_note(query, ["Iets heel anders."])
    dutch = analyse("Met hoeveel stemmen werd de motie Hoogeveen c.s. aangenomen?")
    assert "“Hoogeveen c.s.”" in partial_note(dutch, ["6 Motie Hoogeveen c.s. 21 501-20"])


def test_a_country_the_question_names_and_no_quote_names_makes_it_partial(
    default_embedder: Embedder,
) -> None:
    """An answer about raw materials that never names China does not answer a question
    about dependence on China; "Amerikaanse" does stand for the United States."""
    query = analyse("Voor welke grondstoffen is de EU afhankelijk van China?")
    quote = "De EU moet risicovolle strategische afhankelijkheden van grondstoffen verminderen."
    found = stated(query, [quote], default_embedder, 0.5)
    assert found.missing and found.unnamed == ("China",)
    assert "zeggen niet wat er gevraagd wordt over China" in partial_note(
        query, [quote], found.unnamed
    )
    named = stated(query, ["De afhankelijkheid van China moet omlaag."], default_embedder, 0.5)
    assert not named.missing
    us = analyse("How does the letter view the US?")
    assert not stated(
        us, ["Het optreden van de Amerikaanse regering."], default_embedder, 0.5
    ).missing
    dutch_name = analyse("Will the Netherlands send troops?")
    note = partial_note(dutch_name, ["Oekraïne moet agressie kunnen afschrikken."], ["Netherlands"])
    assert "do not say anything about the Netherlands" in note


REFERENCE = "7 Motie Verbeek c.s. 36 410, nr. 88"


@pytest.mark.parametrize(
    ("question", "quotes", "footnotes", "repeats"),
    [
        # the footnote only names the paper the question names: nothing said about it
        ("What does the motion Verbeek et al. ask the cabinet?", [REFERENCE], [True], True),
        ("Wat vraagt de motie-Verbeek van de regering?", [REFERENCE], [True], True),
        # the question does not name it: the reference is news ("which motion …?")
        ("Which motion on trade does the letter cite?", [REFERENCE], [True], False),
        # a footnote that states something is no mere reference
        (
            "How is the Kamer informed about the new communication?",
            ["5 The Kamer will be informed by a BNC fiche."],
            [True],
            False,
        ),
        # a body sentence beside the footnote says something
        (
            "What does the motion Verbeek et al. ask the cabinet?",
            [REFERENCE, "The motion Verbeek asks for faster trade talks."],
            [True, False],
            False,
        ),
    ],
)
def test_an_answer_that_only_repeats_a_named_reference_is_partial(
    question: str, quotes: list[str], footnotes: list[bool], repeats: bool
) -> None:
    assert repeats_reference(question, quotes, footnotes) is repeats
