"""The pull API of the complaint queue: claim a batch with a lease, then ack or nack each item."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

from pipelines import queue
from pipelines.api.auth import current_consumer
from pipelines.api.errors import ApiError, to_api_error
from pipelines.api.models import (
    AckResponse,
    ClaimedItem,
    ClaimRequest,
    ClaimResponse,
    ErrorResponse,
    NackRequest,
    NackResponse,
)
from pipelines.consumers import Consumer
from pipelines.context import AppContext
from triage.records import format_time

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
CurrentConsumer = Annotated[Consumer, Depends(current_consumer)]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "Body is not valid JSON", 401: "Missing or invalid bearer token",
            404: "Unknown delivery id (or another consumer's)",
            409: "The lease expired, or the delivery was settled otherwise",
            422: "A field is missing, unknown or out of range", 503: "Database unavailable"}
    return {code: {"model": ErrorResponse, "description": text[code]} for code in statuses}


def queue_router(ctx: AppContext, route_class: type[APIRoute]) -> APIRouter:
    config = queue.QueueConfig.from_section(ctx.settings.section("queue"))
    router = APIRouter(prefix=f"{PREFIX}/queue", tags=["queue"], route_class=route_class)

    @router.post("/claim", response_model=ClaimResponse, summary="Claim items with a lease",
                 responses=_errors(400, 401, 422, 503))
    def claim(
        consumer: CurrentConsumer,
        body: Annotated[ClaimRequest | None,
                        Body(description='e.g. {"max": 50, "lease_seconds": 300}')] = None,
    ) -> ClaimResponse:
        """Lease up to `max` items, highest priority first. Each one must be acked (or nacked)
        before `lease_until`; otherwise it returns to the queue and is delivered again (at
        least once). Drop repeats by the item's `idempotency_key` + `revision`."""
        body = body or ClaimRequest()
        claimed = queue.claim(ctx.engine, consumer.name, body.max, body.lease_seconds,
                              now=ctx.clock(), max_attempts=config.max_attempts)
        if claimed:
            log.info("consumer %s claimed %d items", consumer.name, len(claimed))
        return ClaimResponse(items=[
            ClaimedItem(delivery_id=d.delivery_id, lease_until=format_time(d.lease_until), item=d.item)
            for d in claimed
        ])

    @router.post("/{delivery_id}/ack", response_model=AckResponse, summary="Acknowledge an item",
                 responses=_errors(401, 404, 409, 503))
    def ack(delivery_id: str, consumer: CurrentConsumer) -> AckResponse:
        """Settle a delivery: the item is done. Acking the same delivery again changes nothing
        (`already_acked` is true). After the lease ran out the answer is 409."""
        fresh = queue.ack(ctx.engine, delivery_id, now=ctx.clock(), consumer=consumer.name)
        return AckResponse(delivery_id=delivery_id, already_acked=not fresh)

    @router.post("/{delivery_id}/nack", response_model=NackResponse, summary="Give an item back",
                 responses=_errors(400, 401, 404, 409, 422, 503))
    def nack(
        delivery_id: str,
        consumer: CurrentConsumer,
        body: Annotated[NackRequest | None,
                        Body(description='e.g. {"delay_seconds": 60, "error": "..."}')] = None,
    ) -> NackResponse:
        """Return an item: it is delivered again after `delay_seconds`, or dead-lettered once it
        has been delivered `max_attempts` times (an operator requeues it with
        `pantau queue requeue`)."""
        body = body or NackRequest()
        result = queue.nack(ctx.engine, delivery_id, now=ctx.clock(), delay_seconds=body.delay_seconds,
                            error=body.error, consumer=consumer.name,
                            max_attempts=config.max_attempts)
        if result.status == "dead":
            log.warning("consumer %s nacked delivery %s: item dead-lettered", consumer.name, delivery_id)
        return NackResponse(
            delivery_id=delivery_id, status=result.status,
            available_at=format_time(result.available_at) if result.available_at else None)

    return router


class Fallback:
    """Whatever under /api/v1 no API route serves, with any method: a JSON 404 or 405, after
    authentication (so without a valid token the answer is a 401, as everywhere in the API).

    An ASGI app mounted at /api/v1 after the API's routes (`pipelines.api.mount`): a Mount
    matches every method, extension ones too (TRACE, PROPFIND, ...), whereas a route matches only
    the methods it lists and leaves the others to Starlette's plain `{"detail": ...}` 405.
    `known`: the API's routes, to tell a wrong method (405, with Allow) from a wrong path.
    """

    def __init__(self, authenticate: Callable[[Request], Any], known: list[Any]) -> None:
        self.authenticate = authenticate
        self.known = [r for r in known if isinstance(r, APIRoute)]

    def _not_served(self, request: Request) -> ApiError:
        # Match the API's routes against the full path, not the path below the mount.
        scope = {**request.scope, "root_path": request.scope.get("app_root_path", ""), "path_params": {}}
        allowed: set[str] = set()
        for route in self.known:
            if route.matches(scope)[0] != Match.NONE:
                allowed |= route.methods or set()
        if allowed:
            return ApiError(405, "method_not_allowed",
                            f"{request.method} is not allowed here; use {', '.join(sorted(allowed))}",
                            headers={"Allow": ", ".join(sorted(allowed))})
        return ApiError(404, "not_found", f"no endpoint {request.method} {request.url.path}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a websocket: there is none here
            await WebSocketClose()(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            await run_in_threadpool(self.authenticate, request)
            response = self._not_served(request).response()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON answer
            response = to_api_error(exc).response()
        await response(scope, receive, send)
