"""What a document is: title, kind, date, sender, signatories and dossier number, read
at index time from the conventions of Dutch and EU official papers.

The conventions are data (`index/metadata.toml`): the heading block at the top (a
subject line "Betreft …", a kind heading "BRIEF VAN DE MINISTER VAN …", "Den Haag,
12 december 2025", "Kamerstuk 21 501-02, nr. 3123" or the Staten-Generaal header), and
the signature block at the end ("De minister van Buitenlandse Zaken," over
"D.M. van Weel"). What a paper does not state stays empty; the title falls back to the
file name. `describe` works on any text with line breaks: a raw file at index time, or
a document's passages for an index built before metadata existed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

from index.conventions import conventions
from index.motion import structure
from rag.types import Chunk


class _Entry(Protocol):
    doc_id: str
    name: str
    described: bool

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any: ...


Entry = TypeVar("Entry", bound=_Entry)  # an index.store.DocumentEntry

KINDS = ("letter", "motion", "agenda", "report", "note", "other")
FIELDS = (
    "title",
    "kind",
    "date",
    "sender",
    "signatories",
    "dossier",
    "submitters",
    "considerations",
    "request",
)


@lru_cache(maxsize=16)
def _patterns(kind: str, table: str = "patterns") -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in conventions()[table][kind])


def _search(kind: str, line: str, table: str = "patterns") -> re.Match[str] | None:
    return next((m for p in _patterns(kind, table) if (m := p.search(line))), None)


def describe(text: str, name: str) -> dict[str, Any]:
    """The metadata fields (`FIELDS`) of a document's text; `name` is its file name."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    filled = [line for line in lines if line]
    c = conventions()
    head = filled[: c["head_lines"]]
    heading = _first(head, "kind_heading")
    title = _title(head, lines, heading, name)
    signatories = signature(_tail(lines, c["tail_lines"]))
    sender = signatories[0].split(",")[0] if signatories else ""
    if not sender and heading is not None and heading.group("sender"):
        sender = _sentence_case("de " + heading.group("sender"))
    kind = _kind(title, heading, name, head)
    return {
        "title": title,
        "kind": kind,
        "date": _date(head) or _date(filled[-c["tail_lines"] :]),
        "sender": sender,
        "signatories": signatories,
        "dossier": dossier(head),
        **(structure(text, title) if kind == "motion" else {}),
    }


def fallback_title(name: str) -> str:
    """A title made from a file name: "eu-geopolitiek-kamerbrief.txt" → "eu geopolitiek
    kamerbrief"."""
    stem = Path(name).stem if "." in name else name
    return " ".join(re.split(r"[-_\s]+", stem)).strip() or name


def _first(lines: list[str], kind: str) -> re.Match[str] | None:
    return next((m for line in lines if (m := _search(kind, line))), None)


def _title(head: list[str], lines: list[str], heading: re.Match[str] | None, name: str) -> str:
    for kind in ("subject", "heading"):
        found = _first(head, kind)
        if found:
            return found.group("title").strip()
    if heading is not None:
        return _sentence_case(heading.group("title"))
    first = _first_paragraph(lines)
    # A first paragraph of one short line without a full stop reads as a heading.
    if len(first) == 1 and len(first[0]) <= 120 and not first[0].endswith((".", ",", ";", ":")):
        return first[0]
    return fallback_title(name)


def _first_paragraph(lines: list[str]) -> list[str]:
    """The first run of non-blank lines."""
    paragraph: list[str] = []
    for line in lines:
        if line:
            paragraph.append(line)
        elif paragraph:
            break
    return paragraph


def _kind(title: str, heading: re.Match[str] | None, name: str, head: list[str]) -> str:
    texts = [title, heading.group("title") if heading else "", fallback_title(name)]
    for text in texts:
        for kind, _ in conventions()["kinds"].items():
            if text and _search(kind, text, "kinds"):
                return str(kind)
    earliest: tuple[int, str] | None = None
    for kind in conventions()["kinds_in_text"]:
        for n, line in enumerate(head):
            if _search(kind, line, "kinds_in_text") and (earliest is None or n < earliest[0]):
                earliest = (n, str(kind))
                break
    return earliest[1] if earliest else "other"


def _date(lines: list[str]) -> str | None:
    """The paper's date as ISO yyyy-mm-dd, from the first dating line."""
    months = conventions()["months"]
    for line in lines:
        found = _search("date", line)
        if not found:
            continue
        if found.groupdict().get("iso"):  # "Datum: 2024-02-15"
            return str(found.group("iso"))
        day, month, year = found.group("date").replace(".", "").split()
        if month.lower() in months and 1 <= int(day) <= 31:
            return f"{int(year):04d}-{months[month.lower()]:02d}-{int(day):02d}"
    return None


def dossier(head: list[str]) -> str:
    """The paper's own dossier number from its heading block ("21 501-02, nr. 3123");
    footnote lines, which cite other papers, are skipped."""
    lines = [line for line in head if not _search("footnote", line)]
    for line in lines:
        found = _search("dossier", line)
        if found:
            number = found.groupdict().get("number")
            return found.group("dossier") + (f", nr. {number}" if number else "")
    header = _first(lines, "dossier_header")
    number = _first(lines, "dossier_number")
    if header and number:
        return f"{header.group('dossier')}, nr. {number.group('number')}"
    return ""


def _tail(lines: list[str], count: int) -> list[str]:
    """The last `count` non-blank lines with the blank lines between them."""
    seen = 0
    for start in range(len(lines) - 1, -1, -1):
        seen += bool(lines[start])
        if seen == count:
            return lines[start:]
    return lines


def signature(tail: list[str]) -> list[str]:
    """The signature block's "office, name" pairs ("De minister van Buitenlandse Zaken,
    D.M. van Weel"), in order. An office opens its paragraph (a line inside running
    text that happens to start "De minister …," is not one)."""
    signed: list[str] = []
    for n, line in enumerate(tail):
        found = _search("signature_role", line)
        if not found or (n > 0 and tail[n - 1] and not _search("signature_name", tail[n - 1])):
            continue
        role = found.group("role").strip()
        name = (found.group("name") or "").strip()
        if not name:
            following = [f for f in tail[n + 1 : n + 5] if f][:2]
            name = next(
                (m.group("name").strip() for f in following if (m := _search("signature_name", f))),
                "",
            )
            if name and _search("signature_role", name + ","):
                name = ""
        if name:
            signed.append(f"{role}, {name}")
    return signed


def _sentence_case(text: str) -> str:
    """An all-capitals heading as a sentence ("BRIEF VAN DE MINISTER" → "Brief van de
    minister"); other text as it is."""
    text = " ".join(text.split()).strip(" ,")
    if text.upper() != text:
        return text
    lowered = text.lower()
    return lowered[:1].upper() + lowered[1:]


def describe_passages(chunks: Sequence[Chunk], name: str) -> dict[str, Any]:
    """`describe` over a document's passages (its body text in reading order, headings
    as their own paragraphs): for an index built before metadata was stored."""
    paragraphs: list[str] = []
    section = ""
    for chunk in sorted(chunks, key=lambda c: c.start):
        if chunk.kind != "body":
            continue
        if chunk.section and chunk.section != section:
            paragraphs.append(chunk.section)
        section = chunk.section
        paragraphs.append(chunk.text)
    return describe("\n\n".join(paragraphs), name)


def described(entries: Sequence[Entry], chunks: Sequence[Chunk]) -> list[Entry]:
    """The entries, those of an index built before metadata was stored described from
    their passages (in memory; the index on disk is left as it is)."""
    if all(entry.described for entry in entries):
        return list(entries)
    by_document: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_document.setdefault(chunk.doc_id, []).append(chunk)
    return [
        entry
        if entry.described
        else entry.model_copy(
            update={
                **describe_passages(by_document.get(entry.doc_id, []), entry.name),
                "described": True,
            }
        )
        for entry in entries
    ]
