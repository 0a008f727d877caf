"""The Gradio app: chat with cited, verified answers; briefings; documents; settings.

`build_app(pipeline, access)` builds the Blocks from one builder per part (`ui.app_chat`
for the chat and the saved conversations, `ui.app_tabs` for the other tabs); `ui.serve`
mounts it beside the HTTP API (with `ui.app_style.launch_options()`: theme, CSS and the
script for citation markers, copying and the source sheet). The interface is Dutch or
English (`ui.i18n`), picked from the browser and switchable; the language, the settings
and the conversations are kept in the browser (Gradio's BrowserState). Its public Gradio
API is named: `ask`, `brief` (JSON in, JSON out), `add_document`, `remove_document`
(admin password); all other events are UI plumbing, hidden from the API. Behaviour lives
in modules with no Gradio in them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from ui.access import PRIVATE, Access
from ui.app_api import api_endpoints
from ui.app_chat import (
    EXAMPLE_SLOTS,
    ChatPage,
    answer_scope,
    chat_tab,
    conversation_sidebar,
    export_updates,
    wire_chat,
    wire_conversations,
)
from ui.app_style import FOLLOW_LANGUAGE_JS, LOAD_JS, TOGGLE_THEME_JS
from ui.app_tabs import (
    BriefingPage,
    DocumentsPage,
    OptionInputs,
    briefing_tab,
    document_rows,
    documents_tab,
    option_inputs,
    settings_tab,
    wire_briefing,
    wire_documents,
)
from ui.app_texts import Texts
from ui.chat import chat_messages, empty_panel, turn_sources
from ui.conversations import load
from ui.documents import document_ids
from ui.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, pick_language, text
from ui.markup import escape_text
from ui.options import BACKENDS, AskOptions, offered_endpoints
from ui.suggestions import briefing_topics, header_text, suggested_questions

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

# BrowserState encrypts with this key in the browser; it is part of the page, so it
# protects nothing. A fixed key keeps saved chats readable across server restarts.
BROWSER_KEY = "rag-policy-qa-browser-state-v1"


@dataclass
class Page:
    """Every part of the app the load and language events touch."""

    texts: Texts
    header: gr.HTML
    language: gr.Radio
    theme: gr.Button
    prefs: gr.BrowserState
    browser_lang: gr.Textbox
    options: OptionInputs
    chat: ChatPage
    briefing: BriefingPage
    documents: DocumentsPage


def build_app(pipeline: Pipeline, access: Access | None = None) -> gr.Blocks:
    """The whole UI over one shared pipeline (sessions keep their own conversation).

    Public API (gradio_client): /ask, /brief, /add_document, /remove_document; every
    other event is UI plumbing and hidden from the API."""
    access = access or Access.from_settings(pipeline.settings)
    lang = DEFAULT_LANGUAGE
    texts = Texts()
    with gr.Blocks(title=text(lang, "app.title")) as demo:
        prefs = gr.BrowserState({}, storage_key="rag-prefs", secret=BROWSER_KEY)
        saved = gr.BrowserState({}, storage_key="rag-conversations", secret=BROWSER_KEY)
        browser_lang = gr.Textbox(visible=False)
        header, language, theme = _header(texts, lang)
        options = option_inputs(
            texts, lang, AskOptions.defaults(pipeline), offered_endpoints(pipeline)
        )
        api_endpoints(pipeline, access)
        sidebar = conversation_sidebar(texts, lang)
        with gr.Tabs():
            chat = chat_tab(texts, lang, sidebar, saved)
            briefing = briefing_tab(texts, lang)
            documents = documents_tab(texts, lang, access, pipeline.settings.ui.max_upload_mb)
            settings_tab(texts, lang, options)
        page = Page(
            texts, header, language, theme, prefs, browser_lang, options, chat, briefing,
            documents,
        )  # fmt: skip
        _wire(pipeline, access, page, demo)
    return demo


def _header(texts: Texts, lang: str) -> tuple[gr.HTML, gr.Radio, gr.Button]:
    """Title, what is indexed, the language switch and the dark-mode toggle."""
    with gr.Row(elem_id="header-row"):
        with gr.Column(scale=3, min_width=330):
            header = gr.HTML(_header_html(lang, ""), elem_id="app-header")
        language = gr.Radio(
            [(LANGUAGE_NAMES[code], code) for code in LANGUAGES],
            value=lang,
            label=text(lang, "app.language"),
            elem_id="lang-switch",
            scale=0,
            min_width=280,
        )
        theme = texts.add(
            gr.Button(text(lang, "app.dark"), size="sm", scale=0, elem_id="theme-toggle"),
            value="app.dark",
        )
    theme.click(None, None, None, js=TOGGLE_THEME_JS, **PRIVATE)
    return header, language, theme


def _header_html(lang: str, indexed: str) -> str:
    return (
        f'<div class="app-header"><div><h1>{escape_text(text(lang, "app.title"))}</h1>'
        f"<p>{escape_text(text(lang, 'app.intro'))}</p>"
        f'<p class="docs">{escape_text(indexed)}</p></div></div>'
    )


def _wire(pipeline: Pipeline, access: Access, page: Page, demo: gr.Blocks) -> None:
    """Every event: chat, conversations, briefing, documents, settings, language, load."""
    options = page.options.all
    wire_chat(pipeline, page.chat, options)
    wire_conversations(pipeline, page.chat)
    wire_briefing(
        pipeline, page.briefing, page.options, page.chat.lang, page.chat.scope, answer_scope
    )

    def refresh_corpus(lang: str, prefs: Any) -> tuple:
        """After a document change: the lists again, the reader's unticked ones kept."""
        return _corpus_updates(pipeline, lang, _kept_unticked(prefs))

    corpus_outputs = _corpus_outputs(page)
    wire_documents(
        pipeline,
        page.documents,
        access,
        page.chat.lang,
        refresh_corpus,
        corpus_outputs,
        [page.chat.lang, page.prefs],
    )

    def keep_settings(prefs: Any, lang: str, *opts: Any) -> dict:
        chosen = AskOptions.from_inputs(*opts)
        return {**_prefs(prefs), "lang": lang, **chosen.__dict__}

    for component in options:
        component.input(
            keep_settings, [page.prefs, page.chat.lang, *options], page.prefs, **PRIVATE
        )

    def keep_ticks(prefs: Any, ticked: Any) -> dict:
        return {**_prefs(prefs), "unticked": _unticked(pipeline, ticked)}

    page.chat.scope.input(keep_ticks, [page.prefs, page.chat.scope], page.prefs, **PRIVATE)
    _wire_language(pipeline, page, demo, corpus_outputs)


def _corpus_outputs(page: Page) -> list[Any]:
    """What follows the indexed documents: header, examples, scope, topics, tables."""
    return [
        page.header,
        *page.chat.examples,
        page.chat.scope,
        page.briefing.topic,
        page.documents.table,
        page.documents.remove_choice,
    ]


def _corpus_updates(pipeline: Pipeline, lang: str, unticked: Collection[str] = ()) -> tuple:
    """The header, example questions, document choices, briefing topics and the documents
    table for the documents indexed now, in `lang`; every document ticked but those in
    `unticked` (all of them when that would leave none)."""
    documents = pipeline.documents()
    chunks = pipeline.store.chunks
    questions = suggested_questions(chunks, documents, lang, limit=EXAMPLE_SLOTS)
    examples = [
        gr.update(value=questions[i], visible=True)
        if i < len(questions)
        else gr.update(value="", visible=False)
        for i in range(EXAMPLE_SLOTS)
    ]
    choices = [(getattr(d, "title", "") or d.name, d.doc_id) for d in documents]
    return (
        _header_html(lang, header_text(documents, lang)),
        *examples,
        gr.update(choices=choices, value=_ticked([doc_id for _, doc_id in choices], unticked)),
        gr.update(choices=briefing_topics(chunks, documents, lang=lang)),
        document_rows(pipeline, lang),
        gr.update(choices=document_ids(pipeline), value=None),
    )


def _ticked(ids: list[str], unticked: Collection[str]) -> list[str]:
    kept = [doc_id for doc_id in ids if doc_id not in set(unticked)]
    return kept or ids


def _unticked(pipeline: Pipeline, ticked: Any) -> list[str]:
    """The indexed documents a reader unticked (kept, so new documents start ticked)."""
    chosen = set(ticked or [])
    return sorted(d.doc_id for d in pipeline.documents() if d.doc_id not in chosen)


def _kept_unticked(prefs: Any) -> list[str]:
    """The documents this browser unticked, as kept in its preferences."""
    kept = _prefs(prefs).get("unticked")
    return [d for d in kept if isinstance(d, str)] if isinstance(kept, list) else []


def _prefs(raw: Any) -> dict[str, Any]:
    return dict(raw) if isinstance(raw, dict) else {}


def _wire_language(
    pipeline: Pipeline, page: Page, demo: gr.Blocks, corpus_outputs: list[Any]
) -> None:
    """On load: language (stored, else the browser's), settings, saved chat, documents.
    Switching the language re-labels everything and re-renders the conversation."""
    chat = page.chat
    shown = [page.language, chat.lang, *page.texts.components, *corpus_outputs]
    restored = [*chat.turn_outputs, chat.rename, *page.options.all]

    def relabel(lang: str, unticked: Collection[str] = ()) -> tuple:
        corpus = _corpus_updates(pipeline, lang, unticked)
        return (lang, lang, *page.texts.updates(lang), *corpus)

    def on_load(prefs_raw: Any, saved_raw: Any, browser: str, shown_chat: Any) -> tuple:
        prefs = _prefs(prefs_raw)
        lang = pick_language(prefs.get("lang"), browser)
        saved = load(saved_raw)
        restore = list(_restore(pipeline, saved, lang))
        if shown_chat or saved.current() is None:  # keep a question asked while loading
            restore[0:3] = [gr.skip()] * 3  # the chat, its answers, the source list
            restore[4] = gr.skip()  # the status line
            if shown_chat:
                restore[3] = gr.skip()  # the source panel
        return (*relabel(lang, _kept_unticked(prefs)), *restore, *_options(pipeline, prefs))

    demo.load(
        on_load,
        [page.prefs, chat.saved, page.browser_lang, chat.chatbot],
        [*shown, *restored],
        js=LOAD_JS,
        queue=False,  # before any question, which waits in the queue
        **PRIVATE,
    ).then(None, [page.language], None, js=FOLLOW_LANGUAGE_JS, **PRIVATE)

    def switch(lang: str, prefs_raw: Any, answers: list, ticked: Any) -> tuple:
        lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        prefs = {**_prefs(prefs_raw), "lang": lang}
        turn = len(answers or []) - 1
        choices, selected, html = turn_sources(pipeline, answers or [], turn, lang)
        return (
            *relabel(lang, _unticked(pipeline, ticked)),
            prefs,
            chat_messages(answers or [], lang, pipeline),
            gr.update(choices=choices, value=selected),
            html,
        )

    page.language.input(
        switch,
        [page.language, page.prefs, chat.answers, chat.scope],
        [*shown, page.prefs, chat.chatbot, chat.source_list, chat.panel],
        **PRIVATE,
    ).then(None, [page.language], None, js=FOLLOW_LANGUAGE_JS, **PRIVATE)


def _restore(pipeline: Pipeline, saved: Any, lang: str) -> tuple:
    """The open saved conversation, shown as it was left."""
    current = saved.current()
    answers = current.answers if current else []
    choices, selected, html = turn_sources(pipeline, answers, len(answers) - 1, lang)
    return (
        chat_messages(answers, lang, pipeline),
        answers,
        gr.update(choices=choices, value=selected),
        html if answers else empty_panel(lang),
        "",
        saved.to_json(),
        gr.update(choices=saved.choices(), value=saved.active or None),
        *export_updates(saved, lang),
        current.name if current else "",
    )


def _options(pipeline: Pipeline, prefs: dict[str, Any]) -> tuple:
    """The Settings tab as this browser left it (values the server no longer offers are
    replaced by the defaults)."""
    defaults = AskOptions.defaults(pipeline)
    offered = offered_endpoints(pipeline)
    backend = prefs.get("backend") if prefs.get("backend") in BACKENDS else defaults.backend
    endpoint = (prefs.get("base_url"), prefs.get("model"))
    if endpoint not in offered:
        endpoint = (defaults.base_url, defaults.model)
    k = prefs.get("k")
    k = k if isinstance(k, int) and 1 <= k <= 20 else defaults.k
    return backend, endpoint[0], endpoint[1], k
