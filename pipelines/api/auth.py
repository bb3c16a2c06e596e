"""Bearer-token authentication of queue consumers (`pantau consumers add NAME` makes a token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pipelines.api.errors import ApiError
from pipelines.consumers import Consumer, authenticate
from pipelines.context import AppContext

REALM = 'Bearer realm="pantau"'

# Documents the scheme in OpenAPI; the check itself runs first in the route class.
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="ConsumerToken",
    description="A consumer token: `Authorization: Bearer pnt_...`, made once by "
    "`pantau consumers add NAME`.",
)


def authenticator(ctx: AppContext):  # noqa: ANN201 - returns the route class's authenticate
    def authenticate_request(request: Request) -> Consumer:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise ApiError(401, "unauthorized",
                           "missing bearer token: send 'Authorization: Bearer <token>'",
                           headers={"WWW-Authenticate": REALM})
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "the Authorization header must be 'Bearer <token>'",
                           headers={"WWW-Authenticate": f'{REALM}, error="invalid_request"'})
        consumer = authenticate(ctx.engine, token.strip())
        if consumer is None:
            raise ApiError(401, "invalid_token",
                           "the bearer token is not valid (unknown, removed or disabled consumer)",
                           headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
        return consumer

    return authenticate_request


def current_consumer(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Consumer:
    """The consumer the route class authenticated for this request."""
    return request.state.pantau_consumer
