"""The checks on an answer's sentences: each claim's support against the passages it
cites, the verbatim source sentences each citation quotes with their lines, and the
spans of what was asked cut from the quotes of grounded sentences that answer."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.citations import ParsedAnswer
from rag.answer.facts import contained
from rag.answer.spans import extract
from rag.query.analysis import Query
from rag.retrieval.embeddings import Embedder
from rag.settings import AnswerSettings
from rag.types import AnswerSpan, Chunk, Citation, Hit, Sentence, SentenceVerdict
from rag.verify.judge import judge
from rag.verify.support import normalise, support_scores


def verify_sentences(
    embedder: Embedder,
    settings: AnswerSettings,
    parsed: ParsedAnswer,
    hits: list[Hit],
    whole: bool = False,
) -> tuple[list[SentenceVerdict], list[Citation]]:
    """Each claim's support against the passages it cites, and a citation per marker
    with the verbatim sentences it rests on. `whole`: quote every line of a signature
    block the chunker split (an answer from a document's metadata)."""
    threshold = settings.support_threshold
    verdicts: list[SentenceVerdict] = []
    quotes: dict[int, list[tuple[int, str, float]]] = {}
    for sentence in parsed.sentences:
        if not sentence.markers:
            verdicts.append(SentenceVerdict(text=sentence.text, supported=False, support=0.0))
            continue
        passages = [hits[m - 1].chunk.text for m in sentence.markers]
        scores = support_scores(embedder, sentence.text, passages, settings)
        quoted = any(normalise(sentence.text) in normalise(p) for p in passages)
        supported, support = judged(
            embedder, sentence.text, passages, quoted, max(scores), threshold
        )
        verdicts.append(
            SentenceVerdict(
                text=sentence.text,
                markers=sentence.markers,
                supported=supported,
                support=support,
                grounding="quote" if quoted else ("supported" if supported else "unsupported"),
            )
        )
        for marker, score in zip(sentence.markers, scores, strict=True):
            index, quote = best_quote(embedder, sentence.text, hits[marker - 1])
            quotes.setdefault(marker, []).append((index, quote, score))
            if whole:  # a signature block spans lines the chunker split: quote them all
                for other in contained(sentence.text, hits[marker - 1].chunk):
                    quotes[marker].append((other, quote, score))
    citations = [
        _citation(marker, hits[marker - 1], found, threshold)
        for marker, found in sorted(quotes.items())
    ]
    return verdicts, citations


def judged(
    embedder: Embedder,
    text: str,
    passages: list[str],
    quoted: bool,
    support: float,
    threshold: float,
) -> tuple[bool, float]:
    """A cited sentence's verdict and score. A verbatim quote keeps its support score
    (`rag.verify.support`, which also catches a piece cut out of a negated sentence); any
    other sentence is judged by the learned judge `rag verify` and `rag eval` use, which
    stops flipped negations, antonyms, changed numbers and clauses appended to a quote."""
    if quoted:
        return support >= threshold, support
    verdict = judge(embedder, text, passages)
    return verdict.supported, verdict.probability


def answer_spans(
    query: Query,
    verdicts: Sequence[SentenceVerdict],
    citations: Sequence[Citation],
    embedder: Embedder | None = None,
) -> list[AnswerSpan]:
    """Spans of what was asked, from the quotes of grounded sentences that answer (for an
    English question asking what a passage cites, also its footnote, which the relevance
    model does not take for an answer)."""
    cites = query.wants("reference") and query.language == "en"
    wanted = {
        m
        for v in verdicts
        if v.grounding in ("quote", "supported")
        and v.relevance is not None
        and (v.relevance.level != "unrelated" or cites)
        for m in v.markers
    }
    return [
        span
        for citation in citations
        if citation.marker in wanted
        for span in extract(query, citation.quote, citation.marker, embedder)
    ]


def best_quote(embedder: Embedder, sentence: str, hit: Hit) -> tuple[int, str]:
    """The passage sentence that the answer sentence rests on: (its index, its text)."""
    chunk = hit.chunk
    texts = [chunk.sentence_text(s) for s in chunk.sentences] or [chunk.text]
    plain = normalise(sentence)
    for i, text in enumerate(texts):
        source = normalise(text)
        if source in plain or plain in source:
            return i, text
    similarity = embedder.similarity([sentence], texts)[0]
    i = int(similarity.argmax())
    return i, texts[i]


def _citation(
    marker: int, hit: Hit, found: list[tuple[int, str, float]], threshold: float
) -> Citation:
    chunk = hit.chunk
    indices = sorted({index for index, _, _ in found})
    sentences = [chunk.sentences[i] for i in indices] if chunk.sentences else []
    quote = _quote(chunk, indices) if sentences else chunk.text
    lines = (
        (min(s.line_start for s in sentences), max(s.line_end for s in sentences))
        if sentences
        else chunk.lines
    )
    support = max(score for _, _, score in found)
    return Citation(
        marker=marker,
        chunk_id=chunk.chunk_id,
        document=chunk.document,
        section=chunk.section,
        lines=lines,
        page=chunk.page_of(sentences),
        quote=quote,
        supported=support >= threshold,
        support=support,
    )


QUOTE_GAP = " … "


def _quote(chunk: Chunk, indices: list[int]) -> str:
    """The cited sentences as verbatim source text; non-adjacent ones joined by " … "."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    pieces = [
        chunk.text[chunk.sentences[run[0]].start : chunk.sentences[run[-1]].end] for run in runs
    ]
    return QUOTE_GAP.join(" ".join(piece.split()) for piece in pieces)


def sentence_citation(
    marker: int, chunk: Chunk, sentences: Sequence[Sentence], quote: str
) -> Citation:
    """A citation of whole sentences of a passage, quoted as given (taken from the source,
    so supported by construction): what briefings and lists across documents cite."""
    return Citation(
        marker=marker,
        chunk_id=chunk.chunk_id,
        document=chunk.document,
        section=chunk.section,
        lines=(sentences[0].line_start, sentences[-1].line_end),
        page=chunk.page_of(list(sentences)),
        quote=quote,
        supported=True,
        support=1.0,
    )
