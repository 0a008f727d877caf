"""The many-documents benchmark's scoring (scripts/multidoc_bench.py): the metadata an
answer states, and a document reference in any of its spellings."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "multidoc_bench.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("multidoc_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_meta_recall_counts_each_stated_field() -> None:
    bench = _bench()
    meta = {
        "submitters": ["Van der Plas", "Eppink"],
        "date": "2023-02-08",
        "kind": "motie",
        "number": "21501-20 nr. 1914",
    }
    full = "De leden Van der Plas en Eppink, 8 februari 2023, motie (Kamerstuk 21501-20, nr. 1914)."
    assert bench.meta_recall(meta, full) == 1.0
    english = "A motion by Van der Plas and Eppink of February 8, 2023 (21501-20, nr. 1914)."
    assert bench.meta_recall(meta, english) == 1.0
    half = "Submitted by Van der Plas on 9 February 2023 (Kamerstuk 21501-20, nr. 1915)."
    assert bench.meta_recall(meta, half) == 0.2  # one name of two; date, number, kind wrong


def test_a_document_reference_resolves_in_any_spelling() -> None:
    assert {
        _bench().key(r) for r in ("kst-36410-V-51", "36410-V, nr. 51", "kst-36410-v-51.txt")
    } == {"36410v51"}


def test_a_count_questions_expected_documents_are_its_items() -> None:
    bench = _bench()
    row = {"type": "cross_count", "expected_documents": ["kst-1", "kst-2"], "expected_count": 2}
    assert bench.expected_items(row) == ["kst-1", "kst-2"]
    assert bench.expected_items({"type": "motion_fact", "expected_documents": ["kst-1"]}) == []
