"""The answer chain: question → retrieve → answer → verify → `Answer`.

One generator (`AnswerChain.run`) does the work over a `Turn`: it analyses the question
once, retrieves, streams the backend's text deltas, then verifies and yields the final
`Answer`. `invoke` drains it, `stream` passes it on, and `runnable` is the LCEL adapter
over `invoke`, so the three cannot drift apart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rag.answer.across import answer_across
from rag.answer.citations import ParsedAnswer, ParsedSentence, parse_citations
from rag.answer.facts import fact_relevance, from_record
from rag.answer.partial import lead_spans, partial_note, repeats_reference, stated
from rag.answer.spans import opening
from rag.answer.strategies import Draft, Tools, choose
from rag.answer.summary import overview
from rag.answer.turn import (
    UNSUPPORTED_LANGUAGE,
    Retriever,
    Turn,
    answered,
    clean_question,
    crash_note,
)
from rag.answer.verdicts import answer_spans, verify_sentences
from rag.backends.base import AnswerBackend, create_backend, declines, refusal
from rag.backends.prompt import strip_echo
from rag.errors import RagError
from rag.language.glossary import glossary as glossary_terms
from rag.language.glossary import render as glossary_text
from rag.language.text import content_pairs, content_words, guess_language, words
from rag.query.analysis import Query, analyse
from rag.query.focus import ambiguity, naming, resolve
from rag.retrieval.documents import evidence_for
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from rag.types import Answer, AnswerSpan, Citation, Hit, SentenceVerdict
from rag.verify.relevance import RelevanceJudge

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable


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

    def _crashed(self, name: str) -> bool:
        """Whether the backend's local model process has died (`ModelCrashed`)."""
        try:
            backend = self.backend(name)
        except RagError:
            return False  # an unknown backend is reported where it is used
        return bool(getattr(backend, "crashed", None))

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
        draft: Draft | None = None
        if hits is None:
            draft = self._draft(turn)
            turn.hits = draft.hits
            turn.timings["retrieve"] = _ms(started)
        else:
            turn.hits = list(hits)
        started = time.perf_counter()
        fact = self._fact(turn)
        if fact is not None:  # who signed it, its date: from the document's own record
            turn.text, turn.hits = fact
            turn.fact = True
        elif draft is not None and draft.text is not None:  # the strategy wrote it
            turn.text = draft.text
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

    def _draft(self, turn: Turn) -> Draft:
        """Search and, for the extractive backend, draft the answer with the strategy for
        this kind of question (`rag.answer.strategies`)."""
        strategy = choose(turn.query)
        turn.strategy = strategy.name
        store = getattr(self.retriever, "store", None)
        tools = Tools(
            search=self._search,
            extractive=self.backend("extractive"),
            embedder=self.embedder,
            settings=self.settings,
            retriever=self.retriever,
            chunks=getattr(store, "chunks", ()),
        )
        extractive = self.backend(turn.backend).name == "extractive"
        draft = strategy.draft(tools, turn.query, turn.k, turn.scope, extractive)
        turn.framing, turn.open_parts = draft.framing, draft.open_parts
        return draft

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
        a = self.settings.answer  # "Which motions …?": a cited list of documents (issue 23)
        listed = answer_across(
            turn.query,
            store,
            self.retriever,
            turn.scope,
            turn.backend,
            a,
        )
        if listed is not None:
            turn.early = listed
            return
        documents = list(getattr(getattr(store, "manifest", None), "documents", None) or [])
        found = resolve(
            turn.query.text,
            turn.query.history,
            turn.scope,
            documents,
            self.settings.retrieval.default_document,
            evidence=evidence_for(self.retriever, turn.query),  # issue 23: by its content
            margin=self.settings.retrieval.focus_margin,
        )
        turn.scope, turn.named = found.scope, found.named
        if found.candidates:
            turn.early = Answer(
                question=turn.query.text,
                language=turn.query.language,
                answer=ambiguity(found.candidates, turn.query.language, found.passages),
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
        a = self.settings.answer
        return glossary_terms(
            quotes, a.glossary, embedder=self.embedder, min_similarity=a.glossary_min_similarity
        )

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
        if self._crashed(turn.backend):  # its model's process died: quote instead
            turn.notes.append(crash_note(turn.backend, query.language))
            turn.backend = "extractive"
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
        parsed.sentences = self._claims(parsed, turn)
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
            verdicts, citations = verify_sentences(
                self.embedder, self.settings.answer, parsed, turn.hits, whole=turn.fact
            )
            verdicts = self._judge_relevance(turn, verdicts)
            text = parsed.text
            supported = sum(v.supported for v in verdicts)
            refused = supported == 0  # no sentence supported: the question is not answered
            spans = answer_spans(turn.query, verdicts, citations, self.embedder)
            quotes = [c.quote for c in citations]
            found = stated(
                turn.query, quotes, self.embedder, self.settings.answer.relation_min_share
            )
            spans = lead_spans(turn.query, spans, {citations[i].marker for i in found.stating})
            footnotes = [turn.hits[c.marker - 1].chunk.kind == "footnote" for c in citations]
            if not refused and (
                found.missing or repeats_reference(turn.query.text, quotes, footnotes)
            ):
                turn.missing_fact = True  # on the topic, not the asked fact
                note = partial_note(turn.query, quotes, found.unnamed)
                text = f"{note}\n{text}"
            terms = self._glossary(turn.query, citations)
            text = self._with_spans_and_glossary(turn, text, [] if refused else spans, terms)
        for note in turn.notes:
            text += f"\n\n{note}"
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
            notes=turn.notes,
            answered=answered(refused, turn),
            strategy=turn.strategy or ("fact" if turn.fact else "given"),
            relevance=max(
                (v.relevance for v in verdicts if v.relevance is not None),
                key=lambda r: r.score,
                default=None,
            ),
        )

    def _claims(self, parsed: ParsedAnswer, turn: Turn) -> list[ParsedSentence]:
        """The sentences to verify: all but those that only decline to answer, the
        extractive backend's own fixed lead-in ("Volgens de tekst:") and the headings of
        a strategy's own draft (the parts of a question), which are the only text exempt
        from verification; punctuation exempts nothing."""
        lead_ins: frozenset[str] = getattr(self.backend(turn.backend), "lead_ins", frozenset())
        exempt = lead_ins | turn.framing
        return [s for s in parsed.sentences if not declines(s.text) and s.text not in exempt]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
