"""The interface in one language end to end (issue 22.4), in headless Chromium against a
real `rag serve`: a Dutch browser switched to English shows no Dutch text outside quotes
(marked lang="nl"), document names and quoted headings — neither the app's own texts
(`ui/locales/nl.toml`) nor Gradio's built-in ones ("Sleep een bestand hier") — and an
English browser switched to Dutch shows none of their English counterparts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import gradio
import pytest
from browsing import ask, rag_server, shot, wait_loaded, watch_dialogs

from ui.i18n import catalogue

pytestmark = pytest.mark.slow
ADMIN_PASSWORD = "language-admin"
ASSETS = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
_ENTRY = re.compile(r"(\w+):`([^`]*)`")


def gradio_texts(lang: str) -> dict[str, str]:
    """Gradio's built-in texts in `lang` by key, from its bundled translation file."""
    (path,) = ASSETS.glob(f"{lang}-*.js")
    return dict(_ENTRY.findall(path.read_text(encoding="utf-8")))


def foreign_texts(other: str, shown: str) -> list[str]:
    """Texts of the `other` language that differ from the `shown` language's: the app's
    catalogue and Gradio's built-in texts (two words or more, so no single word that
    both languages share, such as "Logo", counts)."""
    texts: list[str] = []
    for table in (catalogue, gradio_texts):
        theirs, ours = table(other), table(shown)
        for key, value in theirs.items():
            plain = re.sub(r"\{[^}]*\}", " ", value).strip()
            if value != ours.get(key) and len(plain.split()) >= 2 and "<" not in plain:
                texts.append(plain)
    return texts


VISIBLE_TEXT_JS = """
() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim()) continue;
    const marked = el.closest('[lang]');  // a quote marked with its language
    if (marked && marked !== document.documentElement) continue;
    if (el.closest('script, style, .copy-source')) continue;
    if (!el.checkVisibility()) continue;
    out.push(node.textContent);
  }
  document.querySelectorAll('input[placeholder], textarea[placeholder]').forEach(
    (e) => { if (e.checkVisibility()) out.push(e.placeholder); });
  return out.join('\\n');
}
"""


def shown_text(page) -> str:
    """The visible text outside marked quotes, with quoted headings (“…”) left out."""
    text = page.evaluate(VISIBLE_TEXT_JS)
    return " ".join(re.sub(r"“[^”]*”", " ", text).split())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with rag_server(tmp_path_factory.mktemp("ui-language"), ADMIN_PASSWORD) as url:
        yield url


def switched(browser, server: str, locale: str, to: str):
    """A page opened in a browser of `locale`, switched to the interface language `to`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=locale)
    page = watch_dialogs(context.new_page())
    page.goto(server)
    wait_loaded(page)
    name = {"nl": "Nederlands", "en": "English"}[to]
    page.locator("#lang-switch label").filter(has_text=name).click()
    starts = {"nl": "Wat zegt", "en": "What does"}[to]
    page.wait_for_function(
        "(starts) => document.documentElement.lang === "
        f"'{to}' && [...document.querySelectorAll('.example-row button')]"
        ".some(b => b.offsetParent !== null && b.innerText.startsWith(starts))",
        arg=starts,
        timeout=60_000,
    )
    wait_loaded(page)  # after the reload that lets Gradio's own texts follow
    return context, page


def assert_only(page, shown: str, other: str, name: str) -> None:
    text = shown_text(page)
    found = [t for t in foreign_texts(other, shown) if t in text]
    shot(page, name)
    assert not found, f"{other} text in the {shown} interface: {found}"


def test_english_interface_in_a_dutch_browser(browser, server) -> None:
    context, page = switched(browser, server, "nl-NL", "en")
    assert_only(page, "en", "nl", "ui-language-en-start")
    answer = ask(page, "Who signed the letter?")
    assert "Minister of Foreign Affairs" in answer.inner_text()
    assert page.locator('#chat [lang="nl"]').count() >= 1  # the Dutch quote, marked
    assert page.locator('#chat a.cite[translate="no"]').count() >= 1
    ask(page, "What is the capital of Peru?")  # refused: badge and phrase in English
    assert_only(page, "en", "nl", "ui-language-en-answers")
    page.get_by_role("tab", name=re.compile("Documents")).click()
    page.wait_for_timeout(1000)
    assert_only(page, "en", "nl", "ui-language-en-documents")  # Gradio's upload texts
    page.get_by_role("tab", name=re.compile("Briefing")).click()
    page.fill("#topic input", "trade")
    page.get_by_role("button", name=catalogue("en")["briefing.write"]).click()
    page.wait_for_selector("#briefing .key-facts", timeout=120_000)
    briefing = page.inner_text("#briefing")
    assert "Sources" in briefing and "Bronnen" not in briefing and "Algemeen" not in briefing
    assert page.locator('#briefing blockquote[lang="nl"]').count() >= 1
    assert_only(page, "en", "nl", "ui-language-en-briefing")
    context.close()


def test_dutch_interface_in_an_english_browser(browser, server) -> None:
    context, page = switched(browser, server, "en-US", "nl")
    assert_only(page, "nl", "en", "ui-language-nl-start")
    ask(page, "Wie heeft de brief ondertekend?")
    ask(page, "Wat is de hoofdstad van Peru?")
    assert_only(page, "nl", "en", "ui-language-nl-answers")
    page.get_by_role("tab", name=re.compile("Documenten")).click()
    page.wait_for_timeout(1000)
    assert_only(page, "nl", "en", "ui-language-nl-documents")
    context.close()
