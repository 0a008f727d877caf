"""Dutch and English questions find the same Dutch passages (real index, real embedder)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import LETTER_HEADINGS

from index.lexical import LexicalIndex
from index.store import IndexStore
from rag.pipeline import Pipeline
from rag.query.structure import asked_parts, asked_section, part_positions
from rag.retrieval.embeddings import Embedder
from rag.settings import BUNDLED_EMBEDDER, Settings
from rag.types import Hit

DEFENCE = "Versterking Europese defensiecapaciteiten en vergroting weerbaarheid"
FIVE_PERCENT = "5% van het bbp"
NATO_NL = "Hoeveel procent van het bbp moeten de NAVO-bondgenoten in 2035 aan veiligheid besteden?"
NATO_EN = "What share of GDP did NATO allies agree to spend on security by 2035?"
TRADE_NL = "Welk recent handelsakkoord van de EU noemt het kabinet?"
TRADE_EN = "Which recent EU trade agreement does the government mention?"


def top(hits: list[Hit], n: int = 3) -> list[Hit]:
    """Hits ranked 1..n (a linked footnote shares the rank of its passage)."""
    return [h for h in hits if h.rank <= n]


def holding(hits: list[Hit], needle: str) -> list[Hit]:
    return [h for h in hits if needle in h.chunk.text]


def test_default_embedder_is_the_bundled_multilingual_one(default_embedder: Embedder) -> None:
    assert Settings().embedding.model == BUNDLED_EMBEDDER
    assert default_embedder.model_id == BUNDLED_EMBEDDER and default_embedder.dim == 512
    dutch = "De EU is de derde economie van de wereld en het grootste handelsblok."
    english = "The EU is the third largest economy in the world and the biggest trading bloc."
    other_dutch = "Het kabinet hecht aan behoud van de integriteit van de interne markt."
    a, b, c = default_embedder.encode_passages([dutch, english, other_dutch])
    assert float(a @ b) > 0.7  # a translation is close ...
    assert float(a @ b) > float(a @ c) + 0.2  # ... closer than another Dutch sentence


@pytest.mark.parametrize("question", [NATO_NL, NATO_EN], ids=["nl", "en"])
def test_five_percent_of_gdp_by_2035(pipeline: Pipeline, question: str) -> None:
    hits = pipeline.retrieve(question, 5)
    assert len({h.rank for h in hits}) in range(1, 6)
    found = holding(top(hits), FIVE_PERCENT)
    assert found, [(h.rank, h.chunk.text[:80]) for h in hits]
    assert all(h.chunk.section == DEFENCE for h in found)
    assert all(h.chunk.lines[0] <= 115 <= h.chunk.lines[1] for h in found)


def test_english_question_finds_the_dutch_passage_by_meaning_alone(
    built_index: tuple[Settings, IndexStore], default_embedder: Embedder
) -> None:
    """Dense retrieval alone (no BM25, no term alignment): the embedder is cross-lingual."""
    _, store = built_index
    query = default_embedder.encode_queries([NATO_EN])[0]
    best = [store.chunks[i] for i, _ in store.dense_search(query, 3)]
    assert any(FIVE_PERCENT in c.text for c in best)


@pytest.mark.parametrize("question", [TRADE_NL, TRADE_EN], ids=["nl", "en"])
def test_recent_trade_agreement_is_mercosur(pipeline: Pipeline, question: str) -> None:
    hits = pipeline.retrieve(question, 5)
    found = holding(top(hits), "EU-Mercosur akkoord")
    assert found, [(h.rank, h.chunk.text[:80]) for h in hits]
    assert all(h.chunk.section == "Handel" for h in found)


def test_dutch_and_english_questions_agree(pipeline: Pipeline) -> None:
    for dutch, english in [(NATO_NL, NATO_EN), (TRADE_NL, TRADE_EN)]:
        nl = {h.chunk.chunk_id for h in top(pipeline.retrieve(dutch, 5), 1)}
        en = {h.chunk.chunk_id for h in top(pipeline.retrieve(english, 5), 3)}
        assert nl & en, (dutch, english)


def test_scores_are_finite_and_ranks_ordered(pipeline: Pipeline) -> None:
    hits = pipeline.retrieve(NATO_EN, 5)
    assert all(np.isfinite(h.score) for h in hits)
    ranks = [h.rank for h in hits]
    assert ranks == sorted(ranks) and ranks[0] == 1


# ---- cross-lingual concepts, multi-part questions, parts of the document --------------


def test_concept_found_through_several_synonyms_counts_once() -> None:
    """A passage repeating one concept in three words does not beat one that holds both
    concepts of the question; a flat BM25 query over the same words ranks it first."""
    texts = [
        "Handel en handelsbeleid en handelsakkoorden, handel en nog eens handelsbeleid.",
        "Handel vraagt om gezonde overheidsfinanciën van de lidstaten.",
        "Het weer was vandaag zonnig en warm aan de kust.",
    ]
    lexical = LexicalIndex.build(texts)
    flat = lexical.search("handel handelsbeleid handelsakkoorden overheidsfinanciën", 3)
    assert flat[0][0] == 0
    concepts = [["trade", "handel", "handelsbeleid", "handelsakkoorden"], ["overheidsfinanciën"]]
    ranked = lexical.concept_search(concepts, 3)
    assert [i for i, _ in ranked] == [1, 0]  # the unrelated passage scores nothing


def test_english_phrase_aligns_with_a_dutch_compound(pipeline: Pipeline) -> None:
    concepts = pipeline.retriever.aligner.concepts("healthy public finances")
    compound = [c for c in concepts if "overheidsfinanciën" in c]
    assert compound, concepts
    # The pair stands for its two words: neither is a concept of its own any more.
    assert not any(c[0] in {"public", "finances"} for c in concepts), concepts


def test_a_name_at_the_start_of_a_question_still_aligns(pipeline: Pipeline) -> None:
    concepts = pipeline.retriever.aligner.concepts("Norway and Turkey: what does it say?")
    terms = {term for concept in concepts for term in concept}
    assert {"noorwegen", "turkije"} <= terms, concepts


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("Summarise the opening of the letter.", ["start"]),
        ("What does the letter's introduction say about Ukraine?", ["start"]),
        (
            "Hoe kijkt het kabinet in de inleiding en in de slotpassage naar de NAVO?",
            ["start", "end"],
        ),
        ("Wat staat er aan het slot van de brief?", ["end"]),
        ("Welk slot hoort bij de deur?", []),
        ("Who signed the letter?", ["end"]),
        ("Door wie is de brief ondertekend?", ["end"]),
        ("Who signed the Mercosur agreement?", []),
        ("What is said in the closing paragraph?", ["end"]),
        ("Wat zegt het einde van de brief over eenheid?", ["end"]),
        ("Does the letter favour the opening of markets?", []),
        ("What about the introduction of new tariffs?", []),
    ],
)
def test_questions_about_a_part_of_the_document(question: str, parts: list[str]) -> None:
    assert asked_parts(question) == parts


def test_opening_and_closing_passages(built_index: tuple[Settings, IndexStore]) -> None:
    _, store = built_index
    start = part_positions(store.chunks, "start")
    end = part_positions(store.chunks, "end")
    body = sorted((c.line_start, i) for i, c in enumerate(store.chunks) if c.kind != "footnote")
    first_heading = min(c.line_start for c in store.chunks if c.section)
    assert start and all(store.chunks[i].line_start < first_heading for i in start)
    assert all(not store.chunks[i].section for i in start)
    assert body[0][1] in start
    assert [i for _, i in body[-len(end) :]] == sorted(
        end, key=lambda i: store.chunks[i].line_start
    )


@pytest.mark.parametrize(
    "question",
    ["Summarise the introduction of the letter.", "Vat de inleiding van de brief samen."],
    ids=["en", "nl"],
)
def test_question_about_the_opening_retrieves_the_opening(
    pipeline: Pipeline, question: str
) -> None:
    hits = top(pipeline.retrieve(question, 5), 5)
    opening = set(part_positions(pipeline.store.chunks, "start"))
    positions = {pipeline.store.position[h.chunk.chunk_id] for h in hits}
    assert len(positions & opening) >= 4, [(h.rank, h.chunk.text[:60]) for h in hits]


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("Summarise the section on trade.", "trade"),
        (
            "What does the part about the neighbouring countries say about migration?",
            "the neighbouring countries",
        ),
        ("Wat zijn de hoofdpunten van het deel over handel, en wat zegt het over China?", "handel"),
        ("Vat het hoofdstuk over partnerschappen samen.", "partnerschappen"),
        ("What does the letter say about trade?", None),
        ("Welk deel van de defensie-uitgaven gaat naar drones?", None),
    ],
)
def test_questions_naming_a_section(question: str, topic: str | None) -> None:
    assert asked_section(question) == topic


@pytest.mark.parametrize(
    ("question", "heading"),
    [
        ("Summarise the section on trade.", "Handel"),
        ("Vat het deel over partnerschappen samen.", "Partnerschappen"),
        ("What is in the section on defence?", LETTER_HEADINGS[1]),
        ("What does the section on economic security say?", LETTER_HEADINGS[3]),
    ],
)
def test_question_naming_a_section_retrieves_that_section(
    pipeline: Pipeline, question: str, heading: str
) -> None:
    in_section = [c for c in pipeline.store.chunks if c.section == heading and c.kind == "body"]
    hits = [h for h in pipeline.retrieve(question, 5) if h.chunk.kind == "body"]
    first = hits[: min(len(in_section), 5)]
    assert all(h.chunk.section == heading for h in first), [h.chunk.section for h in hits]


def test_acronyms_align_with_their_dutch_form(pipeline: Pipeline) -> None:
    concepts = pipeline.retriever.aligner.concepts("What does it say about the MFF and NATO?")
    assert ["mff", "mfk"] in concepts and ["nato", "navo"] in concepts, concepts
