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
    assert spans[0].shown[:2] == ["12 December 2025", "€1.5 billion"]
    short = "De NSS van de VS (11 dec. jl.) en de vragen van 8 dec. jl."
    assert extract(analyse("On what date was it issued?"), short, 1)[0].shown == [
        "11 December",
        "8 December",
    ]
    # A Dutch answer keeps its figures as they were: "11 dec." is no date to it.
    assert extract(analyse("Wanneer verscheen de NSS?"), short, 1)[0].shown == ["11", "8"]


def test_english_facts_name_places_members_and_acronyms_as_written(
    default_embedder: Embedder,
) -> None:
    """Places by their English names, a member of parliament with party, acronyms no
    table renders as the sentence writes them; none for a Dutch question."""
    text = (
        "Tijdens de top in Den Haag noemde het lid Dassen (Volt, 8 dec. jl.) de VN, "
        "het IMF, het KVZ en de Wereldbank, en het Westelijk Halfrond."
    )
    spans = extract(
        analyse("Which people, places and bodies are named?"), text, 4, default_embedder
    )
    shown = {s.kind: s.shown for s in spans}
    assert shown["places"] == ["The Hague", "Western Hemisphere"]
    assert shown["people"] == ["Dassen (Volt), Member of Parliament"]
    assert shown["bodies"] == ["UN", "IMF", "World Bank"]
    assert shown["acronyms"] == ["KVZ"]  # in no table: as the sentence writes it
    assert all(piece in text for s in spans for piece in s.source)
    dutch = extract(analyse("Wie sprak er, en waar?"), text, 4, default_embedder)
    assert not {s.kind for s in dutch} & {"places", "acronyms"}


def test_yes_no_is_stated_only_where_the_verifier_supports_it(
    default_embedder: Embedder,
) -> None:
    """ "Yes" from a sentence that states the asked predicate, "No" from one that negates
    it, nothing where the verifier does not support the predicate, for an alternative
    question, or for a Dutch question."""
    agree = "Bovendien hoeven we het binnen dit partnerschap niet altijd met elkaar eens te zijn."
    partners = "Samenwerking met bondgenoten en partners blijft belangrijk – waaronder de VS."
    means = "De EU heeft de middelen om slagvaardig op te treden."

    def answer(question: str, text: str) -> list[str]:
        spans = extract(analyse(question), text, 1, default_embedder)
        return [s.shown[0] for s in spans if s.kind == "yes_no"]

    assert answer("Do we always have to agree within this partnership?", agree) == ["No"]
    assert answer("Is cooperation with allies and partners still important?", partners) == ["Yes"]
    assert answer("Does the EU have nuclear weapons?", means) == []
    # A negation in another clause denies something else: no "No" from it.
    mixed = (
        "Het kabinet deelt niet alle zorgen van de Kamer, maar steunt een actieve handelsagenda."
    )
    assert "No" not in answer("Does the cabinet support an active trade agenda?", mixed)
    assert answer("Is cooperation important or optional?", partners) == []
    assert answer("Is samenwerking met partners belangrijk?", partners) == []
    spans = extract(
        analyse("Do we always have to agree within this partnership?"), agree, 2, default_embedder
    )
    assert opening(spans, "en") == "Answer: No [2]."
    yes = extract(
        analyse("Is cooperation with allies and partners still important?"),
        partners,
        3,
        default_embedder,
    )
    assert opening(spans + yes, "en").startswith("Countries named")  # they disagree: none


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


def test_parliamentary_references_in_english() -> None:
    from rag.answer.spans_en import references

    assert references("3 Hoofdstukken, bijlage bij Kamerstuk 36 715 nr. 1") == [
        ("Parliamentary paper 36 715, no. 1", "Kamerstuk 36 715 nr. 1")
    ]
    assert references("6 Motie Hoogeveen c.s. 21 501-20, nr. 2344")[0][0] == (
        "Motion Hoogeveen et al. 21 501-20, no. 2344"
    )
    assert references("Het kabinet stuurt de Kamer een brief.") == []


def test_an_english_question_about_a_footnote_quotes_it_and_states_its_reference(
    pipeline: Pipeline,
) -> None:
    """The footnote whose marker the chosen sentence holds is quoted under it, and the
    documents it cites are stated in English, cut from the footnote's quote."""
    answer = pipeline.ask(
        "Which parliamentary paper does the footnote on the Draghi report response point to?"
    )
    assert not answer.refused
    quotes = {c.marker: " ".join(c.quote.split()) for c in answer.citations}
    assert any(q.startswith("1 Bijlage bij Kamerstuk 21 501-02 nr. 2956") for q in quotes.values())
    assert "Documents cited: Parliamentary paper 21 501-02, no. 2956" in answer.answer
    references = [s for s in answer.spans if s.kind == "references"]
    assert references and all(source in quotes[s.marker] for s in references for source in s.source)


def test_an_english_yes_no_question_is_answered_yes_or_no_from_the_letter(
    pipeline: Pipeline,
) -> None:
    negated = pipeline.ask("Do we always have to agree with the US within the partnership?")
    assert negated.answer.startswith("Answer: No [")
    stated = pipeline.ask("Does the cabinet support an ambitious and active European trade agenda?")
    assert stated.answer.startswith("Answer: Yes [")
    quotes = {c.marker: c.quote for c in stated.citations}
    assert all(src in quotes[s.marker] for s in stated.spans for src in s.source)
    absent = pipeline.ask("Will the EU introduce a carbon tax on imports in 2027?")
    assert not any(s.kind == "yes_no" for s in absent.spans)
