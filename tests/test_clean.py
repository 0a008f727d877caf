"""Cleaning the bundled letter (and small synthetic texts) into body text + footnotes."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import LETTER_HEADINGS as HEADINGS

from index.clean import clean_document, corpus_vocabulary
from rag.types import Document, RawDocument

LETTER = Path(__file__).resolve().parents[1] / "index" / "corpus" / "eu-geopolitiek-kamerbrief.txt"


def raw_document(text: str, page_starts: list[int] | None = None) -> RawDocument:
    return RawDocument(
        doc_id="x",
        name="x.txt",
        source="x.txt",
        content_hash="h",
        text=text,
        page_starts=page_starts or [],
    )


@pytest.fixture(scope="module")
def letter() -> str:
    return LETTER.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def doc(letter: str) -> Document:
    return clean_document(raw_document(letter))


def alnum(text: str) -> str:
    return re.sub(r"[\W_]", "", text)


# --- de-hyphenation ---------------------------------------------------------------


def test_vocabulary_counts_hyphenated_words_lower_cased(letter: str) -> None:
    vocab = corpus_vocabulary([letter])
    assert vocab["defensie-industrie"] >= 3
    assert vocab["eu-mercosur"] == 1
    assert vocab["energieafhankelijkheid"] == 0  # only ever split over a line break
    assert "EU" not in vocab and vocab["eu"] > 10


def test_line_break_hyphens_are_resolved_by_evidence(doc: Document) -> None:
    assert "De snelle afbouw van de energieafhankelijkheid van Rusland" in doc.text
    assert "energie- afhankelijkheid" not in doc.text
    assert "energie-afhankelijkheid" not in doc.text
    assert "private investeringen in de Europese defensie-industrie.2 Versterken" in doc.text
    assert "defensieindustrie" not in doc.text
    assert "noodgedwongen een midden- tot lange-termijninspanning." in doc.text


def test_hyphen_fallback_rules() -> None:
    raw = (
        "Het recente EU-\nMercosur akkoord, de energie-\nafhankelijkheid, de zee-\negel, "
        "de midden- \ntot lange termijn en de 2020-\n2025 periode.\n"
    )
    text = clean_document(raw_document(raw), Counter()).text
    assert text == (
        "Het recente EU-Mercosur akkoord, de energieafhankelijkheid, de zee-egel, "
        "de midden- tot lange termijn en de 2020-2025 periode."
    )


def test_vocabulary_evidence_beats_the_fallback() -> None:
    raw = "De energie-\nafhankelijkheid en de Noord-\nzee.\n"
    hyphenated = Counter({"energie-afhankelijkheid": 2, "noordzee": 1})
    text = clean_document(raw_document(raw), hyphenated).text
    assert text == "De energie-afhankelijkheid en de Noordzee."


# --- footnotes and page furniture -----------------------------------------------


def test_sentence_cut_by_footnotes_reads_whole(doc: Document) -> None:
    assert (
        "De inzet van het kabinet blijft dan ook gericht op dialoog en samenwerking met de VS"
        in doc.text
    )
    assert "(brede) economische welvaart en maatschappelijke weerbaarheid tegen" in doc.text
    assert "het recente EU-Mercosur akkoord en de lopende onderhandelingen met India" in doc.text
    assert "de financiële en institutionele slagkracht van de instellingen" in doc.text
    for footnote_text in ("Bijlage bij Kamerstuk 21 501-02", "Motie Hoogeveen", "BNC fiche"):
        assert footnote_text not in doc.text


def test_all_footnotes_are_lifted_with_their_text(doc: Document, letter: str) -> None:
    notes = {f.number: f for f in doc.footnotes}
    assert sorted(notes) == list(range(1, 10))
    assert notes[9].text == "Kamerstuk 21501-20-2360"
    assert notes[2].text == "Kamerstuk 21 501-07 nr. 2099"
    assert notes[4].text.endswith("Kamerstuk 21 501-30 nr. 621")
    assert notes[7].text == (
        "Binnen het volgende meerjarig financieel kader (MFK) vormt het Global "
        "Europe-instrument een belangrijk onderdeel van deze toolbox. Het instrument richt "
        "zich onder meer op het versterken van economische relaties, stabiliteit en het "
        "investeringsklimaat in partnerlanden."
    )
    assert notes[5].text.endswith(
        "De Kamer zal hier middels een BNC fiche over worden geïnformeerd."
    )
    raw = raw_document(letter)
    spans = {n: (raw.line_of(f.start), raw.line_of(f.end - 1)) for n, f in notes.items()}
    assert spans[1] == (96, 98)
    assert spans[5] == (215, 216)
    assert spans[7] == (272, 274)
    assert spans[9] == (277, 277)
    for number, note in notes.items():
        assert letter[note.start : note.end].startswith(f"{number} ")


@pytest.mark.parametrize(
    ("number", "before", "after"),
    [
        (1, "buitenlandse handel.", " In deze brief"),
        (2, "Europese defensie-industrie.", " Versterken"),
        (3, "fundamentele rechten te beschermen", ". Deze"),
        (4, "kabinetsvisie EU concurrentievermogen", " moeten"),
        (5, "strategische afhankelijkheden.", "\n\n"),
        (6, "dragen hieraan bij.", " Daarbij"),
        (7, "externe financiering van de EU.", " Deze financiering"),
        (8, "het recente AIV advies.", "\n\n"),
        (9, "efficiëntere besluitvorming.", " Een andere"),
    ],
)
def test_footnote_markers_point_at_their_digit(
    doc: Document, number: int, before: str, after: str
) -> None:
    note = next(f for f in doc.footnotes if f.number == number)
    assert note.marker is not None
    assert doc.text[note.marker] == str(number)
    assert doc.text[: note.marker].endswith(before)
    assert doc.text[note.marker + 1 :].startswith(after)
    assert doc.raw.text[doc.raw_offsets[note.marker]] == str(number)


def test_markers_are_in_order_and_ordinary_numbers_are_not_markers(doc: Document) -> None:
    markers = [f.marker for f in doc.footnotes]
    assert markers == sorted(markers)
    assert "af in 2035 5% van het bbp" in doc.text
    assert "de afgelopen 80 jaar" in doc.text
    assert doc.raw.line_of(doc.raw_offsets[doc.footnotes[0].marker or 0]) == 39


def test_no_urls_in_the_body(doc: Document) -> None:
    assert "http" not in doc.text
    assert "www." not in doc.text
    assert "adviesraadinternationalevraagstukken" not in doc.text


def test_repeated_headers_page_numbers_and_form_feeds_are_dropped() -> None:
    header = "Ministerie van Buitenlandse Zaken | Kamerbrief EU"
    pages = [
        f"{header}\n\nDe eerste pagina met een zin die\ndoorloopt tot op de\n\nPagina 1 van 3\n",
        f"{header}\n\nvolgende pagina. Daar staat nog een alinea.\n\nPagina 2 van 3\n",
        f"{header}\n\nDe laatste pagina.\n\nPagina 3 van 3\n",
    ]
    doc = clean_document(raw_document("\f".join(pages)))
    assert header not in doc.text
    assert "Pagina" not in doc.text
    assert "\f" not in doc.text
    assert "die doorloopt tot op de volgende pagina. Daar staat nog een alinea." in doc.text
    assert doc.text.endswith("De laatste pagina.")


def test_footnotes_before_a_form_feed_are_lifted() -> None:
    pages = [
        "Een zin met een voetnoot.1 En een zin die\nnog niet af is op\n\n"
        "1 De voetnoot, die\nover twee regels loopt.\n",
        "deze pagina.\n\nEen nieuwe alinea.\n",
    ]
    doc = clean_document(raw_document("\f".join(pages)))
    assert doc.text == (
        "Een zin met een voetnoot.1 En een zin die nog niet af is op deze pagina."
        "\n\nEen nieuwe alinea."
    )
    assert [(f.number, f.text) for f in doc.footnotes] == [
        (1, "De voetnoot, die over twee regels loopt.")
    ]
    assert doc.text[doc.footnotes[0].marker or 0] == "1"


def test_letter_with_form_feeds_and_page_starts_cleans_the_same(doc: Document, letter: str) -> None:
    lines = letter.split("\n")
    for line_number in (281, 217, 159, 99):  # where the running text resumes on a new page
        lines.insert(line_number - 1, "\f")
    paged = "\n".join(lines)
    starts = [0] + [m.end() + 1 for m in re.finditer("\f", paged)]
    again = clean_document(raw_document(paged, starts))
    assert again.text == doc.text
    assert [(f.number, f.text, f.marker) for f in again.footnotes] == [
        (f.number, f.text, f.marker) for f in doc.footnotes
    ]


# --- layout: paragraphs and headings --------------------------------------------


def test_headings_stand_on_their_own_line(doc: Document) -> None:
    lines = doc.text.split("\n")
    for heading in HEADINGS:
        assert heading in lines, heading
    following = lines[lines.index("Handel") + 1]
    assert following.startswith("Binnen de handelspilaar steunt het kabinet")
    assert lines[lines.index(HEADINGS[-1]) + 1].startswith("Om de toegenomen uitdagingen")


def test_wrapped_names_are_not_mistaken_for_headings(doc: Document) -> None:
    assert "zijn de Prioritised Capability Areas (PCA’s)." in doc.text
    assert "de minister van Economische Zaken en de staatssecretaris" in doc.text


def test_paragraphs_are_joined_and_whitespace_normalised(doc: Document) -> None:
    text = doc.text
    assert text == text.strip()
    assert "  " not in text and " \n" not in text and "\n " not in text
    assert "\n\n\n" not in text
    assert text.startswith(
        "De wereldorde waarin de EU zich de afgelopen 80 jaar heeft ontwikkeld verandert snel "
        "en blijvend. De EU zal moeten mee veranderen."
    )
    assert "voor een grote opgave.\n\nAanpassing vereist keuzes" in text
    assert text.endswith("De minister van Buitenlandse Zaken,\n\nD.M. van Weel")


def test_markdown_and_plain_text_keep_their_structure() -> None:
    raw = (
        "# Titel\nEen inleiding die\nover twee regels loopt.\n\n## Sectie\n\nLijst:\n"
        "- punt een\n  met vervolg\n- punt twee\n\nEen alinea.\n"
    )
    doc = clean_document(raw_document(raw))
    assert doc.text == (
        "# Titel\nEen inleiding die over twee regels loopt.\n\n## Sectie\n\nLijst:\n"
        "- punt een met vervolg\n- punt twee\n\nEen alinea."
    )
    assert doc.footnotes == []


# --- offsets --------------------------------------------------------------------


def test_offsets_map_every_character_back_to_the_raw_text(doc: Document) -> None:
    raw, text, offsets = doc.raw.text, doc.text, doc.raw_offsets
    assert len(offsets) == len(text)
    assert all(a < b for a, b in zip(offsets, offsets[1:], strict=False))
    for i, char in enumerate(text):
        if char.isspace():
            assert raw[offsets[i]].isspace(), i
        else:
            assert raw[offsets[i]] == char, i


def test_sentence_spans_hold_the_same_words(doc: Document) -> None:
    raw = doc.raw.text
    notes = [(f.start, f.end) for f in doc.footnotes]
    sentences = list(re.finditer(r"[^.!?\n]+[.!?]", doc.text))
    assert len(sentences) > 100
    for m in sentences:
        start, end = doc.raw_span(m.start(), m.end())
        source = raw[start:end]
        wanted = alnum(m.group())
        if any(start < n_end and n_start < end for n_start, n_end in notes):
            found = iter(alnum(source))  # a footnote sits inside: words in order
            assert all(char in found for char in wanted), m.group()
        else:
            assert alnum(source) == wanted, m.group()


def test_pypdf_style_page_bottom_keeps_a_real_paragraph_break() -> None:
    raw = (
        "Eerste alinea met een marker.1 \n \nTweede alinea die \n"
        "eindigt op deze pagina. \n \n\n \n1 Een voetnoot. \n"
        " Derde alinea op de volgende pagina. \n"
    )
    doc = clean_document(raw_document(raw))
    assert doc.text == (
        "Eerste alinea met een marker.1\n\nTweede alinea die eindigt op deze pagina."
        "\n\nDerde alinea op de volgende pagina."
    )
    assert [(f.number, f.text, f.marker) for f in doc.footnotes] == [(1, "Een voetnoot.", 29)]


@pytest.mark.slow
def test_five_megabytes_in_a_few_seconds(letter: str) -> None:
    words = letter.split()
    lines = [" ".join(words[i : i + 12]) + " " for i in range(0, len(words), 12)]
    big_lines = [f"{line}{k} " for k in range(2100) for line in lines[:60]]
    big = "\n \n".join("\n".join(big_lines[i : i + 6]) for i in range(0, len(big_lines), 6))
    assert len(big) > 5_000_000
    began = time.perf_counter()
    doc = clean_document(raw_document(big), corpus_vocabulary([big]))
    assert time.perf_counter() - began < 15
    assert len(doc.text) > 4_000_000
