"""The answer chain: question → retrieve → answer → verify → `Answer`.

One generator (`AnswerChain.run`) does the work over a `Turn`: it analyses the question
once, retrieves, streams the backend's text deltas, then verifies and yields the final
`Answer`. `invoke` drains it, `stream` passes it on, and `runnable` is the LCEL adapter
over `invoke`, so the three cannot drift apart.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from rag.answer.citations import ParsedAnswer, ParsedSentence, parse_citations
from rag.answer.facts import contained, fact_relevance, from_record
from rag.answer.spans import extract, opening
from rag.answer.summary import overview
from rag.backends.base import AnswerBackend, create_backend, declines, refusal
from rag.backends.prompt import strip_echo
from rag.errors import InputError
from rag.language.glossary import glossary as glossary_terms
from rag.language.glossary import render as glossary_text
from rag.language.text import content_pairs, content_words, guess_language, words
from rag.query.analysis import Query, analyse
from rag.query.focus import DocumentInfo, ambiguity, naming, resolve
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import Answer, AnswerSpan, Chunk, Citation, Hit, SentenceVerdict
from rag.verify.judge import judge
from rag.verify.relevance import RelevanceJudge
from rag.verify.support import normalise, support_scores

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
UNSUPPORTED_LANGUAGE = (
    "I can only answer questions in Dutch or English. / "
    "Ik kan alleen vragen in het Nederlands of het Engels beantwoorden."
)


def clean_question(question: str) -> str:
    """Strip control characters and check the question is usable."""
    text = " ".join(_CONTROL.sub(" ", question or "").split())
    if not text:
        raise InputError("The question is empty. Type a question in Dutch or English.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(
            f"The question is {len(text):,} characters long; the limit is "
            f"{MAX_QUESTION_CHARS:,}. Ask a shorter, focused question."
        )
    return text


class Retriever(Protocol):
    def search(
        self, query: Query, k: int, *, documents: Collection[str] | None = None
    ) -> list[Hit]: ...
    def unknown_words(
        self, query: Query, *, documents: Collection[str] | None = None
    ) -> list[str]: ...


@dataclass
class Turn:
    """One question's way through the chain."""

    query: Query
    backend: str
    k: int
    started: float
    hits: list[Hit] = field(default_factory=list)
    text: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    scope: tuple[str, ...] = ()  # the document ids it may use (empty: all)
    named: DocumentInfo | None = None  # the document "the letter" resolved to
    fact: bool = False  # answered from the document's metadata (rag.answer.facts)
    early: Answer | None = None  # decided before retrieval (a language we cannot serve)
    live: bool = False  # the backend's text was streamed as it came
    tail: str = ""  # what the chain added after a streamed text (spans, glossary)


class AnswerChain:
    """Runs retrieval, an answer backend and verification."""

    def __init__(self, retriever: Retriever, embedder: Embedder, settings: Settings) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.settings = settings
        self._backends: dict[str, AnswerBackend] = {}
        self.relevance = RelevanceJudge(embedder, settings.answer)
        self._runnable: Runnable[dict[str, Any], Answer] | None = None

    @property
    def runnable(self) -> Runnable[dict[str, Any], Answer]:
        """The chain as a LangChain (LCEL) runnable over `invoke`; built, and LangChain
        imported, only when asked for, so `rag ask` does not pay for it."""
        if self._runnable is None:
            from langchain_core.runnables import RunnableLambda

            self._runnable = RunnableLambda(lambda options: self.invoke(**options))
        return self._runnable

    def backend(self, name: str | None) -> AnswerBackend:
        name = name or self.settings.generation.backend
        if name not in self._backends:
            self._backends[name] = create_backend(name, self.settings, self.embedder)
        return self._backends[name]

    def invoke(self, question: str, **options: Any) -> Answer:
        """The final answer (drains `run`)."""
        *_, answer = self.run(question, **options)
        assert isinstance(answer, Answer)
        return answer

    def stream(self, question: str, **options: Any) -> Iterator[str | Answer]:
        """Text deltas as the backend produces them, then the final `Answer`."""
        yield from self.run(question, **options)

    def answer_from_hits(
        self, question: str, hits: Sequence[Hit], backend: str | None = None
    ) -> Answer:
        """Answer from given passages instead of retrieving."""
        return self.invoke(question, backend=backend, hits=hits)

    def run(
        self,
        question: str,
        *,
        k: int | None = None,
        backend: str | None = None,
        history: Sequence[tuple[str, str]] = (),
        hits: Sequence[Hit] | None = None,
        documents: Sequence[str] | None = None,
    ) -> Iterator[str | Answer]:
        """The one place the work happens: deltas, then the final `Answer`. `documents`:
        the ids of the documents it may answer from (None or empty: all)."""
        turn = self._start(question, backend, k, history)
        turn.scope = tuple(dict.fromkeys(documents or ()))
        if turn.early is None and hits is None:
            self._focus(turn)
        if turn.early is not None:
            yield turn.early.answer
            yield self._finish(turn)
            return
        started = time.perf_counter()  # encoding the question is part of retrieving
        self._encode_question(turn.query)
        if turn.scope:
            unknown = tuple(self.retriever.unknown_words(turn.query, documents=turn.scope))
        else:
            unknown = tuple(self.retriever.unknown_words(turn.query))
        turn.query = replace(turn.query, unknown=unknown)
        if hits is None:
            turn.hits = self._search(turn.query, turn.k, turn.scope)
            turn.timings["retrieve"] = _ms(started)
        else:
            turn.hits = list(hits)
        started = time.perf_counter()
        fact = self._fact(turn)
        if fact is not None:  # who signed it, its date: from the document's own record
            turn.text, turn.hits = fact
            turn.fact = True
        else:
            answerer = self.backend(turn.backend)
            turn.live = answerer.live
            pieces = []
            for delta in answerer.stream(turn.query, turn.hits):
                pieces.append(delta)
                if turn.live:
                    yield delta
            turn.text = "".join(pieces)
        turn.timings["generate"] = _ms(started)
        answer = self._finish(turn)
        # A live backend's text went out as it came; what the chain adds follows it. A
        # backend that answers at once (extractive) is shown whole, spans first.
        extra = turn.tail if turn.live else answer.answer
        if extra:
            yield extra
        yield answer

    # ---- steps ----------------------------------------------------------------------------

    def _encode_question(self, query: Query) -> None:
        """Encode the question's own texts in one batch: its standalone text and focus,
        their words and word pairs. Retrieval, word alignment and sentence ranking then
        find them in the embedder's memo; one call costs about a third of the three or
        four calls they made one by one (`scripts/bench_e2e.py`)."""
        r = self.settings.retrieval
        texts = [query.standalone, query.focus, *content_words(query.focus)]
        if r.concept_alignment:
            texts += content_words(query.standalone)
            if r.word_pairs:
                texts += content_pairs(query.standalone)
        self.embedder.encode_queries(list(dict.fromkeys(t for t in texts if t.strip())))

    def _fact(self, turn: Turn) -> tuple[str, list[Hit]] | None:
        """For "who signed the letter?" and "what is its date?" about one document (the
        one in focus, or the only one): the answer from its metadata (`rag.answer.facts`)."""
        if not self.settings.answer.document_facts:
            return None
        store = getattr(self.retriever, "store", None)
        return from_record(turn.query.text, turn.named, store, turn.hits, turn.query.language)

    def _focus(self, turn: Turn) -> None:
        """Resolve "the letter" / "dit verslag" to the document in focus (`rag.query.focus`):
        narrow the scope to it, or, when several fit, answer with the candidates."""
        store = getattr(self.retriever, "store", None)
        documents = list(getattr(getattr(store, "manifest", None), "documents", None) or [])
        found = resolve(
            turn.query.text,
            turn.query.history,
            turn.scope,
            documents,
            self.settings.retrieval.default_document,
        )
        turn.scope, turn.named = found.scope, found.named
        if found.candidates:
            turn.early = Answer(
                question=turn.query.text,
                language=turn.query.language,
                answer=ambiguity(found.candidates, turn.query.language),
                refused=True,
                backend=turn.backend,
                candidates=[d.doc_id for d in found.candidates],
            )

    def _search(self, query: Query, k: int, scope: Sequence[str] = ()) -> list[Hit]:
        """The passages to answer from: for the gist of the whole document, passages that
        cover its sections (`rag.answer.summary.overview`); otherwise the retriever's. Both only
        from the documents in `scope` when there is one."""
        store = getattr(self.retriever, "store", None)
        if query.wants("gist") and store is not None and len(store.chunks):
            a = self.settings.answer
            limit = max(k, a.summary_points)
            if not scope:
                return overview(store.chunks, store.vectors, limit, a.summary_diversity)
            within = [i for i, c in enumerate(store.chunks) if c.doc_id in scope]
            chunks = [store.chunks[i] for i in within]
            return overview(chunks, store.vectors[within], limit, a.summary_diversity)
        if scope:
            return self.retriever.search(query, k, documents=scope)
        return self.retriever.search(query, k)

    def _with_spans_and_glossary(
        self, turn: Turn, text: str, spans: list[AnswerSpan], terms: dict[str, str]
    ) -> str:
        """The answer opens with the asked-for spans (after a streamed text: they follow
        it) and ends with the glossary."""
        head = opening(spans, turn.query.language) if spans else ""
        tail = []
        if head and turn.live:
            tail.append(head)
        elif head:
            text = f"{head}\n{text}"
        if terms:
            tail.append(glossary_text(terms))
        if turn.named is not None:  # the answer names the document "the letter" meant
            tail.append(naming(turn.named, turn.query.language))
        turn.tail = "".join(f"\n\n{part}" for part in tail)
        return text + turn.tail

    def _glossary(self, query: Query, citations: Sequence[Citation]) -> dict[str, str]:
        """For an English question answered from Dutch quotes: their key terms translated."""
        quotes = [c.quote for c in citations if guess_language(words(c.quote)) == "nl"]
        if query.language != "en" or not quotes:
            return {}
        return glossary_terms(quotes, self.settings.answer.glossary)

    def _judge_relevance(
        self, turn: Turn, verdicts: list[SentenceVerdict]
    ) -> list[SentenceVerdict]:
        """Each cited sentence's relevance to the question (uncited ones get none). A
        quote of the asked signature or date (`rag.answer.facts`) answers by construction."""
        cited = [v for v in verdicts if v.markers]
        if turn.fact:
            known = fact_relevance(turn.query.language)
            return [
                v.model_copy(update={"relevance": known if v.markers else None}) for v in verdicts
            ]
        judged = self.relevance.sentences(
            turn.query, [v.text for v in cited], [v.markers[0] - 1 for v in cited], turn.hits
        )
        found = dict(zip(map(id, cited), judged, strict=True))
        return [v.model_copy(update={"relevance": found.get(id(v))}) for v in verdicts]

    def _start(
        self,
        question: str,
        backend: str | None,
        k: int | None,
        history: Sequence[tuple[str, str]],
    ) -> Turn:
        started = time.perf_counter()
        query = analyse(clean_question(question), history)
        turn = Turn(
            query=query,
            backend=backend or self.settings.generation.backend,
            k=k or self.settings.retrieval.k,
            started=started,
        )
        if query.detected not in ("nl", "en"):
            turn.early = Answer(
                question=query.text,
                language="en",
                answer=UNSUPPORTED_LANGUAGE,
                refused=True,
                backend=turn.backend,
            )
        return turn

    def _finish(self, turn: Turn) -> Answer:
        if turn.early is not None:
            timings = {"total": _ms(turn.started)}
            return turn.early.model_copy(update={"timings_ms": timings, "scope": list(turn.scope)})
        started = time.perf_counter()
        text = strip_echo(turn.text).strip()
        parsed = parse_citations(text, len(turn.hits))
        parsed.sentences = self._claims(parsed, turn.backend)
        refused = not parsed.sentences  # nothing but refusal sentences (or nothing at all)
        verdicts: list[SentenceVerdict] = []
        citations: list[Citation] = []
        spans: list[AnswerSpan] = []
        terms: dict[str, str] = {}
        if refused:
            text = text or refusal(turn.query.language)
            if turn.named is not None:  # which document said nothing about it
                turn.tail = f"\n\n{naming(turn.named, turn.query.language)}"
                text += turn.tail
        else:
            verdicts, citations = self._verify(parsed, turn.hits, whole=turn.fact)
            verdicts = self._judge_relevance(turn, verdicts)
            text = parsed.text
            supported = sum(v.supported for v in verdicts)
            refused = supported == 0  # no sentence supported: the question is not answered
            spans = answer_spans(turn.query, verdicts, citations)
            terms = self._glossary(turn.query, citations)
            text = self._with_spans_and_glossary(turn, text, [] if refused else spans, terms)
        unsupported = bool(verdicts) and 2 * sum(v.supported for v in verdicts) < len(verdicts)
        timings = {**turn.timings, "verify": _ms(started)}
        timings["total"] = _ms(turn.started)
        return Answer(
            question=turn.query.text,
            language=turn.query.language,  # type: ignore[arg-type]
            answer=text,
            refused=refused,
            backend=self.backend(turn.backend).name,
            citations=citations,
            passages=turn.hits,
            sentences=verdicts,
            dropped_citations=parsed.dropped,
            unsupported_answer=unsupported,
            timings_ms=timings,
            spans=spans,
            glossary=terms,
            scope=list(turn.scope),
            relevance=max(
                (v.relevance for v in verdicts if v.relevance is not None),
                key=lambda r: r.score,
                default=None,
            ),
        )

    def _claims(self, parsed: ParsedAnswer, backend: str) -> list[ParsedSentence]:
        """The sentences to verify: all but those that only decline to answer and the
        extractive backend's own fixed lead-in ("Volgens de tekst:"), which is the only
        text exempt from verification; punctuation exempts nothing."""
        lead_ins: frozenset[str] = getattr(self.backend(backend), "lead_ins", frozenset())
        return [s for s in parsed.sentences if not declines(s.text) and s.text not in lead_ins]

    def _verify(
        self, parsed: ParsedAnswer, hits: list[Hit], whole: bool = False
    ) -> tuple[list[SentenceVerdict], list[Citation]]:
        embedder = self.embedder
        threshold = self.settings.answer.support_threshold
        verdicts: list[SentenceVerdict] = []
        quotes: dict[int, list[tuple[int, str, float]]] = {}
        for sentence in parsed.sentences:
            if not sentence.markers:
                verdicts.append(SentenceVerdict(text=sentence.text, supported=False, support=0.0))
                continue
            passages = [hits[m - 1].chunk.text for m in sentence.markers]
            scores = support_scores(embedder, sentence.text, passages, self.settings.answer)
            quoted = any(normalise(sentence.text) in normalise(p) for p in passages)
            supported, support = _judged(
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


def _judged(
    embedder: Any, text: str, passages: list[str], quoted: bool, support: float, threshold: float
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
    query: Query, verdicts: Sequence[SentenceVerdict], citations: Sequence[Citation]
) -> list[AnswerSpan]:
    """Spans of what was asked, from the quotes of grounded sentences that answer."""
    wanted = {
        m
        for v in verdicts
        if v.grounding in ("quote", "supported")
        and v.relevance is not None
        and v.relevance.level != "unrelated"
        for m in v.markers
    }
    return [
        span
        for citation in citations
        if citation.marker in wanted
        for span in extract(query, citation.quote, citation.marker)
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
        page=chunk.page_start,
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


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
