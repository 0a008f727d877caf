"""The LCEL chain: question → retrieve → answer → verify → `Answer`.

Each step is a plain function over a state dict; `runnable` composes them as a LangChain
(LCEL) chain for `invoke`, and `stream` runs the same steps one by one so the answer
text can be yielded as the backend produces it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from rag.citations import ParsedAnswer, parse_citations
from rag.conversation import standalone_query
from rag.errors import InputError
from rag.generate import AnswerBackend, get_backend, is_refusal, refusal
from rag.language import answer_language, detect_language
from rag.types import Answer, Chunk, Citation, Hit, SentenceVerdict
from rag.verify import SUPPORT_THRESHOLD, normalise, support_scores

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


class AnswerChain:
    """Runs retrieval, an answer backend and verification for one pipeline."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self._backends: dict[str, AnswerBackend] = {}
        self.runnable: Runnable = (
            RunnableLambda(self._prepare)
            | RunnableLambda(self._retrieve)
            | RunnableLambda(self._generate)
            | RunnableLambda(self._finish)
        )

    def backend(self, name: str | None) -> AnswerBackend:
        name = name or self.pipeline.settings.generation.backend
        if name not in self._backends:
            self._backends[name] = get_backend(name, self.pipeline.settings, self.pipeline.embedder)
        return self._backends[name]

    def invoke(self, question: str, **options: Any) -> Answer:
        return self.runnable.invoke({"question": question, **options})

    def stream(
        self,
        question: str,
        *,
        k: int | None = None,
        backend: str | None = None,
        history: Sequence[tuple[str, str]] = (),
    ) -> Iterator[str | Answer]:
        state = self._prepare(
            {"question": question, "k": k, "backend": backend, "history": history}
        )
        if state.get("answer") is None:
            state = self._retrieve(state)
            started = time.perf_counter()
            pieces = []
            for delta in self.backend(state["backend"]).stream(
                state["question"], state["language"], state["hits"], state["history"]
            ):
                pieces.append(delta)
                yield delta
            state = {**state, "text": "".join(pieces)}
            state["timings"]["generate"] = _ms(started)
        else:
            yield state["answer"].answer
        yield self._finish(state)

    def answer_from_hits(
        self, question: str, hits: list[Hit], backend: str | None = None
    ) -> Answer:
        state = self._prepare({"question": question, "backend": backend, "hits": hits})
        if state.get("answer") is None:
            state = self._generate({**state, "hits": hits})
        return self._finish(state)

    # ---- steps ----------------------------------------------------------------------------

    def _prepare(self, state: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        question = clean_question(state["question"])
        language = detect_language(question)
        state = {
            **state,
            "question": question,
            "language": answer_language(question),
            "history": list(state.get("history") or ()),
            "backend": state.get("backend") or self.pipeline.settings.generation.backend,
            "timings": {},
            "started": started,
            "answer": None,
        }
        if language not in ("nl", "en"):
            state["answer"] = Answer(
                question=question,
                language="en",
                answer=UNSUPPORTED_LANGUAGE,
                refused=True,
                backend=state["backend"],
            )
        return state

    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        if state.get("answer") is not None:
            return state
        started = time.perf_counter()
        query = standalone_query(state["question"], state["history"])
        hits = self.pipeline.retrieve(query, state.get("k"))
        state["timings"]["retrieve"] = _ms(started)
        return {**state, "hits": hits}

    def _generate(self, state: dict[str, Any]) -> dict[str, Any]:
        if state.get("answer") is not None:
            return state
        started = time.perf_counter()
        backend = self.backend(state["backend"])
        text = "".join(
            backend.stream(state["question"], state["language"], state["hits"], state["history"])
        )
        state["timings"]["generate"] = _ms(started)
        return {**state, "text": text}

    def _finish(self, state: dict[str, Any]) -> Answer:
        if state.get("answer") is not None:
            answer: Answer = state["answer"]
            return answer.model_copy(update={"timings_ms": {"total": _ms(state["started"])}})
        started = time.perf_counter()
        hits: list[Hit] = state["hits"]
        text: str = state["text"].strip()
        refused = not text or is_refusal(text)
        parsed = parse_citations(text, len(hits))
        verdicts: list[SentenceVerdict] = []
        citations: list[Citation] = []
        if refused:
            text = text or refusal(state["language"])
        else:
            verdicts, citations = self._verify(parsed, hits)
            text = parsed.text
        timings = {**state["timings"], "verify": _ms(started)}
        timings["total"] = _ms(state["started"])
        return Answer(
            question=state["question"],
            language=state["language"],
            answer=text,
            refused=refused,
            backend=self.backend(state["backend"]).name,
            citations=citations,
            passages=hits,
            sentences=verdicts,
            dropped_citations=parsed.dropped,
            timings_ms=timings,
        )

    def _verify(
        self, parsed: ParsedAnswer, hits: list[Hit]
    ) -> tuple[list[SentenceVerdict], list[Citation]]:
        embedder = self.pipeline.embedder
        verdicts: list[SentenceVerdict] = []
        quotes: dict[int, list[tuple[int, str, float]]] = {}
        for sentence in parsed.sentences:
            if not sentence.markers:
                if sentence.text.rstrip().endswith(":"):
                    continue  # a lead-in, not a claim
                verdicts.append(SentenceVerdict(text=sentence.text, supported=False, support=0.0))
                continue
            passages = [hits[m - 1].chunk.text for m in sentence.markers]
            scores = support_scores(embedder, sentence.text, passages)
            support = max(scores)
            verdicts.append(
                SentenceVerdict(
                    text=sentence.text,
                    markers=sentence.markers,
                    supported=support >= SUPPORT_THRESHOLD,
                    support=support,
                )
            )
            for marker, score in zip(sentence.markers, scores, strict=True):
                index, quote = best_quote(embedder, sentence.text, hits[marker - 1])
                quotes.setdefault(marker, []).append((index, quote, score))
        citations = [
            _citation(marker, hits[marker - 1], found) for marker, found in sorted(quotes.items())
        ]
        return verdicts, citations


def best_quote(embedder: Any, sentence: str, hit: Hit) -> tuple[int, str]:
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


def _citation(marker: int, hit: Hit, found: list[tuple[int, str, float]]) -> Citation:
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
        supported=support >= SUPPORT_THRESHOLD,
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
