"""Accessibility of every main screen, checked by axe-core in headless Chromium.

axe-core is the npm package pinned in tests/axe (installed by `scripts/install.sh --test`),
injected into the running app (`rag serve` over the letter and a note). Each screen — the
chat with an answer, the source viewer, the conversations, a briefing, the documents,
the settings — in Dutch and English, light and dark, desktop and phone, must have no
serious or critical violation (colour contrast to WCAG AA included). Also: the question
box has a name for screen readers, and the page can be used with the keyboard alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browsing import DESKTOP, PHONE, ROOT, ask, shot, wait_loaded, watch_dialogs

pytestmark = pytest.mark.slow

AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
QUESTION = {"en": "What does the letter say about China?", "nl": "Wat zegt de brief over China?"}
TABS = {
    "en": {"briefing": "Briefing", "documents": "Documents", "settings": "Settings"},
    "nl": {"briefing": "Briefing", "documents": "Documenten", "settings": "Instellingen"},
}
WRITE = {"en": "Write briefing", "nl": "Schrijf briefing"}
QUESTION_NAME = {"en": "Your question", "nl": "Uw vraag"}
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is not installed at {AXE}: run ./scripts/install.sh --test "
            "(or: npm ci --prefix tests/axe)."
        )
    return AXE.read_text(encoding="utf-8")


def opaque(page: Any, selector: str) -> None:
    """Wait until `selector` is shown at full strength (Gradio fades a component while
    its event runs; axe would measure the faded colours)."""
    page.wait_for_function(
        """(sel) => { let e = document.querySelector(sel); if (!e) return false;
          for (; e; e = e.parentElement) {
            if (parseFloat(getComputedStyle(e).opacity) < 1) return false; }
          return true; }""",
        arg=selector,
        timeout=30_000,
    )


def violations(page: Any, axe: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line
    each (rule, impact, the first elements and why)."""
    page.wait_for_timeout(400)  # let transitions end: axe reads the colours shown
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe)
    found = page.evaluate(
        """async (blocking) => {
          const result = await axe.run(document, {resultTypes: ['violations']});
          return result.violations.filter(v => blocking.includes(v.impact)).map(v =>
            `${v.id} (${v.impact}): ` + v.nodes.slice(0, 4).map(n =>
              `${n.target.join(' ')} — ${n.failureSummary.replace(/\\s+/g, ' ')}`).join(' | '));
        }""",
        list(BLOCKING),
    )
    return list(found)


def open_app(browser: Any, url: str, lang: str, theme: str, size: str) -> Any:
    phone = size == "phone"
    context = browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        locale="nl-NL" if lang == "nl" else "en-US",
        is_mobile=phone,
        has_touch=phone,
    )
    context.add_init_script(f"localStorage.setItem('rag-theme', '{theme}')")
    page = watch_dialogs(context.new_page())
    page.goto(url)
    wait_loaded(page)
    assert page.evaluate("() => document.body.classList.contains('dark')") == (theme == "dark")
    return page


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_every_screen_passes_axe(browser, two_document_app, axe_source, lang, theme, size):
    page = open_app(browser, two_document_app, lang, theme, size)
    found: dict[str, list[str]] = {}

    def check(screen: str) -> None:
        found[screen] = violations(page, axe_source)
        if found[screen]:
            shot(page, f"axe-{screen}-{lang}-{theme}-{size}", full_page=False)

    ask(page, QUESTION[lang])
    opaque(page, "#chat .answer-meta")
    check("chat")
    page.locator("#chat .answer a.cite").first.click()
    page.locator("#source-panel .source-card mark").first.wait_for(timeout=30_000)
    opaque(page, "#source-panel .source-card")
    check("source viewer")
    page.keyboard.press("Escape")
    sidebar_open = page.locator("#conversations-sidebar.open").count() > 0
    if not sidebar_open:
        page.locator("#conversations-sidebar .toggle-button").click()
        page.wait_for_selector("#conversations-sidebar.open", timeout=10_000)
    check("conversations")
    if size == "phone":  # the open sidebar covers the page there
        page.locator("#conversations-sidebar .toggle-button").click()
        page.wait_for_timeout(500)
    page.get_by_role("tab", name=TABS[lang]["briefing"]).click()
    page.locator("#topic input").fill("handel")
    page.locator("#topic input").press("Escape")  # close the topic list over the button
    page.get_by_role("button", name=WRITE[lang]).click()
    page.wait_for_selector("#briefing h2", timeout=120_000)
    opaque(page, "#briefing h2")
    check("briefing")
    for screen in ("documents", "settings"):
        page.get_by_role("tab", name=TABS[lang][screen]).click()
        page.wait_for_timeout(300)
        check(screen)
    page.context.close()
    failing = {screen: lines for screen, lines in found.items() if lines}
    assert not failing, "\n".join(f"{s}: {line}" for s, ls in failing.items() for line in ls)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_the_question_box_is_named_for_screen_readers(browser, two_document_app, lang):
    page = open_app(browser, two_document_app, lang, "light", "desktop")
    box = page.get_by_role("textbox", name=QUESTION_NAME[lang], exact=True)
    assert box.count() == 1
    assert box.evaluate("e => e.closest('#question') !== null")
    page.context.close()


def focus_path(page: Any, presses: int) -> list[str]:
    """What Tab reaches, in order: an id, or a tag with its class and text."""
    reached = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                """() => { const e = document.activeElement; if (!e) return '';
                  const box = e.closest('[id]');
                  return [e.tagName.toLowerCase(), e.className || '', box ? box.id : '',
                          (e.innerText || e.getAttribute('aria-label') || '').slice(0, 40)]
                         .join('|'); }"""
            )
        )
    return reached


def test_everything_is_reachable_by_keyboard(browser, two_document_app):
    page = open_app(browser, two_document_app, "en", "light", "desktop")
    page.locator("body").focus()
    page.keyboard.press("Tab")
    # the question: typed and sent from the keyboard alone
    page.get_by_role("textbox", name=QUESTION_NAME["en"]).focus()
    page.keyboard.type(QUESTION["en"])
    before = page.locator("#chat .answer-meta").count()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#chat .answer-meta').length > n", arg=before
    )
    page.evaluate("() => document.activeElement.blur()")
    path = focus_path(page, 80)
    joined = "\n".join(path)
    for wanted in ("theme-toggle", "lang-switch", "new-chat", "rename-chat", "|question|"):
        assert wanted in joined, f"Tab never reaches {wanted}:\n{joined}"
    assert any(step.startswith("a|cite|") for step in path), f"no marker by Tab:\n{joined}"
    assert any("copy-answer" in step for step in path), f"no copy button by Tab:\n{joined}"
    assert any(step.startswith("button|") and "|send|" in step for step in path), joined
    assert any("role=tab" in step or "|Briefing" in step for step in path), joined
    # a marker opens its source with Enter, and Escape closes it again
    marker = page.locator("#chat .answer a.cite").first
    marker.focus()
    page.keyboard.press("Enter")
    view = page.locator("#source-panel .source-view")
    view.wait_for(state="visible", timeout=30_000)
    page.locator("#source-panel .doc-view").focus()  # the document view scrolls by keyboard
    page.keyboard.press("Escape")
    view.wait_for(state="hidden", timeout=5_000)
    # a tab opens with Enter
    page.get_by_role("tab", name="Briefing").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name=WRITE["en"]).wait_for(state="visible", timeout=10_000)
    page.context.close()


def test_axe_finds_what_it_should(browser, two_document_app, axe_source):
    """The check can fail: grey-on-white text and an unnamed box are reported."""
    page = open_app(browser, two_document_app, "en", "light", "desktop")
    page.evaluate(
        """() => { const p = document.createElement('p'); p.textContent = 'faint text';
          p.style.color = '#c0c0c0'; p.style.background = '#ffffff';
          document.querySelector('#app-header').appendChild(p);
          const t = document.createElement('textarea');
          document.querySelector('#app-header').appendChild(t); }"""
    )
    found = " ".join(violations(page, axe_source))
    assert "color-contrast" in found and "label" in found, found
    page.context.close()


def test_axe_is_pinned() -> None:
    lock = (ROOT / "tests" / "axe" / "package-lock.json").read_text(encoding="utf-8")
    assert '"axe-core"' in lock and Path(ROOT / "tests" / "axe" / "package.json").is_file()
