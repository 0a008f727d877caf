"""Verdicts that say what was checked: grounding (quoted, supported) apart from relevance
(does it answer the question), answer spans in the reader's language, and the glossary.
All on the real letter index with the bundled encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.render import answer_to_json
from rag.answer.spans import extract, opening
from rag.language.glossary import glossary, load, translate
from rag.pipeline import Pipeline
from rag.query.analysis import analyse
from rag.retrieval.embeddings import Embedder
from rag.settings import AnswerSettings
from rag.verify.relevance import Candidate, RelevanceJudge, load_model

NATO_2035 = (
    "In deze context spraken de NAVO-bondgenoten tijdens de NAVO-top in Den Haag af in 2035 "
    "5% van het bbp aan veiligheid (waarvan 3,5% aan harde defensie-uitgaven) te zullen "
    "besteden."
)
DICTIONARY = AnswerSettings().glossary


def test_an_extractive_answer_is_labelled_a_quote_and_judged_for_relevance(
    pipeline: Pipeline,
) -> None:
    answer = pipeline.ask("Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 uitgeven?")
    assert not answer.refused
    assert answer.sentences and all(s.grounding == "quote" for s in answer.sentences)
    assert all(s.relevance is not None and s.relevance.meaning for s in answer.sentences)
    assert answer.relevance is not None and answer.relevance.level != "unrelated"
    data = answer_to_json(answer)
    assert data["relevance"] == answer.relevance.model_dump()
    assert data["sentences"][0]["grounding"] == "quote"
    assert "3,5%" in data["spans"][0]["source"]


def test_a_refusal_carries_no_relevance_or_spans(pipeline: Pipeline) -> None:
    answer = pipeline.ask("How many drones is the Netherlands planning to buy?")
    assert answer.refused and answer.relevance is None and answer.spans == []


def test_the_model_ranks_an_answering_sentence_above_an_unrelated_one(
    pipeline: Pipeline,
) -> None:
    query = analyse("What percentage of GDP will NATO allies spend on security in 2035?")
    hits = pipeline.retrieve(query.text)
    judge = RelevanceJudge(pipeline.embedder, pipeline.settings.answer)
    answering = judge.sentences(query, [NATO_2035], [0], hits)[0]
    unrelated = judge.sentences(
        query, ["De minister van Buitenlandse Zaken, D.M. van Weel"], [0], hits
    )[0]
    assert answering.score > unrelated.score
    assert unrelated.level == "unrelated"


def test_the_shipped_model_says_where_it_came_from() -> None:
    model = load_model()
    assert "calibrate_relevance.py" in model.provenance
    assert 0 < model.partial_threshold <= model.answer_threshold < 1
    assert model.level(0.99) == "answers" and model.level(0.0) == "unrelated"


def test_a_missing_asked_kind_lowers_relevance(pipeline: Pipeline) -> None:
    judge = RelevanceJudge(pipeline.embedder, pipeline.settings.answer)
    query = analyse("Hoeveel procent van het bbp gaat naar veiligheid?")
    with_number = Candidate(0, NATO_2035, 0.6, 0.5, 0.5)
    without = Candidate(
        0, NATO_2035.replace("in 2035 5%", "later veel").replace("3,5%", "een deel"), 0.6, 0.5, 0.5
    )
    p = judge.probabilities(query, [with_number, without], pipeline.retrieve(query.text))
    assert p[0] > p[1]


@pytest.mark.parametrize(
    ("question", "kind", "shown"),
    [
        ("What percentage of GDP is it?", "figures", ["2035", "5%", "3.5%"]),
        ("Hoeveel procent van het bbp?", "figures", ["2035", "5%", "3,5%"]),
        ("Which organisations are named?", "bodies", ["NATO", "GDP"]),
    ],
)
def test_spans_are_cut_from_the_source_and_shown_in_the_readers_notation(
    question: str, kind: str, shown: list[str]
) -> None:
    spans = [s for s in extract(analyse(question), NATO_2035, 1) if s.kind == kind]
    assert spans and spans[0].shown == shown
    assert all(piece in NATO_2035 for piece in spans[0].source)


def test_countries_get_their_english_names_for_english_readers() -> None:
    text = "Het VK en ook Oekraïne, Noorwegen en Turkije zijn cruciale Europese partners."
    english = extract(analyse("Which countries are partners?"), text, 2)
    dutch = extract(analyse("Welke landen zijn partners?"), text, 2)
    assert english[0].shown == ["United Kingdom", "Ukraine", "Norway", "Türkiye"]
    assert dutch[0].shown == ["VK", "Oekraïne", "Noorwegen", "Turkije"]  # "het VK" too
    assert (
        opening(english, "en") == "Countries named: United Kingdom, Ukraine, Norway, Türkiye [2]."
    )


def test_english_facts_name_every_country_people_with_their_office_and_acronyms(
    default_embedder: Embedder,
) -> None:
    """With the encoder (as in the chain), an English question gets all countries ("het
    VK" too), a person with the office the sentence gives, and an acronym with the
    expansion the sentence gives, each checked; a Dutch question's list names "het VK" too."""
    text = "Het VK en ook Oekraïne, Noorwegen en Turkije zijn cruciale Europese partners."
    english = extract(analyse("Which countries are partners?"), text, 2, default_embedder)
    assert english[0].shown == ["United Kingdom", "Ukraine", "Norway", "Türkiye"]
    dutch = extract(analyse("Welke landen zijn partners?"), text, 2, default_embedder)
    assert dutch[0].shown == ["VK", "Oekraïne", "Noorwegen", "Turkije"]
    signed = "De minister van Buitenlandse Zaken, D.M. van Weel"
    people = extract(analyse("Who signed the letter?"), signed, 1, default_embedder)
    assert people[0].shown == ["D.M. van Weel, Minister of Foreign Affairs"]
    assert opening(people, "en").startswith("Named in the cited text: D.M. van Weel, Minister")
    pca = "Een belangrijk initiatief zijn de Prioritised Capability Areas (PCA’s)."
    spans = extract(analyse("Which PCAs does it lead?"), pca, 3, default_embedder)
    assert spans[0].kind == "bodies"
    assert spans[0].shown == ["PCA: Prioritised Capability Areas"]
    unknown = "De minister van Sport, A. Jansen"  # a portfolio the table lacks: no office
    assert extract(analyse("Who is it?"), unknown, 1, default_embedder)[0].shown == ["A. Jansen"]


def test_amounts_and_dates_in_english_notation() -> None:
    text = "Op 12 december 2025 werd € 1,5 miljard vrijgemaakt voor 1.000 projecten."
    spans = extract(analyse("How much money and when?"), text, 1)
    assert spans[0].shown[:2] == ["12 December 2025", "€ 1.5 billion"]


@pytest.mark.skipif(
    DICTIONARY is None or not Path(f"{DICTIONARY}.index").is_file(),
    reason="FreeDict nld-eng is not installed (scripts/install.sh installs it as root)",
)
def test_glossary_translates_words_stems_and_compounds() -> None:
    assert DICTIONARY is not None
    dictionary = load(DICTIONARY)
    assert "security" in (translate("veiligheid", dictionary) or "")
    assert "+" in (
        translate("handelsakkoorden", dictionary) or translate("defensiebeleid", dictionary) or "+"
    )


SIGNED = (
    "De minister van Buitenlandse Zaken, D.M. van Weel, namens de minister van Defensie. "
    "Den Haag. De Europese waarden en partners, zoals bedoeld; windenergie is een grote "
    "zorg voor de lidstaten en de Tweede Kamer, en de veiligheidsarchitectuur."
)


def test_glossary_gives_the_term_tables_english_and_no_word_by_word_senses(
    tmp_path: Path,
) -> None:
    """The issue's misleading entries ("zaken = pocket", "namens = Namur", "haag =
    hedge") are gone: phrases and compounds from the sourced table, nothing else by
    default, with or without the dictionary installed."""
    for base in (DICTIONARY, tmp_path / "missing", None):
        terms = glossary([SIGNED], base)
        assert terms["Buitenlandse Zaken"] == "Foreign Affairs"
        assert terms["Tweede Kamer"] == "House of Representatives"
        assert terms["Den Haag"] == "The Hague"
        assert terms["lidstaten"] == "Member States"
        assert terms["veiligheidsarchitectuur"] == "security architecture"
        assert terms["waarden"] == "values"
        for word in ("zaken", "Zaken", "namens", "haag", "partners", "bedoeld", "grote"):
            assert word not in terms


@pytest.mark.skipif(
    DICTIONARY is None or not Path(f"{DICTIONARY}.index").is_file(),
    reason="FreeDict nld-eng is not installed (scripts/install.sh installs it as root)",
)
def test_glossary_dictionary_senses_only_when_the_encoder_is_confident(
    default_embedder: Embedder,
) -> None:
    """With a floor set, a word the table lacks gets its closest dictionary sense, and
    none below the floor ("grote" is never "cave")."""
    terms = glossary([SIGNED], DICTIONARY, embedder=default_embedder, min_similarity=0.9)
    assert terms["windenergie"] == "wind energy"
    for word in ("namens", "haag", "partners", "bedoeld", "grote", "zorg"):
        assert word not in terms


@pytest.mark.skipif(
    DICTIONARY is None or not Path(f"{DICTIONARY}.index").is_file(),
    reason="FreeDict nld-eng is not installed (scripts/install.sh installs it as root)",
)
def test_glossary_drops_phrases_the_dictionary_wrote_without_spaces() -> None:
    """FreeDict's data has 'havefaith', 'asfortherest', 'theNetherlands': not English a
    reader can use. They are dropped; real words made of short ones stay."""
    assert DICTIONARY is not None
    dictionary = load(DICTIONARY)
    assert "havefaith" in dictionary["vertrouwen"]  # the raw data, as shipped
    for word, squashed in (
        ("vertrouwen", "havefaith"),
        ("verder", "asfortherest"),
        ("nederland", "theNetherlands"),
    ):
        meaning = translate(word, dictionary) or ""
        assert squashed not in meaning and meaning, word
    assert "trust" in (translate("vertrouwen", dictionary) or "")
    assert translate("zonder", dictionary) == "without"  # a function word itself stays
    assert "together" in (translate("samen", dictionary) or "")  # not "to" + "get" + "her"
    assert translate("elkaar", dictionary) is None  # only squashed phrases: no line
