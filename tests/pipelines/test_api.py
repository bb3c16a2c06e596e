"""The HTTP queue API (FastAPI TestClient) on SQLite and PostgreSQL: tokens, claim/ack/nack,
JSON errors that name the problem, OpenAPI. The app is a bare FastAPI() with only
`pipelines.api.mount`, so these tests do not depend on the review pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipelines import api, consumers, queue
from pipelines.context import AppContext
from tests.conftest import FrozenClock
from tests.pipelines import test_queue_support as support
from tests.pipelines.test_queue_support import (
    assert_valid,
    contract_schema_inlined,
    make_ctx,
    seed_items,
)

CLAIM = "/api/v1/queue/claim"

# Fixtures shared by the queue test modules (one database per module, emptied per test).
qdb_url = support.qdb_url
queue_db_url = support.queue_db_url


class Api:
    """A test client with two consumers' tokens at hand."""

    def __init__(self, ctx: AppContext) -> None:
        app = FastAPI()
        api.mount(app, ctx)

        @app.post("/not-api")  # a route of another area: keeps FastAPI's own error format
        def other(n: int) -> dict:
            return {"n": n}

        self.app = app
        self.ctx = ctx
        self.client = TestClient(app, raise_server_exceptions=False)
        self.tokens = {name: consumers.add_consumer(ctx.engine, name, now=ctx.clock()).token
                       for name in ("lapor", "sikd")}

    def post(self, path: str, who: str | None = "lapor", **kwargs):  # noqa: ANN003, ANN201
        headers = kwargs.pop("headers", {})
        if who:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return self.client.post(path, headers=headers, **kwargs)

    def claim(self, who: str = "lapor", **body) -> list[dict]:  # noqa: ANN003
        response = self.post(CLAIM, who, json=body)
        assert response.status_code == 200, response.text
        return response.json()["items"]


@pytest.fixture
def client(qdb_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Api]:
    ctx = make_ctx(qdb_url, tmp_path, clock, "[queue]\nmax_attempts = 3\n")
    yield Api(ctx)
    ctx.close()


def _error(response, status: int, code: str) -> str:  # noqa: ANN001
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


def test_claim_ack_nack_round_trip(client: Api, clock: FrozenClock) -> None:
    seed_items(client.ctx.engine, 3, now=clock(), scores=[0.3, 0.9, 0.6])
    got = client.claim(max=2, lease_seconds=60)
    assert [g["item"]["triage"]["priority"]["score"] for g in got] == [0.9, 0.6]
    for g in got:
        assert_valid(g["item"])
        assert g["lease_until"] == "2026-11-22T08:01:00Z"
    ack = client.post(f"/api/v1/queue/{got[0]['delivery_id']}/ack")
    assert ack.status_code == 200
    assert ack.json() == {"delivery_id": got[0]["delivery_id"], "status": "acked", "already_acked": False}
    nack = client.post(f"/api/v1/queue/{got[1]['delivery_id']}/nack",
                       json={"delay_seconds": 30, "error": "downstream busy"})
    assert nack.json() == {"delivery_id": got[1]["delivery_id"], "status": "ready",
                           "available_at": "2026-11-22T08:00:30Z"}
    assert [g["item"]["triage"]["priority"]["score"] for g in client.claim(max=10)] == [0.3]
    clock.advance(seconds=30)
    assert [g["item"]["item_id"] for g in client.claim()] == [got[1]["item"]["item_id"]]


def test_claim_without_a_body_uses_defaults(client: Api, clock: FrozenClock) -> None:
    seed_items(client.ctx.engine, 12, now=clock())
    response = client.post(CLAIM)
    assert response.status_code == 200
    assert len(response.json()["items"]) == queue.DEFAULT_CLAIM


def test_a_duplicate_ack_changes_nothing(client: Api, clock: FrozenClock) -> None:
    seed_items(client.ctx.engine, 1, now=clock())
    (got,) = client.claim()
    path = f"/api/v1/queue/{got['delivery_id']}/ack"
    assert client.post(path).json()["already_acked"] is False
    before = queue.stats(client.ctx.engine, now=clock())
    assert client.post(path).json()["already_acked"] is True
    assert queue.stats(client.ctx.engine, now=clock()) == before


def test_unknown_expired_and_foreign_deliveries(client: Api, clock: FrozenClock) -> None:
    seed_items(client.ctx.engine, 2, now=clock())
    first, second = client.claim(lease_seconds=10)
    for bad in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "x" * 300):
        for action in ("ack", "nack"):
            _error(client.post(f"/api/v1/queue/{bad}/{action}"), 404, "not_found")
    # another consumer's delivery looks unknown to you
    _error(client.post(f"/api/v1/queue/{first['delivery_id']}/ack", "sikd"), 404, "not_found")
    clock.advance(seconds=11)
    message = _error(client.post(f"/api/v1/queue/{first['delivery_id']}/ack"), 409, "lease_expired")
    assert "expired" in message
    _error(client.post(f"/api/v1/queue/{second['delivery_id']}/nack"), 409, "lease_expired")
    again = client.claim("sikd", max=5)
    assert {g["item"]["item_id"] for g in again} == {first["item"]["item_id"], second["item"]["item_id"]}
    assert client.post(f"/api/v1/queue/{again[0]['delivery_id']}/nack").status_code == 404


def test_ack_after_nack_conflicts_and_dead_letters_after_max_attempts(client: Api,
                                                                       clock: FrozenClock) -> None:
    seed_items(client.ctx.engine, 1, now=clock())
    statuses = []
    for _ in range(3):  # [queue] max_attempts = 3 in this app's config
        (got,) = client.claim()
        statuses.append(client.post(f"/api/v1/queue/{got['delivery_id']}/nack").json()["status"])
    assert statuses == ["ready", "ready", "dead"]
    _error(client.post(f"/api/v1/queue/{got['delivery_id']}/ack"), 409, "already_settled")
    assert client.claim() == []
    assert queue.stats(client.ctx.engine, now=clock())["dead"] == 1


BAD_CLAIMS = [
    ({"max": 0}, 422, "invalid_request", "max must be a whole number between 1 and 500"),
    ({"max": 501}, 422, "invalid_request", "max must be a whole number between 1 and 500"),
    ({"max": "10"}, 422, "invalid_request", "max must be a whole number between 1 and 500"),
    ({"max": 2.5}, 422, "invalid_request", "max must be a whole number between 1 and 500"),
    ({"max": True}, 422, "invalid_request", "max must be a whole number between 1 and 500"),
    ({"max": None}, 422, "invalid_request", "max must be a whole number between 1 and 500"),
    ({"lease_seconds": 0}, 422, "invalid_request", "lease_seconds must be a whole number between 1 and 3600"),
    ({"lease_seconds": 86400}, 422, "invalid_request",
     "lease_seconds must be a whole number between 1 and 3600"),
    ({"max_items": 5}, 422, "invalid_request", "unknown field 'max_items'"),
    ([1, 2], 422, "invalid_request", "request body must be a JSON object"),
    ("ten", 422, "invalid_request", "request body must be a JSON object"),
    (b"{not json", 400, "invalid_json", "request body is not valid JSON"),
    (b"\xff\xfe", 400, "invalid_json", "request body is not valid JSON"),
    # not UTF-8 at all: FastAPI's own 400 used to come out as a 500 (found by the fuzz tests)
    (b'{"max": "\xaf"}', 400, "invalid_json", "request body is not valid JSON"),
    (b"=\x0f\xaf\r", 400, "invalid_json", "request body is not valid JSON"),
]


def test_bad_claims_get_clear_errors(client: Api) -> None:
    for body, status, code, message in BAD_CLAIMS:
        if isinstance(body, bytes):
            response = client.post(CLAIM, content=body, headers={"Content-Type": "application/json"})
        else:
            response = client.post(CLAIM, json=body)
        assert message in _error(response, status, code), body


def test_bad_nacks_get_clear_errors(client: Api, clock: FrozenClock) -> None:
    seed_items(client.ctx.engine, 1, now=clock())
    (got,) = client.claim()
    path = f"/api/v1/queue/{got['delivery_id']}/nack"
    assert "delay_seconds must be a whole number between 0 and 86400" in _error(
        client.post(path, json={"delay_seconds": -1}), 422, "invalid_request")
    assert "error must be at most 500 characters" in _error(
        client.post(path, json={"error": "x" * 501}), 422, "invalid_request")
    assert "error must be a string" in _error(client.post(path, json={"error": 5}), 422, "invalid_request")
    assert client.post(path, json={}).json()["status"] == "ready"  # an empty body is fine


def test_no_endpoint_works_without_a_valid_token(client: Api, clock: FrozenClock) -> None:
    seed_items(client.ctx.engine, 1, now=clock())
    (got,) = client.claim()
    paths = [CLAIM, f"/api/v1/queue/{got['delivery_id']}/ack",
             f"/api/v1/queue/{got['delivery_id']}/nack", "/api/v1/queue/nope/ack", "/api/v1/elsewhere"]
    headers = [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic bGFwb3I6eA=="},
               {"Authorization": "Bearer pnt_wrong"}, {"Authorization": "Bearer " + "x" * 5000}]
    for path in paths:
        for h in headers:
            response = client.client.post(path, headers=h, json={"max": 1})
            assert response.status_code == 401, (path, h)
            assert response.headers["WWW-Authenticate"].startswith('Bearer realm="pantau"')
            assert response.json()["error"]["code"] in ("unauthorized", "invalid_token")
    consumers.set_active(client.ctx.engine, "lapor", False)
    _error(client.post(CLAIM), 401, "invalid_token")
    consumers.set_active(client.ctx.engine, "lapor", True)
    assert client.post(CLAIM).status_code == 200
    consumers.remove_consumer(client.ctx.engine, "lapor")
    _error(client.post(CLAIM), 401, "invalid_token")
    assert queue.get_item(client.ctx.engine, got["delivery_id"])["status"] == "leased"


def test_unknown_paths_and_methods_are_json_errors(client: Api) -> None:
    _error(client.post("/api/v1/nothing/here"), 404, "not_found")
    response = client.client.get(CLAIM, headers={"Authorization": f"Bearer {client.tokens['lapor']}"})
    _error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"
    # other areas of the app keep FastAPI's own error format
    assert "detail" in client.client.post("/not-api?n=x").json()


def test_openapi_describes_the_queue_with_the_contract(client: Api) -> None:
    spec = client.client.get("/openapi.json").json()
    paths = {CLAIM, "/api/v1/queue/{delivery_id}/ack", "/api/v1/queue/{delivery_id}/nack"}
    assert paths <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["ConsumerToken"] == {
        "type": "http", "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["ConsumerToken"]["description"]}
    claim = spec["paths"][CLAIM]["post"]
    assert claim["security"] == [{"ConsumerToken": []}]
    assert {"200", "401", "422"} <= set(claim["responses"])
    invalid = claim["responses"]["422"]["content"]["application/json"]["schema"]
    assert invalid["$ref"].endswith("/ErrorResponse")
    item = spec["components"]["schemas"]["ClaimedItem"]["properties"]["item"]
    assert item == contract_schema_inlined()
    assert "#/$defs" not in json.dumps(spec)
    assert client.client.get("/docs").status_code == 200


def test_never_a_500_for_odd_requests(client: Api, clock: FrozenClock) -> None:
    seed_items(client.ctx.engine, 1, now=clock())
    (got,) = client.claim()
    odd = [(CLAIM, {"json": {"max": {"nested": [1]}}}), (CLAIM, {"json": {"max": 10 ** 30}}),
           (CLAIM, {"content": b"", "headers": {"Content-Type": "application/json"}}),
           (CLAIM, {"content": b"max=5", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}),
           (CLAIM, {"content": "{\"max\": 1}" * 1000, "headers": {"Content-Type": "application/json"}}),
           (f"/api/v1/queue/{got['delivery_id']}/nack", {"content": b'{"delay_seconds": 1e400}',
                                                          "headers": {"Content-Type": "application/json"}}),
           (f"/api/v1/queue/{got['delivery_id']}/nack", {"json": []}),
           ("/api/v1/queue/%00/ack", {}), ("/api/v1/queue//ack", {}), ("/api/v1/queue/../claim", {})]
    for path, kwargs in odd:
        response = client.post(path, **kwargs)
        assert 200 <= response.status_code < 500, (path, kwargs, response.status_code, response.text)
        if response.status_code >= 400:
            assert response.json()["error"]["message"]


def test_an_unreachable_database_is_a_503_not_a_500(tmp_path: Path, clock: FrozenClock) -> None:
    from sqlalchemy import create_engine

    from pipelines.settings import load_settings

    settings = load_settings({"data_dir": str(tmp_path)}, env={}, config_path=None)
    dead = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/nowhere",
                         connect_args={"connect_timeout": 2})
    app = FastAPI()
    api.mount(app, AppContext(settings, clock=clock, _engine=dead))
    response = TestClient(app).post(CLAIM, headers={"Authorization": "Bearer pnt_x"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "unavailable"
    dead.dispose()


def test_whole_numbers_written_as_floats_are_accepted(client: Api, clock: FrozenClock) -> None:
    # 2.0 is an integer to JSON Schema, so to the OpenAPI description (found by the fuzz tests)
    seed_items(client.ctx.engine, 3, now=clock())
    got = client.claim(max=2.0, lease_seconds=60.0)
    assert len(got) == 2 and got[0]["lease_until"] == "2026-11-22T08:01:00Z"
    nack = client.post(f"/api/v1/queue/{got[0]['delivery_id']}/nack", json={"delay_seconds": 30.0})
    assert nack.json()["available_at"] == "2026-11-22T08:00:30Z"
    for body in ({"max": 2.5}, {"max": 1e400}, {"lease_seconds": 1e20}):
        _error(client.post(CLAIM, content=json.dumps(body), headers={"Content-Type": "application/json"}),
               422, "invalid_request")


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "QUERY", "FOO"])
def test_any_method_under_the_api_gets_the_api_errors(client: Api, method: str) -> None:
    # methods no route lists used to get Starlette's {"detail": ...} 405, token or not (fuzz tests)
    for path in (CLAIM, "/api/v1/queue/nope/ack", "/api/v1/elsewhere"):
        response = client.client.request(method, path)
        _error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="pantau"')
    token = {"Authorization": f"Bearer {client.tokens['lapor']}"}
    for path in (CLAIM, "/api/v1/queue/nope/ack", "/api/v1/queue/nope/nack"):
        response = client.client.request(method, path, headers=token)
        assert method in _error(response, 405, "method_not_allowed")
        assert response.headers["Allow"] == "POST"
    _error(client.client.request(method, "/api/v1/elsewhere", headers=token), 404, "not_found")


def test_no_websocket_under_the_api(client: Api) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.client.websocket_connect("/api/v1/queue/claim") as ws:
        ws.receive_text()
