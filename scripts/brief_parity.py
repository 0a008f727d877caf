"""Do topic briefings treat a topic alike in English and Dutch? Bullets per topic pair,
quotes shared, and the whole-letter briefing's section coverage.

    .venv/bin/python scripts/brief_parity.py
"""

from __future__ import annotations

from assembly.library import open_pipeline
from rag.settings import Settings

PAIRS = [
    ("defence", "defensie"),
    ("trade", "handel"),
    ("migration", "migratie"),
    ("security", "veiligheid"),
    ("enlargement", "uitbreiding"),
    ("energy", "energie"),
    ("China", "China"),
    ("partnerships", "partnerschappen"),
    ("economic security", "economische veiligheid"),
    ("diplomacy", "diplomatie"),
]


def main() -> None:
    pipeline = open_pipeline(Settings(), build_if_missing=True)
    print("| English | bullets | Dutch | bullets | quotes shared |")
    print("|---|---|---|---|---|")
    gaps = []
    for english, dutch in PAIRS:
        en, nl = pipeline.brief(english), pipeline.brief(dutch)
        shared = {c.quote for c in en.citations} & {c.quote for c in nl.citations}
        gaps.append(abs(len(en.points) - len(nl.points)))
        print(f"| {english} | {len(en.points)} | {dutch} | {len(nl.points)} | {len(shared)} |")
    within = sum(gap <= 1 for gap in gaps)
    print(f"\npairs within one bullet: {within}/{len(gaps)}; largest gap {max(gaps)}")
    whole = pipeline.brief(None)
    sections = {p.section for p in whole.points}
    print(f"whole letter: {len(whole.points)} bullets over {len(sections)} sections")


if __name__ == "__main__":
    main()
