"""`pantau serve`: the web app (queue API + review pages) with uvicorn."""

from __future__ import annotations

from typing import Any

from pipelines.context import context_from_args


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve the queue API and the review pages",
                       description="Serve the HTTP queue API (/api/v1, OpenAPI at /docs) and the "
                       "review pages for humas staff.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: Any) -> int:
    import uvicorn

    from pipelines.web import create_app

    ctx = context_from_args(args)
    ctx.engine  # noqa: B018 - open and migrate the database before accepting requests
    uvicorn.run(create_app(ctx), host=args.host, port=args.port, log_level="warning",
                proxy_headers=True)
    return 0
