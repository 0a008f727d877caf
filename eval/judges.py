"""Support judges for faithfulness, and the offline verifier's agreement with labelled pairs.

The default judge is the offline learned judge (`rag.verify.judge`, the one `rag verify`
runs), at its model's threshold. When a language-model backend is configured, a second judge asks
the model "does the passage support the sentence? yes/no" through the same
OpenAI-compatible / Ollama / llama.cpp settings as answering.

Labelled pairs come from the dataset: positives pair each evidence quote with the index
passage that contains it (or with itself when none does), and each reference answer
with its evidence passages; negatives pair the same sentences with another question's
evidence passages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from eval.dataset import EvalItem
from eval.faithfulness import Judge, cached
from eval.textmatch import quote_in_passage
from rag.errors import BackendError
from rag.settings import GenerationSettings
from rag.verify import support as verify
from rag.verify.judge import judge as learned_judge
from rag.verify.judge import load_model

JUDGE_PROMPT = (
    "Passage:\n{passage}\n\nSentence:\n{sentence}\n\n"
    "Does the passage support the sentence (the passage and sentence may be in different "
    "languages)? Answer with one word: yes or no."
)


def verifier_judge(embedder: Any) -> Judge:
    """The offline learned judge as a (memoised) judge, at the model's own threshold."""
    model = load_model()  # here, so a missing model fails when the judge is made

    def judge(sentence: str, passages: Sequence[str]) -> bool:
        return learned_judge(embedder, sentence, list(passages), model=model).supported

    return cached(judge)


def llm_judge(backend: str, settings: GenerationSettings) -> Judge:
    """A yes/no language-model judge over the configured model backend."""
    from rag.backends.http import OLLAMA_DEFAULT_URL, OPENAI_DEFAULT_URL
    from rag.backends.llamacpp import load_llama

    def ask(prompt: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        if backend == "llamacpp":
            model = load_llama(settings.model)
            return "".join(model.chat(messages, max_tokens=3, temperature=0))
        url = settings.base_url.rstrip("/")
        headers = {}
        if settings.api_key is not None and settings.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        try:
            if backend == "ollama":
                if url == OPENAI_DEFAULT_URL.rstrip("/"):
                    url = OLLAMA_DEFAULT_URL
                payload = {
                    "model": settings.model,
                    "messages": messages,
                    "stream": False,
                    "options": {"temperature": 0, "num_predict": 3},
                }
                response = httpx.post(
                    f"{url}/api/chat", json=payload, headers=headers, timeout=settings.timeout_s
                )
                response.raise_for_status()
                return str(response.json()["message"]["content"])
            payload = {"messages": messages, "max_tokens": 3, "temperature": 0}
            if settings.model:
                payload["model"] = settings.model
            response = httpx.post(
                f"{url}/chat/completions", json=payload, headers=headers, timeout=settings.timeout_s
            )
            response.raise_for_status()
            return str(response.json()["choices"][0]["message"]["content"])
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise BackendError(
                f"The language-model judge at {url} failed ({exc}). Check the server, or "
                "evaluate with --backend extractive (verifier only)."
            ) from exc

    def judge(sentence: str, passages: Sequence[str]) -> bool:
        reply = ask(JUDGE_PROMPT.format(passage="\n\n".join(passages), sentence=sentence))
        return reply.strip().lower().lstrip("*\"' ").startswith(("yes", "ja"))

    return cached(judge)


def labelled_pairs(
    items: Sequence[EvalItem], passages: Sequence[str]
) -> list[tuple[str, str, bool]]:
    """(sentence, passage, supported) pairs built from the dataset's evidence."""
    answerable = [item for item in items if item.evidence]
    sources: dict[str, list[str]] = {}
    for item in answerable:
        sources[item.id] = [_containing(q, passages) for q in item.evidence]
    pairs: list[tuple[str, str, bool]] = []
    for i, item in enumerate(answerable):
        other = answerable[(i + max(1, len(answerable) // 2)) % len(answerable)]
        if other.id == item.id:
            continue
        for quote, source in zip(item.evidence, sources[item.id], strict=True):
            pairs.append((quote, source, True))
            negative = sources[other.id][0]
            if not quote_in_passage(quote, negative):
                pairs.append((quote, negative, False))
        if item.answer:
            pairs.append((item.answer, "\n".join(sources[item.id]), True))
            pairs.append((item.answer, "\n".join(sources[other.id]), False))
    return pairs


def _containing(quote: str, passages: Sequence[str]) -> str:
    for passage in passages:
        if quote_in_passage(quote, passage):
            return passage
    return quote


def verifier_agreement(
    embedder: Any, pairs: Sequence[tuple[str, str, bool]], threshold: float | None = None
) -> dict[str, float | int | None]:
    """Accuracy/precision/recall of the verifier on labelled pairs at its threshold."""
    threshold = verify.SUPPORT_THRESHOLD if threshold is None else threshold
    scores = [verify.support_score(embedder, s, [p]) for s, p, _ in pairs]
    labels = [label for _, _, label in pairs]
    predicted = [score >= threshold for score in scores]
    tp = sum(p and y for p, y in zip(predicted, labels, strict=True))
    result: dict[str, float | int | None] = {
        "pairs": len(pairs),
        "positives": sum(labels),
        "threshold": threshold,
        "accuracy": sum(p == y for p, y in zip(predicted, labels, strict=True)) / len(pairs)
        if pairs
        else None,
        "precision": tp / sum(predicted) if any(predicted) else None,
        "recall": tp / sum(labels) if any(labels) else None,
    }
    calibrate = getattr(verify, "calibrate", None)
    if calibrate is not None and pairs:
        best, accuracy = calibrate(scores, labels)
        result["best_threshold"] = float(best)
        result["best_accuracy"] = float(accuracy)
    return result
