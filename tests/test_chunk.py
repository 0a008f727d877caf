"""Chunking the real letter: exact source spans, whole sentences, token bounds, sections,
footnote passages and stable ids; markdown and numbered lists."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import LETTER_HEADINGS as HEADINGS

from index.build import chunk_raw_documents
from index.chunk import CHARS_PER_TOKEN_BOUND, chunk_document, count_tokens
from index.clean import clean_document, corpus_vocabulary
from index.load import load_file, load_paths
from rag.language.sentences import bounded_spans, split_sentences
from rag.settings import ChunkingSettings, Settings
from rag.types import Chunk, Document, RawDocument

DEFENCE = "Versterking Europese defensiecapaciteiten en vergroting weerbaarheid"

SIZES = [
    pytest.param(ChunkingSettings(), id="default-160-40"),
    pytest.param(ChunkingSettings(max_tokens=64, overlap_tokens=16), id="64-16"),
    pytest.param(ChunkingSettings(max_tokens=400, overlap_tokens=0), id="400-0"),
    pytest.param(ChunkingSettings(max_tokens=24, overlap_tokens=24), id="24-24"),
]
UNRELATED = (
    "Gardening notes\n\nTomatoes need sun and water. Prune the side shoots every week.\n\n"
    "Compost\n\nA compost heap needs air. Turn it once a month.\n"
)
_URL_LINE = re.compile(r"\s*(?:https?://|www\.)\S+\s*")
_PAGE_NUMBER = re.compile(r"\s*\d{1,3}\s*")


def alnum(text: str) -> str:
    """Letters and digits only: whitespace, hyphens and punctuation do not count."""
    return re.sub(r"[\W_]", "", text)


@pytest.fixture(scope="module")
def raw(letter_path: Path) -> RawDocument:
    return load_file(letter_path)


@pytest.fixture(scope="module")
def doc(raw: RawDocument) -> Document:
    return clean_document(raw, corpus_vocabulary([raw.text]))


@pytest.fixture(scope="module")
def chunks_for(doc: Document) -> Callable[[ChunkingSettings], list[Chunk]]:
    cache: dict[str, list[Chunk]] = {}

    def get(settings: ChunkingSettings) -> list[Chunk]:
        key = settings.model_dump_json()
        if key not in cache:
            cache[key] = chunk_document(doc, settings)
        return cache[key]

    return get


@pytest.fixture(scope="module")
def chunks(chunks_for: Callable[[ChunkingSettings], list[Chunk]]) -> list[Chunk]:
    return chunks_for(ChunkingSettings())


def body(chunks: list[Chunk]) -> list[Chunk]:
    return [c for c in chunks if c.kind == "body"]


def clean_start(doc: Document, chunk: Chunk) -> int:
    """Offset in the cleaned text where a body chunk begins (found via the raw offset map)."""
    start = bisect.bisect_left(doc.raw_offsets, chunk.start)
    assert doc.raw_offsets[start] == chunk.start
    assert doc.text[start : start + len(chunk.text)] == chunk.text
    return start


def raw_without_lifted_parts(doc: Document, start: int, end: int) -> str:
    """Raw text of [start, end) without footnote blocks and page furniture (URL lines, page
    numbers) - what the cleaned text of that span should hold, word for word."""
    text = doc.raw.text
    keep = [True] * (end - start)
    for fn in doc.footnotes:
        for i in range(max(fn.start, start), min(fn.end, end)):
            keep[i - start] = False
    offset = start
    for line in text[start:end].split("\n"):
        if _URL_LINE.fullmatch(line) or _PAGE_NUMBER.fullmatch(line):
            for i in range(offset, offset + len(line)):
                keep[i - start] = False
        offset += len(line) + 1
    return "".join(ch for ch, kept in zip(text[start:end], keep, strict=True) if kept)


# ---- exact spans and line numbers ----------------------------------------------------------


def test_raw_offset_map_is_monotonic(doc: Document) -> None:
    assert len(doc.raw_offsets) == len(doc.text)
    assert all(a <= b for a, b in zip(doc.raw_offsets, doc.raw_offsets[1:], strict=False))
    for i, ch in enumerate(doc.text):
        if not ch.isspace():
            assert doc.raw.text[doc.raw_offsets[i]] == ch, i


@pytest.mark.parametrize("settings", SIZES)
def test_every_chunk_maps_back_to_its_exact_source_text(
    doc: Document, chunks_for: Callable[[ChunkingSettings], list[Chunk]], settings
) -> None:
    raw = doc.raw
    raw_lines = raw.text.split("\n")
    for chunk in chunks_for(settings):
        assert 0 <= chunk.start < chunk.end <= len(raw.text)
        span = raw.text[chunk.start : chunk.end]
        assert span[0] == chunk.text[0] and span[-1] == chunk.text[-1]
        if chunk.kind == "body":
            expected = raw_without_lifted_parts(doc, chunk.start, chunk.end)
        else:
            expected = span  # a footnote passage is its own block of raw text
        assert alnum(chunk.text) == alnum(expected), chunk.chunk_id
        assert chunk.line_start == raw.line_of(chunk.start)
        assert chunk.line_end == raw.line_of(chunk.end - 1)
        assert chunk.line_start <= chunk.line_end
        assert (chunk.page_start, chunk.page_end) == (None, None)
        # every sentence's lines hold its first and last word
        for sentence in chunk.sentences:
            words = chunk.sentence_text(sentence).split()
            first = re.sub(r"\W+$", "", words[0]).split("-")[0]
            last = re.sub(r"^\W+", "", words[-1]).split("-")[-1].rstrip(".!?:;,)’”0123456789")
            assert first in raw_lines[sentence.line_start - 1], (chunk.chunk_id, words[0])
            if last:
                # a piece of a cut sentence may end in a word de-hyphenated across lines
                end_line = sentence.line_end - 1
                joined = raw_lines[max(end_line - 1, 0)].rstrip().rstrip("-") + raw_lines[end_line]
                assert last in raw_lines[end_line] or (
                    last in joined and last not in raw_lines[end_line - 1]
                ), (chunk.chunk_id, words[-1])


def test_the_five_percent_sentence_points_at_lines_115_to_117(chunks: list[Chunk]) -> None:
    found = []
    for chunk in body(chunks):
        for sentence in chunk.sentences:
            if "5% van het bbp" in chunk.sentence_text(sentence):
                found.append((sentence.line_start, sentence.line_end))
    assert found and set(found) == {(114, 117)}


# ---- whole sentences, token bounds, overlap, coverage --------------------------------------


def pieces(doc: Document, settings: ChunkingSettings) -> list[tuple[int, int]]:
    """The sentences of the cleaned text, a sentence over max_tokens cut into pieces."""
    return bounded_spans(
        doc.text,
        lambda text: count_tokens(text) <= settings.max_tokens,
        settings.max_tokens * CHARS_PER_TOKEN_BOUND,
    )


@pytest.mark.parametrize("settings", SIZES)
def test_chunks_are_runs_of_whole_sentences(
    doc: Document, chunks_for: Callable[[ChunkingSettings], list[Chunk]], settings
) -> None:
    spans = pieces(doc, settings)
    for chunk in body(chunks_for(settings)):
        start = clean_start(doc, chunk)
        end = start + len(chunk.text)
        inside = [(s, e) for s, e in spans if start <= s and e <= end]
        assert inside, chunk.chunk_id
        assert inside[0][0] == start and inside[-1][1] == end  # starts and ends a sentence
        # no sentence (or piece of an over-long one) is cut by the chunk's edges
        assert not [(s, e) for s, e in spans if s < start < e or s < end < e]
        assert [(start + s.start, start + s.end) for s in chunk.sentences] == inside


@pytest.mark.parametrize("settings", SIZES)
def test_token_bounds(
    doc: Document, chunks_for: Callable[[ChunkingSettings], list[Chunk]], settings
) -> None:
    chunks = body(chunks_for(settings))
    for chunk in chunks:
        assert chunk.tokens == count_tokens(chunk.text) <= settings.max_tokens
    # only sentences longer than max_tokens are cut, into pieces that fit
    sentences = split_sentences(doc.text)
    cut = [(s, e) for s, e in sentences if count_tokens(doc.text[s:e]) > settings.max_tokens]
    assert set(sentences) - set(pieces(doc, settings)) == set(cut)
    if settings.max_tokens < 64:
        assert len(cut) > 5  # the small size really exercises this


@pytest.mark.parametrize("settings", SIZES)
def test_overlap_is_whole_sentences_within_budget(
    doc: Document, chunks_for: Callable[[ChunkingSettings], list[Chunk]], settings
) -> None:
    chunks = body(chunks_for(settings))
    for a, b in zip(chunks, chunks[1:], strict=False):
        a_start, b_start = clean_start(doc, a), clean_start(doc, b)
        a_spans = {(a_start + s.start, a_start + s.end) for s in a.sentences}
        b_spans = [(b_start + s.start, b_start + s.end) for s in b.sentences]
        shared = [span for span in b_spans if span in a_spans]
        assert shared == b_spans[: len(shared)]  # only a leading run is repeated
        assert len(shared) < len(b_spans)  # and every chunk brings something new
        if shared:
            assert a.section == b.section
            assert sum(count_tokens(doc.text[s:e]) for s, e in shared) <= settings.overlap_tokens
        assert b_start > a_start
    if settings.overlap_tokens == 0:
        ends = [clean_start(doc, c) + len(c.text) for c in chunks]
        assert all(end <= clean_start(doc, c) for end, c in zip(ends, chunks[1:], strict=False))


@pytest.mark.parametrize("settings", SIZES)
def test_every_body_sentence_is_in_a_chunk(
    doc: Document, chunks_for: Callable[[ChunkingSettings], list[Chunk]], settings
) -> None:
    covered: set[tuple[int, int]] = set()
    for chunk in body(chunks_for(settings)):
        start = clean_start(doc, chunk)
        covered.update((start + s.start, start + s.end) for s in chunk.sentences)
    missing = [doc.text[s:e] for s, e in pieces(doc, settings) if (s, e) not in covered]
    # only the headings (cut like long sentences), which chunks carry as their section
    assert " ".join(missing) == " ".join(HEADINGS)


# ---- sections --------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", SIZES)
def test_sections_are_the_headings_above_each_passage(
    doc: Document, chunks_for: Callable[[ChunkingSettings], list[Chunk]], settings
) -> None:
    positions = sorted((doc.text.index(h + "\n"), h) for h in HEADINGS)
    for chunk in body(chunks_for(settings)):
        start = clean_start(doc, chunk)
        above = [h for pos, h in positions if pos < start]
        assert chunk.section == (above[-1] if above else ""), chunk.text[:60]
        assert chunk.search_text.startswith(chunk.section)


def test_named_sections_carry_their_passages(chunks: list[Chunk]) -> None:
    def sections_of(needle: str) -> set[str]:
        found = {c.section for c in body(chunks) if needle in c.text}
        assert found, needle
        return found

    assert sections_of("5% van het bbp") == {DEFENCE}
    assert sections_of("EU-Mercosur akkoord") == {"Handel"}
    assert sections_of("grondstoffenpartnerschappen") == {"Partnerschappen"}
    assert sections_of("De wereldorde waarin de EU") == {""}  # before the first heading
    assert {c.section for c in body(chunks)} == {"", *HEADINGS}


def test_a_passage_never_crosses_a_heading(doc: Document, chunks: list[Chunk]) -> None:
    for chunk in body(chunks):
        for heading in HEADINGS:
            assert f"\n{heading}\n" not in chunk.text


# ---- footnotes -------------------------------------------------------------------------------


def test_footnote_passages(doc: Document, chunks: list[Chunk]) -> None:
    notes = [c for c in chunks if c.kind == "footnote"]
    assert [c.footnote_number for c in notes] == list(range(1, 10))
    for note in notes:
        assert note.text.startswith(f"{note.footnote_number} ")
        assert note.footnotes == [] and len(note.sentences) == 1
    nine = notes[8]
    assert nine.text == "9 Kamerstuk 21501-20-2360"
    assert (nine.line_start, nine.line_end) == (277, 277)
    assert nine.section == HEADINGS[-1]
    seven = notes[6]
    assert "Global Europe-instrument" in seven.text and seven.lines == (272, 274)


def test_body_passages_list_the_footnotes_they_mark(doc: Document, chunks: list[Chunk]) -> None:
    holding_nine = [c for c in body(chunks) if "besluitvorming.9" in c.text]
    assert holding_nine and all(9 in c.footnotes for c in holding_nine)
    markers = {fn.number: fn.marker for fn in doc.footnotes}
    assert sorted(markers) == list(range(1, 10)) and None not in markers.values()
    notes = {c.footnote_number: c for c in chunks if c.kind == "footnote"}
    for chunk in body(chunks):
        start = clean_start(doc, chunk)
        expected = sorted(n for n, m in markers.items() if start <= m < start + len(chunk.text))
        assert chunk.footnotes == expected
        for n in chunk.footnotes:
            assert notes[n].section == chunk.section  # the note sits under its marker's heading
    assert {n for c in body(chunks) for n in c.footnotes} == set(range(1, 10))


# ---- stable ids ------------------------------------------------------------------------------


def test_ids_are_unique_and_stable_across_builds(raw: RawDocument) -> None:
    settings = Settings()
    first = chunk_raw_documents([raw], settings)
    second = chunk_raw_documents([load_file(Path(raw.source))], settings)
    ids = [c.chunk_id for c in first]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("eu-geopolitiek-kamerbrief:") for i in ids)
    assert ids == [c.chunk_id for c in second]
    assert first == second


def test_ids_survive_adding_an_unrelated_document(raw: RawDocument, tmp_path: Path) -> None:
    (tmp_path / "garden.txt").write_text(UNRELATED, encoding="utf-8")
    alone = chunk_raw_documents([raw], Settings())
    together = chunk_raw_documents([raw, *load_paths([tmp_path])], Settings())
    letter = [c for c in together if c.doc_id == raw.doc_id]
    assert [c.chunk_id for c in letter] == [c.chunk_id for c in alone]
    garden = [c for c in together if c.doc_id == "garden"]
    assert garden and not {c.chunk_id for c in garden} & {c.chunk_id for c in alone}


def test_an_edit_changes_only_the_ids_of_passages_holding_it(raw: RawDocument) -> None:
    edited = raw.model_copy(update={"text": raw.text.replace("EU-Mercosur", "EU-Mercosul")})
    before = chunk_raw_documents([raw], Settings())
    after = chunk_raw_documents([edited], Settings())
    changed = {c.chunk_id for c in before} - {c.chunk_id for c in after}
    assert changed == {c.chunk_id for c in before if "Mercosur" in c.text}
    assert len(changed) == 1


# ---- markdown, lists and numbered headings ----------------------------------------------------

MARKDOWN = """\
# Defensie en handel

Dit is een korte notitie over defensie. De regering wil meer uitgeven.

## Maatregelen

Het kabinet neemt de volgende maatregelen:

1. Verhoog de uitgaven aan defensie
2. Investeer in de defensie-industrie
3. Werk samen met partners

Daarna volgt een evaluatie. Die komt in 2026.

## Handel

De EU sluit handelsakkoorden met Zuid-Amerika. Het Mercosur-akkoord is een voorbeeld.
"""


def test_markdown_headings_become_sections(tmp_path: Path) -> None:
    (tmp_path / "notitie.md").write_text(MARKDOWN, encoding="utf-8")
    chunks = chunk_raw_documents(load_paths([tmp_path]), Settings())
    by_section: dict[str, str] = {}
    for chunk in chunks:
        by_section[chunk.section] = by_section.get(chunk.section, "") + chunk.text + "\n"
    assert list(by_section) == ["Defensie en handel", "Maatregelen", "Handel"]
    assert "korte notitie" in by_section["Defensie en handel"]
    assert "Mercosur-akkoord" in by_section["Handel"]
    # a numbered list is text of its section, not a row of headings (nothing is lost)
    for item in ("1. Verhoog de uitgaven", "2. Investeer in", "3. Werk samen", "evaluatie"):
        assert item in by_section["Maatregelen"], item
    lines = MARKDOWN.split("\n")
    for chunk in chunks:
        first_word = chunk.text.split()[0]
        assert first_word in lines[chunk.line_start - 1]


def test_numbered_headings_in_plain_text_stay_headings(tmp_path: Path) -> None:
    intro = (
        "Deze notitie gaat over de handelspolitiek van de Europese Unie en over de inzet\n"
        "van het kabinet in de komende jaren. Zij is bewust kort gehouden.\n"
    )
    trade = (
        "Het recente Mercosur-akkoord vergroot de markttoegang voor Europese bedrijven en\n"
        "draagt bij aan de diversificatie van aanvoerketens en leveranciers.\n"
    )
    # (a blank line after each: index.clean reads "1. Inleiding" + text as one sentence)
    text = f"1. Inleiding\n\n{intro}\n2. Handel met Zuid-Amerika\n\n{trade}"
    (tmp_path / "genummerd.txt").write_text(text, encoding="utf-8")
    chunks = chunk_raw_documents(load_paths([tmp_path]), Settings())
    assert [(c.section, c.text) for c in chunks] == [
        ("1. Inleiding", " ".join(intro.split())),
        ("2. Handel met Zuid-Amerika", " ".join(trade.split())),
    ]
