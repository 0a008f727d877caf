"""The documents tab as plain functions: list, add (upload) and remove indexed documents.

Uploads are checked first (only .txt, .md and .pdf, up to the configured size) and
then indexed; a document that fails to load leaves the index as it was. Changes to the
index are serialised by one lock, so two sessions never add or remove at once, and the
last document cannot be removed. Every function returns a message meant for the user.
No Gradio in here; `ui.app` wires these to components.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import RagError

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

UPLOAD_SUFFIXES = (".txt", ".md", ".pdf")
Progress = Callable[[str, int, int], None]
_index_lock = threading.Lock()
log = logging.getLogger("rag.documents")


def documents_rows(pipeline: Pipeline) -> list[list[Any]]:
    """[id, name, passages] for each indexed document."""
    return [[d.doc_id, d.name, d.chunks] for d in pipeline.documents()]


def document_ids(pipeline: Pipeline) -> list[str]:
    """The ids of the indexed documents, for the remove list."""
    return [d.doc_id for d in pipeline.documents()]


def check_upload(path: Path, max_mb: float) -> str | None:
    """Why an upload is refused, or None if it may be indexed."""
    suffix = path.suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return (
            f"'{path.name}' is a {suffix or 'suffix-less'} file; only .txt, .md and .pdf "
            "documents can be added."
        )
    size_mb = path.stat().st_size / (1024 * 1024)
    if size_mb > max_mb:
        return (
            f"'{path.name}' is {size_mb:.1f} MB; the limit is {max_mb:g} MB. "
            "Split the document or ask the administrator to raise ui.max_upload_mb."
        )
    return None


def uploaded_file(path: str | Path, upload_root: str | Path) -> str | None:
    """Why `path` is refused as an upload, or None when it is a regular file inside
    `upload_root` (the server's own upload folder). A caller of the app's API names the
    file it sends; only what was uploaded to this server may ever be read, never another
    file the process can reach (a symbolic link out of the folder included)."""
    root = os.path.realpath(upload_root)
    real = os.path.realpath(path)
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        info = None
    inside = os.path.commonpath([root, real]) == root and real != root
    if info is None or not inside or not stat.S_ISREG(info.st_mode):
        log.warning("Refused a document path outside the upload folder: %r", str(path)[:200])
        return "Upload the file itself; only files uploaded to this server can be added."
    return None


def upload_id(name: str) -> str:
    """The document id an upload called `name` gets (a slug of its file name)."""
    from index.load import slugify

    return slugify(Path(name).stem)


def existing_upload(pipeline: Pipeline, name: str) -> str | None:
    """The id of the indexed document an upload called `name` would replace, if any."""
    doc_id = upload_id(name)
    return doc_id if doc_id in document_ids(pipeline) else None


def upload_document(
    pipeline: Pipeline,
    path: str | Path | None,
    max_mb: float,
    progress: Progress | None = None,
    *,
    replace: bool = True,
    name: str | None = None,
) -> tuple[bool, str]:
    """Index an uploaded file. (ok, message); on failure the index is left as it was.

    With `replace=False` an upload whose id is already indexed is refused; a replacement
    is logged. `name`: the upload's original file name (default: the file's own)."""
    if not path:
        return False, "Choose a .txt, .md or .pdf file first."
    file = Path(path)
    refusal = check_upload(file, max_mb)
    if refusal:
        return False, refusal
    from assembly.library import add_document

    display = name or file.name
    with _index_lock:
        taken = existing_upload(pipeline, display)
        if taken and not replace:
            return False, (
                f"A document with id '{taken}' is already indexed. Choose 'replace' to "
                "overwrite it, or rename the file."
            )
        if taken:
            log.warning("Document '%s' is being replaced by upload '%s'.", taken, display)
        before = {d.doc_id: d.chunks for d in pipeline.documents()}
        try:
            add_document(pipeline, file, name=display, progress=progress)
        except RagError as exc:
            return False, f"Could not add '{display}': {exc} The index was not changed."
        added = [d for d in pipeline.documents() if before.get(d.doc_id) != d.chunks]
    names = ", ".join(f"'{d.name}' ({d.chunks} passages)" for d in added) or f"'{display}'"
    return True, f"Indexed {names}. You can ask about it in the Chat tab now."


def delete_document(pipeline: Pipeline, doc_id: str | None) -> tuple[bool, str]:
    """Remove a document from the index. (ok, message)."""
    from assembly.library import remove_document

    with _index_lock:
        ids = document_ids(pipeline)
        if not doc_id or doc_id not in ids:
            return False, "Pick a document to remove."
        if len(ids) == 1:
            return False, "This is the only indexed document; add another before removing it."
        try:
            remove_document(pipeline, doc_id)
        except RagError as exc:
            return False, f"Could not remove '{doc_id}': {exc}"
    return True, f"Removed '{doc_id}'."
