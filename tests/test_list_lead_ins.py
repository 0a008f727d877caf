"""List lead-ins are complete: every list question of every bundled question set is asked,
and every country or organisation that a cited sentence names must be in that sentence's
lead-in ("het VK en ook Oekraïne, Noorwegen en Turkije" gives the UK too).

The check does not reuse the lead-in's own recogniser (`rag.answer.spans.named`): it cuts
the cited sentence into runs of capitalised words and looks each run and each of its
sub-runs up in pycountry's ISO names (Dutch and English) and in the name tables, and
takes every acronym of an organisation lead-in's sentence ("IMF", "WTO") as an item
whether a table knows it or not, so a name the recogniser or a table skips is caught."""

from __future__ import annotations

import gettext
import json
import re
import tomllib
from functools import lru_cache

import pycountry
import pytest

from eval.dataset import bundled_sets
from rag.language.text import LEXICON_DIR
from rag.pipeline import Pipeline
from rag.types import Answer

_RUN = re.compile(r"[A-ZÀ-Ý][\w’'-]*(?:\s+(?:[A-ZÀ-Ý][\w’'-]*|van|der|de|den|voor))*")
_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
_POSSESSIVE = re.compile(r"[’']s$")  # "China's"
LEAD_KINDS = {"countries": "country", "bodies": "organisation"}


@lru_cache(maxsize=1)
def _known() -> dict[str, dict[str, str]]:
    """Name → its English name, per kind: ISO 3166 in Dutch and English, and the tables."""
    dutch = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["nl"])
    countries: dict[str, str] = {}
    for country in pycountry.countries:
        english = getattr(country, "common_name", None) or country.name
        countries[dutch.gettext(country.name)] = english
        countries[english] = english
    with (LEXICON_DIR / "names_nl_en.toml").open("rb") as file:
        tables = tomllib.load(file)
    countries |= tables["countries"]
    bodies = dict(tables["names"]) | {e: e for e in tables["names"].values()}
    return {"country": countries, "organisation": bodies}


def _named(kind: str, text: str) -> set[str]:
    """English names of the things of `kind` that `text` names, from capitalised runs
    (and, for organisations, every acronym)."""
    known = _known()[kind]
    acronyms = _ACRONYM.findall(text) if kind == "organisation" else []
    found = {known.get(a, a) for a in acronyms if a not in _known()["country"]}  # not "VK"
    for run in _RUN.findall(text):
        tokens = run.split()
        for i in range(len(tokens)):
            for j in range(i + 1, len(tokens) + 1):
                name = _POSSESSIVE.sub("", " ".join(tokens[i:j])).strip("’'-")
                if name in known:
                    found.add(known[name])
    return found


def _lead_in_names(answer: Answer, marker: int, kind: str) -> set[str]:
    known = _known()[kind]
    lead = next(
        (s for s in answer.spans if s.marker == marker and LEAD_KINDS.get(s.kind) == kind), None
    )
    if lead is None:
        return set()
    return {known.get(n.split(":")[0], n.split(":")[0]) for n in lead.source + lead.shown}


def _list_questions() -> list[tuple[str, str]]:
    questions = []
    for bundled in bundled_sets():
        for line in bundled.path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("type") == "list" and not row.get("follow_up_of"):
                questions.append((f"{bundled.path.name}:{row['id']}", row["question"]))
    return questions


@pytest.mark.slow
def test_every_list_lead_in_names_every_item_its_sentence_names(pipeline: Pipeline) -> None:
    questions = _list_questions()
    assert len(questions) >= 20  # every bundled set's list questions
    missing: list[str] = []
    shown = 0
    for where, question in questions:
        answer = pipeline.ask(question)
        own = {kind: _named(kind, question) for kind in LEAD_KINDS.values()}
        for citation in answer.citations:
            for kind in LEAD_KINDS.values():
                lead = _lead_in_names(answer, citation.marker, kind)
                if not lead:
                    continue
                shown += 1
                absent = {
                    name
                    for name in _named(kind, citation.quote) - own[kind] - lead
                    if not any(
                        name in shown_name for shown_name in lead
                    )  # "NATO" in "NDPP: NATO …"
                }
                if absent:
                    missing.append(f"{where} [{citation.marker}] {kind}: {sorted(absent)}")
    assert shown >= 5, "too few lead-ins to say anything"
    assert not missing, "\n".join(missing)
