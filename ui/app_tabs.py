"""The Briefing, Documents and Settings tabs, wired to `ui.briefing`, `ui.documents` and
`ui.options`. Document changes need the admin role (`ui.access`) and removing one asks
for confirmation first; settings are kept per browser by `ui.app`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
from gradio import utils as gr_utils

from ui.access import PRIVATE, Access
from ui.app_texts import Texts
from ui.briefing import make_briefing
from ui.documents import (
    UPLOAD_SUFFIXES,
    delete_document,
    document_ids,
    upload_document,
    uploaded_file,
)
from ui.i18n import text
from ui.markup import escape_text
from ui.options import BACKENDS, AskOptions

if TYPE_CHECKING:
    from rag.pipeline import Pipeline


@dataclass(frozen=True)
class OptionInputs:
    """The Settings tab's components, read by the chat and briefing events."""

    backend: gr.Dropdown
    base_url: gr.Dropdown
    model: gr.Dropdown
    k: gr.Slider

    @property
    def all(self) -> list[Any]:
        return [self.backend, self.base_url, self.model, self.k]


def option_inputs(
    texts: Texts, lang: str, defaults: AskOptions, offered: Collection[tuple[str, str]]
) -> OptionInputs:
    """The Settings tab's components, made first (unrendered) so every tab can read them.
    Model servers are only those the operator configured: a typed URL or path would let
    any user send the server's key and the passages anywhere."""

    def choice(key: str, choices: list[str], value: str) -> gr.Dropdown:
        dropdown = gr.Dropdown(
            choices=choices,
            value=value,
            label=text(lang, f"settings.{key}"),
            render=False,
            elem_id=f"setting-{key.replace('_', '-')}",
        )
        return texts.add(dropdown, label=f"settings.{key}")

    return OptionInputs(
        backend=choice("backend", list(BACKENDS), defaults.backend),
        base_url=choice("base_url", sorted({url for url, _ in offered}), defaults.base_url),
        model=choice("model", sorted({model for _, model in offered}), defaults.model),
        k=texts.add(
            gr.Slider(
                1, 20, value=defaults.k, step=1, label=text(lang, "settings.k"), render=False
            ),
            label="settings.k",
        ),
    )


def settings_tab(texts: Texts, lang: str, options: OptionInputs) -> None:
    with gr.Tab(text(lang, "tabs.settings"), id="settings") as tab:
        texts.add(tab, label="tabs.settings")
        texts.add(gr.Markdown(text(lang, "settings.intro")), value="settings.intro")
        for component in options.all:
            component.render()


@dataclass
class BriefingPage:
    topic: gr.Dropdown
    output: gr.HTML
    download: gr.DownloadButton


def briefing_tab(texts: Texts, lang: str) -> BriefingPage:
    """A cited briefing on a topic (picked from the documents' headings, or typed)."""
    with gr.Tab(text(lang, "tabs.briefing"), id="briefing") as tab:
        texts.add(tab, label="tabs.briefing")
        texts.add(gr.Markdown(text(lang, "briefing.intro")), value="briefing.intro")
        with gr.Row():
            topic = texts.add(
                gr.Dropdown(
                    [],
                    value="",
                    label=text(lang, "briefing.topic"),
                    allow_custom_value=True,
                    scale=4,
                    elem_id="topic",
                ),
                label="briefing.topic",
            )
            write = texts.add(
                gr.Button(text(lang, "briefing.write"), variant="primary", scale=1),
                value="briefing.write",
            )
        output = gr.HTML(elem_id="briefing")
        download = texts.add(
            gr.DownloadButton(
                text(lang, "briefing.download"), interactive=False, visible=False, size="sm"
            ),  # shown once there is a briefing
            label="briefing.download",
        )
    page = BriefingPage(topic, output, download)
    page.write = write  # type: ignore[attr-defined]
    return page


def wire_briefing(
    pipeline: Pipeline,
    page: BriefingPage,
    options: OptionInputs,
    lang: gr.State,
    scope: gr.CheckboxGroup,
    scope_of: Callable[[Pipeline, Any], list[str] | None],
) -> None:
    def briefing(t: str | None, lang_: str, chosen: list, *opts: Any) -> tuple:
        html, path, notice = make_briefing(
            pipeline, t or "", AskOptions.from_inputs(*opts), lang_, scope_of(pipeline, chosen)
        )
        if notice:
            gr.Warning(notice)
        ready = path is not None
        return html, gr.update(value=path, interactive=ready, visible=ready)

    inputs = [page.topic, lang, scope, *options.all]
    write = page.write  # type: ignore[attr-defined]
    write.click(briefing, inputs, [page.output, page.download], **PRIVATE)


@dataclass
class DocumentsPage:
    table: gr.HTML
    upload: gr.File
    password: gr.Textbox
    replace: gr.Checkbox
    add: gr.Button
    remove_choice: gr.Dropdown
    remove: gr.Button
    confirm_row: gr.Row
    confirm_text: gr.Markdown
    confirm_yes: gr.Button
    confirm_no: gr.Button
    status: gr.Markdown


def documents_tab(texts: Texts, lang: str, access: Access, max_mb: float) -> DocumentsPage:
    """The indexed documents; adding and removing them is marked as admin-only."""
    with gr.Tab(text(lang, "tabs.documents"), id="documents") as tab:
        texts.add(tab, label="tabs.documents")
        texts.add(
            gr.Markdown(_documents_intro(lang, access, max_mb)),
            value=lambda lg: _documents_intro(lg, access, max_mb),
        )
        table = gr.HTML("", elem_id="documents-table")
        with gr.Row():
            upload = texts.add(
                gr.File(
                    label=text(lang, "documents.add"),
                    file_types=list(UPLOAD_SUFFIXES),
                    type="filepath",
                    elem_id="upload",
                    scale=3,
                ),
                label="documents.add",
            )
            with gr.Column(scale=2):
                controls = _document_controls(texts, lang, access)
        status = gr.Markdown(elem_id="documents-status")
    return DocumentsPage(table=table, upload=upload, status=status, **controls)


def _document_controls(texts: Texts, lang: str, access: Access) -> dict[str, Any]:
    """Admin password, replace, add; the remove list, its button and the confirmation."""
    password = texts.add(
        gr.Textbox(
            label=text(lang, "documents.password"),
            type="password",
            elem_id="admin-password",
            interactive=access.admin_password is not None,
            placeholder=""
            if access.admin_password is not None
            else text(lang, "documents.no_admin"),
        ),
        label="documents.password",
    )
    replace = texts.add(
        gr.Checkbox(label=text(lang, "documents.replace"), value=False), label="documents.replace"
    )
    add = texts.add(
        gr.Button(text(lang, "documents.add_button"), variant="primary", elem_id="add-doc"),
        value="documents.add_button",
    )
    remove_choice = texts.add(
        gr.Dropdown(
            choices=[], label=text(lang, "documents.remove_choice"), elem_id="remove-choice"
        ),
        label="documents.remove_choice",
    )
    remove = texts.add(
        gr.Button(text(lang, "documents.remove"), variant="stop", size="sm", elem_id="remove-doc"),
        value="documents.remove",
    )
    with gr.Row(visible=False, elem_id="confirm-remove") as confirm_row:
        confirm_text = gr.Markdown("")
        confirm_yes = texts.add(
            gr.Button(text(lang, "documents.yes_remove"), variant="stop", size="sm",
                      elem_id="confirm-remove-yes"),
            value="documents.yes_remove",
        )  # fmt: skip
        confirm_no = texts.add(
            gr.Button(text(lang, "conversations.cancel"), size="sm"), value="conversations.cancel"
        )
    return {
        "password": password,
        "replace": replace,
        "add": add,
        "remove_choice": remove_choice,
        "remove": remove,
        "confirm_row": confirm_row,
        "confirm_text": confirm_text,
        "confirm_yes": confirm_yes,
        "confirm_no": confirm_no,
    }


def _documents_intro(lang: str, access: Access, max_mb: float) -> str:
    badge = f'<span class="admin-badge">{escape_text(text(lang, "documents.admin_badge"))}</span>'
    if access.admin_password is not None:
        note = text(lang, "documents.admin_note") + " " + badge
    elif access.allow_uploads:
        note = text(lang, "documents.open_note")
    else:
        note = text(lang, "documents.disabled_note") + " " + badge
    return text(lang, "documents.intro", max_mb=f"{max_mb:g}") + " " + note


def document_rows(pipeline: Pipeline, lang: str) -> str:
    """The documents table: id, name, title, kind, date, passages (metadata when known),
    as an HTML table (on a phone each document is a small card of labelled fields)."""
    keys = ("id", "title", "kind", "date", "signed", "dossier", "passages")
    headers = [text(lang, f"documents.table_{key}") for key in keys]
    rows = [
        [
            d.doc_id,
            getattr(d, "title", "") or d.name,
            text(lang, f"documents.kind_{getattr(d, 'kind', 'other')}"),
            getattr(d, "date", None) or "",
            "; ".join(getattr(d, "signatories", []) or getattr(d, "submitters", []) or []),
            getattr(d, "dossier", ""),
            d.chunks,
        ]
        for d in pipeline.documents()
    ]
    return documents_table_html(headers, rows, text(lang, "tabs.documents"))


def documents_table_html(headers: list[str], rows: list[list[Any]], caption: str) -> str:
    """A plain, escaped table; each cell carries its column's name for the phone layout."""
    head = "".join(f'<th scope="col">{escape_text(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{escape_text(h)}">{escape_text(str(cell))}</td>'
            for h, cell in zip(headers, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="documents-scroll"><table class="documents">'
        f'<caption class="sr-only">{escape_text(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def wire_documents(
    pipeline: Pipeline,
    page: DocumentsPage,
    access: Access,
    lang: gr.State,
    refresh_corpus: Callable[..., tuple],
    corpus_outputs: list[Any],
    corpus_inputs: list[Any] | None = None,
) -> None:
    """Add (admin) and remove (admin, after confirming); then everything else that lists
    the documents is refreshed by `refresh_corpus(*corpus_inputs)` (default: the
    language). (The named API's document endpoints are `ui.app_api`'s.)"""
    max_mb = pipeline.settings.ui.max_upload_mb

    def add(
        path: str | None,
        replace_: bool,
        password_: str,
        lang_: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple:
        refusal = admin_refusal(access, password_, lang_, request)
        if refusal:
            return (*_listed(pipeline, lang_, outcome(False, refusal)), gr.skip())

        def report(stage: str, done: int, total: int) -> None:
            progress((done, max(total, 1)), desc=text(lang_, "documents.indexing", stage=stage))

        name = Path(path).name if path else None
        refused = path and uploaded_file(path, gr_utils.get_upload_folder())
        if refused:
            return (*_listed(pipeline, lang_, outcome(False, refused)), None)
        ok, message = upload_document(
            pipeline, path, max_mb, report, replace=bool(replace_), name=name
        )
        return (*_listed(pipeline, lang_, outcome(ok, message)), None)

    listing = [page.table, page.remove_choice, page.status]
    page.add.click(
        add,
        [page.upload, page.replace, page.password, lang],
        [*listing, page.upload],
        concurrency_limit=1,
        concurrency_id="index",
        **PRIVATE,  # the named API's /add_document is ui.app_api's
    ).then(refresh_corpus, corpus_inputs or [lang], corpus_outputs, **PRIVATE)
    _wire_remove(
        pipeline, page, access, lang, refresh_corpus, corpus_outputs, corpus_inputs or [lang]
    )


def _listed(pipeline: Pipeline, lang: str, status: str) -> tuple:
    """The documents table, the remove list and the status line after a change."""
    remove = gr.update(choices=document_ids(pipeline), value=None)
    return document_rows(pipeline, lang), remove, status


def _wire_remove(
    pipeline: Pipeline,
    page: DocumentsPage,
    access: Access,
    lang: gr.State,
    refresh_corpus: Callable[..., tuple],
    corpus_outputs: list[Any],
    corpus_inputs: list[Any],
) -> None:
    def ask_first(doc_id: str | None, lang_: str) -> tuple:
        if not doc_id or doc_id not in document_ids(pipeline):
            return gr.update(visible=False), "", escape_text(text(lang_, "documents.pick_first"))
        question = text(lang_, "documents.confirm_remove", doc=doc_id)
        return gr.update(visible=True), escape_text(question), ""

    page.remove.click(
        ask_first,
        [page.remove_choice, lang],
        [page.confirm_row, page.confirm_text, page.status],
        **PRIVATE,
    )
    page.confirm_no.click(lambda: gr.update(visible=False), None, page.confirm_row, **PRIVATE)

    def remove(doc_id: str | None, password_: str, lang_: str, request: gr.Request) -> tuple:
        hidden = gr.update(visible=False)
        refusal = admin_refusal(access, password_, lang_, request)
        if refusal:
            return (*_listed(pipeline, lang_, outcome(False, refusal)), hidden)
        return (*_listed(pipeline, lang_, outcome(*delete_document(pipeline, doc_id))), hidden)

    page.confirm_yes.click(
        remove,
        [page.remove_choice, page.password, lang],
        [page.table, page.remove_choice, page.status, page.confirm_row],
        concurrency_limit=1,
        concurrency_id="index",
        **PRIVATE,
    ).then(refresh_corpus, corpus_inputs, corpus_outputs, **PRIVATE)


def admin_refusal(
    access: Access, password: str | None, lang: str = "en", request: gr.Request | None = None
) -> str | None:
    """Why a document change is refused, or None when it is allowed; wrong passwords are
    counted per client and slowed down (`ui.throttle`)."""
    verdict = access.admin_from(client_of(request), password=password or "")
    if verdict == "ok":
        return None
    if verdict == "disabled":
        return text(lang, "documents.disabled_note")
    if verdict == "throttled":
        return text(lang, "documents.throttled")
    if not password:
        return text(lang, "documents.need_password")
    return text(lang, "documents.wrong_password")


def client_of(request: gr.Request | None) -> str:
    """The address an event came from."""
    client = getattr(request, "client", None) if request is not None else None
    return str(getattr(client, "host", None) or "unknown")


def outcome(ok: bool, message: str) -> str:
    """A document change's message for the status line; a failure also pops up."""
    if not ok:
        gr.Warning(message)
    return ("✓ " if ok else "⚠ ") + escape_text(message)
