"""Precision of the glossary on labelled (word, sentence, correct English) items.

Each item of `eval/labels/glossary_items.jsonl` is a content word of a sentence of the
bundled documents with the English it has in that sentence (one or more acceptable
renderings), labelled by hand from the documents; `split` puts every other item in the
held-out half. For an item the glossary is made from its sentence alone; the item
counts as shown when an entry covers its word (the word itself, or a phrase or compound
holding it), and as correct when the entry's English is one of the accepted renderings
(a phrase's or compound's English: when it contains one as whole words; a trailing "s"
is ignored on both sides, so "relation" passes for "relations").

    .venv/bin/python scripts/glossary_precision.py --split dev [--floors 0.8 0.9]

`--floors` also scores the dictionary path (each word's closest FreeDict sense by the
multilingual encoder, shown from that cosine up); `--baseline` scores the glossary as it
was before (the dictionary's first senses, all shown: correct when the first is right).
Score the held-out half once, with the settings chosen on the dev half.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from rag.language import terms
from rag.language.glossary import glossary, load, translate
from rag.settings import Settings

ITEMS = Path(__file__).resolve().parents[1] / "eval" / "labels" / "glossary_items.jsonl"


def _norm(text: str) -> str:
    return " ".join(re.sub(r"s\b", "", w) for w in text.lower().split())


def correct(english: str, accepted: list[str], whole: bool) -> bool:
    """Whether a shown English rendering is one of the accepted ones (inside a phrase's
    English when `whole` is false)."""
    shown = _norm(english)
    for option in map(_norm, accepted):
        if shown == option or (not whole and re.search(rf"\b{re.escape(option)}\b", shown)):
            return True
    return False


def entry_for(word: str, entries: dict[str, str]) -> tuple[str, bool] | None:
    """The entry covering `word`: (its English, whether it is the word alone)."""
    for dutch, english in entries.items():
        key = dutch.lower()
        if key == word:
            return english, True
        parts = re.split(r"[\s-]+", key)
        if word in parts or (len(parts) == 1 and word in key and len(word) >= terms.MIN_PART):
            return english, False
    return None


def score(items: list[dict], floor: float | None, embedder: object | None) -> dict[str, float]:
    base = Settings().answer.glossary or Path("/usr/share/dictd/freedict-nld-eng")
    shown = right = 0
    wrong: list[str] = []
    for item in items:
        entries = glossary(
            [item["sentence"]], base, limit=100, embedder=embedder, min_similarity=floor
        )
        found = entry_for(item["word"], entries)
        if found is None:
            continue
        shown += 1
        if correct(found[0], item["english"], found[1]):
            right += 1
        else:
            wrong.append(f"{item['word']} = {found[0]}")
    return _row(len(items), shown, right, wrong)


def baseline(items: list[dict]) -> dict[str, float]:
    dictionary = load(Settings().answer.glossary or Path("/usr/share/dictd/freedict-nld-eng"))
    shown = right = 0
    wrong: list[str] = []
    for item in items:
        meaning = translate(item["word"], dictionary)
        if not meaning:
            continue
        shown += 1
        first = meaning.split(", ")[0].split(" + ")[0]
        if " + " in meaning:
            first = " ".join(part.split(", ")[0] for part in meaning.split(" + "))
        if correct(first, item["english"], True):
            right += 1
        else:
            wrong.append(f"{item['word']} = {meaning}")
    return _row(len(items), shown, right, wrong)


def _row(items: int, shown: int, right: int, wrong: list[str]) -> dict:
    return {
        "items": items,
        "shown": shown,
        "correct": right,
        "precision": round(right / shown, 3) if shown else 0.0,
        "coverage": round(shown / items, 3) if items else 0.0,
        "wrong": wrong,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "holdout", "all"], default="dev")
    parser.add_argument("--floors", type=float, nargs="*", default=[])
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--show-wrong", action="store_true")
    args = parser.parse_args()
    items = [json.loads(line) for line in ITEMS.read_text(encoding="utf-8").splitlines()]
    items = [i for i in items if args.split in ("all", i["split"])]
    rows: dict[str, dict] = {}
    if args.baseline:
        rows["before: dictionary, first senses"] = baseline(items)
    rows["term table (default)"] = score(items, None, None)
    if args.floors:
        from rag.retrieval.embeddings import load_embedder

        embedder = load_embedder(Settings().embedding)
        for floor in args.floors:
            rows[f"table + dictionary from cosine {floor}"] = score(items, floor, embedder)
    for name, row in rows.items():
        wrong = row.pop("wrong")
        print(json.dumps({"split": args.split, "glossary": name, **row}))
        if args.show_wrong:
            print("   wrong:", "; ".join(wrong))


if __name__ == "__main__":
    main()
