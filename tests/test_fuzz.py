"""Fuzz suite (Hypothesis): the loader, cleaner, sentence splitter and chunker take any
input without an exception other than the documented `InputError`, every passage stays
within the token limit, and the character map back to the source stays valid.

Inputs: arbitrary Unicode, text without punctuation, huge lines, control characters and
arbitrary bytes. Examples are limited so the module runs in well under a minute.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunk import chunk_document, count_tokens
from index.clean import clean_document
from index.load import load_file
from rag.errors import InputError
from rag.language.sentences import bounded_spans, split_sentences
from rag.settings import ChunkingSettings
from rag.types import Document, RawDocument

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.text(alphabet=st.characters(categories=["L", "Nd"]), min_size=1, max_size=12)
# Prose-like text: words, spaces, sometimes punctuation and line breaks.
prose = st.lists(
    st.one_of(words, st.sampled_from([" ", " ", ". ", ", ", "\n", "\n\n", "! ", "? ", "- "])),
    max_size=200,
).map("".join)
controls = st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=50)
huge_line = st.builds(
    lambda piece, times: (piece * times)[:300_000],
    st.text(min_size=1, max_size=8),
    st.integers(min_value=2_000, max_value=60_000),
)
no_punctuation = st.lists(words, min_size=1, max_size=3000).map(" ".join)
any_text = st.one_of(st.text(max_size=400), prose, controls, no_punctuation)
texts = st.one_of(any_text, st.lists(any_text, max_size=4).map("".join))


def raw_document(text: str) -> RawDocument:
    return RawDocument(
        doc_id="fuzz", name="fuzz.txt", source="fuzz.txt", content_hash="0", text=text
    )


def check_map(doc: Document) -> None:
    """Each cleaned character maps into the raw text, in order; a visible character maps to
    itself."""
    raw = doc.raw.text
    assert len(doc.raw_offsets) == len(doc.text)
    previous = -1
    for char, offset in zip(doc.text, doc.raw_offsets, strict=True):
        assert 0 <= offset < len(raw)
        assert offset >= previous
        previous = offset
        if not char.isspace():
            assert raw[offset] == char


def check_chunks(doc: Document, limit: int) -> None:
    raw = doc.raw.text
    chunks = chunk_document(doc, ChunkingSettings(max_tokens=limit, overlap_tokens=limit // 4))
    for chunk in chunks:
        assert chunk.text.strip()
        assert count_tokens(chunk.text) <= limit, (len(chunk.text), chunk.tokens)
        assert chunk.tokens == count_tokens(chunk.text)
        assert 0 <= chunk.start < chunk.end <= len(raw)
        if chunk.kind == "body":
            assert chunk.text in doc.text
            assert raw[chunk.start] == chunk.text[0] and raw[chunk.end - 1] == chunk.text[-1]
            for sentence in chunk.sentences:
                assert 0 <= sentence.start < sentence.end <= len(chunk.text)


@FUZZ
@given(texts)
def test_sentence_spans_are_ordered_trimmed_and_cover_the_text(text: str) -> None:
    spans = split_sentences(text)
    covered = [False] * len(text)
    end = 0
    for s, e in spans:
        assert end <= s < e <= len(text)
        assert not text[s].isspace() and not text[e - 1].isspace()
        covered[s:e] = [True] * (e - s)
        end = e
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(text))


@FUZZ
@given(st.one_of(texts, huge_line), st.integers(min_value=1, max_value=80))
def test_bounded_spans_always_fit(text: str, limit: int) -> None:
    def fits(piece: str) -> bool:
        assert len(piece) <= 4 * limit  # never asked about a huge string
        return len(piece.encode("utf-8")) <= limit

    spans = bounded_spans(text, fits, 4 * limit)
    for s, e in spans:
        piece = text[s:e]
        assert piece.strip() == piece and piece
        assert fits(piece) or e - s == 1
    visible = sum(not ch.isspace() for ch in text)
    assert sum(not ch.isspace() for s, e in spans for ch in text[s:e]) == visible


@FUZZ
@given(texts)
def test_cleaner_keeps_a_valid_map(text: str) -> None:
    check_map(clean_document(raw_document(text)))


@FUZZ
@given(texts, st.integers(min_value=16, max_value=64))
def test_chunker_keeps_every_passage_within_the_limit(text: str, limit: int) -> None:
    check_chunks(clean_document(raw_document(text)), limit)


@FEW
@given(huge_line)
def test_huge_lines_become_bounded_passages(text: str) -> None:
    doc = clean_document(raw_document(text))
    check_map(doc)
    check_chunks(doc, 160)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=2000),
        texts.map(lambda t: t.encode("utf-8")),
        texts.map(lambda t: t.encode("utf-16")),
        texts.map(lambda t: "\ufeff".join(["", t]).encode("utf-8")),
    ),
    st.sampled_from([".txt", ".md", ".pdf"]),
)
def test_loader_reads_or_refuses_any_bytes(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        try:
            raw = load_file(path, max_bytes=1000)
        except InputError as exc:
            assert "\n" not in str(exc)
            return
    assert raw.text.strip() and len(data) <= 1000
    check_map(clean_document(raw))
