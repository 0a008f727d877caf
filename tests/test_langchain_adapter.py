"""`rag.as_retriever` and `rag.as_chain`: LangChain's own standard retriever suite, plus
the promises the suite does not check (footnotes within k, JSON metadata, ranking score),
all over a real index of the bundled letter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_tests.integration_tests import RetrieversIntegrationTests

import rag
from rag.errors import InputError
from rag.langchain_adapter import PassageRetriever, hits_to_documents
from rag.pipeline import Pipeline
from rag.types import Answer

NATO_NL = "Wat is de NAVO-norm voor 2035?"
_SHARED: dict[str, Pipeline] = {}


@pytest.fixture(autouse=True)
def _share_pipeline(pipeline: Pipeline) -> None:
    """The standard suite builds retrievers from a property; hand it the session pipeline."""
    _SHARED["pipeline"] = pipeline


class TestPassageRetrieverStandard(RetrieversIntegrationTests):
    """LangChain's standard retriever tests, unmodified."""

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return PassageRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"pipeline": _SHARED["pipeline"]}

    @property
    def retriever_query_example(self) -> str:
        return NATO_NL


def footnoted_query(pipeline: Pipeline) -> tuple[str, int]:
    """A query (a passage's own text) whose top-k hits include a linked footnote."""
    for chunk in pipeline.store.chunks:
        if chunk.kind == "body" and chunk.footnotes:
            for k in range(1, 6):
                hits = pipeline.retrieve(chunk.text, k)
                if any("linked" in h.scores for h in hits) and len(hits) > k:
                    return chunk.text, k
    pytest.fail("the letter has no passage whose linked footnote is retrieved with it")


def test_linked_footnotes_fold_into_their_passage_and_stay_within_k(pipeline: Pipeline) -> None:
    query, k = footnoted_query(pipeline)
    documents = rag.as_retriever(pipeline=pipeline, k=k).invoke(query)
    assert len(documents) == k
    notes = [note for d in documents for note in d.metadata["footnotes"]]
    assert notes and all(n["text"] and isinstance(n["number"], int) for n in notes)
    assert all(d.metadata["document"] and d.metadata["chunk_id"] for d in documents)


def test_k_kwarg_overrides_the_constructor_and_every_k_is_honoured(pipeline: Pipeline) -> None:
    retriever = rag.as_retriever(pipeline=pipeline, k=5)
    for k in (1, 2, 3, 7):
        assert len(retriever.invoke(NATO_NL, k=k)) == k
    assert len(retriever.invoke(NATO_NL)) == 5


def test_metadata_is_json_and_score_is_the_ranking_score(pipeline: Pipeline) -> None:
    documents = rag.as_retriever(pipeline=pipeline, k=5).invoke(NATO_NL)
    hits = [h for h in pipeline.retrieve(NATO_NL, 5) if "linked" not in h.scores]
    encoded = json.loads(json.dumps([d.metadata for d in documents]))
    assert [m["rank"] for m in encoded] == [1, 2, 3, 4, 5]
    for meta, hit in zip(encoded, hits, strict=True):
        assert set(meta) >= {"document", "section", "lines", "page", "chunk_id", "rank", "score"}
        assert meta["chunk_id"] == hit.chunk.chunk_id
        assert meta["score"] == pytest.approx(hit.score, abs=1e-6)
        assert meta["lines"][0] <= meta["lines"][1]


@pytest.mark.parametrize(
    "question",
    [
        NATO_NL,
        "What does the letter say about the EU-Mercosur agreement?",
        "Welke rol speelt China in het economisch veiligheidsbeleid?",
        "Summarise the opening of the letter.",
        "Who signed the letter?",
    ],
)
def test_scores_fall_with_rank(pipeline: Pipeline, question: str) -> None:
    """`score` is what ordered the results (MMR's objective), so it never rises with rank."""
    scores = [
        d.metadata["score"] for d in rag.as_retriever(pipeline=pipeline, k=8).invoke(question)
    ]
    assert len(scores) == 8
    assert all(a >= b - 1e-9 for a, b in zip(scores, scores[1:], strict=False))


def test_bad_k_is_a_clear_error(pipeline: Pipeline) -> None:
    with pytest.raises(InputError, match="k must be"):
        rag.as_retriever(pipeline=pipeline).invoke(NATO_NL, k=0)


def test_no_more_than_k_when_hits_end_in_footnotes(pipeline: Pipeline) -> None:
    hits = pipeline.retrieve(NATO_NL, 8)
    for k in range(1, 9):
        assert len(hits_to_documents(hits, k)) <= k


def test_opening_by_index_path(built_index) -> None:
    settings, _ = built_index
    documents = rag.as_retriever(index=settings.index.path, k=2).invoke(NATO_NL)
    assert len(documents) == 2


def test_chain_is_a_runnable_that_composes_in_lcel(pipeline: Pipeline) -> None:
    chain = rag.as_chain(pipeline=pipeline)
    answer = chain.invoke({"question": NATO_NL})
    assert isinstance(answer, Answer) and not answer.refused and "5" in answer.answer
    assert answer.citations
    composed = chain | RunnableLambda(lambda a: [c.lines for c in a.citations])
    assert composed.invoke({"question": NATO_NL}) == [c.lines for c in answer.citations]


def test_chain_takes_history_as_pairs_or_messages(pipeline: Pipeline) -> None:
    chain = rag.as_chain(pipeline=pipeline)
    first = chain.invoke({"question": NATO_NL})
    messages = [
        {"role": "user", "content": NATO_NL},
        {"role": "assistant", "content": first.answer},
    ]
    follow_up = "Why?"
    by_messages = chain.invoke({"question": follow_up, "history": messages})
    by_pairs = chain.invoke({"question": follow_up, "history": [(NATO_NL, first.answer)]})
    assert by_messages.answer == by_pairs.answer
    with pytest.raises(InputError):
        chain.invoke({"history": []})
