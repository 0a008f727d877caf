"""Answers and whole conversations as Markdown or plain text for notes: never HTML.

What a reader pastes into a note: each question, the answer with its citation markers,
then its sources — the quoted sentence(s) verbatim, with document, line range and section —
and refusals marked as such with the closest passages shown whole. The fixed labels
follow the reader's interface language ("nl" or "en"); document text stays as written.
Grounding labels mean what the source cards in `ui.markup` mean: "quoted verbatim" only
where the verifier found the answer sentence word for word in the cited passage. All text
is passed through `plain`, so no tag or HTML entity ever reaches an export.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Sequence
from typing import Literal

from rag.types import Answer, Citation, Hit, SentenceVerdict

Lang = Literal["nl", "en"]

WORDS: dict[str, dict[str, str]] = {
    "nl": {
        "conversation": "Gesprek",
        "question": "Vraag",
        "questions": "{n} vragen",
        "one_question": "1 vraag",
        "exported": "Geëxporteerd op {date}",
        "sources": "Bronnen",
        "line": "regel",
        "lines": "regels",
        "page": "p.",
        "footnote": "voetnoot",
        "refused": "Geen antwoord uit de documenten",
        "closest": "Dichtstbijzijnde passages (geen antwoord; om zelf na te lezen)",
        "passage": "Passage",
        "unsupported_answer": "Let op: de meeste zinnen van dit antwoord worden niet "
        "ondersteund door de passages die ze citeren.",
        "quote": "letterlijk geciteerd",
        "supported": "ondersteund (controlescore {support})",
        "unsupported": "niet ondersteund (controlescore {support}): de passage zegt dit "
        "mogelijk niet",
        "legend": "Over de labels: ‘letterlijk geciteerd’ betekent dat de zin van het "
        "antwoord woord voor woord in de bron staat, op de genoemde regels; ‘ondersteund’ "
        "en ‘niet ondersteund’ geven de score van een automatische controle van de zin "
        "tegen de geciteerde passage (geen controle door een mens).",
    },
    "en": {
        "conversation": "Conversation",
        "question": "Question",
        "questions": "{n} questions",
        "one_question": "1 question",
        "exported": "Exported on {date}",
        "sources": "Sources",
        "line": "line",
        "lines": "lines",
        "page": "p.",
        "footnote": "footnote",
        "refused": "No answer from the documents",
        "closest": "Closest passages (not an answer; to read for yourself)",
        "passage": "Passage",
        "unsupported_answer": "Note: most sentences of this answer are not supported by "
        "the passages they cite.",
        "quote": "quoted verbatim",
        "supported": "supported (verifier score {support})",
        "unsupported": "not supported (verifier score {support}): the passage may not say this",
        "legend": "About the labels: ‘quoted verbatim’ means the answer sentence stands "
        "word for word in the source at the cited lines; ‘supported’ and ‘not supported’ "
        "give the score of an automatic check of the sentence against the cited passage "
        "(not a human check).",
    },
}
MONTHS = {
    "nl": "januari februari maart april mei juni juli augustus september oktober november "
    "december".split(),
    "en": "January February March April May June July August September October November "
    "December".split(),
}
CLOSEST_SHOWN = 3
"""Closest passages shown under a refusal (the UI offers the same three)."""

_TAG = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->|</?[A-Za-z][^<>]*>", re.S | re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BULLET = re.compile(r"^\s*(?:[-*•]|(\d+)[.)])\s+")
_EMPHASIS = re.compile(r"\*\*|__|`")


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_GLUED = re.compile(r"([A-Za-zÀ-ÿ).’”])(\d{1,3})(?=\s|$|\[|[,;:])")


def footnote_numbers(answer: Answer) -> set[int]:
    """Footnote numbers the cited passages hold markers of."""
    cited = {c.chunk_id for c in answer.citations}
    return {n for h in answer.passages if h.chunk.chunk_id in cited for n in h.chunk.footnotes}


def footnote_marks(text: str, numbers: set[int]) -> str:
    """Footnote references glued to a word ("bij.6") as superscript digits ("bij.⁶"):
    only the passage's own footnote numbers, so figures stay as they are."""
    if not numbers:
        return text

    def mark(match: re.Match[str]) -> str:
        if int(match.group(2)) not in numbers:
            return match.group(0)
        return match.group(1) + match.group(2).translate(_SUPERSCRIPT)

    return _GLUED.sub(mark, text)


def words(lang: str) -> dict[str, str]:
    """The fixed labels in `lang` (English for anything but "nl")."""
    return WORDS["nl" if lang == "nl" else "en"]


def plain(text: str) -> str:
    """`text` without HTML: entities decoded, tags removed (also ones that decoding
    revealed; scripts and styles with their content), control characters dropped.
    Ordinary text comes back unchanged."""
    for _ in range(4):
        cleaned = _TAG.sub("", html.unescape(text))
        if cleaned == text:
            break
        text = cleaned
    return _CONTROL.sub("", _TAG.sub("", text))


def one_line(text: str) -> str:
    """Plain text on one line (for headings and titles)."""
    return " ".join(plain(text).split())


def export_date(lang: str, when: datetime.date | None = None) -> str:
    """ "Geëxporteerd op 29 november 2026" / "Exported on 29 November 2026"."""
    day = when or datetime.date.today()
    month = MONTHS["nl" if lang == "nl" else "en"][day.month - 1]
    return words(lang)["exported"].format(date=f"{day.day} {month} {day.year}")


def count_questions(n: int, lang: str) -> str:
    w = words(lang)
    return w["one_question"] if n == 1 else w["questions"].format(n=n)


def line_range(lines: tuple[int, int], lang: str) -> str:
    """ "regels 114–117" / "line 12"."""
    w = words(lang)
    first, last = lines
    return f"{w['line']} {first}" if first == last else f"{w['lines']} {first}–{last}"


def citation_where(citation: Citation, lang: str) -> str:
    """Document, line range, page (when paged) and section of a citation."""
    where = f"{one_line(citation.document)}, {line_range(citation.lines, lang)}"
    if citation.page is not None:
        where += f", {words(lang)['page']} {citation.page}"
    return where + (f" — {one_line(citation.section)}" if citation.section else "")


def passage_where(hit: Hit, lang: str) -> str:
    """Document, line range, page and section of a retrieved passage."""
    chunk = hit.chunk
    where = f"{one_line(chunk.document)}, {line_range(chunk.lines, lang)}"
    if chunk.page_start is not None:
        where += f", {words(lang)['page']} {chunk.page_start}"
    if chunk.kind == "footnote":
        where += f", {words(lang)['footnote']} {chunk.footnote_number}"
    return where + (f" — {one_line(chunk.section)}" if chunk.section else "")


def grounding(
    citation: Citation, verdicts: Sequence[SentenceVerdict]
) -> tuple[Literal["quote", "supported", "unsupported"], float]:
    """What was checked about the answer sentences citing `citation`: the weakest of
    their verdicts (as the source cards show it); the citation's own verdict when no
    sentence refers to it."""
    mine = [v for v in verdicts if citation.marker in v.markers and v.grounding != "uncited"]
    if not mine:
        return ("supported" if citation.supported else "unsupported"), citation.support
    order = ("unsupported", "supported", "quote")
    worst = min(mine, key=lambda v: order.index(v.grounding))
    return worst.grounding, worst.support  # type: ignore[return-value]


def grounding_label(citation: Citation, verdicts: Sequence[SentenceVerdict], lang: str) -> str:
    """ "quoted verbatim", "supported (verifier score 0.72)", … in `lang`."""
    kind, support = grounding(citation, verdicts)
    score = f"{support:.2f}"
    return words(lang)[kind].format(support=score.replace(".", ",") if lang == "nl" else score)


def answer_blocks(text: str) -> list[tuple[str, str]]:
    """The answer's non-empty lines, plain, as (list marker, text): the marker is "" for
    a paragraph, "-" for a bullet, "3." for a numbered item (its number kept)."""
    blocks = []
    for line in plain(text).split("\n"):
        bullet = _BULLET.match(line)
        body = (line[bullet.end() :] if bullet else line).strip()
        if not body:
            continue
        number = bullet.group(1) if bullet else None
        blocks.append((f"{number}." if number else "-" if bullet else "", body))
    return blocks


# ---- Markdown ---------------------------------------------------------------------------


def _blockquote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in plain(text).strip().split("\n"))


def _answer_markdown_lines(answer: Answer, lang: str) -> list[str]:
    """The body of one turn in Markdown: answer (or refusal), warning, sources."""
    w = words(lang)
    notes = footnote_numbers(answer)
    out: list[str] = []
    if answer.refused:
        out += [f"**{w['refused']}:** {one_line(answer.answer)}", ""]
    else:
        previous = ""
        for marker, body in answer_blocks(answer.answer):
            if out and not (marker and previous):
                out.append("")  # paragraphs apart, list items together
            body = footnote_marks(body, notes)
            out.append(f"{marker} {body}" if marker else body)
            previous = marker
        out.append("")
    if answer.unsupported_answer:
        out += [f"*{w['unsupported_answer']}*", ""]
    if answer.citations:
        out += [f"**{w['sources']}**", ""]
        for c in answer.citations:
            label = grounding_label(c, answer.sentences, lang)
            quote = footnote_marks(c.quote, notes)
            out += [f"[{c.marker}] {citation_where(c, lang)} · *{label}*", "", _blockquote(quote)]
            out.append("")
    elif answer.refused and answer.passages:
        out += [f"**{w['closest']}**", ""]
        for n, hit in enumerate(answer.passages[:CLOSEST_SHOWN], start=1):
            out += [f"{w['passage']} {n}: {passage_where(hit, lang)}", ""]
            out += [_blockquote(hit.chunk.text), ""]
    return out


def answer_markdown(answer: Answer, lang: str) -> str:
    """One answer as Markdown (the per-message copy): text with markers, then sources."""
    return "\n".join(_answer_markdown_lines(answer, lang)).strip() + "\n"


def conversation_markdown(
    answers: Sequence[Answer], *, title: str, lang: str, when: datetime.date | None = None
) -> str:
    """A whole conversation as Markdown: a title, the export date, one section per
    question with its answer and quoted sources, and what the grounding labels mean."""
    w = words(lang)
    heading = one_line(title) or w["conversation"]
    out = [
        f"# {heading}",
        "",
        f"*{export_date(lang, when)} · {count_questions(len(answers), lang)}*",
    ]
    for n, answer in enumerate(answers, start=1):
        out += ["", f"## {w['question']} {n}. {one_line(answer.question)}", ""]
        out += _answer_markdown_lines(answer, lang)
    if any(a.citations for a in answers):
        out += ["", "---", "", f"*{w['legend']}*"]
    return "\n".join(out).strip() + "\n"


# ---- plain text -------------------------------------------------------------------------


def answer_plain_text(answer: Answer, lang: str) -> str:
    """One answer as plain text (the per-message copy): no HTML, no Markdown syntax
    added; the answer's own emphasis marks removed; quotes verbatim in “…”."""
    w = words(lang)
    notes = footnote_numbers(answer)
    out: list[str] = []
    if answer.refused:
        out.append(f"{w['refused']}: {one_line(answer.answer)}")
    else:
        out += [f"{m} {b}" if m else b for m, b in answer_blocks(answer.answer)]
        out = [footnote_marks(_EMPHASIS.sub("", line), notes) for line in out]
    if answer.unsupported_answer:
        out += ["", w["unsupported_answer"]]
    if answer.citations:
        out += ["", f"{w['sources']}:"]
        for c in answer.citations:
            label = grounding_label(c, answer.sentences, lang)
            quote = footnote_marks(plain(c.quote), notes)
            out += [f"[{c.marker}] {citation_where(c, lang)} ({label})", f"“{quote}”"]
    elif answer.refused and answer.passages:
        out += ["", f"{w['closest']}:"]
        for n, hit in enumerate(answer.passages[:CLOSEST_SHOWN], start=1):
            out += [f"{n}. {passage_where(hit, lang)}", f"“{plain(hit.chunk.text)}”"]
    return "\n".join(out).strip() + "\n"
