"""The chat app as its users meet it, in headless Chromium at desktop and phone sizes.

Covers the interface language (Dutch for a Dutch browser, switchable), the source
viewer (a tapped marker brings the passage into view with the cited lines marked, also
as a sheet on a phone), conversations kept across a reload, exporting a conversation as
Markdown and Word, copying without HTML, choosing which documents an answer may use,
confirmations before deleting, and that error texts and document names are shown as
text. With UPDATE_SCREENSHOTS=1 the screenshots of the main screens are copied to
docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsing import (
    DESKTOP,
    LOAD_TIMEOUT_MS,
    PHONE,
    ROOT,
    ask,
    rag_server,
    shot,
    wait_loaded,
    watch_dialogs,
)

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "app-admin"
NATO_QUESTION = "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"

SIZES = {"desktop": DESKTOP, "phone": PHONE}
DOCS_SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with rag_server(tmp_path_factory.mktemp("ui-app"), ADMIN_PASSWORD) as url:
        yield url


def open_app(browser: Any, server: str, size: str = "desktop", locale: str = "nl-NL") -> Any:
    """A fresh browser profile (its own local storage) showing the app, loaded."""
    context = browser.new_context(
        viewport=SIZES[size],
        locale=locale,
        accept_downloads=True,
        permissions=["clipboard-read", "clipboard-write"],
        is_mobile=size == "phone",
        has_touch=size == "phone",
    )
    page = watch_dialogs(context.new_page())
    page.goto(server)
    wait_loaded(page)
    return page


def close(page: Any) -> None:
    assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    page.context.close()


def keep_screenshot(path: Path, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SHOTS / f"{name}.png")


def open_sidebar_if_closed(page: Any) -> None:
    """On a phone Gradio's sidebar starts closed: open it with its toggle."""
    if page.locator("#conversations-sidebar.open").count() == 0:
        page.locator("#conversations-sidebar .toggle-button").click()
        page.wait_for_selector("#conversations-sidebar.open", timeout=10_000)


# ---- language -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_dutch_browser_gets_dutch_interface_and_can_switch_to_english(browser, server, size):
    page = open_app(browser, server, size, locale="nl-NL")
    assert page.inner_text("#send").strip() == "Verstuur"
    assert page.get_by_role("tab", name="Documenten").count() == 1
    assert "Stel een vraag" in page.get_attribute("#question textarea", "placeholder")
    assert "Wat zegt" in page.inner_text(".example-row")  # suggested from the headings
    path = shot(page, f"start-nl-{size}")
    keep_screenshot(path, f"start-nl-{size}")
    page.locator("#lang-switch").get_by_text("English").click()
    page.wait_for_function("() => document.querySelector('#send').innerText.trim() === 'Send'")
    page.get_by_role("tab", name="Documents").wait_for(timeout=10_000)
    assert "What does" in page.inner_text(".example-row")
    page.reload()
    wait_loaded(page)
    assert page.inner_text("#send").strip() == "Send", "the chosen language is kept"
    close(page)


def test_english_browser_gets_english_interface(browser, server):
    page = open_app(browser, server, locale="en-GB")
    assert page.inner_text("#send").strip() == "Send"
    close(page)


# ---- the source viewer ----------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_tapping_a_marker_shows_the_cited_lines_in_view(browser, server, size):
    page = open_app(browser, server, size)
    message = ask(page, NATO_QUESTION)
    assert "5%" in message.inner_text()
    marker = page.locator("#chat .answer a.cite").first
    quote_preview = marker.get_attribute("title") or ""
    assert len(quote_preview) > 20, "hovering a marker previews its quote"
    marker.click()
    panel = page.locator("#source-panel .source-card")
    panel.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(500)  # the scroll after the panel changed
    mark = page.locator("#source-panel .source-card mark").first
    assert mark.is_visible()
    box = mark.bounding_box()
    viewport = page.viewport_size
    assert box is not None and 0 <= box["y"] < viewport["height"], "the quote is in view"
    cited = page.locator("#source-panel .doc-view .doc-passage.cited")
    assert cited.count() == 1, "the document view marks the cited passage"
    lines = cited.locator(".ln").inner_text()
    assert re.fullmatch(r"\d+–\d+", lines.strip())
    assert "regels" in page.inner_text("#source-panel")
    path = shot(page, f"source-{size}", full_page=False)
    keep_screenshot(path, f"source-{size}")
    close(page)


# ---- conversations --------------------------------------------------------------------------


def test_reload_keeps_the_conversation_and_new_chat_starts_empty(browser, server):
    page = open_app(browser, server)
    ask(page, NATO_QUESTION)
    ask(page, "En wat zegt de brief over handel?")
    page.wait_for_selector("#conversation-list label", timeout=10_000)
    page.reload()
    wait_loaded(page)
    page.wait_for_function(
        "() => document.querySelectorAll('#chat .answer-meta, #chat .refusal').length >= 2",
        timeout=LOAD_TIMEOUT_MS,
    )
    assert "NAVO" in page.inner_text("#chat")
    assert "bbp" in page.inner_text("#conversation-list")
    assert "bbp" in page.input_value("#rename-chat textarea")  # named after its question
    path = shot(page, "conversations-desktop")
    keep_screenshot(path, "conversations-desktop")
    page.click("#new-chat")
    page.wait_for_function(
        "() => document.querySelectorAll('#chat .answer-meta').length === 0", timeout=10_000
    )
    ask(page, "Wat zegt de brief over China?")
    assert page.locator("#conversation-list label").count() == 2
    page.locator("#conversation-list label").filter(has_text="bbp").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#chat .answer-meta, #chat .refusal').length === 2",
        timeout=10_000,
    )
    close(page)


def test_a_question_asked_while_the_page_loads_is_kept(browser, server):
    context = browser.new_context(viewport=DESKTOP, locale="nl-NL")
    page = watch_dialogs(context.new_page())
    page.goto(server)
    page.wait_for_selector("#question textarea", timeout=LOAD_TIMEOUT_MS)
    message = ask(page, NATO_QUESTION)  # at once, not waiting for the load event
    assert "5%" in message.inner_text()
    wait_loaded(page)
    page.wait_for_timeout(1000)
    assert page.locator("#chat .answer-meta").count() == 1
    close(page)


def test_deleting_a_conversation_asks_first(browser, server):
    page = open_app(browser, server)
    ask(page, NATO_QUESTION)
    page.wait_for_selector("#conversation-list label", timeout=10_000)
    page.click("#delete-chat")
    confirm = page.locator("#confirm-delete")
    confirm.wait_for(state="visible", timeout=10_000)
    assert "verwijderen" in confirm.inner_text()
    confirm.get_by_text("Annuleren").click()
    confirm.wait_for(state="hidden", timeout=10_000)
    assert page.locator("#conversation-list label").count() == 1
    page.click("#delete-chat")
    confirm.get_by_text("Ja, verwijderen").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#conversation-list label').length === 0",
        timeout=10_000,
    )
    assert page.locator("#chat .answer-meta").count() == 0
    close(page)


def test_export_a_conversation_as_markdown_and_word(browser, server, tmp_path):
    from docx import Document

    page = open_app(browser, server)
    ask(page, NATO_QUESTION)
    ask(page, "Wat zegt de brief over de Nationale Veiligheidsstrategie van de VS?")
    page.wait_for_function("() => !document.querySelector('#export-docx').disabled", timeout=10_000)
    quotes = page.eval_on_selector_all("#chat .answer a.cite", "links => links.map(a => a.title)")
    assert quotes, "the answers cite quotes"
    with page.expect_download() as md_download:
        page.click("#export-md")
    markdown = Path(md_download.value.path()).read_text(encoding="utf-8")
    with page.expect_download() as docx_download:
        page.click("#export-docx")
    saved = tmp_path / "chat.docx"
    docx_download.value.save_as(saved)
    word = "\n".join(p.text for p in Document(str(saved)).paragraphs)
    first_quote = quotes[0].rstrip("…")[:60]
    assert first_quote in " ".join(markdown.split())
    assert first_quote in " ".join(word.split())
    assert "regels" in markdown and "regels" in word
    assert "<div" not in markdown
    close(page)


def test_copy_gives_markdown_or_text_never_html(browser, server):
    page = open_app(browser, server)
    ask(page, NATO_QUESTION)
    for button in ("Kopieer als Markdown", "Kopieer tekst"):
        page.locator("#chat button.copy-answer").filter(has_text=button).last.click()
        page.wait_for_timeout(300)
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert "5%" in copied, copied
        assert not re.search(r"<[a-z/][^>]*>|&#\d+;|&[a-z]+;", copied), copied
    close(page)


# ---- choosing sources -------------------------------------------------------------------------


def upload(page: Any, path: Path, password: str = ADMIN_PASSWORD) -> str:
    page.get_by_role("tab", name="Documenten").click()
    page.locator("#admin-password input").fill(password)
    chooser = page.locator("#upload input[type=file]")
    if chooser.count():  # after a refusal the file is still there, ready to add again
        chooser.set_input_files(str(path))
        page.wait_for_timeout(1000)
    message = "#documents-status [data-testid=markdown]"
    before = page.inner_text(message) if page.locator(message).count() else ""
    page.click("#add-doc")
    page.wait_for_function(
        "([sel, before]) => { const t = document.querySelector(sel)?.innerText || '';"
        " return t !== before && /✓|⚠/.test(t); }",
        arg=[message, before],
        timeout=120_000,
    )
    status = page.inner_text(message)
    page.get_by_role("tab", name="Chat").click()
    return status


def cited_documents(page: Any) -> set[str]:
    """The documents the last answer's sources come from (its source list)."""
    labels = page.locator("#source-list label")
    names = set()
    for i in range(labels.count()):
        labels.nth(i).click()
        page.wait_for_timeout(400)
        meta = page.locator("#source-panel .source-meta .doc").first.inner_text()
        names.add(meta.strip())
    return names


def test_source_selection_restricts_citations(browser, server, tmp_path):
    note = tmp_path / "vuurtoren-notitie.txt"
    note.write_text(
        "Notitie over de vuurtoren\n\n"
        "De vuurtoren van Westkapelle-Zuid kreeg in 2031 het codewoord Pimpernel.\n"
        "Het onderhoud van de vuurtoren wordt betaald door de gemeente Veere.\n"
        "Over de defensie-uitgaven van de NAVO zegt deze notitie niets.\n",
        encoding="utf-8",
    )
    page = open_app(browser, server)
    status = upload(page, note)
    assert "✓" in status, status
    page.reload()
    wait_loaded(page)
    scope = page.locator("#scope")
    assert scope.locator("input[type=checkbox]").count() >= 2
    # only the note: the NATO question may cite nothing else
    for label in scope.locator("label").all():
        if "vuurtoren" not in label.inner_text():
            label.click()
    ask(page, NATO_QUESTION)
    docs = cited_documents(page)
    assert docs and all("vuurtoren" in d for d in docs), docs
    path = shot(page, "scope-desktop")
    keep_screenshot(path, "scope-desktop")
    # only the letter: the lighthouse question cannot cite the note
    for label in scope.locator("label").all():
        label.click()
    ask(page, "Welk codewoord kreeg de vuurtoren van Westkapelle-Zuid?")
    docs = cited_documents(page)
    assert all("vuurtoren" not in d for d in docs), docs
    close(page)


# ---- documents, safety --------------------------------------------------------------------------


def test_documents_need_the_admin_and_removal_asks_first(browser, server, tmp_path):
    note = tmp_path / "tijdelijke-notitie.txt"
    note.write_text("Tijdelijke notitie\n\nDe kantine sluit op vrijdag om drie uur.\n", "utf-8")
    page = open_app(browser, server)
    refused = upload(page, note, password="")
    assert "beheerderswachtwoord" in refused.lower(), refused
    page.get_by_role("tab", name="Documenten").click()
    assert "tijdelijke-notitie" not in page.inner_text("#documents-table")
    assert "Alleen beheerder" in page.inner_text("body")
    assert "✓" in upload(page, note)
    page.get_by_role("tab", name="Documenten").click()
    page.locator("#remove-choice input").fill("tijdelijke-notitie")
    page.keyboard.press("Enter")
    page.click("#remove-doc")
    confirm = page.locator("#confirm-remove")
    confirm.wait_for(state="visible", timeout=10_000)
    assert "tijdelijke-notitie" in confirm.inner_text()
    path = shot(page, "documents-desktop")
    keep_screenshot(path, "documents-desktop")
    page.locator("#admin-password input").fill("")
    page.click("#confirm-remove-yes")
    page.wait_for_function(
        "() => /⚠/.test(document.querySelector('#documents-status')?.innerText || '')",
        timeout=30_000,
    )
    assert "tijdelijke-notitie" in page.inner_text("#documents-table"), "no password: kept"
    close(page)


def test_error_texts_with_markup_are_shown_as_text(browser, server, tmp_path):
    """A file name and a question that carry markup come back in error texts and the chat
    as text: nothing runs, no element is made."""
    hostile = tmp_path / "<img src=x onerror=alert(1)>.txt"
    hostile.write_text("", encoding="utf-8")  # empty: refused, with its name in the error
    page = open_app(browser, server)
    status = upload(page, hostile)
    assert "⚠" in status and "onerror=alert(1)" in status, status  # Gradio drops the < >
    page.get_by_role("tab", name="Documenten").click()
    assert page.locator("#documents-status img, #documents-status script").count() == 0
    page.get_by_role("tab", name="Chat").click()
    ask(page, "<img src=x onerror=alert(3)> wat zegt de brief over <script>alert(4)</script>?")
    page.wait_for_timeout(1000)
    assert "<script>alert(4)</script>" in page.inner_text("#chat")
    assert page.locator("img[src=x], #chat script").count() == 0
    close(page)  # asserts no alert() fired


# ---- settings, and the main screens -------------------------------------------------------------


def pick(page: Any, dropdown: str, option: str) -> None:
    """Choose `option` in a Gradio dropdown."""
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_settings_are_kept_and_errors_name_the_field(browser, server):
    page = open_app(browser, server)
    page.get_by_role("tab", name="Instellingen").click()
    pick(page, "#setting-backend", "openai")
    page.wait_for_timeout(800)
    page.reload()
    wait_loaded(page)
    page.get_by_role("tab", name="Instellingen").click()
    page.wait_for_function(
        "() => document.querySelector('#setting-backend input').value === 'openai'",
        timeout=10_000,
    )
    page.get_by_role("tab", name="Chat").click()
    message = ask(page, NATO_QUESTION).inner_text()
    assert "Instellingen" in message and "Antwoord-backend" in message, message
    assert "RAG_" not in message and "--backend" not in message, message
    page.get_by_role("tab", name="Instellingen").click()
    pick(page, "#setting-backend", "extractive")
    close(page)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_main_screens(browser, server, size):
    """Each main screen renders, with no overlapping labels; kept as screenshots."""
    page = open_app(browser, server, size)
    ask(page, NATO_QUESTION)
    page.locator("body").evaluate("() => document.body.classList.remove('sheet-open')")
    keep_screenshot(shot(page, f"chat-{size}", full_page=False), f"chat-{size}")
    page.get_by_role("tab", name="Briefing").click()
    page.locator("#topic input").fill("defensie")
    page.locator("#topic input").press("Escape")  # the list of topics may cover the button
    page.get_by_role("button", name="Schrijf briefing").click()
    page.wait_for_selector("#briefing h2", timeout=120_000)
    keep_screenshot(shot(page, f"briefing-{size}", full_page=False), f"briefing-{size}")
    for tab, name in (("Documenten", "documents"), ("Instellingen", "settings")):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(500)
        keep_screenshot(shot(page, f"{name}-{size}", full_page=False), f"{name}-{size}")
    page.get_by_role("tab", name="Chat").click()
    open_sidebar_if_closed(page)
    page.wait_for_timeout(500)
    keep_screenshot(shot(page, f"conversations-{size}", full_page=False), f"conversations-{size}")
    if size == "phone":  # the open sidebar covers the page there
        page.locator("#conversations-sidebar .toggle-button").click()
        page.wait_for_timeout(500)
    page.click("#theme-toggle")
    page.wait_for_function("() => document.body.classList.contains('dark')")
    keep_screenshot(shot(page, f"dark-{size}", full_page=False), f"dark-{size}")
    page.click("#theme-toggle")
    close(page)
