"""`rag serve` as users start it (a real process on loopback): the chat UI and the HTTP API
on one port, `--api-only`, and the named Gradio API driven by `gradio_client`."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import running_server
from gradio_client import Client, handle_file
from serving import rag_command, rag_serve

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "open-sesame"
DUTCH = "Wat is de NAVO-norm voor 2035?"
NOTE = "Memo over fietspaden.\n\nDe gemeente legt in 2027 veertig kilometer fietspad aan.\n"


def serve(tmp: Path, built_index, *extra: str, admin: str | None = None, login: bool = False):
    command, env, url = rag_serve(tmp, built_index, *extra, admin=admin, login=login)
    ready = f"{url}/" if login else f"{url}/api/health"  # behind a login only / answers
    return running_server(command, ready, tmp / "server.log", 240, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def serve_folder(tmp_path_factory) -> Path:
    """Where the module's server keeps its index and writes server.log."""
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def server(serve_folder: Path, built_index) -> Iterator[str]:
    with serve(serve_folder, built_index, admin=ADMIN) as health:
        yield health.removesuffix("/api/health")


def test_one_port_serves_the_ui_the_api_and_its_docs(server: str) -> None:
    answer = httpx.post(f"{server}/api/ask", json={"question": DUTCH}, timeout=60).json()
    assert "5%" in answer["answer"] and answer["citations"] and answer["version"]
    assert "gradio" in httpx.get(f"{server}/", timeout=30).text.lower()
    docs = httpx.get(f"{server}/docs", timeout=30)
    assert docs.status_code == 200 and "cdn." not in docs.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        response = httpx.get(f"{server}/docs-assets/{asset}", timeout=30)
        assert response.status_code == 200 and len(response.content) > 100_000, asset
    paths = httpx.get(f"{server}/openapi.json", timeout=30).json()["paths"]
    assert {"/api/ask", "/api/documents", "/v1/chat/completions"} <= set(paths)


def test_gradio_api_lists_only_the_named_endpoints(server: str) -> None:
    client = Client(f"{server}/", verbose=False)
    named = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert named == {"/ask", "/brief", "/add_document", "/remove_document"}


def test_gradio_ask_takes_the_question_and_returns_json(server: str) -> None:
    client = Client(f"{server}/", verbose=False)
    answer = client.predict(DUTCH, "extractive", 3, api_name="/ask")
    assert isinstance(answer, dict) and "5%" in answer["answer"]
    assert answer["citations"] and answer["citations"][0]["lines"]
    assert "<" not in answer["answer"]  # text, not HTML
    brief = client.predict("handel", api_name="/brief")
    assert brief["points"] and brief["citations"]


def test_gradio_document_changes_need_the_admin_password(
    server: str, serve_folder: Path, tmp_path: Path
) -> None:
    """/add_document and /remove_document: the same parameter names, the same plain JSON
    answer, a wrong password told apart from a missing one, and never a traceback."""
    client = Client(f"{server}/", verbose=False)
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = {
        path: [p["parameter_name"] for p in api[path]["parameters"]]
        for path in ("/add_document", "/remove_document")
    }
    assert names == {
        "/add_document": ["file", "replace", "admin_password"],
        "/remove_document": ["doc_id", "admin_password"],
    }
    assert [r["component"] for r in api["/add_document"]["returns"]] == ["Json"]
    memo = tmp_path / "memo.txt"
    memo.write_text(NOTE, encoding="utf-8")

    def add(password: str) -> dict:
        return client.predict(handle_file(memo), False, password, api_name="/add_document")

    missing, wrong = add(""), add("wrong")
    assert missing == {"ok": False, "document": None, "message": missing["message"]}
    assert "Enter the admin password" in missing["message"]
    assert wrong["ok"] is False and "not right" in wrong["message"]
    assert "&#" not in wrong["message"]
    added = add(ADMIN)
    assert added["ok"] and added["document"] == "memo", added
    again = add(ADMIN)
    assert not again["ok"] and "already indexed" in again["message"]
    refused = client.predict("memo", "wrong", api_name="/remove_document")
    assert refused["ok"] is False and "not right" in refused["message"]
    removed = client.predict("memo", ADMIN, api_name="/remove_document")
    assert removed == {"ok": True, "document": "memo", "message": "Removed 'memo'."}
    log = (serve_folder / "server.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log


def test_behind_a_login_nothing_about_documents_or_endpoints_is_shown(
    tmp_path: Path, built_index
) -> None:
    """An unauthenticated visitor gets the login page and 401s: no document ids, no
    endpoint URLs, not in the page, the Gradio config, the Gradio API or the HTTP API."""
    with serve(tmp_path, built_index, login=True) as page:
        base = page.removesuffix("/")
        for path in ("/", "/config", "/gradio_api/info", "/api/documents", "/api/health"):
            response = httpx.get(f"{base}{path}", timeout=30)
            assert response.status_code in (200, 401) and (path == "/") == (
                response.status_code == 200
            )
            assert "eu-geopolitiek" not in response.text
            assert "127.0.0.1:8080" not in response.text


def test_api_only_serves_no_ui(tmp_path: Path, built_index) -> None:
    with serve(tmp_path, built_index, "--api-only") as health:
        base = health.removesuffix("/api/health")
        assert httpx.get(health, timeout=30).json()["status"] == "ok"
        assert httpx.get(f"{base}/", timeout=30).status_code == 404
        blocked = httpx.post(
            f"{base}/api/documents", files={"file": ("m.txt", NOTE.encode())}, timeout=30
        )
        assert blocked.status_code == 403  # no admin configured, no --allow-uploads


def test_api_workers_share_the_index(tmp_path: Path, built_index) -> None:
    """Two worker processes on one port: a document added through one connection is
    answered on fresh connections, whichever worker takes them."""
    with serve(tmp_path, built_index, "--api-only", "--workers", "2", admin=ADMIN) as health:
        base = health.removesuffix("/api/health")
        added = httpx.post(
            f"{base}/api/documents",
            files={"file": ("fietspaden.txt", NOTE.encode())},
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=120,
        )
        assert added.status_code in (200, 201), added.text
        for _ in range(8):  # a new connection each time: the kernel picks the worker
            with httpx.Client(base_url=base, timeout=60) as fresh:
                answer = fresh.post(
                    "/api/ask", json={"question": "Hoeveel kilometer fietspad komt er in 2027?"}
                ).json()
            assert "veertig" in answer["answer"], answer["answer"]
    log = (tmp_path / "server.log").read_text()
    assert "2 worker processes" in log


def test_workers_need_api_only(tmp_path: Path) -> None:
    result = subprocess.run(
        [*rag_command(), "--index", str(tmp_path / "i"), "serve", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "--workers needs --api-only" in result.stderr
    assert "Traceback" not in result.stderr


def readme_block(language: str, needle: str, page: str = "README.md") -> str:
    text = (ROOT / page).read_text(encoding="utf-8")
    blocks = text.split(f"```{language}\n")[1:]
    return next(b.split("```")[0] for b in blocks if needle in b)


@pytest.mark.parametrize("page", ["README.md", "docs/api.md"])
def test_readme_examples_work_against_rag_serve(server: str, page: str) -> None:
    """The curl and openai examples of the README and the API page, pointed at this
    server's port."""
    port = server.rsplit(":", 1)[1]
    code = readme_block("python", "from openai import OpenAI", page).replace("7860", port)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "[1]" in run.stdout and "**Sources**" in run.stdout
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is needed for the README's curl example (apt-get install curl)")
    line = readme_block("bash", "curl -s", page).strip().replace("7860", port)
    answer = json.loads(subprocess.run(shlex.split(line), capture_output=True, timeout=60).stdout)
    assert "5%" in answer["answer"] and answer["citations"]
