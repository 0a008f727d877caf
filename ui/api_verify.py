"""POST /api/verify: check other systems' answers against the passages they cite.

The body is `{"answers": [ … ]}`, each item in one of the shapes `rag verify` reads
(`rag.verify.check`). The reply holds a result per answer that could be checked, an
error per item that could not (its index and field; the others are still checked), and
the summary. Registered by `ui.api.build_api` before the catch-all `/api` router.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from rag.verify.check import InputError, check_record, parse_record, summarise
from rag.verify.judge import load_model

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

MAX_ANSWERS = 500


class VerifyRequest(BaseModel):
    """Answers to check, each with the passages it was given or cites."""

    model_config = ConfigDict(extra="forbid")

    answers: list[Any] = Field(
        min_length=1,
        max_length=MAX_ANSWERS,
        description="Objects: {question?, answer, contexts: [str]}, {question?, claim, "
        "references: [str]}, or `rag ask --json` answers.",
    )


def verify_router(pipeline: Pipeline) -> APIRouter:
    """The /api/verify route over the pipeline's embedder (no index search)."""
    router = APIRouter(prefix="/api")

    @router.post("/verify", summary="Check answers against the passages they cite")
    def verify(body: VerifyRequest) -> Any:
        model = load_model()
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for index, item in enumerate(body.answers):
            try:
                record = parse_record(item)
            except InputError as exc:
                errors.append({"index": index, "field": exc.field, "message": str(exc)})
                continue
            result = check_record(pipeline.embedder, record, model)
            result["index"] = index
            results.append(result)
        summary = summarise(results, len(errors))
        return JSONResponse({"results": results, "errors": errors, "summary": summary})

    return router
