"""A whole conversation as a Word document (python-docx), for pasting into a note.

The same content as the Markdown export (`ui.export_text`): a heading per question, the
answer with its citation markers, each source's document, line range and grounding label,
the quoted sentence(s) in Word's "Quote" style, refusals marked with their closest
passages. python-docx is imported when a document is made, not when the UI starts.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence
from typing import Any

from rag.types import Answer
from ui.export_text import (
    CLOSEST_SHOWN,
    answer_blocks,
    citation_where,
    count_questions,
    export_date,
    footnote_marks,
    footnote_numbers,
    grounding_label,
    one_line,
    passage_where,
    plain,
    words,
)


def conversation_docx(
    answers: Sequence[Answer], *, title: str, lang: str, when: datetime.date | None = None
) -> bytes:
    """The conversation as the bytes of a .docx file."""
    import docx  # python-docx

    w = words(lang)
    document = docx.Document()
    heading = one_line(title) or w["conversation"]
    document.core_properties.title = heading
    document.add_heading(heading, level=0)
    intro = document.add_paragraph()
    intro.add_run(
        f"{export_date(lang, when)} · {count_questions(len(answers), lang)}"
    ).italic = True
    for n, answer in enumerate(answers, start=1):
        document.add_heading(f"{w['question']} {n}. {one_line(answer.question)}", level=1)
        _add_turn(document, answer, lang)
    if any(a.citations for a in answers):
        legend = document.add_paragraph()
        legend.add_run(w["legend"]).italic = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _add_turn(document: Any, answer: Answer, lang: str) -> None:
    """One answer (or refusal), its warning and its sources."""
    w = words(lang)
    notes = footnote_numbers(answer)
    if answer.refused:
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{w['refused']}: ").bold = True
        paragraph.add_run(one_line(answer.answer))
    else:
        for marker, body in answer_blocks(answer.answer):
            body = footnote_marks(body, notes)
            if marker == "-":
                document.add_paragraph(body, style="List Bullet")
            else:  # numbered items keep their own number (Word's would restart or run on)
                document.add_paragraph(f"{marker} {body}" if marker else body)
    if answer.unsupported_answer:
        document.add_paragraph().add_run(w["unsupported_answer"]).italic = True
    if answer.citations:
        document.add_heading(w["sources"], level=2)
        for c in answer.citations:
            where = document.add_paragraph()
            where.add_run(f"[{c.marker}] ").bold = True
            where.add_run(citation_where(c, lang))
            where.add_run(f" · {grounding_label(c, answer.sentences, lang)}").italic = True
            quote = footnote_marks(plain(c.quote).strip(), notes)
            document.add_paragraph(quote, style="Quote")
    elif answer.refused and answer.passages:
        document.add_heading(w["closest"], level=2)
        for n, hit in enumerate(answer.passages[:CLOSEST_SHOWN], start=1):
            document.add_paragraph(f"{w['passage']} {n}: {passage_where(hit, lang)}")
            document.add_paragraph(plain(hit.chunk.text).strip(), style="Quote")
