"""Errors of the queue API: every failure is a JSON body `{"error": {"code", "message"}}`.

The conversion lives in a route class (`api_route_class`) rather than in app-wide exception
handlers, so the API's error format never leaks into the review pages mounted on the same app.
The route class also authenticates the caller before anything else runs, so no endpoint (and no
error beyond 401) is reachable without a valid token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from pipelines import queue
from pipelines.api.models import BOUNDS

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answer: HTTP status, machine code, human message."""

    def __init__(self, status: int, code: str, message: str, *,
                 headers: dict[str, str] | None = None,
                 fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.fields = fields

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return JSONResponse({"error": body}, status_code=self.status, headers=self.headers)


def _field_message(error: dict[str, Any]) -> tuple[str, str]:
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    field = ".".join(loc)
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return field, f"unknown field {field!r}"
    if kind == "missing":
        return field, f"{field} is required"
    if not field:
        return "body", "request body must be a JSON object"
    if field in BOUNDS:
        low, high = BOUNDS[field]
        return field, f"{field} must be a whole number between {low} and {high}"
    if kind == "string_too_long":
        return field, f"{field} must be at most {error.get('ctx', {}).get('max_length')} characters"
    if kind == "string_type":
        return field, f"{field} must be a string"
    return field, f"{field}: {error.get('msg', 'invalid value')}"


def validation_error(exc: RequestValidationError) -> ApiError:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return ApiError(400, "invalid_json", "request body is not valid JSON")
    fields = []
    for error in errors:
        if error.get("loc", ("",))[0] == "path":  # a malformed id is just an unknown one
            return ApiError(404, "not_found", "unknown delivery id")
        field, message = _field_message(error)
        fields.append({"field": field, "message": message})
    return ApiError(422, "invalid_request", "; ".join(f["message"] for f in fields),
                    fields=fields)


def queue_error(exc: queue.QueueError) -> ApiError:
    if isinstance(exc, queue.DeliveryNotFoundError):
        return ApiError(404, "not_found", str(exc))
    if isinstance(exc, queue.DeliveryConflictError):
        return ApiError(409, exc.code, str(exc))
    if isinstance(exc, queue.QueueArgumentError):
        return ApiError(422, "invalid_request", str(exc))
    return ApiError(400, "bad_request", str(exc))


def to_api_error(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RequestValidationError):
        return validation_error(exc)
    if isinstance(exc, queue.QueueError):
        return queue_error(exc)
    if isinstance(exc, HTTPException):  # Starlette's, so FastAPI's (a subclass) too
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            # FastAPI could not even decode the body (not UTF-8): JSON it is not
            return ApiError(400, "invalid_json", "request body is not valid JSON (not UTF-8 text)")
        return ApiError(exc.status_code, "http_error", str(exc.detail),
                        headers=dict(exc.headers or {}))
    if isinstance(exc, (OperationalError, PoolTimeoutError)) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated):
        log.warning("queue API: database unavailable (%s)", type(exc).__name__)
        return ApiError(503, "unavailable", "the database is unavailable; retry later",
                        headers={"Retry-After": "5"})
    log.error("queue API: unexpected %s", type(exc).__name__, exc_info=exc)
    return ApiError(500, "internal_error", "internal error; the operators have been told in the log")


Authenticator = Callable[[Request], Any]


def api_route_class(authenticate: Authenticator) -> type[APIRoute]:
    """An APIRoute that authenticates first (sync `authenticate` in the threadpool, stored in
    `request.state.pantau_consumer`) and turns every failure into the API's JSON error."""

    class ApiRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    request.state.pantau_consumer = await run_in_threadpool(authenticate, request)
                    return await original(request)
                except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON answer
                    return to_api_error(exc).response()

            return handler

    return ApiRoute
