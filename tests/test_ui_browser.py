"""`rag serve` in a real browser: start the server, drive headless Chromium with Playwright.

Needs Debian's chromium at /usr/bin/chromium (or $RAG_CHROMIUM); without it the tests
fail with a message saying so. Screenshots go to test-artifacts/screenshots/, and the
chat with an open citation is copied to docs/screenshot-chat.png when UPDATE_SCREENSHOT=1.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port, running_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("RAG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_S = 240
DUTCH_QUESTION = (
    "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?"
)
ANSWER_TIMEOUT_MS = 120_000
ADMIN_PASSWORD = "browser-admin"


def rag_executable() -> list[str]:
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ui.cli"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("ui-browser")
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    env.pop("RAG_UI__USERNAME", None)
    env.pop("RAG_UI__PASSWORD", None)
    env["RAG_UI__ADMIN_PASSWORD"] = ADMIN_PASSWORD  # document changes need it
    command = [*rag_executable(), "--index", str(tmp / "index"), "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/"
    with running_server(command, url, tmp / "server.log", STARTUP_TIMEOUT_S, cwd=ROOT, env=env):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install Debian's chromium package "
            "(apt-get install chromium) or set RAG_CHROMIUM to a Chromium binary."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(server)
    page.wait_for_selector("#question textarea", timeout=60_000)
    yield page
    assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    context.close()


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def ask(page, question: str) -> object:
    """Type a question, send it, wait for the final answer; return the last bot message."""
    before = page.locator("#chat .answer-meta, #chat .refusal, #chat .answer-error").count()
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n",
        arg=["#chat .answer-meta, #chat .refusal, #chat .answer-error", before],
        timeout=ANSWER_TIMEOUT_MS,
    )
    return page.locator("#chat .answer, #chat .refusal, #chat .answer-error").last


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
    assert "source(s)" in page.locator("#chat .answer-meta").last.inner_text()
    panel = open_first_citation(page)
    assert "eu-geopolitiek-kamerbrief" in panel
    assert "lines" in panel
    highlighted = page.inner_text("#source-panel mark")
    assert len(highlighted) > 20
    path = shot(page, "chat-dutch-citation")
    if os.environ.get("UPDATE_SCREENSHOT"):  # refresh the README's picture on request only
        shutil.copyfile(path, ROOT / "docs" / "screenshot-chat.png")


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
