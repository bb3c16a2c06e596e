"""Fixtures for the review pages: an app with only the review package mounted, and logged-in
clients of each role (TestClient over https://testserver, so Secure cookies travel)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

import review
from pipelines.context import AppContext
from tests.conftest import FrozenClock, make_context
from tests.review.factory import FAST_HASHER, PASSWORD, add_user

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx2
    from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log `client` in; returns the session's CSRF token."""
    page = client.get("/masuk")
    response = client.post("/masuk", data={"csrf_token": csrf_of(page.text), "nama": name,
                                            "sandi": password, "lanjut": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    """SQLite context with a frozen clock (the dialect-specific SQL is tested on both below)."""
    context = make_context(f"sqlite:///{tmp_path / 'review.db'}", tmp_path, FrozenClock())
    yield context
    context.close()


@pytest.fixture
def app(ctx: AppContext) -> FastAPI:
    application = FastAPI()
    review.mount(application, ctx, password_hasher=FAST_HASHER)
    return application


@pytest.fixture
def users(ctx: AppContext) -> dict[str, object]:
    now = ctx.clock()
    return {role: add_user(ctx.engine, name, role, now)
            for name, role in (("rina", "peninjau"), ("budi", "analis"), ("sari", "admin"))}


@pytest.fixture
def client_for(app: FastAPI, users: dict) -> Callable[[str], tuple[TestClient, str]]:
    """client_for("rina") -> (a logged-in client, its CSRF token)."""
    def make(name: str) -> tuple[TestClient, str]:
        client = TestClient(app, base_url="https://testserver")
        return client, log_in(client, name)
    return make


@pytest.fixture
def anon(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver")
