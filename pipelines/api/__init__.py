"""The HTTP API for queue consumers: `/api/v1/queue/...`, bearer tokens, JSON errors.

`mount(app, ctx)` adds the routes to an app built by `pipelines.web.create_app` (or any FastAPI
app, as the tests do). FastAPI serves the OpenAPI description at `/openapi.json` and `/docs`;
the queue item in it is the contract's JSON Schema (pipelines/schemas/queue-item-1.schema.json).

Modules: `auth` (bearer tokens), `errors` (JSON error bodies, the route class),
`models` (request/response bodies), `queue_routes` (claim, ack, nack).
"""

from __future__ import annotations

from fastapi import FastAPI

from pipelines.context import AppContext


def mount(app: FastAPI, ctx: AppContext) -> None:
    """Add the queue API to `app`."""
    from pipelines.api.auth import authenticator
    from pipelines.api.errors import api_route_class
    from pipelines.api.queue_routes import fallback_router, queue_router

    route_class = api_route_class(authenticator(ctx))
    routes = queue_router(ctx, route_class)
    app.include_router(routes)
    app.include_router(fallback_router(route_class, routes.routes))  # last: any /api/v1 path


__all__ = ["mount"]
