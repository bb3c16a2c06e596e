"""Request dependencies shared by the review routes: the app's review state, the logged-in
viewer (or a redirect to /masuk), and checked POST forms (CSRF)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from pipelines.context import AppContext

from .auth import Auth, CsrfRefused, Forbidden, LoginRequired, Viewer
from .render import Pages

MAX_FORM_FIELDS = 20


@dataclass
class ReviewState:
    ctx: AppContext
    auth: Auth
    pages: Pages
    cache: dict = field(default_factory=dict)  # the ringkasan figures, per period and minute


def state(request: Request) -> ReviewState:
    return request.app.state.pantau_review


def safe_next(path: Any) -> str:
    """A local path to return to after login; anything else becomes '/'."""
    if (isinstance(path, str) and path.startswith("/") and not path.startswith("//")
            and "\\" not in path and len(path) <= 500 and not any(ch < " " for ch in path)):
        return path
    return "/"


def viewer(request: Request) -> Viewer:
    """The logged-in user; anyone else is sent to the login page."""
    who = state(request).auth.viewer(request)
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(safe_next(target) if request.method == "GET" else "/")
    if not who.can("lihat"):
        raise Forbidden("Peran Anda tidak memiliki akses ke halaman ini.")
    return who


@dataclass(frozen=True)
class Posted:
    viewer: Viewer
    form: FormData

    def get(self, name: str) -> str:
        value = self.form.get(name)
        return value if isinstance(value, str) else ""


LoggedIn = Annotated[Viewer, Depends(viewer)]


async def posted(request: Request, who: LoggedIn) -> Posted:
    """A POST form from a logged-in user whose CSRF token matches the session's."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    if not Auth.csrf_ok(who.session, form.get("csrf_token")):
        raise CsrfRefused()
    return Posted(who, form)


CheckedForm = Annotated[Posted, Depends(posted)]


def require(who: Viewer, permission: str, message: str) -> None:
    if not who.can(permission):
        raise Forbidden(message)
