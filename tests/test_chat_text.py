"""What the chat, its copies, the briefing and `rag ask` say, on the real letter index:
markers numbered from [1], footnote numbers raised instead of glued to a word ("bij.6"),
the asked-for countries said once, conversation names and export files cut between
words."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from rag.pipeline import Pipeline
from rag.types import Answer, AnswerSpan, Citation, SentenceVerdict
from ui import export
from ui.briefing import make_briefing
from ui.chat import respond
from ui.cli import main
from ui.conversations import MAX_NAME, clean_name, load
from ui.export import answer_markdown, answer_plain_text, export_conversation
from ui.footnote_stream import FootnoteStream
from ui.numbering import renumbered
from ui.options import AskOptions

MERCOSUR = "What does the letter say about the EU-Mercosur agreement?"
COUNTRIES = "With which countries does the EU negotiate trade agreements?"
GLUED = re.compile(r"bij\.6\b")


def final(pipeline: Pipeline, question: str):
    *_, view = respond(pipeline, question, [], AskOptions.defaults(pipeline), "en")
    return view


def test_chat_markers_start_at_one_and_follow_the_text(pipeline: Pipeline) -> None:
    raw = pipeline.ask("What does the letter say about China?")
    assert raw.citations and min(c.marker for c in raw.citations) > 1, "pick a question whose "
    "raw markers do not start at 1, or this test checks nothing"
    answer = final(pipeline, "What does the letter say about China?").answers[-1]
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)]
    assert numbers and numbers[0] == 1
    assert sorted(set(numbers)) == list(range(1, len(set(numbers)) + 1))
    assert [c.marker for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    # the same passages and quotes, only renumbered
    assert {c.chunk_id for c in answer.citations} == {c.chunk_id for c in raw.citations}
    assert all(m in numbers for s in answer.sentences for m in s.markers)
    assert renumbered(answer) is answer  # already in reading order


def test_footnote_numbers_are_raised_in_copies_and_briefings(pipeline: Pipeline) -> None:
    answer = final(pipeline, MERCOSUR).answers[-1]
    assert "bij.6" in answer.answer, "the letter's footnote 6 should be in this answer"
    for copy in (answer_plain_text(answer, "en"), answer_markdown(answer, "en")):
        assert not GLUED.search(copy) and "bij.⁶" in copy
    html, path, _ = make_briefing(pipeline, "Handel", AskOptions.defaults(pipeline), "nl")
    assert 'bij.<sup class="fn">6</sup>' in html and not GLUED.search(html)
    assert path and "bij.⁶" in Path(path).read_text(encoding="utf-8")
    assert "2035" in answer_plain_text(final(pipeline, "Wat is de NAVO-norm voor 2035?")
                                       .answers[-1], "nl")  # figures stay as they are  # fmt: skip


def test_cli_says_the_countries_once_and_raises_footnotes(built_index) -> None:
    settings, _ = built_index
    index = ["--index", str(settings.index.path)]
    result = CliRunner().invoke(main, [*index, "ask", COUNTRIES])
    assert result.exit_code == 0, result.output
    assert result.output.count("Countries named:") == 1, result.output
    streamed = CliRunner().invoke(main, [*index, "ask", MERCOSUR])
    assert streamed.exit_code == 0, streamed.output
    assert "bij.⁶ [1]" in streamed.output and not GLUED.search(streamed.output)
    briefing = CliRunner().invoke(main, [*index, "brief", "handel"])
    assert briefing.exit_code == 0, briefing.output
    assert "bij.⁶" in briefing.output and not GLUED.search(briefing.output)


def test_names_and_export_files_are_cut_between_words(pipeline: Pipeline) -> None:
    long = "Wat zegt de brief over de samenwerking tussen de Europese Unie en de " * 3
    name = clean_name(long)
    assert len(name) <= MAX_NAME and name.endswith("…")
    assert long.startswith(name.removesuffix("…")) and long[len(name) - 1] == " "
    answer = final(pipeline, MERCOSUR).answers
    path = Path(export_conversation(answer, title=name, lang="nl", fmt="md"))
    slug = path.stem.removeprefix("gesprek-")
    assert len(slug) <= export.SLUG_MAX
    assert "wat-zegt-de-brief-over-de-samenwerking-tussen-de-europese".startswith(slug), slug


def test_renumbering_follows_the_text_and_saved_chats_are_renumbered() -> None:
    def citation(marker: int, chunk: str) -> Citation:
        return Citation(
            marker=marker, chunk_id=chunk, document="d.txt", section="", lines=(1, 2), quote=chunk
        )

    answer = Answer(
        question="q",
        language="en",
        answer="First [3]. Then [5, 3]. A year [2025] stays.",
        refused=False,
        backend="extractive",
        citations=[citation(5, "five"), citation(3, "three")],
        sentences=[SentenceVerdict(text="Then", markers=[5, 3], supported=True, support=1.0)],
        spans=[AnswerSpan(kind="figures", source=["x"], shown=["x"], marker=5)],
    )
    new = renumbered(answer)
    assert new.answer == "First [1]. Then [2, 1]. A year [2025] stays."
    assert [(c.marker, c.chunk_id) for c in new.citations] == [(1, "three"), (2, "five")]
    assert new.sentences[0].markers == [2, 1] and new.spans[0].marker == 2
    saved = {"conversations": [{"id": "a1", "name": "n", "answers": [answer.model_dump()]}]}
    loaded = load(saved).conversations[0].answers[0]
    assert loaded.answer == new.answer


def test_streamed_text_raises_only_the_index_footnotes(pipeline: Pipeline) -> None:
    stream = FootnoteStream(pipeline.store.chunks)
    pieces = ["dragen hieraan bi", "j.", "6 [1] en F1", "6 vliegt; bij.", "7"]
    out = "".join(stream.feed(p) for p in pieces) + stream.flush()
    assert out == "dragen hieraan bij.⁶ [1] en F16 vliegt; bij.7"  # 7: not glued there
