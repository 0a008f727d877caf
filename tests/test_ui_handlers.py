"""The web UI's handler functions (ui.chat, ui.briefing, ui.documents, ui.markup,
ui.export, ui.options), called directly (no server) on a real pipeline over the letter."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from assembly.library import open_pipeline
from rag.errors import ConfigError
from rag.pipeline import Pipeline
from rag.settings import ModelEndpoint, Settings
from rag.types import Answer, Briefing, BriefingPoint, Chunk, Citation, Hit, SentenceVerdict
from ui.briefing import briefing_html, make_briefing
from ui.chat import ChatView, chat_messages, history_of, respond, source_panel
from ui.documents import delete_document, document_ids, documents_rows, upload_document
from ui.export import answer_markdown
from ui.markup import answer_html, citation_html, highlight, passage_html
from ui.options import AskOptions, pipeline_for

DUTCH_QUESTION = (
    "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"
)
ENGLISH_QUESTION = "What does the letter say about the EU-Mercosur agreement?"
OFF_TOPIC = "Wat is het beste recept voor appeltaart met kaneel?"
EVIL = "<script>alert(1)</script>"
EVIL_IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    settings = Settings(index={"path": tmp_path_factory.mktemp("ui-index")})
    return open_pipeline(settings, build_if_missing=True)


@pytest.fixture(scope="session")
def options(pipeline: Pipeline) -> AskOptions:
    return AskOptions.defaults(pipeline)


def final(views: list[ChatView]) -> ChatView:
    assert views, "respond yielded nothing"
    assert views[-1].done
    return views[-1]


def ask(pipeline: Pipeline, question: str, options: AskOptions, answers=()) -> ChatView:
    return final(list(respond(pipeline, question, list(answers), options)))


def marked(html_text: str) -> list[str]:
    """The highlighted text (footnote numbers shown as superscripts count as text)."""
    found = re.findall(r"<mark>(.*?)</mark>", html_text, re.S)
    return [html.unescape(re.sub(r"</?sup[^>]*>", "", m)) for m in found]


def no_tags(fragment: str) -> None:
    """The dangerous markup appears only as escaped text, never as a tag."""
    lowered = fragment.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    assert "onerror=" not in lowered  # '=' is escaped, so not even as an attribute text


# ---- chat -------------------------------------------------------------------------------


def test_question_streams_an_answer_with_citations(pipeline, options):
    views = list(respond(pipeline, DUTCH_QUESTION, [], options))
    assert any(not v.done for v in views), "the answer is streamed in steps"
    view = final(views)
    answer = view.answers[-1]
    assert not answer.refused
    assert answer.citations
    assert [m["role"] for m in view.messages] == ["user", "assistant"]
    assert 'class="cite"' in view.messages[1]["content"]
    assert view.choices and view.selected == view.choices[0][1]
    assert "<mark>" in view.panel


def test_selecting_a_citation_shows_the_passage_with_the_quote_highlighted(pipeline, options):
    view = ask(pipeline, ENGLISH_QUESTION, options)
    answer = view.answers[-1]
    assert answer.citations, answer.answer
    for citation in answer.citations:
        panel = source_panel(pipeline, view.answers, f"0:{citation.marker}")
        assert f"lines {citation.lines[0]}–{citation.lines[1]}" in panel
        assert html.escape(citation.document, quote=False) in html.unescape(panel)
        highlighted = marked(panel)
        assert highlighted, f"nothing highlighted for [{citation.marker}]"
        quote = " ".join(citation.quote.split())
        for piece in highlighted:
            assert " ".join(piece.split()) in quote


def test_follow_up_question_keeps_the_conversation(pipeline, options):
    first = ask(pipeline, DUTCH_QUESTION, options)
    second = ask(pipeline, "En wat zegt de brief over handel?", options, first.answers)
    assert len(second.answers) == 2
    assert [m["role"] for m in second.messages] == ["user", "assistant"] * 2
    assert second.choices and all(ref.startswith("1:") for _, ref in second.choices)
    assert history_of(second.answers)[0] == (DUTCH_QUESTION, first.answers[0].answer)


def test_empty_question_gives_a_friendly_message(pipeline, options):
    view = ask(pipeline, "   ", options)
    assert view.notice and "question" in view.notice.lower()
    assert view.messages == [] and view.answers == []


def test_off_topic_question_is_refused_and_looks_like_a_refusal(pipeline, options):
    view = ask(pipeline, OFF_TOPIC, options)
    answer = view.answers[-1]
    assert answer.refused, answer.answer
    content = view.messages[-1]["content"]
    assert 'class="refusal"' in content
    assert 'class="answer"' not in content
    if answer.passages:
        assert "Closest passages" in content
        assert all(":p" in ref for _, ref in view.choices)
        assert "Closest passage" in view.panel


def test_refusal_rendering_is_distinct(pipeline):
    chunk = pipeline.store.chunks[0]
    refused = Answer(
        question="q",
        language="en",
        answer="The documents do not answer this question.",
        refused=True,
        backend="extractive",
        passages=[Hit(chunk=chunk, score=0.1, rank=1)],
    )
    content = answer_html(refused, 0)
    assert content.startswith('<div class="refusal">')
    assert 'href="#cite-0-p1"' in content
    assert "Closest passage 1" in source_panel(pipeline, [refused], "0:p1")


# ---- escaping ---------------------------------------------------------------------------


def test_model_output_with_html_is_escaped():
    answer = Answer(
        question=f"Why {EVIL}?",
        language="en",
        answer=f"Because {EVIL} [1]. And {EVIL_IMG} [1].",
        refused=False,
        backend="openai",
        citations=[
            Citation(
                marker=1,
                chunk_id="x",
                document=f"{EVIL_IMG}.txt",
                section=EVIL,
                lines=(1, 2),
                quote=f"Quote {EVIL}",
            )
        ],
        sentences=[
            SentenceVerdict(text=f"Because {EVIL}.", markers=[1], supported=True, support=0.9),
            SentenceVerdict(text=f"And {EVIL_IMG}.", markers=[1], supported=False, support=0.1),
        ],
    )
    content = answer_html(answer, 0)
    no_tags(content)
    assert 'class="unsupported"' in content and "⚠" in content
    no_tags(chat_messages([answer])[0]["content"])
    panel = citation_html(answer.citations[0], None)
    no_tags(panel)
    assert EVIL in html.unescape(panel)


def test_document_with_html_is_shown_as_text(pipeline, options, tmp_path):
    evil = tmp_path / "evil-notes.txt"
    evil.write_text(
        "Geheime notities\n\n"
        f"Het codewoord van project Zeemeeuw is Pimpernel {EVIL} en verder niets.\n"
        f"De vuurtoren van Westkapelle-Zuid kreeg in 2031 een nieuwe lamp {EVIL_IMG} erbij.\n",
        encoding="utf-8",
    )
    before = documents_rows(pipeline)
    ok, message = upload_document(pipeline, evil, max_mb=1)
    assert ok, message
    try:
        chunks = [c for c in pipeline.store.chunks if c.doc_id == "evil-notes"]
        assert chunks
        for chunk in chunks:
            panel = passage_html(chunk, quote=chunk.text[:40], heading="t")
            no_tags(panel)
            assert "&#60;script&#62;" in panel or "&#60;img" in panel
        view = ask(pipeline, "Wat is het codewoord van project Zeemeeuw?", options)
        for message_ in view.messages:
            no_tags(message_["content"])
        for _, ref in view.choices:
            no_tags(source_panel(pipeline, view.answers, ref))
    finally:
        ok, message = delete_document(pipeline, "evil-notes")
        assert ok, message
    assert documents_rows(pipeline) == before


def test_briefing_with_html_is_escaped():
    briefing = Briefing(
        topic=EVIL,
        language="en",
        backend="extractive",
        points=[BriefingPoint(section=EVIL_IMG, text=f"Point {EVIL}", markers=[1])],
        citations=[
            Citation(
                marker=1, chunk_id="x", document="d.txt", section="", lines=(1, 1), quote=EVIL_IMG
            )
        ],
        markdown="",
    )
    shown = briefing_html(briefing)
    no_tags(shown)
    assert EVIL in html.unescape(shown)


def test_highlight_escapes_and_marks_the_quote():
    text = f"First sentence {EVIL}. Second sentence here."
    chunk = Chunk.of_text("c", "d", text)
    out = highlight(chunk, "Second sentence here.")
    no_tags(out)
    assert marked(out) == ["Second sentence here."]


# ---- uploads ----------------------------------------------------------------------------


def test_upload_that_fails_to_parse_leaves_the_index_unchanged(pipeline, tmp_path):
    before = documents_rows(pipeline)
    store = pipeline.store
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf \x00\x01\x02")
    ok, message = upload_document(pipeline, broken, max_mb=1)
    assert not ok and "broken.pdf" in message and "not changed" in message
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 10)
    ok, message = upload_document(pipeline, binary, max_mb=1)
    assert not ok and "binary.txt" in message
    assert documents_rows(pipeline) == before
    assert pipeline.store is store


def test_oversize_or_wrong_type_upload_is_refused(pipeline, tmp_path):
    before = documents_rows(pipeline)
    docx = tmp_path / "report.docx"
    docx.write_bytes(b"PK\x03\x04 not allowed")
    ok, message = upload_document(pipeline, docx, max_mb=1)
    assert not ok and ".docx" in message and ".pdf" in message
    big = tmp_path / "big.txt"
    big.write_text("Een zin over niets. " * 20_000, encoding="utf-8")
    ok, message = upload_document(pipeline, big, max_mb=0.1)
    assert not ok and "limit" in message and "0.1 MB" in message
    ok, message = upload_document(pipeline, None, max_mb=1)
    assert not ok
    assert documents_rows(pipeline) == before


def test_removing_needs_a_known_document_and_keeps_the_last_one(pipeline):
    ok, message = delete_document(pipeline, "does-not-exist")
    assert not ok
    if len(document_ids(pipeline)) == 1:
        ok, message = delete_document(pipeline, document_ids(pipeline)[0])
        assert not ok and "only" in message


# ---- briefing, export, settings ---------------------------------------------------------


def test_briefing_is_cited_and_exportable(pipeline, options):
    shown, path, notice = make_briefing(pipeline, "economische veiligheid", options)
    assert not notice
    exported = Path(path).read_text(encoding="utf-8")
    assert re.search(r"\[\d+\]", exported) and ">" in exported  # markers and quotes
    # Markers are links to their source in the list below (clickable like the chat's).
    links = re.findall(r'<a class="bcite" href="#brief-src-(\d+)"', shown)
    assert links and all(f'<li id="brief-src-{n}">' in shown for n in links)
    assert '<blockquote lang="nl">' in shown  # Dutch quotes are marked Dutch


def test_copied_answer_contains_citations_and_quotes(pipeline, options):
    view = ask(pipeline, DUTCH_QUESTION, options)
    text = answer_markdown(view.answers[-1], "nl")
    assert view.answers[-1].citations
    for citation in view.answers[-1].citations:
        assert citation.quote.split("\n")[0][:40] in text


def test_other_endpoint_uses_a_copy_of_the_settings(pipeline):
    same = pipeline_for(pipeline, AskOptions.defaults(pipeline))
    assert same is pipeline
    lab = ModelEndpoint(name="lab", base_url="http://127.0.0.1:9/v1", model="some-model")
    configured = pipeline.with_generation(endpoints=[lab], api_key=SecretStr("server-secret"))
    other = pipeline_for(configured, AskOptions("openai", lab.base_url, lab.model, 3))
    assert other is not configured
    assert other.settings.generation.model == "some-model"
    assert pipeline.settings.generation.model != "some-model"
    assert other.store is pipeline.store
    assert other.settings.generation.api_key is None  # the server's key stays with its server


@pytest.mark.parametrize(
    ("url", "model"),
    [
        ("http://127.0.0.1:9/v1", "some-model"),  # a typed URL nobody configured
        ("http://169.254.169.254/latest", ""),
        ("", "/etc/passwd"),  # a typed file path as the model
    ],
)
def test_an_endpoint_or_path_the_operator_did_not_configure_is_refused(pipeline, url, model):
    with pytest.raises(ConfigError, match="not one this app offers"):
        pipeline_for(pipeline, AskOptions("openai", url, model, 3))


def test_each_instance_gets_its_own_upload_folder(monkeypatch):
    from ui.serve import private_upload_folder

    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    first = private_upload_folder()
    monkeypatch.delenv("GRADIO_TEMP_DIR")
    second = private_upload_folder()
    assert first != second and Path(first).is_dir()
    assert Path(first).stat().st_mode & 0o077 == 0  # private to this user
    monkeypatch.setenv("GRADIO_TEMP_DIR", "/srv/operator-choice")
    assert private_upload_folder() == "/srv/operator-choice"


def test_a_refusal_in_the_chat_shows_its_closest_passages_best_sentences(pipeline):
    from ui.chat import chat_messages, closest_of
    from ui.markup import escape_text

    refused = pipeline.ask("Hoeveel kost de nieuwe kerncentrale in Borssele?")
    assert refused.refused, refused.answer
    excerpts = closest_of(pipeline, refused)
    assert excerpts
    message = chat_messages([refused], "nl", pipeline)[1]["content"]
    assert message.count('class="excerpt"') == len(excerpts)
    for excerpt in excerpts:
        assert escape_text(excerpt.text) in message  # whole, not cut
        assert f"regels {excerpt.lines[0]}–{excerpt.lines[1]}" in message
