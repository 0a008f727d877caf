"""Check any system's answers against the passages they cite: what `rag verify` and
`POST /api/verify` run.

Input, one JSON object per answer, in the common shapes:
- `{question?, answer, contexts: [str]}` (RAGAS-style),
- `{question?, claim, references: [str]}` (AttributionBench; the claim is judged whole),
- the assistant's own `rag ask --json` answers (`answer`, `citations`, `passages`).
Optional: `id`, a source field (`source` or `src_dataset`) for the summary, and a human
label (`label` true/false or `attribution_label`), which adds the agreement (macro-F1
per source, as AttributionBench scores it). An answer's sentences with `[n]` markers are
checked against context n; sentences without markers, against all contexts.

`parse_record` turns one object into a `Record` or raises `InputError` naming the field;
`check_record` judges it; `summarise` adds up many.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rag.language.sentences import sentences as split_into_sentences
from rag.verify.judge import JudgeModel, judge, load_model, macro_f1_by_source

_MARKER = re.compile(r"\s*\[(\d{1,3})\]")
SHAPES = (
    "{question?, answer, contexts: [str]}, {question?, claim, references: [str]}, "
    "or a `rag ask --json` answer"
)


class InputError(ValueError):
    """A record that cannot be checked; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field '{field}': {message}")
        self.field = field


@dataclass(frozen=True)
class Record:
    """One answer to check, whatever shape it came in."""

    text: str
    contexts: list[str]
    question: str = ""
    whole: bool = False  # judge the text as one claim (AttributionBench)
    markers: dict[int, int] | None = None  # marker number → context index (own answers)
    id: Any = None
    source: str | None = None
    label: bool | None = None


def _strings(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(field, "must be a list of strings")
    if not any(v.strip() for v in value):
        raise InputError(field, "has no passage text")
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(field, "must be non-empty text")
    return value


def _label(obj: dict[str, Any]) -> bool | None:
    if "attribution_label" in obj:
        value = obj["attribution_label"]
        if value not in ("attributable", "not attributable"):
            raise InputError("attribution_label", "must be 'attributable' or 'not attributable'")
        return bool(value == "attributable")
    if "label" in obj:
        if not isinstance(obj["label"], bool):
            raise InputError("label", "must be true or false")
        return bool(obj["label"])
    return None


def parse_record(obj: Any) -> Record:
    """One JSON object as a `Record`; `InputError` names the missing or wrong field."""
    if not isinstance(obj, dict):
        raise InputError("(line)", f"must be a JSON object with {SHAPES}")
    question = obj.get("question") or ""
    if not isinstance(question, str):
        raise InputError("question", "must be text")
    source = obj.get("source", obj.get("src_dataset"))
    common: dict[str, Any] = {
        "question": question,
        "id": obj.get("id"),
        "source": str(source) if source is not None else None,
        "label": _label(obj),
    }
    if "claim" in obj:
        if "references" not in obj:
            raise InputError("references", "is missing (the passages the claim cites)")
        contexts = _strings(obj["references"], "references")
        return Record(_text(obj["claim"], "claim"), contexts, whole=True, **common)
    if "answer" not in obj:
        raise InputError("answer", f"is missing; give {SHAPES}")
    text = _text(obj["answer"], "answer")
    if "contexts" in obj:
        return Record(text, _strings(obj["contexts"], "contexts"), **common)
    if "passages" in obj:
        return _own_answer(obj, text, common)
    raise InputError("contexts", "is missing (the passages the answer was given)")


def _own_answer(obj: dict[str, Any], text: str, common: dict[str, Any]) -> Record:
    """A `rag ask --json` answer: markers point at citations, citations at passages."""
    passages = obj["passages"]
    if not isinstance(passages, list) or not all(
        isinstance(p, dict) and isinstance(p.get("text"), str) for p in passages
    ):
        raise InputError("passages", "must be a list of objects with 'text'")
    contexts = [p["text"] for p in passages]
    if not any(c.strip() for c in contexts):
        raise InputError("passages", "has no passage text")
    rows = {p.get("chunk_id"): i for i, p in enumerate(passages)}
    markers: dict[int, int] = {}
    for citation in obj.get("citations") or []:
        if isinstance(citation, dict) and citation.get("chunk_id") in rows:
            markers[int(citation.get("marker", 0))] = rows[citation["chunk_id"]]
    return Record(text, contexts, markers=markers, **common)


def _units(record: Record) -> list[tuple[str, list[int]]]:
    """The sentences to judge, each with the contexts it cites (all when none)."""
    everything = [i for i, c in enumerate(record.contexts) if c.strip()]
    if record.whole:
        return [(record.text, everything)]
    units = []
    for sentence in split_into_sentences(record.text) or [record.text]:
        cited: list[int] = []
        for n in (int(m) for m in _MARKER.findall(sentence)):
            index = record.markers.get(n) if record.markers is not None else n - 1
            if index is not None and index in everything and index not in cited:
                cited.append(index)
        plain = _MARKER.sub("", sentence).strip()
        if plain:
            units.append((plain, cited or everything))
    return units


def check_record(embedder: Any, record: Record, model: JudgeModel | None = None) -> dict[str, Any]:
    """The verdict of one answer and of each of its sentences."""
    model = model or load_model()
    sentences = []
    for text, cited in _units(record):
        passages = [record.contexts[i] for i in cited]
        verdict = judge(embedder, text, passages, record.question, model)
        row = verdict.to_json()
        row["passage"] = cited[verdict.passage] + 1  # 1-based, as markers count
        sentences.append({"sentence": text, **row})
    supported = sum(s["supported"] for s in sentences)
    verdict_word = (
        "supported"
        if sentences and supported == len(sentences)
        else ("partly supported" if supported else "unsupported")
    )
    return {
        "id": record.id,
        "source": record.source,
        "verdict": verdict_word,
        "supported": verdict_word == "supported",
        "score": min((s["score"] for s in sentences), default=0.0),
        "label": record.label,
        "sentences": sentences,
    }


def summarise(results: Sequence[dict[str, Any]], bad_lines: int = 0) -> dict[str, Any]:
    """Shares supported (answers, sentences), by source when given, and the agreement
    with human labels when the input carries them."""

    def shares(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        sentences = [s for r in rows for s in r["sentences"]]
        return {
            "answers": len(rows),
            "supported": round(sum(r["supported"] for r in rows) / len(rows), 3) if rows else 0.0,
            "sentences": len(sentences),
            "sentences_supported": round(sum(s["supported"] for s in sentences) / len(sentences), 3)
            if sentences
            else 0.0,
            "mean_score": round(sum(r["score"] for r in rows) / len(rows), 3) if rows else 0.0,
        }

    summary: dict[str, Any] = {"all": shares(results), "bad_lines": bad_lines}
    sources = sorted({r["source"] for r in results if r["source"] is not None})
    if sources:
        summary["by_source"] = {
            s: shares([r for r in results if r["source"] == s]) for s in sources
        }
    labelled = [r for r in results if r["label"] is not None]
    if labelled:
        summary["agreement_macro_f1"] = macro_f1_by_source(
            [r["source"] or "all" for r in labelled],
            [r["label"] for r in labelled],
            [r["supported"] for r in labelled],
        )
    return summary


def check_lines(
    embedder: Any, lines: Iterable[str], model: JudgeModel | None = None
) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """(line number, result or the error that skipped it) for each non-blank JSONL line."""
    model = model or load_model()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = parse_record(json.loads(line))
        except json.JSONDecodeError as exc:
            yield number, InputError("(line)", f"is not JSON ({exc.msg})")
            continue
        except InputError as exc:
            yield number, exc
            continue
        yield number, check_record(embedder, record, model)
