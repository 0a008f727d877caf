"""Dutch and English questions find the same Dutch passages (real index, real embedder)."""

from __future__ import annotations

import numpy as np
import pytest

from index.store import IndexStore
from rag.embeddings import Embedder
from rag.pipeline import Pipeline
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
