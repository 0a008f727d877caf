"""Which answer backends can answer now, checked cheaply (nothing is loaded or generated).

`extractive` always can. `llamacpp` needs llama-cpp-python installed and a GGUF file at
the configured path. `openai` needs its server to answer `GET /models`; `ollama` needs its
server up with the configured model pulled. Server checks wait at most `PROBE_TIMEOUT_S`
and run side by side, and a result is kept for `CACHE_S` seconds, so a client that polls
the model list does not flood the model server.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from rag.backends.http import OLLAMA_DEFAULT_URL, OPENAI_DEFAULT_URL
from rag.backends.registry import backend_names
from rag.settings import GenerationSettings

PROBE_TIMEOUT_S = 1.5
CACHE_S = 10.0

_cache: dict[tuple[str, str], tuple[float, bool]] = {}
_lock = threading.Lock()


def ready_backends(settings: GenerationSettings) -> list[str]:
    """The registered backends (registry order) that can answer with these settings now."""
    names = backend_names()
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        verdicts = list(pool.map(lambda name: is_ready(name, settings), names))
    return [name for name, ok in zip(names, verdicts, strict=True) if ok]


def is_ready(name: str, settings: GenerationSettings) -> bool:
    """Whether backend `name` can answer now (cached for `CACHE_S` seconds)."""
    key = (name, f"{settings.base_url}|{settings.model}")
    now = time.monotonic()
    with _lock:
        seen = _cache.get(key)
    if seen is not None and now - seen[0] < CACHE_S:
        return seen[1]
    ok = _check(name, settings)
    with _lock:
        _cache[key] = (now, ok)
    return ok


def _check(name: str, settings: GenerationSettings) -> bool:
    if name == "extractive":
        return True
    if name == "llamacpp":
        path = Path(settings.model).expanduser() if settings.model else None
        installed = importlib.util.find_spec("llama_cpp") is not None
        return installed and path is not None and path.is_file()
    if name == "openai":
        return _get(f"{settings.base_url.rstrip('/')}/models", settings) is not None
    if name == "ollama":
        if not settings.model:
            return False
        base = OLLAMA_DEFAULT_URL if settings.base_url == OPENAI_DEFAULT_URL else settings.base_url
        tags = _get(f"{base.rstrip('/')}/api/tags", settings)
        models = tags.get("models", []) if isinstance(tags, dict) else []
        pulled = {str(m.get("name", "")) for m in models if isinstance(m, dict)}
        return settings.model in pulled or f"{settings.model}:latest" in pulled
    return False  # a backend this module does not know how to check: not offered


def _get(url: str, settings: GenerationSettings) -> object | None:
    """The JSON of a successful GET, or None (unreachable, an error status, not JSON)."""
    headers = {}
    if settings.api_key is not None and settings.api_key.get_secret_value():
        headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
    try:
        response = httpx.get(url, headers=headers, timeout=PROBE_TIMEOUT_S)
        if response.status_code >= 400:
            return None
        data: object = response.json()
        return data
    except (httpx.HTTPError, ValueError):
        return None
