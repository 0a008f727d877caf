"""What one request may send: body sizes per route, and bounds on the conversation and
the text inside it. Every network-facing entry point (the HTTP API, the OpenAI-compatible
endpoint, the Gradio app's own API) checks a request against these before any work, so
memory stays bounded whatever a caller sends. No Gradio or FastAPI in here.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.errors import InputError

# A JSON request to /api or /v1: a question, up to MAX_HISTORY_TURNS turns and options.
JSON_BODY_LIMIT = 1024 * 1024
# A Gradio event also carries the conversations the browser keeps (`ui.conversations`
# bounds them at about 1 MB of JSON), so its routes allow a little more.
GRADIO_BODY_LIMIT = 3 * 1024 * 1024
# Earlier turns a question may carry, and their text in all (question and answer). The
# chain reads only the last few turns; more only costs memory and time.
MAX_HISTORY_TURNS = 50
MAX_HISTORY_CHARS = 200_000
# Longest upload file name (bytes in UTF-8); file systems stop at 255.
MAX_FILE_NAME_BYTES = 200


def body_limits(upload_limit: int) -> dict[str, int]:
    """Largest body per path prefix (the longest matching prefix wins); "/" covers the
    chat app's routes (/gradio_api/…, /login) and anything else mounted later."""
    return {
        "/api/documents": upload_limit,
        "/api/": JSON_BODY_LIMIT,
        "/v1/": JSON_BODY_LIMIT,
        "/gradio_api/upload": upload_limit,
        "/": GRADIO_BODY_LIMIT,
    }


def bounded_history(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """`pairs` when within the bounds, else an InputError that says what to send."""
    if len(pairs) > MAX_HISTORY_TURNS:
        raise InputError(
            f"The history has {len(pairs):,} turns; send at most the last {MAX_HISTORY_TURNS}."
        )
    total = sum(len(question) + len(answer) for question, answer in pairs)
    if total > MAX_HISTORY_CHARS:
        raise InputError(
            f"The history holds {total:,} characters; the limit is {MAX_HISTORY_CHARS:,}. "
            "Send only the last few turns."
        )
    for question, answer in pairs:
        plain_text(question, "history")
        plain_text(answer, "history")
    return list(pairs)


def plain_text(value: str, field: str = "question") -> str:
    """`value` when it is valid Unicode text; a lone surrogate (such as \\ud800, which JSON
    can carry but UTF-8 cannot) is refused with a message instead of failing later."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"The {field} holds a lone surrogate escape (such as \\ud800), which is not "
            "text; send it as valid UTF-8."
        ) from None
    return value


def file_name_refusal(name: str) -> str | None:
    """Why an upload's file name is refused, or None."""
    if len(name.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_BYTES:
        return (
            f"The file name is {len(name):,} characters long; rename the file to at most "
            f"{MAX_FILE_NAME_BYTES} characters and upload it again."
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "The file name is not valid UTF-8 text; rename the file and upload it again."
    return None
