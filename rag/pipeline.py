"""The assistant as one object: index + embedder + retriever + chain, loaded once.

This is what the CLI, the UI and the evaluation use. It holds no global state; the
composition root opens it with `assembly.library.open_pipeline(settings)` and passes it down.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rag.answer.brief import write_briefing
from rag.answer.chain import AnswerChain
from rag.answer.members import warm as warm_lists
from rag.answer.spans import warm_up as warm_spans
from rag.errors import UnknownDocumentError
from rag.language.glossary import load as load_glossary
from rag.language.identify import warm_up as warm_language
from rag.language.patterns import warm_up as warm_patterns
from rag.query.analysis import analyse
from rag.retrieval.embeddings import Embedder
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.search_index import SearchIndex
from rag.settings import Settings
from rag.types import Answer, Briefing, Hit

# Questions analysed once at warm-up (no answer): they compile the question patterns.
WARM_UP_NL = "Wie heeft in 2035 hoeveel procent van het bbp besteed, en waarom?"
WARM_UP_EN = "Who spent what percentage of GDP in 2035, and why?"


class Pipeline:
    """Question → retrieve → answer → verify, over one index."""

    def __init__(
        self,
        settings: Settings,
        store: SearchIndex,
        embedder: Embedder,
        retriever: HybridRetriever | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = retriever or HybridRetriever(store, embedder, settings.retrieval)
        self.chain = AnswerChain(self.retriever, embedder, settings)
        self._refresh_lock = threading.Lock()
        self._remember(store)

    def with_generation(self, **changes: Any) -> Pipeline:
        """The same index and retriever with other generation settings (endpoint, model),
        for one user's request; the shared pipeline is left as it is."""
        generation = self.settings.generation.model_copy(update=changes)
        settings = self.settings.model_copy(update={"generation": generation})
        return Pipeline(settings, self.store, self.embedder, retriever=self.retriever)

    def refresh(self) -> None:
        """Switch to a newer live index if another writer (the CLI, another app or worker)
        saved one. The folder store (`latest()`) costs one small file read, the PostgreSQL
        store (`reload_if_changed()`) one cheap query, when nothing changed."""
        latest = getattr(self.store, "latest", None)  # the folder store
        changed = getattr(self.store, "reload_if_changed", None)  # a shared server store
        if latest is None and changed is None:
            return
        with self._refresh_lock:
            if latest is not None:
                store = latest()
            else:
                assert changed is not None
                store = changed() or self.store
            if store is not self.store:
                self.replace_store(store)

    # ---- questions ----------------------------------------------------------------------

    def retrieve(
        self, question: str, k: int | None = None, *, documents: Sequence[str] | None = None
    ) -> list[Hit]:
        """The passages for a question, best first (linked footnotes follow their passage);
        with `documents`, only from those documents."""
        self.refresh()
        scope = self.scope(documents)
        k = k or self.settings.retrieval.k
        if scope:
            return self.retriever.search(analyse(question), k, documents=scope)
        return self.retriever.search(analyse(question), k)

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        backend: str | None = None,
        history: Sequence[tuple[str, str]] = (),
        documents: Sequence[str] | None = None,
    ) -> Answer:
        """Answer a question with verified citations. `history`: earlier (question, answer);
        `documents`: the ids of the documents it may use (None or empty: all)."""
        self.refresh()
        scope = self.scope(documents)
        return self.chain.invoke(question, k=k, backend=backend, history=history, documents=scope)

    def stream(
        self,
        question: str,
        *,
        k: int | None = None,
        backend: str | None = None,
        history: Sequence[tuple[str, str]] = (),
        documents: Sequence[str] | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the answer text as it is produced (str deltas), then the final `Answer`."""
        self.refresh()
        scope = self.scope(documents)  # checked before the first delta
        yield from self.chain.stream(
            question, k=k, backend=backend, history=history, documents=scope
        )

    def scope(self, documents: Sequence[str] | None) -> list[str]:
        """The document ids as given, checked against the index (empty: all documents).
        An id the index does not hold is an `UnknownDocumentError` naming the valid ids."""
        wanted = list(dict.fromkeys(d.strip() for d in documents or () if d.strip()))
        if not wanted:
            return []
        known = [d.doc_id for d in self.store.manifest.documents]
        unknown = [d for d in wanted if d not in known]
        if unknown:
            raise UnknownDocumentError(
                f"Unknown document id(s): {', '.join(unknown)}. The index holds: "
                f"{', '.join(known)} (see 'rag index info')."
            )
        return wanted

    def answer_with_hits(
        self, question: str, hits: Sequence[Hit], *, backend: str | None = None
    ) -> Answer:
        """Answer from given passages (used by the evaluation's baseline pipeline)."""
        return self.chain.answer_from_hits(question, list(hits), backend=backend)

    def brief(
        self,
        topic: str | None = None,
        *,
        backend: str | None = None,
        documents: Sequence[str] | None = None,
        prefer: str | None = None,
    ) -> Briefing:
        """A short structured briefing on a topic (or the whole corpus, or the documents
        in `documents`), every bullet cited; `prefer`: the interface's language, for a
        topic whose words are as Dutch as English ("China")."""
        self.refresh()
        return write_briefing(
            topic,
            retriever=self.retriever,
            chain=self.chain,
            chunks=self.store.chunks,
            embedder=self.embedder,
            settings=self.settings,
            backend=backend,
            documents=self.scope(documents),
            prefer=prefer,
        )

    def replace_store(self, store: SearchIndex) -> None:
        """Switch to a rebuilt index (after documents were added or removed)."""
        self.store = store
        self.retriever = HybridRetriever(store, self.embedder, self.settings.retrieval)
        self.chain = AnswerChain(self.retriever, self.embedder, self.settings)
        self._remember(store)

    def warm_up(self) -> None:
        """Load now what the first questions would otherwise load on the way (the
        encoder's weights, the language identifier's model, the glossary's dictionary,
        the name tables) and compile the question and refusal patterns. Batch mode calls it, so no
        question pays for a load and per-question timings are the question's own work."""
        steps: list[Callable[[], object]] = [warm_language, warm_spans, warm_patterns]
        load = getattr(self.embedder.model, "load", None)  # the bundled encoder loads lazily
        if callable(load):
            steps.append(load)
        dictionary = self.settings.answer.glossary
        if dictionary is not None:
            steps.append(lambda: load_glossary(dictionary))
        steps += [lambda: analyse(WARM_UP_NL), lambda: analyse(WARM_UP_EN)]
        steps.append(lambda: warm_lists(self.store, self.embedder))  # lists across documents
        for step in steps:
            with contextlib.suppress(Exception):  # the question that needs it reports it
                step()

    def _remember(self, store: SearchIndex) -> None:
        """Texts the store encoded at build time need no encoding per question."""
        tables = getattr(store, "vector_tables", None)
        if tables is not None:
            self.embedder.remember(str(self.settings.index.path), tables())

    def documents(self) -> list[Any]:
        """Manifest entries of the indexed documents: doc_id, name, source, chunks, and
        their metadata (title, kind, date, sender, signatories, dossier, edited)."""
        self.refresh()
        return list(self.store.manifest.documents)
