"""The API's surface as a client meets it, on real servers on loopback: /docs and /redoc in
headless Chromium with every request off loopback blocked; the OpenAPI document's typed
responses, the answer contract inside it and the error codes of each route; /v1/models
listing only the models that can answer now; malformed JSON; token counts in `usage`.

The model servers behind `kamerbrief-rag:openai` and `:ollama` are scripted (a canned
reply in each API's streaming format): no model can run here, and what is tested is
whether the list matches what answers, not what a model writes."""

from __future__ import annotations

import contextlib
import http.server
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import jsonschema
import openai
import pytest
from serving import handler_server, serve_in_thread
from test_api import DUTCH, ROOT, SCHEMA, closed_port

from index.chunk import count_tokens
from rag.pipeline import Pipeline
from ui.access import Access
from ui.api import build_api
from ui.api_schemas import ERROR_CODES, ChatCompletion
from ui.openai_api import MODEL

OLLAMA_MODEL = "llama3.1:8b"
REPLY = "Het kabinet noemt 5% van het bbp [1]."


@pytest.fixture(scope="module")
def url(pipeline: Pipeline) -> Iterator[str]:
    with serve_in_thread(build_api(pipeline, Access())) as base:
        yield base


# ---- /docs and /redoc with no network ---------------------------------------------------


def test_docs_and_redoc_render_with_the_network_off(url: str, browser: Any) -> None:
    context = browser.new_context()
    blocked: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.goto(f"{url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/ask" in paths and "/v1/chat/completions" in paths and "/v1/models" in paths
    assert page.get_by_text("Answer a question with verified citations").count() >= 1
    page.goto(f"{url}/redoc")
    page.get_by_text("Answer a question with verified citations").first.wait_for(timeout=30_000)
    assert page.locator("h1").first.inner_text().startswith("Kamerbrief Q&A API")
    context.close()
    assert blocked == [], f"requests left loopback: {blocked}"


# ---- the OpenAPI document ---------------------------------------------------------------


def test_openapi_types_responses_and_lists_error_codes(url: str) -> None:
    spec = httpx.get(f"{url}/openapi.json", timeout=30).json()
    ask = spec["paths"]["/api/ask"]["post"]["responses"]
    assert ask["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Answer"
    }
    assert {"400", "413", "422", "503"} <= set(ask)
    assert ask["503"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    health = spec["paths"]["/api/health"]["get"]["responses"]["200"]
    assert health["content"]["application/json"]["schema"]["$ref"].endswith("/Health")
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            codes = {int(code) for code in operation["responses"]}
            assert 200 in codes or 201 in codes, (method, path)
            assert any(code >= 400 for code in codes), f"{method} {path} lists no error code"
    assert "**503**" in spec["info"]["description"]
    answer = spec["components"]["schemas"]["Answer"]
    assert answer["required"] == SCHEMA["required"] and "answer.schema.json" in str(answer)


def test_the_api_page_lists_the_error_codes_the_api_has() -> None:
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d{3}) \| (.+) \|$", page, re.M))
    assert {int(code): text for code, text in rows.items()} == ERROR_CODES


def test_a_real_answer_validates_against_the_answer_in_openapi(url: str) -> None:
    spec = httpx.get(f"{url}/openapi.json", timeout=30).json()
    data = httpx.post(f"{url}/api/ask", json={"question": DUTCH}, timeout=60).json()
    wrapped = {"$ref": "#/components/schemas/Answer", "components": spec["components"]}
    jsonschema.Draft202012Validator(wrapped).validate(data)
    broken = {**data, "citations": [{**data["citations"][0], "lines": [3]}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(wrapped).validate(broken)


# ---- malformed JSON ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        # the example docs/api.md gives
        ("/api/ask", b'{"question": "Wat', "Unterminated string starting at character 14"),
        ("/v1/chat/completions", b'{"model": "x",}', "Expecting property name enclosed in"),
        ("/api/ask", b'{"question": "Wat" "is"}', "Expecting ',' delimiter at character 20"),
    ],
)
def test_malformed_json_gets_a_readable_400(url: str, path: str, body: bytes, reason: str) -> None:
    response = httpx.post(
        f"{url}{path}", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith(f"The request body is not valid JSON ({reason}")
    assert "/docs" in message and "0:" not in message and "at at" not in message


# ---- usage ------------------------------------------------------------------------------


def test_usage_counts_tokens(url: str) -> None:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=60)
    messages: list[Any] = [{"role": "user", "content": DUTCH}]
    reply = client.chat.completions.create(model=MODEL, messages=messages)
    content = reply.choices[0].message.content or ""
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == count_tokens(DUTCH) > 0
    assert reply.usage.completion_tokens == count_tokens(content) > 10
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    ChatCompletion.model_validate(reply.model_dump())  # the type /docs shows for it
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1]
    assert streamed == content and last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == reply.usage.completion_tokens
    plain = list(client.chat.completions.create(model=MODEL, messages=messages, stream=True))
    assert plain[-1].choices[0].finish_reason == "stop"  # no usage chunk unless asked


# ---- /v1/models -------------------------------------------------------------------------


class _ScriptedModels(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible and an Ollama server in one, each with a canned reply."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/models":
            self._send("application/json", json.dumps({"object": "list", "data": []}))
        elif self.path == "/api/tags":
            self._send("application/json", json.dumps({"models": [{"name": OLLAMA_MODEL}]}))
        else:
            self._send("application/json", "{}", 404)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/chat/completions":
            delta = {"choices": [{"index": 0, "delta": {"content": REPLY}}]}
            self._send("text/event-stream", f"data: {json.dumps(delta)}\n\ndata: [DONE]\n\n")
        elif self.path == "/api/chat":
            lines = [{"message": {"content": REPLY}, "done": False}, {"done": True}]
            self._send("application/x-ndjson", "\n".join(json.dumps(x) for x in lines))
        else:
            self._send("application/json", "{}", 404)

    def _send(self, kind: str, text: str, status: int = 200) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def scripted_model_server() -> contextlib.AbstractContextManager[str]:
    return handler_server(_ScriptedModels)


def with_generation(pipeline: Pipeline, **generation: Any) -> Pipeline:
    settings = pipeline.settings.model_copy(
        update={"generation": pipeline.settings.generation.model_copy(update=generation)}
    )
    return Pipeline(settings, pipeline.store, pipeline.embedder)


def listed_and_answering(pipeline: Pipeline) -> tuple[list[str], dict[str, int]]:
    """The model ids /v1/models lists, and the status each id of the API gets asked."""
    every = [MODEL] + [f"{MODEL}:{n}" for n in ("extractive", "openai", "ollama", "llamacpp")]
    with serve_in_thread(build_api(pipeline, Access())) as base:
        ids = [m["id"] for m in httpx.get(f"{base}/v1/models", timeout=30).json()["data"]]
        statuses = {}
        for model in every:
            body = {"model": model, "messages": [{"role": "user", "content": DUTCH}]}
            response = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=60)
            statuses[model] = response.status_code
    return ids, statuses


def test_models_lists_only_models_that_answer(pipeline: Pipeline) -> None:
    with scripted_model_server() as server:
        up = with_generation(pipeline, base_url=server, model=OLLAMA_MODEL)
        ids, statuses = listed_and_answering(up)
    assert ids == [MODEL, f"{MODEL}:extractive", f"{MODEL}:openai", f"{MODEL}:ollama"]
    assert all(statuses[m] == 200 for m in ids), statuses
    assert statuses[f"{MODEL}:llamacpp"] == 503  # the model path is not a GGUF file

    down = with_generation(pipeline, base_url=f"http://127.0.0.1:{closed_port()}/v1")
    ids, statuses = listed_and_answering(down)
    assert ids == [MODEL, f"{MODEL}:extractive"]
    assert {m: s for m, s in statuses.items() if m not in ids} == {
        f"{MODEL}:openai": 503,
        f"{MODEL}:ollama": 503,
        f"{MODEL}:llamacpp": 503,
    }


def test_a_configured_model_that_cannot_answer_is_not_the_default_on_offer(
    pipeline: Pipeline,
) -> None:
    dead = with_generation(
        pipeline, backend="openai", base_url=f"http://127.0.0.1:{closed_port()}/v1"
    )
    ids, statuses = listed_and_answering(dead)
    assert ids == [f"{MODEL}:extractive"]
    assert statuses[MODEL] == 503 and statuses[f"{MODEL}:extractive"] == 200
