"""/docs (Swagger UI) and /redoc, served with no network: their scripts and styles come
from the installed `fastapi-offline` package, never from a CDN (Redoc's one outside
request, its "by Redocly" logo, is taken out of the script as it is served). The OpenAPI
document carries the answer contract (docs/answer.schema.json) as the `Answer` schema.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
ANSWER_SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "answer.schema.json"
ANSWER_REF = "#/components/schemas/Answer"
REDOC_LOGO = b'"https://cdn.redoc.ly/redoc/logo-mini.svg"'


def install_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from local assets; create `app` with docs_url=None and
    redoc_url=None. The OpenAPI document gains the `Answer` schema."""
    title = app.title

    @app.get(f"{ASSETS}/redoc.standalone.js", include_in_schema=False)
    def redoc_script() -> Any:
        return Response(redoc_bundle(), media_type="text/javascript")

    app.mount(ASSETS, StaticFiles(directory=str(_static())), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> Any:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # no call to swagger.io
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> Any:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(answer_schemas())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _static() -> Any:
    return files("fastapi_offline") / "static"


@lru_cache(maxsize=1)
def redoc_bundle() -> bytes:
    """Redoc's script without its one remote image (an empty src: no request, no logo)."""
    return (_static() / "redoc.standalone.js").read_bytes().replace(REDOC_LOGO, b'""')


def answer_schemas() -> dict[str, Any]:
    """The answer contract as OpenAPI components: `Answer` and its parts (`Answer_<def>`),
    with the contract's `#/$defs/…` references pointed at them."""
    if not ANSWER_SCHEMA.is_file():  # installed without the docs folder: say where it is
        return {"Answer": {"type": "object", "description": "See docs/answer.schema.json."}}
    text = ANSWER_SCHEMA.read_text(encoding="utf-8").replace(
        '"#/$defs/', '"#/components/schemas/Answer_'
    )
    contract = json.loads(text)
    parts = contract.pop("$defs", {})
    for key in ("$schema", "$id"):
        contract.pop(key, None)
    contract["description"] += " The contract: docs/answer.schema.json."
    return {"Answer": contract, **{f"Answer_{name}": part for name, part in parts.items()}}


def answer_responses() -> dict[int | str, dict[str, Any]]:
    """The 200 response of /api/ask: the contract as JSON, or server-sent events."""
    return {
        200: {
            "description": "The answer (docs/answer.schema.json); with stream=true, "
            'server-sent events: `delta` events ({"text"}), then one `answer` event '
            "holding the same object (or one `error` event).",
            "content": {
                "application/json": {"schema": {"$ref": ANSWER_REF}},
                "text/event-stream": {"schema": {"type": "string"}},
            },
        }
    }
