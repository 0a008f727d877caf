"""Clean extracted text into readable body text with an exact map back to raw offsets.

Input is text as pypdf or a .txt/.md file yields it. Lines are classified, then joined:

* Paragraph break: a whitespace-only line. Page break: a form feed, a page start from
  ``RawDocument.page_starts``, or an *empty* line in pypdf-style text (lines end in a
  space and paragraph breaks are " " lines; there "" ends a page's running text). A page
  break is invisible: blank lines around it are dropped while the sentence before it
  runs on (no closing . ! ? :), so a sentence cut by a page bottom reads whole.
* Footnotes: after a page break, a line "N text" starts footnote N when N follows the
  previous footnote and a glued marker ("handel.N", "beschermenN") occurs earlier;
  unindented lines continue it; an indented or other line resumes the body. Before a form
  feed, a block of such lines after a blank line is lifted too (pdftotext style).
* Page furniture is dropped: lines repeated (digits ignored) on several pages, page
  numbers next to a page break, URL-only lines at a page bottom or repeated.
* Joining: within a paragraph a line break becomes one space; paragraphs are separated by
  "\n\n"; whitespace runs collapse. A heading that opens a paragraph keeps its own line
  (``_heading_end``), as do markdown headings and list items (``_own_line``).
* De-hyphenation of "X-" at a line end before "Y" (``_join``): keep "x-y" if that form
  occurs in the vocabulary, join if "xy" does; otherwise keep the hyphen when Y starts
  with a capital or digit, X ends in one, or the vowels at the seam would run together
  (Dutch klinkerbotsing, "zee-egel"); else join (Dutch compounds are written solid).
  "X- en/of/tot Y" is a suspended compound and keeps its space.

Every output character maps to a raw offset: text characters to themselves (also across
a de-hyphenation join), an inserted space or newline to the raw whitespace it replaces.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from rag.types import Document, Footnote, RawDocument

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_LETTERS = re.compile(r"[^\W\d_]+")
_MID_WORD = re.compile(r"(?:(?<=[^\W\d_])|(?<=[,;]))\s+([^\W\d_]+)")  # mid-sentence word
_TOKEN = re.compile(r"\S+")
_DIGITS = re.compile(r"\d+")
_ODD_SPACE = re.compile(r"\s\s|[^\S ]")
_LEFT_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*$")
_RIGHT_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_URL_LINE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_PAGE_NUMBER = re.compile(
    r"(?:(?:pagina|page|blz\.?|p\.)\s*)?[-–]?\s*\d{1,4}\s*[-–]?(?:\s*(?:van|of|/)\s*\d{1,4})?",
    re.IGNORECASE,
)
_FOOTNOTE_START = re.compile(r"(\d{1,3})[ \t\u00a0]+\S")
_LEADING_NUMBER = re.compile(r"^#\s+(?=\S)")  # in a furniture key, digits are "#"
_TRAILING_NUMBER = re.compile(r"(?<=\S)\s+#$")
_EDGE_LINES = 2  # running headers and footers sit among a page's first or last two lines
_MARKER_END = frozenset(" \t\n\r\f\u00a0.,;:)]!?’”\"'")
_CLOSERS = frozenset(".,;:)]’”\"'!?")
_SENTENCE_END = re.compile(r"[.!?]\s+(\w)")
_MD_HEADING = re.compile(r"#{1,6}(?:\s|$)")
_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,2}[.)])\s")
_BULLETS = frozenset("•▪●◦■□➢►")
_SUSPENDED = frozenset({"en", "of", "tot", "noch", "en/of", "t/m", "and", "or", "to", "&"})
# Dutch klinkerbotsing: vowels that would read as one sound if the compound were joined.
_VOWEL_CLASH = frozenset(
    {"aa", "ae", "ai", "au", "ee", "ei", "eu", "ie", "ii", "oe", "oi", "oo", "ou", "ui", "uu"}
)
# A heading does not end in one of these (a wrapped sentence often does).
_FUNCTION_WORDS = frozenset(
    {"de", "het", "een", "van", "en", "of", "in", "op", "met", "voor", "door", "naar", "over"}
    | {"tot", "bij", "aan", "om", "uit", "als", "dat", "die", "the", "a", "an", "and", "or"}
    | {"to", "on", "for", "with", "from", "by", "at", "as"}
)
_MAX_HEADING_LINES = 2
_MAX_HEADING_CHARS = 200
_SHORT_LINE = 0.6  # a line shorter than this share of the median line was broken by hand
_BODY, _BREAK, _PAGE, _SKIP, _NOTE = "body", "break", "page", "skip", "note"
_GAPS = (_BREAK, _SKIP)
_SPACE, _HYPHEN, _SOLID = "space", "hyphen", "solid"


@dataclass(slots=True)
class _Line:
    start: int  # raw offset of text[0]
    text: str  # without its terminator
    kind: str = _BODY
    page: int = 0
    hard: bool = False  # page break from a form feed / page start

    def collapsed(self) -> tuple[str, Sequence[int]]:
        """The line stripped, whitespace runs made one space; raw offset of each character."""
        text = self.text.strip()
        start = self.start + len(self.text) - len(self.text.lstrip())
        if not _ODD_SPACE.search(text):
            return text, range(start, start + len(text))
        words: list[str] = []
        offsets: list[int] = []
        for m in _TOKEN.finditer(self.text):
            if words:
                offsets.append(self.start + m.start() - 1)  # the whitespace before the word
            words.append(m.group())
            offsets.extend(range(self.start + m.start(), self.start + m.end()))
        return " ".join(words), offsets


@dataclass(slots=True)
class _Note:
    number: int
    lines: list[_Line] = field(default_factory=list)


def corpus_vocabulary(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased word counts (words may contain internal hyphens, e.g. 'defensie-industrie')
    over raw texts; used as evidence for de-hyphenation."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word.lower() for word in _WORD.findall(text))
    return counts


def clean_document(raw: RawDocument, vocabulary: Counter[str] | None = None) -> Document:
    """Clean text extracted from a PDF (or plain text) into readable body text with an exact
    map back to raw offsets."""
    vocab = vocabulary if vocabulary is not None else corpus_vocabulary([raw.text])
    lines = _split_lines(raw)
    _mark_furniture(lines)
    notes = _lift_footnotes(lines, _marker_positions(raw.text))
    _bridge_page_breaks(lines)
    evidence = _Evidence(raw.text, lines, vocab)
    parts: list[str] = []
    offsets: list[int] = []
    _assemble(lines, evidence, parts, offsets)
    text = "".join(parts)
    markers = _marker_positions(text)
    footnotes: list[Footnote] = []
    after = -1
    for note in notes:
        positions = markers.get(note.number, [])
        index = bisect.bisect_right(positions, after)
        marker = positions[index] if index < len(positions) else None
        after = marker if marker is not None else after
        texts = [line.collapsed() for line in note.lines]
        body = _join_lines([texts[0][0].split(" ", 1)[1]] + [t for t, _ in texts[1:]], vocab)
        start, end = texts[0][1][0], texts[-1][1][-1] + 1
        footnotes.append(
            Footnote(number=note.number, text=body, start=start, end=end, marker=marker)
        )
    return Document(raw=raw, text=text, raw_offsets=offsets, footnotes=footnotes)


def _split_lines(raw: RawDocument) -> list[_Line]:
    """Lines with raw offsets; form feeds and page starts become hard page-break lines."""
    page_starts = set(raw.page_starts) - {0}
    lines: list[_Line] = []
    pos = 0
    for line in raw.text.split("\n"):
        pieces = line.split("\f")
        start = pos
        for k, piece in enumerate(pieces):
            if k:
                lines.append(_Line(start - 1, "", _PAGE, hard=True))
            if start in page_starts and not (lines and lines[-1].kind == _PAGE):
                lines.append(_Line(start, "", _PAGE, hard=True))
            if piece or len(pieces) == 1:
                lines.append(_Line(start, piece.rstrip("\r")))
            start += len(piece) + 1
        pos += len(line) + 1
    # pypdf style: (nearly) every line ends in a space and paragraph breaks are " " lines;
    # there an empty line ends a page's running text. Elsewhere it is a paragraph break.
    filled = [x.text for x in lines if x.text.strip()]
    spaced = sum(1 for x in lines if x.text and not x.text.strip())
    empty = sum(1 for x in lines if x.kind == _BODY and not x.text)
    trailing = sum(1 for t in filled if t[-1].isspace())
    empty_is_page = spaced >= 2 and spaced > empty and trailing * 2 > len(filled)
    page = 0
    for x in lines:
        if x.kind == _BODY and not x.text.strip():
            x.kind = _PAGE if not x.text and empty_is_page else _BREAK
        page += x.kind == _PAGE
        x.page = page
    return lines


def _mark_furniture(lines: list[_Line]) -> None:
    """Drop repeated headers/footers, page numbers at page breaks and repeated URL lines."""
    body = [x for x in lines if x.kind == _BODY]
    n_pages = lines[-1].page + 1 if lines else 1
    seen = Counter(x.text.strip() for x in body)
    running = _running_lines(body, n_pages) if n_pages > 1 else set()
    for i, x in enumerate(body):
        stripped = x.text.strip()
        if i in running or (seen[stripped] > 1 and _URL_LINE.fullmatch(stripped)):
            x.kind = _SKIP
    for i, x in enumerate(lines):
        if x.kind != _PAGE:
            continue
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(lines) and lines[j].kind in _GAPS:
                j += step
            near = lines[j] if 0 <= j < len(lines) else None
            if near and near.kind == _BODY and _PAGE_NUMBER.fullmatch(near.text.strip()):
                near.kind = _SKIP


def _running_lines(body: list[_Line], n_pages: int) -> set[int]:
    """Indexes in `body` of running headers and footers: lines of at most 120 characters
    that repeat, digits ignored ("Pagina 2 van 5" as "Pagina # van #"), on `min_pages`
    pages (a line that looks like a footnote, "2 Zie …", only verbatim).

    Print headers are also matched with the page number at either end dropped ("3   Tweede
    Kamer, …, nr. 3123" with "Tweede Kamer, …, nr. 3123   4"), and count from two pages
    when they sit on all pages but one (a title page) and always at a page edge (among
    its first or last `_EDGE_LINES` lines). Such a key needs an occurrence that does not
    look like a footnote, so footnotes that differ only in their numbers stay."""
    min_pages = 3 if n_pages >= 3 else 2
    short = [len(x.text.strip()) <= 120 for x in body]
    exact = [_exact_key(x.text) for x in body]
    edged = [_edge_key(x.text) for x in body]
    edges = _page_edges(body)
    pages: dict[str, set[int]] = {}
    plain: set[str] = set()  # edge keys with an occurrence that is no footnote look-alike
    inside: set[str] = set()  # edge keys with an occurrence away from a page edge
    for i, x in enumerate(body):
        if short[i]:
            pages.setdefault(exact[i], set()).add(x.page)
            pages.setdefault("edge:" + edged[i], set()).add(x.page)
            if not _FOOTNOTE_START.match(x.text.strip()):
                plain.add(edged[i])
            if i not in edges:
                inside.add(edged[i])
    found = set()
    for i in range(len(body)):
        if not short[i]:
            continue
        count = len(pages["edge:" + edged[i]])
        at_edges = count >= max(2, n_pages - 1) and edged[i] not in inside
        if len(pages[exact[i]]) >= min_pages or (
            edged[i] in plain and (count >= min_pages or at_edges)
        ):
            found.add(i)
    return found


def _exact_key(text: str) -> str:
    """A line as it repeats: digits as "#", except in a footnote look-alike."""
    key = text.strip()
    return key if _FOOTNOTE_START.match(key) else _DIGITS.sub("#", key)


def _edge_key(text: str) -> str:
    """A line with its digits as "#" and one page number at its start or end dropped."""
    key = _DIGITS.sub("#", text.strip())
    without = _LEADING_NUMBER.sub("", key, count=1)
    return without if without != key else _TRAILING_NUMBER.sub("", key, count=1)


def _page_edges(body: list[_Line]) -> set[int]:
    """Indexes in `body` of the first and last `_EDGE_LINES` lines of each page."""
    by_page: dict[int, list[int]] = {}
    for i, x in enumerate(body):
        by_page.setdefault(x.page, []).append(i)
    return {i for found in by_page.values() for i in found[:_EDGE_LINES] + found[-_EDGE_LINES:]}


def _marker_positions(text: str) -> dict[int, list[int]]:
    """Offsets of digits glued to a word (>= 3 letters) or closing punctuation, per number."""
    found: dict[int, list[int]] = {}
    for m in _DIGITS.finditer(text):
        s, e = m.span()
        if e - s > 3 or s == 0 or (e < len(text) and text[e] not in _MARKER_END):
            continue
        before = text[s - 1]
        if before in _CLOSERS:
            if s >= 2 and text[s - 2].isdigit():  # 3,5 or 1.000: a number, not a marker
                continue
        elif not (before.islower() and text[max(0, s - 3) : s].isalpha()):
            continue
        found.setdefault(int(m.group()), []).append(s)
    return found


def _lift_footnotes(lines: list[_Line], markers: dict[int, list[int]]) -> list[_Note]:
    """Mark footnote lines (kind _NOTE) and page-bottom blanks/URLs (_SKIP); return notes."""
    notes: list[_Note] = []

    def start_note(line: _Line) -> bool:
        m = _FOOTNOTE_START.match(line.text)
        if not m:
            return False
        number = int(m.group(1))
        if notes and number != notes[-1].number + 1:
            return False
        if not markers.get(number) or markers[number][0] >= line.start:
            return False
        notes.append(_Note(number, [line]))
        line.kind = _NOTE
        return True

    def trailing_block(first: int, end: int) -> None:
        """Footnotes at the bottom of a page that ends in a form feed (pdftotext style)."""
        for j in range(max(first, end - 30), end):
            if lines[j].kind != _BODY or (j > first and lines[j - 1].kind not in _GAPS):
                continue
            if not start_note(lines[j]):
                continue
            for x in lines[j + 1 : end]:
                if x.kind == _BODY and not start_note(x):
                    notes[-1].lines.append(x)
                    x.kind = _NOTE
                elif x.kind == _BREAK:
                    x.kind = _SKIP
            return

    # in_zone: after a page break, where footnotes and furniture sit until the text resumes
    in_zone, current, page_first = False, None, 0
    for i, line in enumerate(lines):
        if line.kind == _PAGE:
            if line.hard and not in_zone:
                trailing_block(page_first, i)
            in_zone, current, page_first = True, None, i + 1
        elif line.kind == _BREAK and in_zone:
            line.kind, current = _SKIP, None
        elif line.kind == _BODY and in_zone:
            if start_note(line):
                current = notes[-1]
            elif _URL_LINE.fullmatch(line.text.strip()):
                line.kind = _SKIP
            elif current is not None and not line.text[:1].isspace():
                current.lines.append(line)
                line.kind = _NOTE
            else:
                in_zone, current = False, None
    if any(x.hard for x in lines) and not in_zone:
        trailing_block(page_first, len(lines))
    return notes


def _bridge_page_breaks(lines: list[_Line]) -> None:
    """Blank lines around a page break are no paragraph break while a sentence runs on."""
    last_body, paged = -1, False
    for i, x in enumerate(lines):
        if x.kind == _PAGE:
            paged = True
        elif x.kind == _BODY:
            if paged and last_body >= 0 and lines[last_body].text.rstrip()[-1] not in ".!?:":
                for gap in lines[last_body + 1 : i]:
                    gap.kind = _SKIP if gap.kind == _BREAK else gap.kind
            last_body, paged = i, False


class _Evidence:
    """What the document itself says about words: case usage, line width, vocabulary."""

    def __init__(self, raw_text: str, lines: list[_Line], vocab: Counter[str]) -> None:
        self.vocab = vocab
        self.raw_text = raw_text
        widths = sorted(len(x.text.strip()) for x in lines if x.kind == _BODY)
        self.short = _SHORT_LINE * widths[len(widths) // 2] if widths else 0.0

    @cached_property
    def words(self) -> Counter[str]:
        return Counter(_LETTERS.findall(self.raw_text))

    @cached_property
    def mid_caps(self) -> Counter[str]:
        """Capitalised words that follow a word or comma, i.e. not at a sentence start."""
        return Counter(w for w in _MID_WORD.findall(self.raw_text) if w[0].isupper())

    def starts_sentence(self, token: str) -> bool:
        """A capitalised word whose lower-case form is mostly how the document writes it."""
        m = _LETTERS.match(token)
        if not m or not m.group()[0].isupper():
            return False
        word = m.group()
        lower = self.words[word.lower()]
        return lower > 0 and lower >= 2 * self.mid_caps[word]


def _heading_end(lines: list[str], evidence: _Evidence) -> int:
    """Index of the last line of a heading that opens a paragraph, or -1.

    A heading is the first line (or two) of a paragraph: it starts with a capital or
    digit, has no sentence end inside and no closing punctuation, and the next line starts
    with a capital. The break must be deliberate: the line is short (a hand-made break),
    or it ends in a lower-case content word and the next word is one the document mostly
    writes in lower case (so it is capitalised because a sentence starts there).
    """
    if not (lines[0][0].isupper() or lines[0][0].isdigit()):
        return -1
    length = 0
    for i in range(min(_MAX_HEADING_LINES, len(lines) - 1)):
        line = lines[i]
        length += len(line) + 1
        if length > _MAX_HEADING_CHARS or any(
            m.group(1).isupper() for m in _SENTENCE_END.finditer(line)
        ):
            return -1
        if line[-1] in ".;:!?":
            return -1
        following = lines[i + 1].split(" ", 1)[0]
        if line[-1] in ",-" or not following[0].isupper():
            continue
        last = line.rsplit(" ", 1)[-1]
        if len(line) < evidence.short or (
            last[0].islower()
            and last.lower() not in _FUNCTION_WORDS
            and evidence.starts_sentence(following)
        ):
            return i
    return -1


def _join(left: str, right: str, vocab: Counter[str]) -> str:
    """How a line ending in token `left` joins the next starting with `right`."""
    if len(left) < 2 or not left.endswith("-") or not right[0].isalnum():
        return _SPACE
    m = _LEFT_WORD.search(left[:-1])
    if not m or right.lower().rstrip(",.;:") in _SUSPENDED:
        return _SPACE
    x = m.group()
    y = _RIGHT_WORD.match(right).group()  # type: ignore[union-attr]
    if vocab[f"{x}-{y}".lower()]:
        return _HYPHEN
    if vocab[f"{x}{y}".lower()]:
        return _SOLID
    if y[0].isupper() or y[0].isdigit() or x[-1].isupper() or x[-1].isdigit():
        return _HYPHEN
    return _HYPHEN if (x[-1] + y[0]).lower() in _VOWEL_CLASH else _SOLID


def _join_lines(lines: list[str], vocab: Counter[str]) -> str:
    """Plain text of wrapped lines (for footnotes): spaces and de-hyphenation only."""
    text = lines[0]
    for line in lines[1:]:
        how = _join(text.rsplit(" ", 1)[-1], line.split(" ", 1)[0], vocab)
        text = {_SPACE: text + " ", _HYPHEN: text, _SOLID: text[:-1]}[how] + line
    return text


def _own_line(prev: str, line: str, in_list: bool) -> bool:
    """Markdown headings, bullets and list items keep their own line."""
    if _MD_HEADING.match(prev) or _MD_HEADING.match(line) or line[0] in _BULLETS:
        return True
    return bool(_LIST_ITEM.match(line)) and (in_list or prev[-1] in ":;")


def _assemble(lines: list[_Line], evidence: _Evidence, parts: list[str], out: list[int]) -> None:
    """Append the body text to `parts` and the raw offset of each character to `out`."""
    paragraphs: list[list[_Line]] = [[]]
    for x in lines:
        if x.kind == _BODY:
            paragraphs[-1].append(x)
        elif x.kind == _BREAK and paragraphs[-1]:
            paragraphs.append([])
    gap = -1  # raw offset just after the last emitted line
    for paragraph in (p for p in paragraphs if p):
        pieces = [x.collapsed() for x in paragraph]
        texts = [text for text, _ in pieces]
        if gap >= 0:
            parts.append("\n\n")
            out.extend((gap, max(gap, min(gap + 1, pieces[0][1][0] - 1))))
        heading_end = _heading_end(texts, evidence)
        in_list = False
        for i, (text, offsets) in enumerate(pieces):
            own = i == 0
            if i:
                own = i - 1 == heading_end or _own_line(texts[i - 1], text, in_list)
                left, right = texts[i - 1].rsplit(" ", 1)[-1], text.split(" ", 1)[0]
                how = "\n" if own else _join(left, right, evidence.vocab)
                if how == _SOLID:  # drop the hyphen that ends the previous line
                    parts[-1] = parts[-1][:-1]
                    out.pop()
                elif how != _HYPHEN:
                    parts.append(" " if how == _SPACE else how)
                    out.append(gap)
            in_list = in_list or (own and bool(_LIST_ITEM.match(text)))
            parts.append(text)
            out.extend(offsets)
            gap = offsets[-1] + 1
