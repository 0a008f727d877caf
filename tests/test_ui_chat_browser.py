"""The chat as a reader meets it, in headless Chromium against a real `rag serve` (the
letter and a short note): markers from [1], their preview on focus and on a tap, Escape
closing the source panel, copy buttons that say "Copied" only after copying, ticks kept
over a reload, a rename reaching the export, the admin password's messages, and the
first screen of a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from browsing import DESKTOP, PHONE, ask, shot, wait_loaded, watch_dialogs

pytestmark = pytest.mark.slow

CHINA = "What does the letter say about China?"
TOAST = ".toast-body"


def open_app(browser: Any, url: str, size: dict, **context: Any) -> Any:
    phone = size == PHONE
    ctx = browser.new_context(
        viewport=size, locale="en-US", is_mobile=phone, has_touch=phone, **context
    )
    page = watch_dialogs(ctx.new_page())
    page.goto(url)
    wait_loaded(page)
    return page


def close(page: Any) -> None:
    assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    page.context.close()


def preview(page: Any) -> Any:
    return page.locator("#cite-preview")


def test_markers_start_at_one_and_preview_on_focus(browser, two_document_app):
    raw = httpx.post(f"{two_document_app}api/ask", json={"question": CHINA}, timeout=120).json()
    assert min(c["marker"] for c in raw["citations"]) > 1, "the raw answer must not start at [1]"
    page = open_app(browser, two_document_app, DESKTOP)
    ask(page, CHINA)
    markers = page.locator("#chat .answer a.cite")
    assert markers.first.inner_text() == "[1]"
    assert page.locator("#source-list label").first.inner_text().startswith("[1]")
    page.keyboard.press("Shift+Tab")  # somewhere on the page, then to the marker by focus
    markers.first.focus()
    bubble = preview(page)
    bubble.wait_for(state="visible", timeout=5_000)
    quote = bubble.inner_text()
    assert "China" in quote and len(quote) > 30
    assert markers.first.get_attribute("aria-describedby") == "cite-preview"
    assert markers.first.get_attribute("title") is None, "no native tooltip beside it"
    page.keyboard.press("Escape")
    bubble.wait_for(state="hidden", timeout=5_000)
    close(page)


def test_a_tap_previews_and_a_second_tap_opens_the_source(browser, two_document_app):
    page = open_app(browser, two_document_app, PHONE)
    ask(page, CHINA)
    marker = page.locator("#chat .answer a.cite").first
    marker.scroll_into_view_if_needed()
    marker.tap()
    preview(page).wait_for(state="visible", timeout=5_000)
    assert "China" in preview(page).inner_text()
    assert not page.evaluate("() => document.body.classList.contains('sheet-open')")
    shot(page, "phone-marker-preview", full_page=False)
    marker.tap()
    page.wait_for_function("() => document.body.classList.contains('sheet-open')")
    page.locator("#source-panel .source-card mark").first.wait_for(timeout=30_000)
    assert preview(page).is_hidden()
    close(page)


def test_escape_closes_the_desktop_source_panel(browser, two_document_app):
    page = open_app(browser, two_document_app, DESKTOP)
    ask(page, CHINA)
    marker = page.locator("#chat .answer a.cite").first
    marker.click()
    view = page.locator("#source-panel .source-view")
    view.wait_for(state="visible", timeout=30_000)
    page.mouse.move(5, 5)  # away from the marker, so no preview is open
    page.keyboard.press("Escape")
    view.wait_for(state="hidden", timeout=5_000)
    focused = page.evaluate("() => document.activeElement.className")
    assert "cite" in focused, "the focus returns to the marker that opened the source"
    marker.click()
    view.wait_for(state="visible", timeout=30_000)
    page.locator("#source-panel button.sheet-close").click()  # the × does the same
    view.wait_for(state="hidden", timeout=5_000)
    close(page)


def test_copy_says_copied_only_after_copying(browser, two_document_app):
    page = open_app(
        browser, two_document_app, DESKTOP, permissions=["clipboard-read", "clipboard-write"]
    )
    ask(page, CHINA)
    row = page.locator("#chat .copy-row").last
    button = row.locator("button.copy-plain")
    assert button.inner_text() == "Copy text"
    assert "Copied" not in (button.get_attribute("title") or "")
    assert "Copied" not in row.inner_text(), "nothing says Copied before a copy"
    button.click()
    page.wait_for_function(
        "(b) => b.innerText.startsWith('✓')", arg=button.element_handle(), timeout=5_000
    )
    assert button.inner_text() == "✓ Copied"
    assert "China" in page.evaluate("() => navigator.clipboard.readText()")
    close(page)
    # a browser that refuses the clipboard: the button says so, never "Copied"
    page = open_app(browser, two_document_app, DESKTOP)
    page.evaluate(
        "() => { navigator.clipboard.writeText = () => Promise.reject(new Error('no'));"
        " document.execCommand = () => false; }"
    )
    ask(page, CHINA)
    button = page.locator("#chat .copy-row").last.locator("button.copy-markdown")
    button.click()
    page.wait_for_function(
        "(b) => b.innerText.startsWith('⚠')", arg=button.element_handle(), timeout=5_000
    )
    assert "Could not copy" in button.inner_text() and "Copied" not in button.inner_text()
    close(page)


def ticked(page: Any) -> dict[str, bool]:
    boxes = page.locator("#scope input[type=checkbox]")
    return {
        boxes.nth(i).get_attribute("name"): boxes.nth(i).is_checked() for i in range(boxes.count())
    }


def test_source_ticks_survive_a_reload_and_a_language_switch(browser, two_document_app):
    page = open_app(browser, two_document_app, DESKTOP)
    assert ticked(page) == {"eu-geopolitiek-kamerbrief": True, "fietspaden-notitie": True}
    page.locator("#scope label").filter(has_text="fietspaden").click()
    page.wait_for_timeout(1_500)  # the choice is kept in this browser
    assert ticked(page)["fietspaden-notitie"] is False
    page.reload()
    wait_loaded(page)
    page.wait_for_timeout(500)
    assert ticked(page) == {"eu-geopolitiek-kamerbrief": True, "fietspaden-notitie": False}
    page.locator("#lang-switch").get_by_text("Nederlands").click()
    # The switch may reload the page once (Gradio's own texts follow the language).
    page.wait_for_function("() => document.querySelector('#send').innerText.trim() === 'Verstuur'")
    wait_loaded(page)
    page.wait_for_function("() => document.querySelectorAll('#scope input').length === 2")
    page.wait_for_timeout(500)
    assert ticked(page) == {"eu-geopolitiek-kamerbrief": True, "fietspaden-notitie": False}
    close(page)


def test_a_rename_reaches_the_export(browser, two_document_app):
    page = open_app(browser, two_document_app, DESKTOP, accept_downloads=True)
    ask(page, CHINA)
    page.wait_for_function("() => !document.querySelector('#export-md').disabled")
    box = page.locator("#rename-chat textarea, #rename-chat input").first
    box.fill("China en de EU")
    box.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#conversation-list').innerText.includes('China en de EU')"
    )
    page.wait_for_timeout(1_000)  # the export buttons follow
    with page.expect_download() as download:
        page.click("#export-md")
    name = download.value.suggested_filename
    assert name == "conversation-china-en-de-eu.md", name
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# China en de EU\n")
    close(page)


def test_admin_password_messages(browser, two_document_app, tmp_path):
    page = open_app(browser, two_document_app, DESKTOP)
    page.get_by_role("tab", name="Documents").click()
    memo = tmp_path / "memo.txt"
    memo.write_text("Memo.\n\nDe gemeente legt een fietspad aan.\n", encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(memo))
    page.wait_for_timeout(1_000)
    status = page.locator("#documents-status")
    for password, expected in (("", "Enter the admin password"), ("wrong", "not right")):
        page.locator("#admin-password input").fill(password)
        page.click("#add-doc")
        page.wait_for_function(
            "(t) => (document.querySelector('#documents-status')?.innerText || '').includes(t)",
            arg=expected,
            timeout=30_000,
        )
        page.wait_for_timeout(1_500)  # a second warning would have come by now
        toasts = " ".join(page.locator(TOAST).all_inner_texts())
        assert toasts.count(expected) == 1, toasts  # Gradio groups warnings: count texts
        assert "&#" not in status.inner_text()
    assert "memo" not in page.inner_text("#documents-table")
    # removing with the wrong password: refused the same way, once, and nothing removed
    page.locator("#remove-choice input").fill("fietspaden-notitie")
    page.keyboard.press("Enter")
    page.click("#remove-doc")
    page.locator("#confirm-remove").wait_for(state="visible", timeout=10_000)
    page.click("#confirm-remove-yes")
    page.locator("#confirm-remove").wait_for(state="hidden", timeout=30_000)
    page.wait_for_timeout(1_500)
    shot(page, "documents-removal-refused")
    assert "not right" in status.inner_text(), status.inner_text()
    toasts = " ".join(page.locator(TOAST).all_inner_texts())
    assert toasts.count("not right") == 2, toasts  # the add's and the removal's
    assert "fietspaden-notitie" in page.inner_text("#documents-table")
    close(page)


def test_phone_first_screen_has_the_question_box(browser, two_document_app):
    page = open_app(browser, two_document_app, PHONE)
    box = page.locator("#question textarea").bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    send = page.locator("#send").bounding_box()
    assert send is not None and send["y"] + send["height"] <= PHONE["height"], send
    shot(page, "phone-first-screen", full_page=False)
    page.get_by_role("tab", name="Documents").click()
    table = page.locator("#documents-table table")
    table.wait_for(timeout=10_000)
    for cell in page.locator("#documents-table td").all():
        if not cell.inner_text().strip():
            continue
        cell_box = cell.bounding_box()
        assert cell_box is not None and cell_box["width"] >= 250, "one readable column"
        assert cell_box["x"] >= 0 and cell_box["x"] + cell_box["width"] <= PHONE["width"]
    labels = page.eval_on_selector_all(
        "#documents-table tbody tr:first-child td",
        "cells => cells.map(c => getComputedStyle(c, '::before').content)",
    )
    assert labels[:2] == ['"id: "', '"title: "'], "each field is labelled on a phone"
    shot(page, "phone-documents", full_page=False)
    close(page)


def test_desktop_documents_table_has_a_short_header(browser, two_document_app):
    page = open_app(browser, two_document_app, DESKTOP)
    page.get_by_role("tab", name="Documents").click()
    header = page.locator("#documents-table thead").bounding_box()
    assert header is not None and header["height"] < 50, header
    names = page.locator("#documents-table th").all_inner_texts()
    assert names[:2] == ["id", "title"] and len(names) == 7
    close(page)
