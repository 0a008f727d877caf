"""Many documents: metadata read at index time, scope, and admin edits.

A real mixed index (the bundled letter plus the synthetic parliamentary papers of
tests/fixtures/parliament, written in the style of Dutch Kamerstukken; see
tests/fixtures/parliament.md), the bundled encoder, FAISS and BM25; the PostgreSQL store
against a real pgserver; the API over real HTTP.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from serving import serve_in_thread

from assembly.library import open_pipeline
from index.build import build
from index.load import bundled_corpus, load_paths
from index.metadata import describe
from index.store import IndexStore, live_version
from rag.errors import InputError, UnknownDocumentError
from rag.pipeline import Pipeline
from rag.retrieval.embeddings import Embedder
from rag.settings import Settings
from ui.access import Access
from ui.api import build_api

FIXTURES = Path(__file__).parent / "fixtures" / "parliament"
LETTER = "eu-geopolitiek-kamerbrief"
DEFENCE = "synthetic-brief-defensie-navo"
AGENDA = "synthetic-geannoteerde-agenda-rbz"
REPORT = "synthetic-verslag-commissiedebat-raad"
NOTE = "synthetic-notitie-economische-veiligheid"
ADMIN = "open-sesame"
# About the letter's own themes: the letter dominates the unscoped ranking.
LETTER_TOPIC = "Hoe moet de EU een geopolitieke speler worden in een veranderende wereldorde?"


def mixed_documents():
    return load_paths([bundled_corpus(), FIXTURES])


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder) -> Settings:
    settings = Settings(index={"path": tmp_path_factory.mktemp("mixed-index")})
    build(settings, default_embedder, documents=mixed_documents())
    return settings


@pytest.fixture(scope="module")
def mixed_pipeline(mixed: Settings) -> Pipeline:
    return open_pipeline(mixed)


# ---- metadata -------------------------------------------------------------------------


def test_metadata_follows_the_conventions_of_each_kind_of_paper() -> None:
    found = {d.doc_id: describe(d.text, d.name) for d in mixed_documents()}
    letter = found[LETTER]
    assert letter["kind"] == "letter" and letter["date"] is None and letter["dossier"] == ""
    assert letter["signatories"] == ["De minister van Buitenlandse Zaken, D.M. van Weel"]
    assert letter["title"] == "eu geopolitiek kamerbrief"  # no title in the text: file name
    defence = found[DEFENCE]
    assert (defence["kind"], defence["date"], defence["dossier"]) == (
        "letter",
        "2025-11-20",
        "28 676, nr. 512",
    )
    assert defence["title"] == "Brief van de minister van defensie"
    assert defence["sender"] == "De minister van Defensie"
    agenda = found[AGENDA]
    assert agenda["kind"] == "agenda" and agenda["date"] == "2025-06-09"
    assert agenda["title"].startswith("Geannoteerde agenda Raad Buitenlandse Zaken")
    report = found[REPORT]
    assert report["kind"] == "report" and report["date"] == "2026-01-14"
    assert report["dossier"] == "21 501-02, nr. 3190"
    # Running text that opens "De minister antwoordt …," is no signature.
    assert report["signatories"] == [
        "De voorzitter van de commissie, Van Dijk-Molenaar",
        "De griffier van de commissie, Brouwer",
    ]
    note = found[NOTE]
    assert note["kind"] == "note" and note["date"] == "2025-03-03" and note["signatories"] == []


def test_a_footnote_citing_another_paper_is_not_the_dossier() -> None:
    text = "Titel van de notitie\n\n1 Bijlage bij Kamerstuk 21 501-02 nr. 2956\n\nTekst.\n"
    assert describe(text, "x.txt")["dossier"] == ""
    assert describe("Zie Kamerstuk 36 600 V, nr. 12.\n", "x.txt")["dossier"] == "36 600 V, nr. 12"


def test_documents_list_their_metadata(mixed_pipeline: Pipeline) -> None:
    docs = {d.doc_id: d for d in mixed_pipeline.documents()}
    assert set(docs) == {LETTER, DEFENCE, AGENDA, REPORT, NOTE}
    assert docs[DEFENCE].date == "2025-11-20" and docs[DEFENCE].chunks > 0
    assert docs[LETTER].signatories and docs[LETTER].title


def test_an_index_without_metadata_still_loads_and_is_described(
    mixed: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "old"
    shutil.copytree(mixed.index.path, folder)
    manifest_path = live_version(folder) / "manifest.json"
    data = json.loads(manifest_path.read_text())
    keep = ("doc_id", "name", "source", "content_hash", "chunks")
    data["documents"] = [{k: d[k] for k in keep} for d in data["documents"]]
    manifest_path.write_text(json.dumps(data))
    old = mixed.model_copy(update={"index": mixed.index.model_copy(update={"path": folder})})
    docs = {d.doc_id: d for d in IndexStore.load(folder, old).manifest.documents}
    assert docs[LETTER].signatories == ["De minister van Buitenlandse Zaken, D.M. van Weel"]
    assert docs[REPORT].date == "2026-01-14" and docs[REPORT].kind == "report"
    assert json.loads(manifest_path.read_text()) == data  # nothing rewritten behind the user


# ---- scope ------------------------------------------------------------------------------


def test_a_scope_searches_the_whole_document_not_a_filtered_top_k(mixed: Settings) -> None:
    store = IndexStore.load(mixed.index.path, mixed)
    pipeline = open_pipeline(mixed)
    query = pipeline.embedder.encode_queries([LETTER_TOPIC])[0]
    unscoped = store.dense_search(query, 5)
    assert all(store.chunks[p].doc_id == LETTER for p, _ in unscoped)
    scoped = store.dense_search(query, 3, documents={NOTE})
    own = [i for i, c in enumerate(store.chunks) if c.doc_id == NOTE]
    exact = sorted(own, key=lambda i: -float(np.asarray(store.vectors[i]) @ query))[:3]
    assert [p for p, _ in scoped] == exact
    words = "Europa kabinet China"
    lexical = store.lexical_search(words, 3, documents={NOTE})
    assert lexical and all(store.chunks[p].doc_id == NOTE for p, _ in lexical)


@pytest.mark.parametrize(
    "question",
    [
        "Wat is de NAVO-norm voor 2035?",
        "What does the letter say about the EU-Mercosur agreement?",
        "Hoe kijkt het kabinet in de slotpassage aan tegen Europese eenheid?",
    ],
)
def test_the_letter_scoped_in_a_mixed_index_ranks_as_the_letter_alone(
    question: str, mixed_pipeline: Pipeline, pipeline: Pipeline
) -> None:
    alone = pipeline.retrieve(question, 8)
    scoped = mixed_pipeline.retrieve(question, 8, documents=[LETTER])
    assert [h.chunk.chunk_id for h in scoped] == [h.chunk.chunk_id for h in alone]
    assert [round(h.score, 4) for h in scoped] == [round(h.score, 4) for h in alone]
    unscoped = mixed_pipeline.retrieve(question, 8)
    assert unscoped and {h.chunk.doc_id for h in scoped} == {LETTER}


def test_a_scoped_answer_uses_only_that_document(mixed_pipeline: Pipeline) -> None:
    question = "Hoeveel procent van het bbp besteden de bondgenoten in 2035 aan defensie?"
    for doc_id in (LETTER, DEFENCE):
        answer = mixed_pipeline.ask(question, documents=[doc_id])
        assert answer.scope == [doc_id]
        assert answer.passages and {h.chunk.doc_id for h in answer.passages} == {doc_id}
        chunk_docs = {h.chunk.chunk_id: h.chunk.doc_id for h in answer.passages}
        assert all(chunk_docs[c.chunk_id] == doc_id for c in answer.citations)
    assert mixed_pipeline.ask(question).scope == []


def test_scope_reaches_stream_brief_and_the_gist(mixed_pipeline: Pipeline) -> None:
    *_, last = mixed_pipeline.stream("Wat staat er over Mercosur?", documents=[AGENDA])
    assert last.scope == [AGENDA] and {h.chunk.doc_id for h in last.passages} == {AGENDA}
    briefing = mixed_pipeline.brief("defensie", documents=[DEFENCE])
    assert briefing.citations and {c.document for c in briefing.citations} == {f"{DEFENCE}.txt"}
    gist = mixed_pipeline.ask("Vat de brief samen", documents=[NOTE])
    assert {h.chunk.doc_id for h in gist.passages} == {NOTE}


def test_an_unknown_document_id_names_the_valid_ones(mixed_pipeline: Pipeline) -> None:
    with pytest.raises(UnknownDocumentError) as error:
        mixed_pipeline.ask("Wat zegt de brief?", documents=["nope"])
    assert "nope" in str(error.value) and LETTER in str(error.value)
    assert isinstance(error.value, InputError)


# ---- admin edits ------------------------------------------------------------------------


@pytest.fixture
def own_mixed(mixed: Settings, tmp_path: Path) -> Pipeline:
    folder = tmp_path / "index"
    shutil.copytree(mixed.index.path, folder)
    own = mixed.model_copy(update={"index": mixed.index.model_copy(update={"path": folder})})
    return open_pipeline(own)


def test_api_lists_scopes_and_edits_documents(own_mixed: Pipeline) -> None:
    access = Access(admin_password=ADMIN)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with (
        serve_in_thread(build_api(own_mixed, access)) as url,
        httpx.Client(base_url=url, timeout=60) as c,
    ):
        docs = {d["id"]: d for d in c.get("/api/documents").json()["documents"]}
        assert docs[DEFENCE]["date"] == "2025-11-20" and docs[DEFENCE]["kind"] == "letter"
        scoped = {"question": "Wat is de NAVO-norm?", "documents": [DEFENCE]}
        asked = c.post("/api/ask", json=scoped)
        assert asked.status_code == 200 and asked.json()["scope"] == [DEFENCE]
        assert {p["document"] for p in asked.json()["passages"]} == {f"{DEFENCE}.txt"}
        bad = c.post("/api/ask", json={"question": "Wat is de NAVO-norm?", "documents": ["x"]})
        assert bad.status_code == 400 and LETTER in bad.json()["error"]["message"]
        brief = c.post("/api/brief", json={"topic": "Mercosur", "documents": [AGENDA]})
        assert brief.status_code == 200
        change = {"title": "Kamerbrief over de EU als geopolitieke speler", "date": "2025-12-12"}
        assert c.patch(f"/api/documents/{LETTER}", json=change).status_code == 401
        assert c.patch("/api/documents/x", json=change, headers=admin).status_code == 404
        wrong = c.patch(f"/api/documents/{LETTER}", json={"date": "12-12-2025"}, headers=admin)
        assert wrong.status_code == 400 and "yyyy-mm-dd" in wrong.json()["error"]["message"]
        edited = c.patch(f"/api/documents/{LETTER}", json=change, headers=admin)
        assert edited.status_code == 200, edited.text
        assert edited.json()["date"] == "2025-12-12"
        assert edited.json()["edited"] == ["date", "title"]
        listed = {d["id"]: d for d in c.get("/api/documents").json()["documents"]}
        assert listed[LETTER]["title"] == change["title"]


def test_an_edit_survives_a_rebuild_of_the_same_text(
    own_mixed: Pipeline, default_embedder: Embedder
) -> None:
    from assembly.library import edit_document

    edit_document(own_mixed, LETTER, {"date": "2025-12-12"})
    store = build(own_mixed.settings, default_embedder, documents=mixed_documents())
    docs = {d.doc_id: d for d in store.manifest.documents}
    assert docs[LETTER].date == "2025-12-12" and docs[LETTER].edited == ["date"]
    assert docs[DEFENCE].date == "2025-11-20"  # the others read from their text


# ---- the PostgreSQL store ---------------------------------------------------------------


@pytest.mark.slow
def test_the_postgresql_store_keeps_metadata_and_searches_a_scope(
    pg_url: str, default_embedder: Embedder
) -> None:
    import psycopg

    from index.pg_write import ingest
    from index.pgstore import PgStore
    from index.stores import set_document_metadata

    settings = Settings(index={"store": pg_url})
    store = ingest(settings, default_embedder, mixed_documents(), keep=False)
    try:
        docs = {d.doc_id: d for d in store.manifest.documents}
        assert docs[REPORT].dossier == "21 501-02, nr. 3190" and docs[REPORT].kind == "report"
        query = default_embedder.encode_queries([LETTER_TOPIC])[0]
        assert all(store.chunks[p].doc_id == LETTER for p, _ in store.dense_search(query, 5))
        scoped = store.dense_search(query, 3, documents=[NOTE])
        own = [i for i, c in enumerate(store.chunks) if c.doc_id == NOTE]
        vectors = store.vectors[own]
        exact = [own[i] for i in np.argsort(-(vectors @ query))[:3]]
        assert [p for p, _ in scoped] == exact
        lexical = store.concept_search([["china"], ["europa"]], 3, documents=[NOTE])
        assert lexical and {store.chunks[p].doc_id for p, _ in lexical} == {NOTE}
        pipeline = Pipeline(settings, store, default_embedder)
        answer = pipeline.ask("Wat is de NAVO-norm voor 2035?", documents=[DEFENCE])
        assert {h.chunk.doc_id for h in answer.passages} == {DEFENCE}
        set_document_metadata(settings, LETTER, {"date": "2025-12-12"}, previous=store)
        pipeline.refresh()
        assert {d.doc_id: d for d in pipeline.documents()}[LETTER].date == "2025-12-12"
        # A row written before schema 3 has no metadata: described from its passages.
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("update rag_documents set meta = null where doc_id = %s", (REPORT,))
        again = PgStore.open(pg_url, settings)
        old = {d.doc_id: d for d in again.manifest.documents}[REPORT]
        assert old.date == "2026-01-14" and old.signatories[-1].endswith("Brouwer")
        again.pool.close()
    finally:
        store.pool.close()


# ---- "the letter": the document in focus -------------------------------------------------


def test_the_letter_is_ambiguous_among_letters_and_lists_them(mixed_pipeline: Pipeline) -> None:
    answer = mixed_pipeline.ask("Wie heeft de brief ondertekend?")
    assert answer.refused and sorted(answer.candidates) == [LETTER, DEFENCE]
    assert LETTER in answer.answer and DEFENCE in answer.answer and not answer.passages


def test_the_letter_resolves_to_the_scope_and_is_named(mixed_pipeline: Pipeline) -> None:
    answer = mixed_pipeline.ask("Wie heeft de brief ondertekend?", documents=[LETTER])
    assert answer.scope == [LETTER] and not answer.candidates
    assert {h.chunk.doc_id for h in answer.passages} == {LETTER}
    assert f"[{LETTER}]" in answer.answer  # the answer names the document it used
    # That document's closing, with its signature, comes first (not every document's).
    assert "D.M. van Weel" in answer.passages[0].chunk.text


def test_a_report_or_an_agenda_is_the_only_one_of_its_kind(mixed_pipeline: Pipeline) -> None:
    report = mixed_pipeline.ask("Wat vroeg het lid Verhoef volgens het verslag?")
    assert report.scope == [REPORT] and {h.chunk.doc_id for h in report.passages} == {REPORT}
    agenda = mixed_pipeline.ask("What does the agenda say about Mercosur?")
    assert agenda.scope == [AGENDA] and f"[{AGENDA}]" in agenda.answer


def test_the_conversation_or_the_default_decides_between_letters(
    mixed_pipeline: Pipeline, mixed: Settings
) -> None:
    earlier = [("Wat schrijft de minister van Defensie?", f"(Uit: brief [{DEFENCE}])")]
    followed = mixed_pipeline.ask("Wie heeft de brief ondertekend?", history=earlier)
    assert followed.scope == [DEFENCE] and f"[{DEFENCE}]" in followed.answer
    assert any("Hoekstra-Lind" in h.chunk.text for h in followed.passages)
    retrieval = mixed.retrieval.model_copy(update={"default_document": LETTER})
    settings = mixed.model_copy(update={"retrieval": retrieval})
    defaulted = Pipeline(settings, mixed_pipeline.store, mixed_pipeline.embedder)
    assert defaulted.ask("Wat zegt de brief over handel?").scope == [LETTER]


def test_a_question_without_a_reference_is_not_narrowed(mixed_pipeline: Pipeline) -> None:
    answer = mixed_pipeline.ask("Hoeveel procent van het bbp gaat in 2035 naar defensie?")
    assert answer.scope == [] and not answer.candidates


# ---- who signed it, its date: from the document's own record ------------------------------


def test_who_signed_the_letter_is_a_verified_quote_of_its_signature(pipeline: Pipeline) -> None:
    for question in ("Wie heeft de brief ondertekend?", "Who signed the letter?"):
        answer = pipeline.ask(question)  # the letter alone: no reference to resolve
        assert not answer.refused, answer.answer
        assert "D.M. van Weel" in answer.answer
        assert [s.grounding for s in answer.sentences] == ["quote"]
        assert answer.relevance is not None and answer.relevance.level == "answers"
        cited = {h.chunk.chunk_id: h for h in answer.passages}[answer.citations[0].chunk_id]
        assert "D.M. van Weel" in cited.chunk.text


def test_facts_follow_the_document_in_focus(mixed_pipeline: Pipeline) -> None:
    report = mixed_pipeline.ask("Wie heeft het verslag ondertekend?")
    assert report.scope == [REPORT]
    assert "Brouwer" in report.answer and "Van Dijk-Molenaar" in report.answer
    assert "D.M. van Weel" not in report.answer
    dated = mixed_pipeline.ask("What is the date of the letter?", documents=[DEFENCE])
    # The date stands in a heading, no passage text: given as the document's details,
    # labelled, and not counted as a verified answer.
    assert "20 November 2025" in dated.answer and "not from a cited passage" in dated.answer
    assert dated.refused


def test_facts_can_be_switched_off(pipeline: Pipeline) -> None:
    answer_settings = pipeline.settings.answer.model_copy(update={"document_facts": False})
    settings = pipeline.settings.model_copy(update={"answer": answer_settings})
    plain = Pipeline(settings, pipeline.store, pipeline.embedder)
    assert "D.M. van Weel" not in plain.ask("Who signed the letter?").answer


def test_a_scope_over_the_view_limit_is_searched_through_the_store(
    mixed_pipeline: Pipeline, mixed: Settings
) -> None:
    retrieval = mixed.retrieval.model_copy(update={"scope_index_limit": 0})
    settings = mixed.model_copy(update={"retrieval": retrieval})
    through_store = Pipeline(settings, mixed_pipeline.store, mixed_pipeline.embedder)
    assert through_store.retriever.scoped([LETTER]) is None
    hits = through_store.retrieve(LETTER_TOPIC, 5, documents=[NOTE])
    assert hits and {h.chunk.doc_id for h in hits} == {NOTE}


def test_the_source_card_says_what_document_a_citation_comes_from(mixed_pipeline: Pipeline):
    """Every citation's card shows the document's title, kind and date (metadata)."""
    from ui.chat import document_about, source_panel

    defence = next(d for d in mixed_pipeline.documents() if "defensie-navo" in d.doc_id)
    about = document_about(mixed_pipeline, defence.doc_id, "nl")
    assert defence.title in about and "brief" in about and (defence.date or "") in about
    answer = mixed_pipeline.ask(
        "Wat schrijft de minister over de defensie-uitgaven?", documents=[defence.doc_id]
    )
    assert answer.citations, answer.answer
    panel = source_panel(mixed_pipeline, [answer], f"0:{answer.citations[0].marker}", "nl")
    assert 'class="doc-about"' in panel
