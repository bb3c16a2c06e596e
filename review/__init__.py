"""The review pages for humas staff, in Bahasa Indonesia (server-rendered, no JavaScript build).

`mount(app, ctx)` adds the HTML routes (kotak masuk `/`, detail `/posts/{id}`, ringkasan
`/ringkasan`, sumber `/sumber`, masuk/keluar), the static files under `/statis`, and the
handlers that turn "not logged in", "CSRF refused" and "not allowed" into a redirect or a page.
Every page and action requires login; roles are enforced on the server (`review.auth`).
"""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from pipelines import users
from pipelines.context import AppContext
from pipelines.settings import SettingsError

from .auth import Auth, CsrfRefused, Forbidden, LoginRequired
from .deps import ReviewState, state
from .render import Pages, redirect

STATIC = Path(__file__).parent / "static"


def _secure_cookies_setting(ctx: AppContext) -> bool | None:
    value = ctx.settings.section("review").get("secure_cookies", "auto")
    if value == "auto":
        return None
    if isinstance(value, bool):
        return value
    raise SettingsError('[review] secure_cookies must be true, false or "auto"')


def mount(app: FastAPI, ctx: AppContext, *, secure_cookies: bool | None = None,
          password_hasher: PasswordHasher | None = None) -> None:
    """Add the review pages to `app`.

    `secure_cookies`: None reads `[review] secure_cookies` from the config ("auto" by default:
    Secure cookies except over plain HTTP to localhost); False for plain-HTTP tests.
    `password_hasher`: argon2id with the library's defaults unless given (tests pass a cheap one).
    """
    if not ctx.settings.secret_key:
        raise SettingsError(
            "missing secret key for the review pages' sessions: set PANTAU_SECRET_KEY in the "
            "environment or secret_key in the config file (a long random string, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`; keep it secret)"
        )
    if secure_cookies is None:
        secure_cookies = _secure_cookies_setting(ctx)
    auth = Auth(ctx.engine, ctx.settings.secret_key.get(), ctx.clock, secure_cookies=secure_cookies,
                hasher=password_hasher or users.DEFAULT_HASHER)
    app.state.pantau_review = ReviewState(ctx, auth, Pages())

    from .routes import dashboard, detail, inbox, session, sources

    for module in (session, inbox, detail, dashboard, sources):
        app.include_router(module.router)
    app.mount("/statis", StaticFiles(directory=STATIC), name="review_static")

    async def login_required(request: Request, exc: LoginRequired):  # noqa: ANN202
        target = "/masuk" if exc.next_path == "/" else f"/masuk?lanjut={_quote(exc.next_path)}"
        return redirect(target)

    async def csrf_refused(request: Request, exc: CsrfRefused):  # noqa: ANN202
        st = state(request)
        return st.pages.message(
            request, 403, "Permintaan ditolak",
            "Formulir ini tidak sah atau sudah kedaluwarsa (token keamanan tidak cocok). "
            "Muat ulang halaman, lalu coba lagi.", viewer=st.auth.viewer(request))

    async def forbidden(request: Request, exc: Forbidden):  # noqa: ANN202
        st = state(request)
        return st.pages.message(request, 403, "Akses ditolak", exc.message,
                                viewer=st.auth.viewer(request))

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.add_exception_handler(Forbidden, forbidden)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")


__all__ = ["mount"]
