"""422 answers that say what is wrong and where, never what was sent.

FastAPI's default echoes the offending input (`input`, `ctx`), which would put a password,
a symptom or a transcript line into a response body, and from there into proxies' logs.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

# Only these keys of a pydantic error are kept; they describe the schema, not the value.
KEPT = ("loc", "msg", "type")


async def _validation_error(request: Request, error: Exception) -> Response:  # noqa: ARG001
    if not isinstance(error, RequestValidationError):  # registered for these only
        raise error
    details = [
        {key: item[key] for key in KEPT if key in item}
        for item in error.errors()
        if isinstance(item, dict)
    ]
    return JSONResponse({"detail": details}, status_code=422)


def install_validation_errors(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
