"""`rag serve` in a real browser: start the server, drive headless Chromium with Playwright.

Needs Debian's chromium at /usr/bin/chromium (or $RAG_CHROMIUM); without it the tests
fail with a message saying so. Screenshots go to test-artifacts/screenshots/ (the README's
come from tests/test_ui_app.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import ask, rag_server, shot, wait_loaded, watch_dialogs

pytestmark = pytest.mark.slow

DUTCH_QUESTION = (
    "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"
)
ANSWER_TIMEOUT_MS = 120_000
ADMIN_PASSWORD = "browser-admin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with rag_server(tmp_path_factory.mktemp("ui-browser"), ADMIN_PASSWORD) as url:
        yield url


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = watch_dialogs(context.new_page())
    page.goto(server)
    wait_loaded(page)
    yield page
    assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    context.close()


def open_first_citation(page) -> str:
    """Click the first marker of the last answer; return the source panel's text."""
    markers = page.locator("#chat a.cite")
    assert markers.count() > 0, "no citation marker in the chat"
    markers.last.click()
    page.wait_for_selector("#source-panel .source-card mark", timeout=30_000)
    return page.inner_text("#source-panel")


def open_citation_for(page, document: str) -> str:
    """Pick the citation of `document` from the source list; return the panel text."""
    options = page.locator("#source-list label")
    for i in range(options.count()):
        options.nth(i).click()
        page.wait_for_timeout(500)
        text = page.inner_text("#source-panel")
        if document in text:
            return text
    raise AssertionError(f"no citation from {document}: {page.inner_text('#source-list')}")


def test_dutch_question_with_citation(page):
    message = ask(
        page, "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"
    )
    assert "5%" in message.inner_text()
    assert "Sources:" in page.locator("#chat .answer-meta").last.inner_text()
    panel = open_first_citation(page)
    assert "eu-geopolitiek-kamerbrief" in panel
    assert "lines" in panel
    highlighted = page.inner_text("#source-panel mark")
    assert len(highlighted) > 20
    shot(page, "chat-dutch-citation")


def test_english_question_with_citation(page):
    message = ask(page, "What does the letter say about the EU-Mercosur agreement?")
    assert "Mercosur" in message.inner_text()
    panel = open_first_citation(page)
    assert "eu-geopolitiek-kamerbrief" in panel
    shot(page, "chat-english-citation")


def test_follow_up_question(page):
    ask(page, DUTCH_QUESTION)
    ask(page, "En wat zegt de brief over handel?")
    assert page.locator("#chat .answer-meta, #chat .refusal").count() == 2
    shot(page, "chat-follow-up")


def upload(page, path: Path, password: str = ADMIN_PASSWORD) -> str:
    page.get_by_role("tab", name="Documents").click()
    page.locator("#admin-password input").fill(password)
    page.locator("#upload input[type=file]").set_input_files(str(path))
    page.wait_for_timeout(1000)
    page.click("#add-doc")
    page.wait_for_function(
        "() => /Indexed|Could not|only|password/.test(document.querySelector('#documents-status')"
        "?.innerText || '')",
        timeout=ANSWER_TIMEOUT_MS,
    )
    status = page.inner_text("#documents-status")
    if "Indexed" in status:
        page.wait_for_function(
            "(name) => document.querySelector('#documents-table').innerText.includes(name)",
            arg=path.stem,
            timeout=30_000,
        )
    page.wait_for_timeout(500)
    shot(page, f"documents-{path.stem}")
    page.get_by_role("tab", name="Chat").click()
    return status


def test_upload_a_document_and_ask_about_it(page, tmp_path):
    doc = tmp_path / "vuurtoren-notitie.txt"
    doc.write_text(
        "Notitie over de vuurtoren\n\n"
        "De vuurtoren van Westkapelle-Zuid kreeg in 2031 het codewoord Pimpernel.\n"
        "Het onderhoud van de vuurtoren wordt betaald door de gemeente Veere.\n",
        encoding="utf-8",
    )
    refused = upload(page, doc, password="wrong")
    assert "admin password" in refused, refused
    page.reload()
    page.wait_for_selector("#question textarea", timeout=60_000)
    status = upload(page, doc)
    assert "Indexed" in status, status
    message = ask(page, "Welk codewoord kreeg de vuurtoren van Westkapelle-Zuid?")
    assert "Pimpernel" in message.inner_text()
    panel = open_citation_for(page, "vuurtoren-notitie.txt")
    assert "Pimpernel" in panel
    shot(page, "chat-uploaded-document")


def test_document_with_script_is_shown_as_text(page, tmp_path):
    doc = tmp_path / "kwaadaardig.txt"
    doc.write_text(
        "Kwaadaardige notitie\n\n"
        "Het geheime wachtwoord van de zeemeeuwclub is Albatros <script>alert(1)</script>.\n"
        "De zeemeeuwclub vergadert op dinsdag <img src=x onerror=alert(1)> in Vlissingen.\n",
        encoding="utf-8",
    )
    assert "Indexed" in upload(page, doc)
    ask(page, "Wat is het geheime wachtwoord van de zeemeeuwclub?")
    panel = open_citation_for(page, "kwaadaardig.txt")
    assert "<script>alert(1)</script>" in panel or "<img src=x onerror=alert(1)>" in panel
    assert page.locator("#source-panel script, #source-panel img").count() == 0
    assert page.locator("#chat script, #chat img[src=x]").count() == 0
    page.wait_for_timeout(1000)
    shot(page, "chat-script-document")
    assert page.dialogs == []


def test_many_users_at_once_are_queued(browser, server):
    questions = [
        DUTCH_QUESTION,
        "What does the letter say about the EU-Mercosur agreement?",
        "Wat zegt de brief over China?",
        "How does the government view the US National Security Strategy?",
        "Wat zegt de brief over de uitbreiding van de EU?",
    ]
    contexts = [browser.new_context() for _ in questions]
    pages = [c.new_page() for c in contexts]
    try:
        for p in pages:
            p.goto(server)
            p.wait_for_selector("#question textarea", timeout=60_000)
        for p, q in zip(pages, questions, strict=True):
            p.fill("#question textarea", q)
        for p in pages:
            p.click("#send")
        for p in pages:
            p.wait_for_selector("#chat .answer-meta, #chat .refusal", timeout=ANSWER_TIMEOUT_MS)
            assert p.locator("#chat .answer-error").count() == 0
    finally:
        for c in contexts:
            c.close()
