"""The Gradio app: chat with cited, verified answers; briefings; documents; settings.

`build_app(pipeline, access)` only builds the Blocks, one builder per tab; `ui.serve`
mounts it beside the HTTP API (with `ui.app_style.launch_options()`: theme, CSS and the
script that makes citation markers clickable). Its public Gradio API is named: `ask`,
`brief` (JSON in, JSON out), `add_document`, `remove_document` (admin password); all
other events are UI plumbing, hidden from the API. Behaviour lives in modules with no
Gradio in them: `ui.chat`, `ui.briefing`, `ui.documents`, `ui.options`, `ui.markup`,
`ui.export`; access rules in `ui.access`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.errors import RagError
from rag.langchain_adapter import history_pairs
from rag.render import answer_to_json
from rag.types import CONTRACT_VERSION
from ui.access import MESSAGES, Access
from ui.app_style import CITE_BRIDGE_JS
from ui.briefing import make_briefing
from ui.chat import (
    EMPTY_PANEL,
    ChatView,
    parse_ref,
    respond,
    source_choices,
    source_panel,
    turn_of_message,
    turn_sources,
)
from ui.documents import (
    UPLOAD_SUFFIXES,
    delete_document,
    document_ids,
    documents_rows,
    upload_document,
)
from ui.export import export_answer
from ui.markup import escape_text
from ui.options import BACKENDS, AskOptions, offered_endpoints

if TYPE_CHECKING:
    from rag.pipeline import Pipeline
    from rag.types import Answer

TITLE = "Kamerbrief Q&A · De EU als geopolitieke speler"
INTRO = (
    "Ask questions, in Dutch or English, about the Dutch government's letter to parliament "
    "on <b>the EU as a geopolitical player</b>: defence, economic security, trade, "
    "partnerships, diplomacy and the new US National Security Strategy. Every answer "
    "cites the exact lines it is based on; click a marker such as <b>[1]</b> to read the "
    "passage."
)
EXAMPLES = (
    "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?",
    "What does the letter say about the EU-Mercosur agreement?",
    "Wat zegt de brief over de Nationale Veiligheidsstrategie van de VS?",
    "How does the government want to strengthen Europe's economic security?",
)

PRIVATE: dict[str, Any] = {"api_visibility": "private"}  # UI plumbing, not an API


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


def build_app(pipeline: Pipeline, access: Access | None = None) -> gr.Blocks:
    """The whole UI over one shared pipeline (sessions keep their own conversation).

    Public API (gradio_client): /ask, /brief, /add_document, /remove_document; every
    other event is UI plumbing and hidden from the API."""
    access = access or Access.from_settings(pipeline.settings)
    with gr.Blocks(title="Kamerbrief Q&A") as demo:
        gr.HTML(f'<div class="app-header"><h1>{TITLE}</h1><p>{INTRO}</p></div>')
        options = _option_inputs(AskOptions.defaults(pipeline), offered_endpoints(pipeline))
        _api_endpoints(pipeline, access)
        with gr.Tabs():
            _chat_tab(pipeline, options)
            _briefing_tab(pipeline, options)
            _documents_tab(pipeline, access, demo)
            _settings_tab(options)
    return demo


def _option_inputs(defaults: AskOptions, offered: Collection[tuple[str, str]]) -> OptionInputs:
    """The Settings tab's components, made first (unrendered) so every tab can read them."""
    return OptionInputs(
        backend=gr.Dropdown(
            choices=list(BACKENDS), value=defaults.backend, label="Answer backend", render=False
        ),
        # Only what the operator configured: a typed URL or path would let any user send
        # the server's key and the passages anywhere.
        base_url=gr.Dropdown(
            choices=sorted({url for url, _ in offered}),
            value=defaults.base_url,
            label="Model server (configured by the operator)",
            render=False,
        ),
        model=gr.Dropdown(
            choices=sorted({model for _, model in offered}),
            value=defaults.model,
            label="Model",
            render=False,
        ),
        k=gr.Slider(1, 20, value=defaults.k, step=1, label="Passages per answer (k)", render=False),
    )


def _chat_tab(pipeline: Pipeline, options: OptionInputs) -> None:
    """Chat with streamed, cited answers; the sources beside it."""
    # Components made inside gr.Tabs but outside a tab (even a State) become tab headers.
    with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
        answers = gr.State([])
        pending = gr.State("")
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation",
                elem_id="chat",
                height=520,
                buttons=["copy"],
                feedback_options=None,
                latex_delimiters=[],
                placeholder="Ask a question below, or try an example.",
            )
            with gr.Row():
                question = gr.Textbox(
                    placeholder="Stel een vraag… / Ask a question…",
                    show_label=False,
                    lines=1,
                    max_lines=4,
                    scale=5,
                    elem_id="question",
                    autofocus=True,
                )
                send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
            gr.Markdown("Try an example:", elem_classes="examples-label")
            with gr.Row(elem_classes="example-row"):
                example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
            status = gr.Markdown("", elem_id="chat-status")
            with gr.Row():
                clear = gr.Button("New conversation", size="sm")
                export = gr.DownloadButton(
                    "Export answer (.md)", size="sm", interactive=False, elem_id="export-answer"
                )
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            source_list = gr.Radio(
                choices=[], label="Citations of the selected answer", elem_id="source-list"
            )
            panel = gr.HTML(EMPTY_PANEL, elem_id="source-panel", js_on_load=CITE_BRIDGE_JS)

    chat_outputs = [chatbot, answers, source_list, panel, export, status]

    def chat_turn(q: str, state: list, backend_: str, url: str, model_: str, k_: float) -> Iterator:
        chosen = AskOptions.from_inputs(backend_, url, model_, k_)
        for view in respond(pipeline, q, state or [], chosen):
            yield _chat_outputs(view)

    ask_inputs = [pending, answers, *options.all]
    for trigger in (question.submit, send.click):
        trigger(lambda q: ("", q), [question], [question, pending], queue=False, **PRIVATE).then(
            chat_turn, ask_inputs, chat_outputs, **PRIVATE
        )
    for button, text in zip(example_buttons, EXAMPLES, strict=True):
        button.click(
            lambda t=text: ("", t), None, [question, pending], queue=False, **PRIVATE
        ).then(chat_turn, ask_inputs, chat_outputs, **PRIVATE)

    _source_events(pipeline, answers, chatbot, source_list, panel, export)

    def reset() -> tuple:
        return [], [], gr.update(choices=[], value=None), EMPTY_PANEL, None, ""

    clear.click(reset, None, chat_outputs, queue=False, **PRIVATE)
    chatbot.clear(reset, None, chat_outputs, queue=False, **PRIVATE)


def _source_events(
    pipeline: Pipeline,
    answers: gr.State,
    chatbot: gr.Chatbot,
    source_list: gr.Radio,
    panel: gr.HTML,
    export: gr.DownloadButton,
) -> None:
    """Picking a source, clicking a marker or a message shows that passage beside the chat."""

    def show_ref(state: list, ref: str | None) -> str:
        return source_panel(pipeline, state or [], ref)

    source_list.input(show_ref, [answers, source_list], panel, queue=False, **PRIVATE)

    def open_cite(state: list, evt: gr.EventData) -> tuple:
        ref = getattr(evt, "ref", None) or ""
        parsed = parse_ref(ref)
        state = state or []
        if parsed is None or parsed[0] >= len(state):
            return gr.skip(), gr.skip(), gr.skip()
        turn = parsed[0]
        choices = source_choices(state[turn], turn)
        return _turn_outputs(state[turn], choices, ref, source_panel(pipeline, state, ref))

    panel.cite(open_cite, [answers], [source_list, panel, export], queue=False, **PRIVATE)

    def select_message(state: list, evt: gr.SelectData) -> tuple:
        turn = turn_of_message(evt.index)
        state = state or []
        if turn is None or turn >= len(state):
            return gr.skip(), gr.skip(), gr.skip()
        return _turn_outputs(state[turn], *turn_sources(pipeline, state, turn))

    chatbot.select(select_message, [answers], [source_list, panel, export], queue=False, **PRIVATE)


def _briefing_tab(pipeline: Pipeline, options: OptionInputs) -> None:
    """A cited briefing on a topic, shown and downloadable."""
    with gr.Tab("Briefing", id="briefing"):
        gr.Markdown(
            "A short briefing on a topic, every point cited with the lines it "
            "comes from. Leave the topic empty for the whole letter."
        )
        with gr.Row():
            topic = gr.Textbox(
                label="Topic",
                placeholder="e.g. economische veiligheid, trade, defence",
                scale=4,
                elem_id="topic",
            )
            brief_btn = gr.Button("Write briefing", variant="primary", scale=1)
        briefing_out = gr.HTML(elem_id="briefing")
        brief_export = gr.DownloadButton("Download briefing (.md)", interactive=False, size="sm")

    def briefing_tab(t: str, backend_: str, url: str, model_: str, k_: float) -> tuple:
        chosen = AskOptions.from_inputs(backend_, url, model_, k_)
        html, path, notice = make_briefing(pipeline, t, chosen)
        if notice:
            gr.Warning(notice)
        return html, gr.update(value=path, interactive=path is not None)

    for trigger in (brief_btn.click, topic.submit):
        trigger(briefing_tab, [topic, *options.all], [briefing_out, brief_export], **PRIVATE)


def _documents_tab(pipeline: Pipeline, access: Access, demo: gr.Blocks) -> None:
    """List, add and remove documents; changes need the admin password."""
    max_mb = pipeline.settings.ui.max_upload_mb
    with gr.Tab("Documents", id="documents"):
        gr.Markdown(
            f"Documents the assistant answers from. Add a .txt, .md or .pdf "
            f"(up to {max_mb:g} MB); it is indexed and can be asked about at once. "
            + _documents_note(access)
        )
        docs_table = gr.Dataframe(
            value=documents_rows(pipeline),
            headers=["id", "name", "passages"],
            interactive=False,
            elem_id="documents-table",
        )
        upload, password, replace, add_btn, remove_choice, remove_btn = _document_controls(access)
        docs_status = gr.Markdown(elem_id="documents-status")

    def refreshed(message: str) -> tuple:
        return (
            documents_rows(pipeline),
            gr.update(choices=document_ids(pipeline), value=None),
            message,
        )

    def add(
        path: str | None,
        replace_: bool,
        password_: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple:
        refusal = _admin_refusal(access, password_)
        if refusal:
            return (*refreshed(_outcome(False, refusal)), gr.skip())

        def report(stage: str, done: int, total: int) -> None:
            progress((done, max(total, 1)), desc=f"Indexing: {stage}")

        name = Path(path).name if path else None
        ok, message = upload_document(
            pipeline, path, max_mb, report, replace=bool(replace_), name=name
        )
        return (*refreshed(_outcome(ok, message)), None)

    doc_outputs = [docs_table, remove_choice, docs_status]
    add_btn.click(
        add,
        [upload, replace, password],
        [*doc_outputs, upload],
        concurrency_limit=1,
        concurrency_id="index",
        api_name="add_document",
    )

    def remove_in_tab(doc_id: str | None, password_: str) -> tuple:
        refusal = _admin_refusal(access, password_)
        if refusal:
            return refreshed(_outcome(False, refusal))
        return refreshed(_outcome(*delete_document(pipeline, doc_id)))

    remove_btn.click(
        remove_in_tab,
        [remove_choice, password],
        doc_outputs,
        concurrency_limit=1,
        concurrency_id="index",
        **PRIVATE,
    )
    demo.load(lambda: refreshed(""), None, doc_outputs, queue=False, **PRIVATE)


def _document_controls(access: Access) -> tuple:
    """Upload, admin password, replace, add; the remove list and button."""
    with gr.Row():
        upload = gr.File(
            label="Add a document",
            file_types=list(UPLOAD_SUFFIXES),
            type="filepath",
            elem_id="upload",
            scale=3,
        )
        with gr.Column(scale=2):
            password = gr.Textbox(
                label="Admin password",
                type="password",
                elem_id="admin-password",
                interactive=access.admin_password is not None,
                placeholder="" if access.admin_password is not None else "no admin configured",
            )
            replace = gr.Checkbox(label="Replace a document with the same name", value=False)
            add_btn = gr.Button("Add to index", variant="primary", elem_id="add-doc")
            remove_choice = gr.Dropdown(
                choices=[], label="Remove a document", elem_id="remove-choice"
            )
            remove_btn = gr.Button("Remove", variant="stop", size="sm")
    return upload, password, replace, add_btn, remove_choice, remove_btn


def _settings_tab(options: OptionInputs) -> None:
    with gr.Tab("Settings", id="settings"):
        gr.Markdown(
            "Applies to your questions and briefings only. The default "
            "<b>extractive</b> backend needs no model and works offline; the others "
            "need a running model server (OpenAI-compatible, Ollama) or a GGUF file "
            "(llamacpp)."
        )
        for component in options.all:
            component.render()


def _api_endpoints(pipeline: Pipeline, access: Access) -> None:
    """The structured Gradio API (gradio_client): JSON in, JSON out."""
    default_k = pipeline.settings.retrieval.k

    def ask(
        question: str, backend: str = "", k: int = 0, history: list[list[str]] | None = None
    ) -> dict:
        """Answer a question (Dutch or English) with verified citations: the JSON contract
        of `rag ask --json`. history: earlier [question, answer] pairs."""
        if backend and backend not in BACKENDS:
            raise gr.Error(f"Unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}.")
        try:
            answer = pipeline.ask(
                question,
                k=int(k) if k else default_k,
                backend=backend or None,
                history=history_pairs(history or []),
            )
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return answer_to_json(answer)

    def brief(topic: str = "", backend: str = "") -> dict:
        """A short briefing on a topic (empty: the whole corpus), every bullet cited."""
        if backend and backend not in BACKENDS:
            raise gr.Error(f"Unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}.")
        try:
            briefing = pipeline.brief(topic.strip() or None, backend=backend or None)
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return {"version": CONTRACT_VERSION, **briefing.model_dump(mode="json")}

    def remove_document(doc_id: str, admin_password: str = "") -> dict:
        """Remove an indexed document (needs the admin password)."""
        refusal = _admin_refusal(access, admin_password)
        if refusal:
            raise gr.Error(refusal)
        ok, message = delete_document(pipeline, doc_id)
        if not ok:
            raise gr.Error(message)
        return {"removed": doc_id, "message": message}

    gr.api(ask, api_name="ask")
    gr.api(brief, api_name="brief")
    gr.api(remove_document, api_name="remove_document", concurrency_id="index")


def _documents_note(access: Access) -> str:
    if access.admin_password is not None:
        return "Adding and removing documents needs the admin password."
    if access.allow_uploads:
        return "Anyone using this app may add and remove documents."
    return (
        "Adding and removing documents is disabled on this server (the operator can set "
        "RAG_UI__ADMIN_PASSWORD or start it with --allow-uploads)."
    )


def _admin_refusal(access: Access, password: str | None) -> str | None:
    """Why a document change is refused, or None when it is allowed."""
    verdict = access.admin(password=password or "")
    if verdict == "ok":
        return None
    if verdict == "disabled":
        return MESSAGES["disabled"]
    return "Enter the admin password to add or remove documents."


def _chat_outputs(view: ChatView) -> tuple:
    """A ChatView as the chat outputs; sources are only touched once an answer is final."""
    status = f"⚠ {escape_text(view.notice)}" if view.notice else ""
    if view.done and view.notice:
        gr.Warning(view.notice)
    if not view.done or not view.sources_changed:
        return view.messages, view.answers, gr.skip(), gr.skip(), gr.skip(), status
    export = (
        gr.update(value=view.export_path, interactive=True)
        if view.export_path
        else gr.update(value=None, interactive=False)
    )
    return (
        view.messages,
        view.answers,
        gr.update(choices=view.choices, value=view.selected),
        view.panel,
        export,
        status,
    )


def _turn_outputs(
    answer: Answer, choices: list[tuple[str, str]], ref: str | None, html: str
) -> tuple:
    """The source list, panel and export button showing one turn, `ref` selected."""
    return (
        gr.update(choices=choices, value=ref),
        html,
        gr.update(value=export_answer(answer), interactive=True),
    )


def _outcome(ok: bool, message: str) -> str:
    """A document change's message for the status line; a failure also pops up."""
    if not ok:
        gr.Warning(message)
    return ("✓ " if ok else "⚠ ") + escape_text(message)
