"""The web application: the queue's HTTP API, the review pages for humas, health and metrics.

`create_app` builds one FastAPI app from an `AppContext`; each area mounts its own routes:
`pipelines.api` (consumers: /api/v1/..., /healthz, /metrics) and `review` (people: HTML pages).
"""

from __future__ import annotations

from fastapi import FastAPI

from pipelines.context import AppContext


def create_app(ctx: AppContext) -> FastAPI:
    import review
    from pipelines import api
    from pipelines.observability import mount_ops

    app = FastAPI(
        title="Pantau",
        version="0.1.0",
        description="Triaged, redacted complaint items for the complaint-queue system, and the "
        "review pages for humas staff.",
    )
    app.state.ctx = ctx
    mount_ops(app, ctx)
    api.mount(app, ctx)
    review.mount(app, ctx)
    return app
