"""Shared by the browser suites: start `rag serve`, drive headless Chromium (Playwright).

Needs Debian's chromium at /usr/bin/chromium (or $RAG_CHROMIUM); without it the tests
fail with a message saying so. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, running_server

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
ANSWER_TIMEOUT_MS = 120_000
LOAD_TIMEOUT_MS = 60_000
ANSWERED = "#chat .answer-meta, #chat .refusal, #chat .answer-error"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def rag_executable() -> list[str]:
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ui.cli"]


@contextmanager
def rag_server(tmp: Path, admin_password: str) -> Iterator[str]:
    """A real `rag serve` on a free loopback port, with its own index under `tmp`."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    env.pop("RAG_UI__USERNAME", None)
    env.pop("RAG_UI__PASSWORD", None)
    env["RAG_UI__ADMIN_PASSWORD"] = admin_password  # document changes need it
    command = [*rag_executable(), "--index", str(tmp / "index"), "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/"
    with running_server(command, url, tmp / "server.log", STARTUP_TIMEOUT_S, cwd=ROOT, env=env):
        yield url


@contextmanager
def chromium() -> Iterator[Any]:
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


def watch_dialogs(page: Any) -> Any:
    """Record any alert/confirm/prompt (an injected script would raise one)."""
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    return page


def wait_loaded(page: Any) -> None:
    """The page is up and its load event has run (it fills in the example questions)."""
    page.wait_for_selector("#question textarea", timeout=LOAD_TIMEOUT_MS)
    # the load event fills in the example questions from the indexed documents
    page.wait_for_function(
        "() => [...document.querySelectorAll('.example-row button')]"
        ".some(b => b.offsetParent !== null && b.innerText.trim().length > 0)",
        timeout=LOAD_TIMEOUT_MS,
    )


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def ask(page: Any, question: str) -> Any:
    """Type a question, send it, wait for the final answer; return the last bot message."""
    before = page.locator(ANSWERED).count()
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n",
        arg=[ANSWERED, before],
        timeout=ANSWER_TIMEOUT_MS,
    )
    return page.locator("#chat .answer, #chat .refusal, #chat .answer-error").last
