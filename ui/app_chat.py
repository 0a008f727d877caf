"""The chat tab and the saved conversations beside it, wired to `ui.chat`.

`chat_tab` makes the components (returned as a `ChatPage`) and `wire_chat` their events:
asking (typed, an example, regenerate, an edited question), opening sources, and the
conversations kept in this browser (new, open, rename, delete after confirmation,
export as Markdown or Word). Texts follow the interface language through `Texts`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.types import Answer
from ui.access import PRIVATE
from ui.app_style import CITE_BRIDGE_JS
from ui.app_texts import Texts
from ui.chat import (
    ChatView,
    chat_messages,
    empty_panel,
    parse_ref,
    respond,
    source_choices,
    source_panel,
    turn_of_message,
    turn_sources,
)
from ui.conversations import Saved, deleted, load, renamed, with_answers
from ui.export import export_conversation
from ui.i18n import text
from ui.markup import escape_text
from ui.options import AskOptions

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

EXAMPLE_SLOTS = 4


@dataclass
class ChatPage:
    """The chat tab's and the conversations sidebar's components."""

    answers: gr.State
    pending: gr.State
    saved: gr.BrowserState
    lang: gr.State
    scope: gr.CheckboxGroup
    chatbot: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    examples: list[gr.Button]
    status: gr.Markdown
    source_list: gr.Radio
    panel: gr.HTML
    conversations: gr.Radio
    new_chat: gr.Button
    rename: gr.Textbox
    delete: gr.Button
    confirm_row: gr.Row
    confirm_text: gr.Markdown
    confirm_yes: gr.Button
    confirm_no: gr.Button
    export_md: gr.DownloadButton
    export_docx: gr.DownloadButton

    @property
    def turn_outputs(self) -> list[Any]:
        """What answering (or opening a conversation) changes."""
        return [
            self.chatbot,
            self.answers,
            self.source_list,
            self.panel,
            self.status,
            self.saved,
            self.conversations,
            self.export_md,
            self.export_docx,
        ]


def conversation_sidebar(texts: Texts, lang: str) -> dict[str, Any]:
    """The saved conversations: new, the list, rename, delete (confirmed), export."""
    with gr.Sidebar(open=True, elem_id="conversations-sidebar", width=290):
        texts.add(gr.Markdown(f"### {text(lang, 'conversations.heading')}"), value=_heading)
        parts: dict[str, Any] = {}
        parts["new_chat"] = texts.add(
            gr.Button(text(lang, "conversations.new"), variant="primary", elem_id="new-chat"),
            value="conversations.new",
        )
        parts["conversations"] = texts.add(
            gr.Radio([], label=text(lang, "conversations.list"), elem_id="conversation-list"),
            label="conversations.list",
        )
        parts["rename"] = texts.add(
            gr.Textbox(label=text(lang, "conversations.rename"), elem_id="rename-chat"),
            label="conversations.rename",
        )
        parts["delete"] = texts.add(
            gr.Button(text(lang, "conversations.delete"), size="sm", elem_id="delete-chat"),
            value="conversations.delete",
        )
        with gr.Row(visible=False, elem_id="confirm-delete") as parts["confirm_row"]:
            parts["confirm_text"] = gr.Markdown("")
            parts["confirm_yes"] = texts.add(
                gr.Button(text(lang, "conversations.yes_delete"), variant="stop", size="sm"),
                value="conversations.yes_delete",
            )
            parts["confirm_no"] = texts.add(
                gr.Button(text(lang, "conversations.cancel"), size="sm"),
                value="conversations.cancel",
            )
        for fmt in ("md", "docx"):
            key = f"conversations.export_{fmt}"
            button = gr.DownloadButton(
                text(lang, key), size="sm", interactive=False, elem_id=f"export-{fmt}"
            )
            parts[f"export_{fmt}"] = texts.add(button, label=key)
        texts.add(gr.Markdown(text(lang, "conversations.kept")), value="conversations.kept")
    return parts


def _heading(lang: str) -> str:
    return f"### {text(lang, 'conversations.heading')}"


def chat_tab(texts: Texts, lang: str, sidebar: dict[str, Any], saved: Any) -> ChatPage:
    """The chat: the documents to use, the conversation, the question box, examples; the
    sources beside it (a sheet on a phone)."""
    with gr.Tab(text(lang, "tabs.chat"), id="chat") as tab, gr.Row(equal_height=False):
        texts.add(tab, label="tabs.chat")
        # The page sets the language on load; callers of the named API get English.
        answers, pending, lang_state = gr.State([]), gr.State(""), gr.State("en")
        with gr.Column(scale=3):
            scope = texts.add(
                gr.CheckboxGroup(
                    [],
                    label=text(lang, "chat.scope"),
                    info=text(lang, "chat.scope_info"),
                    elem_id="scope",
                ),
                label="chat.scope",
                info="chat.scope_info",
            )
            chatbot = texts.add(
                gr.Chatbot(
                    show_label=False,
                    elem_id="chat",
                    height=520,
                    buttons=[],
                    editable="user",
                    feedback_options=None,
                    latex_delimiters=[],
                    placeholder=text(lang, "chat.empty"),
                ),
                placeholder="chat.empty",
            )
            with gr.Row():
                question = texts.add(
                    gr.Textbox(
                        label=text(lang, "chat.question_label"),  # for screen readers
                        placeholder=text(lang, "chat.placeholder"),
                        show_label=False,
                        lines=1,
                        max_lines=4,
                        scale=5,
                        elem_id="question",
                        autofocus=True,
                    ),
                    placeholder="chat.placeholder",
                    label="chat.question_label",
                )
                send = texts.add(
                    gr.Button(text(lang, "chat.send"), variant="primary", scale=1, elem_id="send"),
                    value="chat.send",
                )
            texts.add(
                gr.Markdown(text(lang, "chat.examples"), elem_classes="examples-label"),
                value="chat.examples",
            )
            with gr.Row(elem_classes="example-row"):
                examples = [
                    gr.Button("", size="sm", variant="secondary", visible=False)
                    for _ in range(EXAMPLE_SLOTS)
                ]
            status = gr.Markdown("", elem_id="chat-status")
        with gr.Column(scale=2, elem_id="source-col"):
            texts.add(gr.Markdown(f"### {text(lang, 'chat.sources_heading')}"), value=_sources)
            source_list = texts.add(
                gr.Radio([], label=text(lang, "chat.source_list"), elem_id="source-list"),
                label="chat.source_list",
            )
            panel = gr.HTML(empty_panel(lang), elem_id="source-panel", js_on_load=CITE_BRIDGE_JS)
    return ChatPage(
        answers, pending, saved, lang_state, scope, chatbot, question, send, examples, status,
        source_list, panel, **sidebar,
    )  # fmt: skip


def _sources(lang: str) -> str:
    return f"### {text(lang, 'chat.sources_heading')}"


def wire_chat(pipeline: Pipeline, page: ChatPage, options: list[Any]) -> None:
    """Asking, regenerating, editing a question, and opening sources."""

    def chat_turn(q: str, state: list, saved: Any, lang: str, scope: list, *opts: Any) -> Iterator:
        chosen = AskOptions.from_inputs(*opts)
        documents = answer_scope(pipeline, scope)
        for view in respond(pipeline, q, state or [], chosen, lang, documents):
            yield _turn_outputs(view, saved, lang)

    ask_inputs = [page.pending, page.answers, page.saved, page.lang, page.scope, *options]
    outputs = [*page.turn_outputs, page.rename]

    def then_answer(event: Any) -> None:
        event.then(chat_turn, ask_inputs, outputs, **PRIVATE)

    for trigger in (page.question.submit, page.send.click):
        then_answer(
            trigger(lambda q: ("", q), [page.question], [page.question, page.pending], **PRIVATE)
        )
    for button in page.examples:
        then_answer(button.click(lambda t: t, [button], [page.pending], **PRIVATE))

    def retry(state: list) -> tuple:
        state = list(state or [])
        if not state:
            return gr.skip(), gr.skip()
        last = state.pop()
        return last.question, state

    then_answer(page.chatbot.retry(retry, [page.answers], [page.pending, page.answers], **PRIVATE))

    def edit(state: list, evt: gr.EditData) -> tuple:
        turn = turn_of_message(evt.index)
        if turn is None or not str(evt.value or "").strip():
            return gr.skip(), gr.skip()
        return str(evt.value), list(state or [])[:turn]

    then_answer(page.chatbot.edit(edit, [page.answers], [page.pending, page.answers], **PRIVATE))
    _source_events(pipeline, page)


def answer_scope(pipeline: Pipeline, chosen: Sequence[str] | None) -> list[str] | None:
    """The documents an answer may use: None when every indexed document is ticked."""
    indexed = {d.doc_id for d in pipeline.documents()}
    picked = [d for d in (chosen or []) if d in indexed]
    return None if set(picked) >= indexed else picked


def _turn_outputs(view: ChatView, saved_raw: Any, lang: str) -> tuple:
    """A ChatView as the chat outputs; sources and saved chats change once it is final."""
    status = f"⚠ {escape_text(view.notice)}" if view.notice else ""
    if view.done and view.notice:
        gr.Warning(view.notice)
    if not view.done or not view.sources_changed:
        skip = gr.skip()
        return view.messages, view.answers, skip, skip, status, skip, skip, skip, skip, skip
    saved = with_answers(load(saved_raw), view.answers, text(lang, "conversations.untitled"))
    current = saved.current()
    return (
        view.messages,
        view.answers,
        gr.update(choices=view.choices, value=view.selected),
        view.panel,
        status,
        saved.to_json(),
        gr.update(choices=saved.choices(), value=saved.active or None),
        *export_updates(saved, lang),
        current.name if current else "",  # the name, in the box that renames it
    )


def export_updates(saved: Saved, lang: str) -> tuple[Any, Any]:
    """The two export buttons for the open conversation (disabled when it is empty)."""
    current = saved.current()
    if current is None or not current.answers:
        off = gr.update(value=None, interactive=False)
        return off, off
    return tuple(  # type: ignore[return-value]
        gr.update(
            value=export_conversation(current.answers, title=current.name, lang=lang, fmt=fmt),
            interactive=True,
        )
        for fmt in ("md", "docx")
    )


def _source_events(pipeline: Pipeline, page: ChatPage) -> None:
    """Picking a source, clicking a marker or a message shows that passage beside the chat."""

    def show_ref(state: list, ref: str | None, lang: str) -> str:
        return source_panel(pipeline, state or [], ref, lang)

    page.source_list.input(
        show_ref, [page.answers, page.source_list, page.lang], page.panel, **PRIVATE
    )

    def open_cite(state: list, lang: str, evt: gr.EventData) -> tuple:
        ref = getattr(evt, "ref", None) or ""
        parsed = parse_ref(ref)
        state = state or []
        if parsed is None or parsed[0] >= len(state):
            return gr.skip(), gr.skip()
        choices = source_choices(state[parsed[0]], parsed[0], lang)
        html = source_panel(pipeline, state, ref, lang)
        return gr.update(choices=choices, value=ref), html

    page.panel.cite(open_cite, [page.answers, page.lang], [page.source_list, page.panel], **PRIVATE)

    def select_message(state: list, lang: str, evt: gr.SelectData) -> tuple:
        turn = turn_of_message(evt.index)
        state = state or []
        if turn is None or turn >= len(state):
            return gr.skip(), gr.skip()
        choices, selected, html = turn_sources(pipeline, state, turn, lang)
        return gr.update(choices=choices, value=selected), html

    page.chatbot.select(
        select_message, [page.answers, page.lang], [page.source_list, page.panel], **PRIVATE
    )


def wire_conversations(pipeline: Pipeline, page: ChatPage) -> None:
    """New chat, open a saved one, rename, delete after confirming."""

    def opened(saved: Saved, lang: str) -> tuple:
        current = saved.current()
        answers: list[Answer] = current.answers if current else []
        turn = len(answers) - 1
        choices, selected, html = turn_sources(pipeline, answers, turn, lang)
        return (
            chat_messages(answers, lang, pipeline),
            answers,
            gr.update(choices=choices, value=selected),
            html,
            "",
            saved.to_json(),
            gr.update(choices=saved.choices(), value=saved.active or None),
            *export_updates(saved, lang),
        )

    def new_chat(saved_raw: Any, lang: str) -> tuple:
        saved = load(saved_raw)
        saved.active = ""
        return (*opened(saved, lang), "")

    def open_chat(saved_raw: Any, chosen: str | None, lang: str) -> tuple:
        saved = load(saved_raw)
        saved.active = chosen or ""
        current = saved.current()
        return (*opened(saved, lang), current.name if current else "")

    outputs = [*page.turn_outputs, page.rename]
    page.new_chat.click(new_chat, [page.saved, page.lang], outputs, **PRIVATE)
    page.chatbot.clear(new_chat, [page.saved, page.lang], outputs, **PRIVATE)
    page.conversations.input(
        open_chat, [page.saved, page.conversations, page.lang], outputs, **PRIVATE
    )

    def rename(saved_raw: Any, name: str, lang: str) -> tuple:
        """The new name reaches the list and both exports (their file name and title)."""
        saved = renamed(load(saved_raw), name)
        listed = gr.update(choices=saved.choices(), value=saved.active or None)
        return saved.to_json(), listed, *export_updates(saved, lang)

    renaming = [page.saved, page.conversations, page.export_md, page.export_docx]
    for trigger in (page.rename.submit, page.rename.blur):
        trigger(rename, [page.saved, page.rename, page.lang], renaming, **PRIVATE)
    _wire_delete(pipeline, page, opened)


def _wire_delete(pipeline: Pipeline, page: ChatPage, opened: Any) -> None:
    """Deleting a conversation asks first."""

    def ask_first(saved_raw: Any, lang: str) -> tuple:
        current = load(saved_raw).current()
        if current is None:
            return gr.update(visible=False), ""
        question = text(lang, "conversations.confirm_delete", name=current.name)
        return gr.update(visible=True), escape_text(question)

    page.delete.click(
        ask_first, [page.saved, page.lang], [page.confirm_row, page.confirm_text], **PRIVATE
    )
    page.confirm_no.click(lambda: gr.update(visible=False), None, page.confirm_row, **PRIVATE)

    def delete(saved_raw: Any, lang: str) -> tuple:
        saved = load(saved_raw)
        saved = deleted(saved, saved.active)
        return (*opened(saved, lang), "", gr.update(visible=False))

    page.confirm_yes.click(
        delete,
        [page.saved, page.lang],
        [*page.turn_outputs, page.rename, page.confirm_row],
        **PRIVATE,
    )
