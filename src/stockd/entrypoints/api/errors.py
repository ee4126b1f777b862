"""Domain errors mapped once, here, to RFC 9457 problem+json bodies that name the problem."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from stockd.domain import errors as e
from stockd.domain.security import ForbiddenError
from stockd.service_layer.runner import StorageUnavailableError

log = structlog.get_logger("stockd.api")

PROBLEM_JSON = "application/problem+json"


def problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:stockd:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _status_of(exc: e.StockdError, request: Request) -> int:
    if isinstance(exc, e.UnknownProductError | e.UnknownLocationError):
        # Unknown in the URL is a missing resource; unknown inside a body is an unprocessable request.
        named = exc.sku if isinstance(exc, e.UnknownProductError) else exc.location
        return 404 if named in request.path_params.values() else 422
    if isinstance(exc, e.NotFoundError):
        return 404
    if isinstance(exc, e.ConflictError):
        return 409
    if isinstance(exc, ForbiddenError):
        return 403
    return 422


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.StockdError)
    shortfalls = None
    if isinstance(exc, e.InsufficientStockError):
        shortfalls = [asdict(s) for s in exc.shortfalls]
    return problem(_status_of(exc, request), exc.code, str(exc), shortfalls=shortfalls)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_clean(err) for err in exc.errors()]
    if any(err.get("type") == "json_invalid" for err in errors):
        return problem(400, "malformed_json", "the request body is not valid JSON", errors=errors)
    where = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in errors[:5])
    return problem(422, "validation_failed", where or "invalid request", errors=errors)


def _clean(err: dict[str, Any]) -> dict[str, Any]:
    """Keep what helps a client fix the request; echo input only when it is small and JSON-safe."""
    out = {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
    value = err.get("input")
    try:
        if value is not None and len(json.dumps(value)) <= 200:
            out["input"] = value
    except (TypeError, ValueError):
        pass
    return out


_HTTP_CODES = {400: "malformed_json", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type", 429: "rate_limited"}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path}"
    if exc.status_code == 400:
        # FastAPI's own parse failure (nesting too deep, undecodable bytes): say what to fix.
        detail = "the request body could not be parsed as JSON (invalid, not UTF-8, or nested too deeply)"
    return problem(exc.status_code, code, detail, headers=getattr(exc, "headers", None))


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database_unavailable", path=request.url.path, error=str(exc)[:200])
    return problem(503, "storage_unavailable", "the database cannot be reached; retry with the same "
                   "Idempotency-Key", headers={"Retry-After": "2"})


async def _recursion(request: Request, exc: Exception) -> JSONResponse:
    return problem(400, "malformed_json", "the request body is nested too deeply")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path)
    return problem(500, "internal_error", "an unexpected error occurred; nothing was changed")


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.StockdError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StorageUnavailableError, _unavailable)
    app.add_exception_handler(RecursionError, _recursion)
    app.add_exception_handler(Exception, _unexpected)
