"""The app's named Gradio API (`gradio_client`): JSON in, JSON out.

`/ask` and `/brief` return the JSON contract of `rag ask --json` and `rag brief --json`.
`/add_document` (file, replace, admin_password) and `/remove_document` (doc_id,
admin_password) both answer `{"ok", "document", "message"}`: a wrong or missing
password, a refused file or an unknown id is `ok: false` with a message saying what to
do, never an exception (so nothing lands in the server log as a traceback). Both take
the password under the same name. Their inputs are hidden components, so an uploaded
file goes through Gradio's own checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
from gradio import utils as gr_utils

from rag.answer.render import answer_to_json
from rag.errors import RagError
from rag.langchain_adapter import history_pairs
from rag.types import CONTRACT_VERSION
from ui.access import Access
from ui.app_tabs import admin_refusal
from ui.documents import delete_document, existing_upload, upload_document, uploaded_file
from ui.limits import bounded_history, plain_text
from ui.options import BACKENDS

if TYPE_CHECKING:
    from rag.pipeline import Pipeline


def api_endpoints(pipeline: Pipeline, access: Access) -> None:
    """Register /ask, /brief, /add_document and /remove_document (inside the Blocks)."""
    default_k = pipeline.settings.retrieval.k

    def ask(
        question: str, backend: str = "", k: int = 0, history: list[list[str]] | None = None
    ) -> dict:
        """Answer a question (Dutch or English) with verified citations: the JSON contract
        of `rag ask --json`. history: earlier [question, answer] pairs."""
        _check_backend(backend)
        try:
            answer = pipeline.ask(
                plain_text(question or ""),
                k=int(k) if k else default_k,
                backend=backend or None,
                history=bounded_history(history_pairs(history or [])),
            )
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return answer_to_json(answer)

    def brief(topic: str = "", backend: str = "") -> dict:
        """A short briefing on a topic (empty: the whole corpus), every bullet cited."""
        _check_backend(backend)
        try:
            briefing = pipeline.brief(
                plain_text(topic or "", "topic").strip() or None, backend=backend or None
            )
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return {"version": CONTRACT_VERSION, **briefing.model_dump(mode="json")}

    def remove_document(
        doc_id: str, admin_password: str = "", request: gr.Request | None = None
    ) -> dict:
        """Remove an indexed document (needs the admin password)."""
        refusal = admin_refusal(access, admin_password, request=request)
        if refusal:
            return result(False, None, refusal)
        ok, message = delete_document(pipeline, doc_id)
        return result(ok, doc_id if ok else None, message)

    gr.api(ask, api_name="ask")
    gr.api(brief, api_name="brief")
    gr.api(remove_document, api_name="remove_document", concurrency_id="index")
    _add_document_endpoint(pipeline, access)


def _add_document_endpoint(pipeline: Pipeline, access: Access) -> None:
    """/add_document: a file (uploaded through Gradio), replace, admin_password."""
    max_mb = pipeline.settings.ui.max_upload_mb

    def add_document(
        file: str | None,
        replace: bool = False,
        admin_password: str = "",
        request: gr.Request | None = None,
    ) -> dict:
        """Index a .txt, .md or .pdf file (needs the admin password); replace: overwrite
        an indexed document of the same name."""
        refusal = admin_refusal(access, admin_password, request=request)
        if refusal:
            return result(False, None, refusal)
        refused = file and uploaded_file(file, gr_utils.get_upload_folder())
        if refused:  # only a file uploaded to this server, never a path it can read
            return result(False, None, refused)
        name = Path(file).name if file else None
        ok, message = upload_document(pipeline, file, max_mb, replace=bool(replace), name=name)
        return result(ok, existing_upload(pipeline, name) if ok and name else None, message)

    hidden: dict[str, Any] = {"visible": False}
    inputs = [
        gr.File(type="filepath", **hidden),
        gr.Checkbox(value=False, **hidden),
        gr.Textbox(**hidden),
    ]
    gr.Button(**hidden).click(
        add_document,
        inputs,
        gr.JSON(**hidden),
        api_name="add_document",
        concurrency_limit=1,
        concurrency_id="index",
    )


def result(ok: bool, document: str | None, message: str) -> dict[str, Any]:
    """What both document endpoints answer."""
    return {"ok": ok, "document": document, "message": message}


def _check_backend(backend: str) -> None:
    if backend and backend not in BACKENDS:
        raise gr.Error(f"Unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}.")
