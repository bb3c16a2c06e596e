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
    from pipelines.api.queue_routes import PREFIX, Fallback, queue_router

    authenticate = authenticator(ctx)
    routes = queue_router(ctx, api_route_class(authenticate))
    app.include_router(routes)
    app.mount(PREFIX, Fallback(authenticate, routes.routes))  # after the routes: any other path or method


__all__ = ["mount"]
