"""The files the UI offers for download: a briefing (Markdown), a whole conversation
(Markdown or Word); and, re-exported here, the text of those exports
(`ui.export_text`, `ui.export_docx`). A single answer is copied, not downloaded.

Files go to one private temporary folder (mode 0700) made at the first export, inside
the server's own temporary folder when it has one (GRADIO_TEMP_DIR), and removed when the
process exits. Names come from the title, transliterated to ASCII letters, digits and dashes
and cut to `SLUG_MAX` characters, so a title can never point outside the folder. A
conversation's file sits in a subfolder named after a hash of its content: exporting the
same conversation again reuses it, and two readers exporting different conversations
under the same title never get each other's file; only the newest `KEEP_EXPORTS` such
subfolders are kept. No Gradio in here.
"""

from __future__ import annotations

import atexit
import datetime
import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from rag.types import Answer
from ui.export_docx import conversation_docx
from ui.export_text import (
    answer_markdown,
    answer_plain_text,
    conversation_markdown,
    words,
)

__all__ = [
    "answer_markdown",
    "answer_plain_text",
    "conversation_docx",
    "conversation_markdown",
    "export_conversation",
    "save_markdown",
]

SLUG_MAX = 40
KEEP_EXPORTS = 100
"""Conversation exports kept on disk (oldest removed first): bounds the folder's size."""

_folder: list[Path] = []


def export_dir() -> Path:
    """The private export folder, made at the first call and removed at exit."""
    if not _folder:
        folder = Path(tempfile.mkdtemp(prefix="rag-ui-", dir=os.environ.get("GRADIO_TEMP_DIR")))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _folder.append(folder)
    return _folder[0]


def _slug(text: str, fallback: str = "answer") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > SLUG_MAX:  # cut between words
        cut = slug[: SLUG_MAX + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:SLUG_MAX]
    return slug.rstrip("-") or fallback


def save_markdown(kind: str, title: str, markdown: str) -> str:
    """Write `markdown` to "<kind>-<slug of title>.md" in the export folder; its path."""
    path = export_dir() / f"{kind}-{_slug(title)}.md"
    path.write_text(markdown, encoding="utf-8")
    return str(path)


def export_conversation(
    answers: Sequence[Answer],
    *,
    title: str,
    lang: str,
    fmt: Literal["md", "docx"],
    when: datetime.date | None = None,
) -> str:
    """Write the conversation as Markdown ("md") or Word ("docx"); return the file path,
    "<conversation>-<slug of title>.<fmt>" (e.g. "gesprek-defensie-uitgaven.docx")."""
    if fmt == "md":
        data = conversation_markdown(answers, title=title, lang=lang, when=when).encode()
    else:
        data = conversation_docx(answers, title=title, lang=lang, when=when)
    kind = _slug(words(lang)["conversation"])
    return _save_file(f"{kind}-{_slug(title, fallback=kind)}.{fmt}", data)


def _save_file(name: str, data: bytes) -> str:
    """Write `data` as `name` in a subfolder named after its content hash; its path."""
    folder = export_dir() / hashlib.sha256(data).hexdigest()[:16]
    folder.mkdir(exist_ok=True)
    folder.touch()  # newest again, for pruning
    path = folder / name
    path.write_bytes(data)
    _prune(keep=folder)
    return str(path)


def _prune(keep: Path) -> None:
    """Remove the oldest conversation subfolders beyond `KEEP_EXPORTS`."""
    folders = sorted(
        (p for p in export_dir().iterdir() if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
    )
    for old in folders[: max(0, len(folders) - (KEEP_EXPORTS - 1))]:
        shutil.rmtree(old, ignore_errors=True)
