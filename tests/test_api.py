"""The HTTP API against a real server on loopback (uvicorn in a thread, the session's real
index): the JSON contract and its schema, streaming, errors and their status codes,
access rules for document changes, and 32 concurrent clients."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jsonschema
import pytest
from serving import serve_in_thread

from index.store import IndexStore
from rag.pipeline import Pipeline
from ui.access import Access
from ui.api import build_api

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "answer.schema.json").read_text(encoding="utf-8"))
DUTCH = "Wat is de NAVO-norm voor 2035?"
ENGLISH = "What does the letter say about the EU-Mercosur agreement?"
OFF_TOPIC = "Wat is het beste recept voor appeltaart met kaneel?"
ADMIN = "open-sesame"
USER = ("reader", "letmein")


@pytest.fixture(scope="module")
def api(pipeline: Pipeline) -> Iterator[httpx.Client]:
    """The API over the session pipeline, with an admin password (read-only tests)."""
    with (
        serve_in_thread(build_api(pipeline, Access(admin_password=ADMIN))) as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        yield client


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


# ---- the answer contract ----------------------------------------------------------------


@pytest.mark.parametrize("question", [DUTCH, ENGLISH, OFF_TOPIC])
def test_answers_follow_the_published_schema(api: httpx.Client, question: str) -> None:
    response = api.post("/api/ask", json={"question": question, "id": "q7"})
    assert response.status_code == 200
    data = response.json()
    jsonschema.validate(data, SCHEMA)
    assert data["id"] == "q7" and data["version"] == SCHEMA["properties"]["version"]["const"]
    assert data["refused"] is (question == OFF_TOPIC)


def test_schema_rejects_what_the_contract_forbids(api: httpx.Client) -> None:
    data = api.post("/api/ask", json={"question": DUTCH}).json()
    broken = {**data, "citations": [{**data["citations"][0], "lines": [3]}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in data.items() if k != "version"}, SCHEMA)


def test_a_json_body_sent_as_a_form_is_read_as_json(api: httpx.Client) -> None:
    """What `curl -d '{"question": …}'` sends: JSON labelled as a form."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    body = json.dumps({"question": DUTCH}).encode()
    response = api.post("/api/ask", content=body, headers=form)
    assert response.status_code == 200 and "5%" in response.json()["answer"]


def test_dutch_answer_is_cited_and_passage_scores_follow_the_ranking(api: httpx.Client) -> None:
    data = api.post("/api/ask", json={"question": DUTCH, "k": 4}).json()
    assert "5%" in data["answer"] and data["citations"]
    assert all(c["supported"] for c in data["citations"])
    body = [p for p in data["passages"] if p["rank"] <= 4]
    assert [p["rank"] for p in body] == sorted(p["rank"] for p in body)
    assert all(p["score"] >= 0 for p in body)


def test_streaming_sends_deltas_then_the_answer(api: httpx.Client) -> None:
    response = api.post("/api/ask", json={"question": ENGLISH, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"delta"} and len(kinds) >= 2
    final = events[-1][1]
    jsonschema.validate(final, SCHEMA)
    streamed = "".join(data["text"] for kind, data in events if kind == "delta")
    assert "Mercosur" in streamed and final["citations"]


def test_follow_up_uses_the_history(api: httpx.Client) -> None:
    first = api.post("/api/ask", json={"question": DUTCH}).json()
    follow = api.post(
        "/api/ask", json={"question": "Why?", "history": [[DUTCH, first["answer"]]]}
    ).json()
    alone = api.post("/api/ask", json={"question": "Why?"}).json()
    assert follow["passages"] != alone["passages"]


def test_brief_health_and_documents(api: httpx.Client, pipeline: Pipeline) -> None:
    brief = api.post("/api/brief", json={"topic": "handel"}).json()
    assert brief["points"] and brief["citations"] and brief["markdown"]
    health = api.get("/api/health").json()
    documents = pipeline.documents()
    assert health["status"] == "ok" and health["index_loaded"] is True
    assert health["documents"] == len(documents)
    assert health["passages"] == sum(d.chunks for d in documents)
    listed = api.get("/api/documents").json()["documents"]
    assert [d["id"] for d in listed] == [d.doc_id for d in documents]


# ---- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"question": "   "}, 400, "empty"),
        ({"question": "x" * 3000}, 400, "limit"),
        ({}, 422, "question"),
        ({"question": DUTCH, "k": 0}, 422, "k"),
        ({"question": DUTCH, "backend": "gpt-9"}, 422, "backend"),
        ({"question": DUTCH, "surprise": 1}, 422, "surprise"),
    ],
)
def test_bad_input_is_json_with_status_and_message(
    api: httpx.Client, body: dict, status: int, says: str
) -> None:
    response = api.post("/api/ask", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == status and says in error["message"]


def test_not_json_oversized_and_unknown_paths(api: httpx.Client) -> None:
    not_json = api.post("/api/ask", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]["message"]
    huge = api.post("/api/ask", content=b"x" * (2 * 1024 * 1024))
    assert huge.status_code == 413 and "send less" in huge.json()["error"]["message"]
    missing = api.get("/api/nothing-here")
    assert missing.status_code == 404 and "/docs" in missing.json()["error"]["message"]
    gone = api.delete("/api/documents/no-such-doc", headers={"Authorization": f"Bearer {ADMIN}"})
    assert gone.status_code == 404 and "GET /api/documents" in gone.json()["error"]["message"]


def test_chunked_body_over_the_limit_is_refused(api: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    response = api.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_model_server_is_503(pipeline: Pipeline) -> None:
    generation = {"backend": "openai", "base_url": f"http://127.0.0.1:{closed_port()}/v1"}
    settings = pipeline.settings.model_copy(
        update={"generation": pipeline.settings.generation.model_copy(update=generation)}
    )
    offline = Pipeline(settings, pipeline.store, pipeline.embedder)
    with serve_in_thread(build_api(offline, Access())) as url:
        for stream in (False, True):
            response = httpx.post(
                f"{url}/api/ask", json={"question": DUTCH, "stream": stream}, timeout=60
            )
            assert response.status_code == 503, response.text
            assert response.json()["error"]["message"]


# ---- access -----------------------------------------------------------------------------


@pytest.fixture
def own_index(built_index, pipeline: Pipeline, tmp_path: Path) -> Pipeline:
    """A pipeline over a private copy of the letter's index, free to change."""
    settings, _ = built_index
    folder = tmp_path / "index"
    shutil.copytree(settings.index.path, folder)
    own = settings.model_copy(update={"index": settings.index.model_copy(update={"path": folder})})
    return Pipeline(own, IndexStore.load(folder, own), pipeline.embedder)


def upload(client: httpx.Client, name: str, text: str, token: str | None, **form: str):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    files = {"file": (name, text.encode("utf-8"), "text/plain")}
    return client.post("/api/documents", files=files, data=form, headers=headers)


NOTE = "Memo over fietspaden.\n\nDe gemeente legt in 2027 veertig kilometer fietspad aan.\n"


def test_document_changes_need_the_admin(own_index: Pipeline, caplog) -> None:
    access = Access(user=USER, admin_password=ADMIN)
    with serve_in_thread(build_api(own_index, access)) as url, httpx.Client(base_url=url) as c:
        assert c.get("/api/documents").status_code == 401
        basic = httpx.BasicAuth(*USER)
        assert c.get("/api/documents", auth=basic).status_code == 200
        assert upload(c, "memo.txt", NOTE, None).status_code == 401
        assert upload(c, "memo.txt", NOTE, "wrong").status_code == 401
        assert upload(c, "memo.txt", NOTE, USER[1]).status_code == 403  # a reader, not admin
        added = upload(c, "memo.txt", NOTE, ADMIN)
        assert added.status_code == 201, added.text
        assert added.json()["added"] == "memo" and not added.json()["replaced"]
        again = upload(c, "memo.txt", "Iets anders.\n", ADMIN)
        assert again.status_code == 409 and "replace=true" in again.json()["error"]["message"]
        with caplog.at_level("WARNING", logger="rag.documents"):
            replaced = upload(c, "memo.txt", NOTE + "Ook wandelpaden.\n", ADMIN, replace="true")
        assert replaced.status_code == 201 and replaced.json()["replaced"] is True
        assert any("replaced" in r.getMessage() for r in caplog.records)
        asked = c.post("/api/ask", json={"question": "Hoeveel kilometer fietspad?"}, auth=basic)
        assert any(p["document"] == "memo.txt" for p in asked.json()["passages"])
        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert c.delete("/api/documents/memo").status_code == 401
        assert c.delete("/api/documents/memo", headers=admin).status_code == 200
        ids = [d["id"] for d in c.get("/api/documents", auth=basic).json()["documents"]]
        assert "memo" not in ids


def test_uploads_are_checked_before_indexing(own_index: Pipeline) -> None:
    max_mb = own_index.settings.ui.max_upload_mb
    with serve_in_thread(build_api(own_index, Access(admin_password=ADMIN))) as url:
        with httpx.Client(base_url=url) as c:
            wrong = upload(c, "script.sh", "echo hi", ADMIN)
            assert wrong.status_code == 400 and ".txt" in wrong.json()["error"]["message"]
            big = upload(c, "big.txt", "woord " * int(max_mb * 1024 * 1024 / 5), ADMIN)
            assert big.status_code == 413
            empty = upload(c, "leeg.txt", " \n", ADMIN)
            assert empty.status_code == 400 and "nothing to index" in empty.text
            no_file = c.post(
                "/api/documents", data={"x": "1"}, headers={"Authorization": f"Bearer {ADMIN}"}
            )
            assert no_file.status_code == 400 and "'file'" in no_file.text
        ids = [d.doc_id for d in own_index.documents()]
        assert ids == ["eu-geopolitiek-kamerbrief"]


def test_document_changes_are_off_without_an_admin(own_index: Pipeline) -> None:
    with serve_in_thread(build_api(own_index, Access())) as url, httpx.Client(base_url=url) as c:
        refused = upload(c, "memo.txt", NOTE, "anything")
        assert (
            refused.status_code == 403 and "--allow-uploads" in refused.json()["error"]["message"]
        )
    open_to_all = build_api(own_index, Access(allow_uploads=True))
    with serve_in_thread(open_to_all) as url, httpx.Client(base_url=url) as c:
        assert upload(c, "memo.txt", NOTE, None).status_code == 201


# ---- load -------------------------------------------------------------------------------


def test_32_concurrent_clients_all_get_correct_answers(api: httpx.Client) -> None:
    questions = [(DUTCH, "5%"), (ENGLISH, "Mercosur")] * 2

    def client(n: int) -> list[tuple[int, bool]]:
        results = []
        with httpx.Client(base_url=str(api.base_url), timeout=120) as own:
            for question, expected in questions:
                response = own.post("/api/ask", json={"question": question, "id": n})
                ok = response.status_code == 200 and expected in response.json()["answer"]
                results.append((response.status_code, ok))
        return results

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = [r for batch in pool.map(client, range(32)) for r in batch]
    assert len(results) == 32 * len(questions)
    assert all(status == 200 and ok for status, ok in results)


def test_a_motion_is_listed_with_its_structure(own_index: Pipeline) -> None:
    """A real motion added through the API is listed (not a 500: the list's schema has
    every kind the index knows) with its kind, submitters and request."""
    motion = Path(__file__).resolve().parents[1] / "corpus/multidoc/motions/kst-21501-02-2831.txt"
    api = build_api(own_index, Access(admin_password=ADMIN))
    with serve_in_thread(api) as url, httpx.Client(base_url=url) as c:
        added = upload(c, motion.name, motion.read_text(encoding="utf-8"), ADMIN)
        assert added.status_code == 201, added.text
        listed = c.get("/api/documents")
        assert listed.status_code == 200, listed.text
        entry = next(d for d in listed.json()["documents"] if d["id"] == added.json()["added"])
        assert entry["kind"] == "motion"
        assert entry["submitters"] and entry["request"].lower().startswith("verzoekt")
