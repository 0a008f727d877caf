"""A motion's structure read at index time (index.motion via index.metadata.describe)."""

from __future__ import annotations

from pathlib import Path

from index.metadata import describe

MOTIONS = Path(__file__).resolve().parents[1] / "corpus" / "multidoc" / "motions"

PRINTED = """Titel: Motie van het lid Jansen c.s. over steun aan Moldavië
Datum: 2023-02-21

Tweede Kamer der Staten-Generaal
MOTIE VAN HET LID JANSEN C.S.
De Kamer,
gehoord de beraadslaging,
constaterende dat Moldavië onder druk staat;
overwegende dat steun nodig is;
verzoekt de regering Moldavië
te steunen,

Tweede Kamer, vergaderjaar 2022–2023, 36 045, nr. 1
1

en gaat over tot de orde van de dag.
Jansen
De Vries
Van der Berg

kst-36045-1
ISSN 0921 - 7371
"""


def test_motion_structure_from_its_text() -> None:
    meta = describe(PRINTED, "kst-36045-1.txt")
    assert meta["kind"] == "motion"
    assert meta["date"] == "2023-02-21"
    assert meta["title"].startswith("Motie van het lid Jansen c.s.")
    assert meta["considerations"] == [
        "constaterende dat Moldavië onder druk staat",
        "overwegende dat steun nodig is",
    ]
    assert meta["request"] == "verzoekt de regering Moldavië te steunen"
    assert meta["submitters"] == ["Jansen", "De Vries", "Van der Berg"]  # "c.s." expanded


def test_a_letter_gets_no_motion_fields() -> None:
    meta = describe("Geachte voorzitter,\n\nIn deze brief …\n", "brief.txt")
    assert meta["kind"] == "letter"
    assert "request" not in meta


def test_every_bundled_motion_has_a_request_submitters_and_date() -> None:
    files = sorted(MOTIONS.glob("*.txt"))
    assert len(files) == 113
    for path in files:
        meta = describe(path.read_text(encoding="utf-8"), path.name)
        assert meta["kind"] == "motion", path.name
        assert meta["request"] and meta["submitters"] and meta["date"], path.name
