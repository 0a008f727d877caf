"""The Markdown files the UI offers for download: an answer, or a briefing.

Files go to one temporary folder made when the module is first imported, named after
what they hold (`answer-<question>.md`, `briefing-<topic>.md`), so exporting the same
answer again overwrites its file rather than piling up copies. No Gradio in here.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from rag.render import answer_to_markdown
from rag.types import Answer

_export_dir = Path(tempfile.mkdtemp(prefix="rag-ui-"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "answer"


def save_markdown(kind: str, title: str, markdown: str) -> str:
    """Write `markdown` to "<kind>-<slug of title>.md" in the export folder; its path."""
    path = _export_dir / f"{kind}-{_slug(title)}.md"
    path.write_text(markdown, encoding="utf-8")
    return str(path)


def export_answer(answer: Answer) -> str:
    """Write the answer with its citations and quotes as Markdown; return the file path."""
    return save_markdown("answer", answer.question, answer_to_markdown(answer))
