"""The project's own data types: the only currency passed between modules.

All models are frozen pydantic models. Offsets named ``start``/``end`` are character
offsets into a document's *raw* text (the file as decoded), so every chunk and every
quoted sentence can be traced back to its exact lines in the original file.
"""

from __future__ import annotations

import bisect
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CONTRACT_VERSION = "1.4"
"""Version of the JSON answer contract (`rag ask --json`, `POST /api/ask`); its schema is
docs/answer.schema.json. 1.1: a `version` field; `passages[].score` is the ranking score.
1.3: `scope`, the ids of the documents the answer was limited to, and `candidates`, the
documents an ambiguous "the letter" could mean. 1.4: `notes`, how the answer was made when
the reader should know (the configured model crashed and the extractive backend answered);
`answered` (full, partial, none) and `strategy`."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RawDocument(Frozen):
    """A file as loaded: decoded text plus where it came from."""

    doc_id: str = Field(description="Stable id derived from the file name.")
    name: str = Field(description="Display name, usually the file name.")
    source: str = Field(description="Path the document was loaded from.")
    content_hash: str = Field(description="sha256 of the decoded text.")
    text: str = Field(description="Decoded text of the whole file.")
    page_starts: list[int] = Field(
        default_factory=list, description="Raw offsets where each page begins (PDF only)."
    )

    def line_of(self, offset: int) -> int:
        """1-based line number of a raw character offset."""
        return self.text.count("\n", 0, max(0, offset)) + 1

    def page_of(self, offset: int) -> int | None:
        """1-based page number of a raw character offset, or None for non-paged files."""
        if not self.page_starts:
            return None
        return bisect.bisect_right(self.page_starts, offset)


class Footnote(Frozen):
    """A footnote lifted out of the running text, linked to its marker."""

    number: int
    text: str = Field(description="Cleaned footnote text, without its leading number.")
    start: int = Field(description="Raw offset of the footnote's first character (its number).")
    end: int
    marker: int | None = Field(
        default=None, description="Offset in the cleaned body text of the marker, if found."
    )


class Document(Frozen):
    """A cleaned document: readable body text with a map back to raw offsets."""

    raw: RawDocument
    text: str = Field(description="Cleaned body text (footnotes and page furniture removed).")
    raw_offsets: list[int] = Field(
        description="raw_offsets[i] is the raw offset of text[i]; len == len(text)."
    )
    footnotes: list[Footnote] = Field(default_factory=list)

    @property
    def doc_id(self) -> str:
        return self.raw.doc_id

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw [start, end) span covering the cleaned span text[start:end]."""
        if end <= start:
            raw = self.raw_offsets[start] if start < len(self.raw_offsets) else len(self.raw.text)
            return raw, raw
        return self.raw_offsets[start], self.raw_offsets[end - 1] + 1


class Sentence(Frozen):
    """One sentence of a chunk: its span within the chunk text and its source lines."""

    start: int = Field(description="Offset in the chunk text.")
    end: int
    line_start: int
    line_end: int
    page: int | None = Field(default=None, description="PDF page the sentence starts on.")


class Chunk(Frozen):
    """A passage: the unit that is embedded, retrieved and cited."""

    chunk_id: str = Field(description="Stable across rebuilds of unchanged text.")
    doc_id: str
    document: str = Field(description="Document display name.")
    section: str = Field(default="", description="Heading the passage sits under.")
    kind: Literal["body", "footnote"] = "body"
    text: str = Field(description="Cleaned passage text.")
    start: int = Field(description="Raw offset where the passage begins.")
    end: int
    line_start: int
    line_end: int
    page_start: int | None = None
    page_end: int | None = None
    tokens: int = 0
    sentences: list[Sentence] = Field(default_factory=list)
    footnotes: list[int] = Field(
        default_factory=list, description="Numbers of footnotes whose markers this passage holds."
    )
    footnote_number: int | None = Field(default=None, description="For footnote passages.")
    planted: list[int] | None = Field(
        default=None,
        description="Sentences (indices) that address the reader or the system, flagged "
        "at indexing (rag.verify.planted); never quoted as an answer. None: not checked.",
    )

    @property
    def lines(self) -> tuple[int, int]:
        return (self.line_start, self.line_end)

    @classmethod
    def of_text(cls, chunk_id: str, doc_id: str, text: str) -> Chunk:
        """A one-line passage that is the whole of `text`, in `{doc_id}.txt` (synthetic
        corpora of tests and benchmarks)."""
        return cls(
            chunk_id=chunk_id,
            doc_id=doc_id,
            document=f"{doc_id}.txt",
            text=text,
            start=0,
            end=len(text),
            line_start=1,
            line_end=1,
        )

    @property
    def search_text(self) -> str:
        """What is embedded and lexically indexed: the heading gives the passage context."""
        return f"{self.section}\n{self.text}" if self.section else self.text

    def sentence_text(self, sentence: Sentence) -> str:
        return self.text[sentence.start : sentence.end]

    def page_of(self, sentences: list[Sentence]) -> int | None:
        """The page a quote of `sentences` starts on: its first sentence's page (the
        passage's first page for indexes built before sentences knew theirs)."""
        pages = [s.page for s in sentences if s.page is not None]
        return min(pages) if pages else self.page_start


class Hit(Frozen):
    """A retrieved passage with its score and rank (1 = best)."""

    chunk: Chunk
    score: float
    rank: int
    scores: dict[str, float] = Field(
        default_factory=dict, description="Per-retriever scores, e.g. dense, lexical, rerank."
    )


class Citation(Frozen):
    """A numbered marker in an answer, resolved to a passage and the exact sentence(s) quoted."""

    marker: int
    chunk_id: str
    document: str
    section: str
    lines: tuple[int, int]
    page: int | None = None
    quote: str = Field(description="Verbatim sentence(s) from the cleaned source.")
    supported: bool = True
    support: float = 0.0


class Relevance(Frozen):
    """How well cited evidence answers the question (calibrated model, rag.verify.relevance)."""

    score: float = Field(description="Probability that it answers the question.")
    level: Literal["answers", "partial", "unrelated"]
    meaning: str = Field(default="", description="What the level means, for a tooltip.")


class SentenceVerdict(Frozen):
    """Verification of one answer sentence against the passages it cites.

    `grounding` says what was checked: `quote` — the sentence stands verbatim in the
    cited passage (lines in the citation); `supported` / `unsupported` — the offline
    verifier's score against the cited passage; `uncited` — no citation to check.
    `relevance` says whether it answers the question, which grounding does not."""

    text: str
    markers: list[int] = Field(default_factory=list)
    supported: bool
    support: float
    grounding: Literal["quote", "supported", "unsupported", "uncited"] = "uncited"
    relevance: Relevance | None = None


class AnswerSpan(Frozen):
    """Figures, names, countries, places or acronyms cut verbatim from a cited sentence
    (`source`), or the sentence a yes/no answer rests on (English questions), as shown to
    the reader (`shown`: English notation and names for English questions)."""

    kind: Literal[
        "yes_no", "figures", "people", "countries", "places", "bodies", "acronyms", "references"
    ]
    source: list[str]
    shown: list[str]
    marker: int


class Answer(Frozen):
    """What the pipeline returns for a question."""

    question: str
    language: Literal["nl", "en"]
    answer: str
    refused: bool
    backend: str
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Hit] = Field(default_factory=list)
    sentences: list[SentenceVerdict] = Field(default_factory=list)
    dropped_citations: int = 0
    unsupported_answer: bool = Field(
        default=False,
        description="Most of the answer's checked sentences are not supported by the "
        "passages they cite (a model answer to distrust).",
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)
    relevance: Relevance | None = Field(
        default=None, description="The best sentence's relevance (none for a refusal)."
    )
    spans: list[AnswerSpan] = Field(
        default_factory=list, description="What the question asked for, cut from the quotes."
    )
    glossary: dict[str, str] = Field(
        default_factory=dict,
        description="Dutch terms of the quotes with dictionary translations (English "
        "questions; not checked against the source).",
    )
    scope: list[str] = Field(
        default_factory=list,
        description="Ids of the documents the answer was limited to (empty: all).",
    )
    answered: Literal["full", "partial", "none"] = Field(
        default="full",
        description="How completely it answers: 'none' (refused), 'partial' (a part of the "
        "question left open, or the topic without the asked fact), 'full'.",
    )
    strategy: str = Field(
        default="fact",
        description="The answer strategy that searched and drafted it (rag.answer.strategies): "
        "fact, overview, multi_part; 'given' when the passages were given.",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="How the answer was made, when the reader should know (e.g. the "
        "configured model crashed and the extractive backend answered instead).",
    )
    candidates: list[str] = Field(
        default_factory=list,
        description="Ids of the documents an ambiguous reference ('the letter') could "
        "mean; the answer asks which (it is refused).",
    )


class BriefingPoint(Frozen):
    """One bullet of a briefing: a sentence with the markers of its citations."""

    section: str
    text: str
    markers: list[int] = Field(default_factory=list)
    facts: list[str] = Field(
        default_factory=list,
        description="An English briefing's point from a Dutch sentence: its figures, "
        "names, countries, bodies and listed terms in English (rag.answer.brief_en).",
    )


class Briefing(Frozen):
    """A short structured briefing: bullets grouped by section, every bullet cited."""

    topic: str | None
    language: Literal["nl", "en"]
    backend: str
    points: list[BriefingPoint]
    citations: list[Citation]
    markdown: str
