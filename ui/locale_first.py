"""Gradio's own texts ("Drop File Here", "Use via API") in the interface's language.

Gradio picks the language of its built-in texts from the browser's language once, as its
page starts, and adds a Blocks' `head` only after that. This ASGI middleware puts a
short script first in the `<head>` of every HTML page it serves: when the user chose an
interface language before (kept in this browser under `rag-ui-lang`, written by
`ui.app_style.FOLLOW_LANGUAGE_JS`), the browser reports that language to Gradio and the
page is marked with it (`<html lang>`), so a browser's page translation tells the
interface text from Dutch quotes (which carry `lang="nl"`).
"""

from __future__ import annotations

from typing import Any

SCRIPT = b"""<script>
(function () {
  try {
    var lang = localStorage.getItem('rag-ui-lang');
    if (lang !== 'nl' && lang !== 'en') return;
    var tag = lang === 'nl' ? 'nl-NL' : 'en-US';
    Object.defineProperty(navigator, 'language', {get: function () { return tag; }});
    Object.defineProperty(navigator, 'languages', {get: function () { return [tag]; }});
    document.documentElement.lang = lang;
  } catch (e) {}
})();
</script>"""


class LocaleFirst:
    """Insert `SCRIPT` right after `<head>` in HTML responses to GET requests."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                start["html"] = kind.startswith(b"text/html")
                if not start["html"]:
                    await send(message)
                else:
                    start["message"] = message
                return
            if not start.get("html") or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks).replace(b"<head>", b"<head>" + SCRIPT, 1)
            head = start["message"]
            headers = [(k, v) for k, v in head["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**head, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)
