"""Exports of answers and whole conversations (ui.export): Markdown, plain text and
Word, on real answers from the pipeline over the bundled letter (a question, a
follow-up, an English question and a refusal), opened back with python-docx."""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path

import docx
import pytest

from rag.pipeline import Pipeline
from rag.types import Answer, Citation, SentenceVerdict
from ui import export
from ui.export import (
    answer_markdown,
    answer_plain_text,
    conversation_docx,
    conversation_markdown,
    export_conversation,
)
from ui.export_text import footnote_marks, footnote_numbers

QUESTION = "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"
FOLLOW_UP = "En wat zegt de brief over handel?"
ENGLISH = "What does the letter say about the EU-Mercosur agreement?"
OFF_TOPIC = "Wat is het beste recept voor appeltaart met kaneel?"
DAY = datetime.date(2026, 11, 29)
TAG = re.compile(r"<\s*/?\s*[A-Za-z!]")
ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);")


@pytest.fixture(scope="module")
def answers(pipeline: Pipeline) -> list[Answer]:
    first = pipeline.ask(QUESTION)
    follow = pipeline.ask(FOLLOW_UP, history=[(first.question, first.answer)])
    english = pipeline.ask(ENGLISH)
    refusal = pipeline.ask(OFF_TOPIC)
    assert not first.refused and first.citations, first.answer
    assert not follow.refused and follow.citations, follow.answer
    assert refusal.refused and refusal.passages, refusal.answer
    return [first, follow, english, refusal]


def no_html(text: str) -> None:
    assert not TAG.search(text), TAG.search(text)
    assert not ENTITY.search(text), ENTITY.search(text)


def verbatim(citation: Citation, answer: Answer) -> str:
    """A quote as exports show it: verbatim, its footnote references raised ("bij.⁶")."""
    return footnote_marks(citation.quote.strip(), footnote_numbers(answer))


def unquoted(markdown: str) -> str:
    """The text of all Markdown blockquotes, their "> " prefixes removed."""
    lines = [line for line in markdown.split("\n") if line.startswith(">")]
    return "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in lines)


def where(citation: Citation, word: str = "regels") -> str:
    first, last = citation.lines
    return f"{word} {first}–{last}" if first != last else f"{word[:-1]} {first}"


# ---- Markdown ---------------------------------------------------------------------------


def test_conversation_markdown_has_every_turn_with_verbatim_quotes(answers):
    md = conversation_markdown(answers, title="Defensie en handel", lang="nl", when=DAY)
    assert md.startswith("# Defensie en handel\n")
    assert "Geëxporteerd op 29 november 2026 · 4 vragen" in md
    for n, answer in enumerate(answers, start=1):
        assert f"## Vraag {n}. {answer.question}" in md
    quoted = unquoted(md)
    for answer in answers:
        for c in answer.citations:
            assert verbatim(c, answer) in quoted
            assert f"[{c.marker}] {c.document}, {where(c)}" in md
            assert c.section in md
    assert "[1]" in md.split("**Bronnen**")[0], "the answer keeps its citation markers"
    no_html(md)


def test_refusal_is_marked_with_its_closest_passages_whole(answers):
    refusal = answers[-1]
    md = conversation_markdown([refusal], title="x", lang="nl", when=DAY)
    assert f"**Geen antwoord uit de documenten:** {refusal.answer}" in md
    assert "**Dichtstbijzijnde passages" in md
    assert "**Bronnen**" not in md
    quoted = unquoted(md)
    for hit in refusal.passages[:3]:
        assert hit.chunk.text.strip() in quoted  # whole, not cut at 150 characters
    if len(refusal.passages) > 3:
        assert refusal.passages[3].chunk.text.strip() not in quoted, "three are offered"


def test_english_labels_follow_the_interface_language(answers):
    md = conversation_markdown(answers, title="", lang="en", when=DAY)
    assert md.startswith("# Conversation\n")
    assert "Exported on 29 November 2026 · 4 questions" in md
    assert "## Question 2. " + FOLLOW_UP in md
    assert "**Sources**" in md and "**Bronnen**" not in md
    assert "**No answer from the documents:**" in md
    c = answers[0].citations[0]
    assert f"{c.document}, {where(c, 'lines')}" in md


def grounding_labels(md: str, label: str) -> int:
    return len(re.findall(rf"^\[\d+\] .* · \*{re.escape(label)}", md, re.M))


def test_quoted_verbatim_only_where_the_verifier_found_the_quote(answers):
    answer = answers[0]
    quoted = {m for v in answer.sentences if v.grounding == "quote" for m in v.markers}
    md = answer_markdown(answer, "en")
    assert grounding_labels(md, "quoted verbatim") == len(
        [c for c in answer.citations if c.marker in quoted]
    )
    # the same citations, but the verifier only scored the sentences: no "verbatim" claim
    scored = [v.model_copy(update={"grounding": "supported"}) for v in answer.sentences]
    md = answer_markdown(answer.model_copy(update={"sentences": scored}), "en")
    assert grounding_labels(md, "quoted verbatim") == 0
    assert grounding_labels(md, "supported (verifier score") == len(answer.citations)
    weak = [
        v.model_copy(update={"grounding": "unsupported", "supported": False, "support": 0.31})
        for v in answer.sentences
    ]
    md = answer_markdown(answer.model_copy(update={"sentences": weak}), "nl")
    assert grounding_labels(md, "niet ondersteund (controlescore 0,31)") == len(answer.citations)


# ---- per-message copy -------------------------------------------------------------------


def test_per_message_copy_is_markdown_or_plain_text_never_html(answers):
    for answer in answers:
        md = answer_markdown(answer, "nl")
        text = answer_plain_text(answer, "nl")
        no_html(md)
        no_html(text)
        assert "**" not in text and "\n> " not in text
        for c in answer.citations:
            assert verbatim(c, answer) in unquoted(md)
            assert f"“{verbatim(c, answer)}”" in text
            assert f"[{c.marker}] {c.document}, {where(c)}" in text
        if not answer.refused:
            assert "[1]" in text.split("Bronnen:")[0]
    assert answer_plain_text(answers[-1], "en").startswith("No answer from the documents: ")


def test_markup_in_questions_answers_and_sources_never_reaches_an_export(answers):
    hostile = Answer(
        question="<script>alert(1)</script>Wat &amp; waarom?",
        language="nl",
        answer='<div class="answer"><p>Volgens de tekst &#40;zie bron&#41; [1]</p></div>',
        refused=False,
        backend="test",
        citations=[
            Citation(
                marker=1,
                chunk_id="x:1",
                document="<b>brief</b>.txt",
                section="Handel",
                lines=(3, 4),
                quote="Dit is <img src=x onerror=alert(1)>een zin &lt;b&gt;met&lt;/b&gt; opmaak.",
            )
        ],
        sentences=[SentenceVerdict(text="x", markers=[1], supported=True, support=1.0)],
    )
    outputs = [
        answer_markdown(hostile, "nl"),
        answer_plain_text(hostile, "nl"),
        conversation_markdown([hostile], title="<i>t</i>", lang="nl", when=DAY),
    ]
    for out in outputs:
        no_html(out)
        assert "Volgens de tekst (zie bron) [1]" in out
        assert "Dit is een zin met opmaak." in out
    assert "## Vraag 1. Wat & waarom?" in outputs[2]
    body = "\n".join(p.text for p in _open(conversation_docx([hostile], title="t", lang="nl")))
    no_html(body)
    assert "Dit is een zin met opmaak." in body


# ---- Word -------------------------------------------------------------------------------


def _open(data: bytes) -> list:
    return list(docx.Document(io.BytesIO(data)).paragraphs)


def test_conversation_docx_has_headings_quotes_and_line_references(answers):
    data = conversation_docx(answers, title="Defensie en handel", lang="nl", when=DAY)
    paragraphs = _open(data)
    styles = {p.style.name for p in paragraphs}
    assert {"Title", "Heading 1", "Heading 2", "Quote"} <= styles
    assert paragraphs[0].text == "Defensie en handel" and paragraphs[0].style.name == "Title"
    headings = [p.text for p in paragraphs if p.style.name == "Heading 1"]
    assert headings == [f"Vraag {n}. {a.question}" for n, a in enumerate(answers, start=1)]
    quotes = [p.text for p in paragraphs if p.style.name == "Quote"]
    cited = [c for a in answers for c in a.citations]
    closest = [h.chunk.text.strip() for h in answers[-1].passages[:3]]
    shown = [verbatim(c, a) for a in answers for c in a.citations]
    assert quotes == shown + closest
    body = "\n".join(p.text for p in paragraphs)
    for c in cited:
        assert f"[{c.marker}] {c.document}, {where(c)}" in body
    first_turn = [p.text for p in paragraphs[2:]]
    first_turn = first_turn[1 : first_turn.index("Bronnen")]
    assert first_turn and "[1]" in "\n".join(first_turn), "the answer keeps its markers"
    assert "Geen antwoord uit de documenten: " + answers[-1].answer in body
    assert "letterlijk geciteerd" in body
    no_html(body)


# ---- files ------------------------------------------------------------------------------


def test_export_files_are_named_safely_inside_the_private_folder(answers):
    folder = export.export_dir().resolve()
    assert folder.stat().st_mode & 0o077 == 0, "the export folder is private"
    for fmt in ("md", "docx"):
        path = Path(export_conversation(answers, title="Défense & handel", lang="nl", fmt=fmt))
        assert path.name == f"gesprek-defense-handel.{fmt}"
        assert path.resolve().parent.parent == folder
    md = Path(export_conversation(answers, title="x", lang="nl", fmt="md", when=DAY))
    assert md.read_text(encoding="utf-8") == conversation_markdown(
        answers, title="x", lang="nl", when=DAY
    )
    docx_path = Path(export_conversation(answers, title="x", lang="en", fmt="docx"))
    assert docx_path.name == "conversation-x.docx"
    assert any(p.style.name == "Quote" for p in _open(docx_path.read_bytes()))
    for title in ("../../etc/passwd", "/tmp/evil", "a" * 500, "..", "", "\x00\n"):
        path = Path(export_conversation(answers[:1], title=title, lang="en", fmt="md"))
        assert path.resolve().parent.parent == folder, title
        assert len(path.name) <= len("conversation-") + export.SLUG_MAX + len(".md")
        assert re.fullmatch(r"conversation-[a-z0-9-]+\.md", path.name), path.name


def test_same_title_different_conversations_get_different_files(answers):
    one = export_conversation(answers[:1], title="Notitie", lang="nl", fmt="md", when=DAY)
    two = export_conversation(answers[1:2], title="Notitie", lang="nl", fmt="md", when=DAY)
    again = export_conversation(answers[:1], title="Notitie", lang="nl", fmt="md", when=DAY)
    assert one != two and one == again
    assert Path(one).read_text(encoding="utf-8") != Path(two).read_text(encoding="utf-8")


def test_list_items_keep_their_bullets_and_numbers():
    answer = Answer(
        question="Welke stappen?",
        language="nl",
        answer="Stappen:\n1. eerst dit [1]\n2. dan dat [1]\n- en verder **dit**",
        refused=False,
        backend="test",
    )
    md = answer_markdown(answer, "nl")
    assert "Stappen:\n\n1. eerst dit [1]\n2. dan dat [1]\n- en verder **dit**" in md
    assert answer_plain_text(answer, "nl") == (
        "Stappen:\n1. eerst dit [1]\n2. dan dat [1]\n- en verder dit\n"
    )
    paragraphs = _open(conversation_docx([answer], title="t", lang="nl"))
    texts = [(p.style.name, p.text) for p in paragraphs]
    assert ("Normal", "1. eerst dit [1]") in texts and ("List Bullet", "en verder **dit**") in texts
