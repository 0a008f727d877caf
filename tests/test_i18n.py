"""The interface texts (ui.i18n) and the conversations kept in the browser (ui.conversations)."""

from __future__ import annotations

import re
import string

import pytest

from ui.conversations import (
    MAX_CONVERSATIONS,
    MAX_NAME,
    deleted,
    load,
    renamed,
    with_answers,
)
from ui.i18n import LANGUAGES, catalogue, pick_language, text


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_catalogues_hold_the_same_keys_and_placeholders():
    nl, en = catalogue("nl"), catalogue("en")
    assert nl.keys() == en.keys()
    for key in nl:
        assert fields(nl[key]) == fields(en[key]), key
        assert nl[key].strip() and en[key].strip(), key


SECTIONS = {
    "app",
    "tabs",
    "chat",
    "conversations",
    "answer",
    "source",
    "briefing",
    "documents",
    "settings",
    "errors",
}


def test_every_key_the_app_uses_exists():
    from pathlib import Path

    used = set()
    for path in Path("ui").glob("*.py"):
        found = re.findall(r'(?:text\([^,()]+,\s*|=\s*)f?"([a-z]+\.[a-z_]+)"', path.read_text())
        used |= {key for key in found if key.split(".")[0] in SECTIONS}
    missing = used - catalogue("en").keys()
    assert not missing, missing


@pytest.mark.parametrize(
    ("stored", "browser", "expected"),
    [
        (None, "nl-NL", "nl"),
        (None, "nl-BE", "nl"),
        (None, "en-GB", "en"),
        (None, "de-DE", "en"),
        (None, "", "nl"),
        ("en", "nl-NL", "en"),
        ("nl", "en-US", "nl"),
        ("xx", "en-US", "en"),
    ],
)
def test_language_is_the_stored_choice_else_the_browsers(stored, browser, expected):
    assert pick_language(stored, browser) == expected


def test_texts_are_filled_in_and_unknown_languages_get_english():
    assert text("nl", "answer.lines", start=3, end=5) == "regels 3–5"
    assert text("fr", "chat.send") == text("en", "chat.send")
    assert set(LANGUAGES) == {"nl", "en"}


def test_saved_conversations_survive_a_round_trip(pipeline):
    answers = [pipeline.ask("Wat is de NAVO-norm voor 2035?")]
    saved = with_answers(load(None), answers, "Nieuw gesprek")
    assert saved.current() is not None
    assert saved.current().name.startswith("Wat is de NAVO-norm")
    restored = load(saved.to_json())
    assert restored.active == saved.active
    assert restored.current().answers == answers


def test_anything_malformed_from_the_browser_is_dropped():
    raw = {
        "active": "nope",
        "conversations": [
            {"id": "a", "name": "x" * 1000, "answers": [{"not": "an answer"}, 5]},
            "garbage",
            {"name": "no id"},
        ],
    }
    saved = load(raw)
    assert [c.id for c in saved.conversations] == ["a"]
    assert saved.conversations[0].answers == []
    assert len(saved.conversations[0].name) == MAX_NAME
    assert saved.active == ""
    assert load("a string").conversations == []
    many = {"conversations": [{"id": str(i), "answers": []} for i in range(500)]}
    assert len(load(many).conversations) == MAX_CONVERSATIONS


def test_rename_and_delete():
    saved = load({"active": "b", "conversations": [{"id": "a"}, {"id": "b", "name": "B"}]})
    assert renamed(saved, "  Nieuwe   naam ").current().name == "Nieuwe naam"
    assert renamed(saved, "   ").current().name == "Nieuwe naam"
    saved = deleted(saved, "b")
    assert [c.id for c in saved.conversations] == ["a"] and saved.active == ""


def test_what_the_browser_keeps_is_bounded(pipeline):
    from ui.conversations import MAX_SAVED_TURNS, MAX_TURNS, Conversation, Saved

    answer = pipeline.ask("Wat is de NAVO-norm voor 2035?")
    many = [Conversation(str(i), f"c{i}", "", [answer] * MAX_TURNS) for i in range(20)]
    kept = Saved(many, "0").to_json()["conversations"]
    assert sum(len(c["answers"]) for c in kept) <= MAX_SAVED_TURNS
    assert kept[0]["id"] == "0"  # the newest first


def test_quotes_are_marked_dutch_and_markers_left_untranslated(pipeline):
    """An English answer's Dutch quote lines carry lang="nl" (a browser's page
    translation can translate them, a screen reader reads them as Dutch); markers are
    translate="no"; the refusal phrase follows the interface, as its badge does."""
    from rag.backends.base import refusal
    from ui.markup import answer_html

    answer = pipeline.ask("Who signed the letter?")
    shown = answer_html(answer, 0, "en")
    assert re.search(r'<li lang="nl">De minister van Buitenlandse Zaken', shown)
    assert re.search(r"<p>Named in the cited text: D\.M\. van Weel, Minister of Foreign", shown)
    assert 'translate="no"' in shown and 'class="cite"' in shown
    assert "English answers quote the Dutch sources" in shown  # and how to connect a model
    assert "RAG_GENERATION__BACKEND=ollama RAG_GENERATION__MODEL=… rag serve" in shown
    refused = pipeline.ask("Wat is de hoofdstad van Peru?")
    assert refused.refused and refused.answer == refusal("nl")
    english = answer_html(refused, 1, "en").split('<div class="copy-row">')[0]  # as shown
    assert text("en", "answer.refused") in english and refusal("en") in english
    assert refusal("nl") not in english
    assert refusal("nl") in answer_html(refused, 1, "nl")
