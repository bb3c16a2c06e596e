"""Logging in (`/masuk`) and out (`/keluar`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..auth import Auth, CsrfRefused
from ..deps import CheckedForm, safe_next, state
from ..render import redirect

router = APIRouter(include_in_schema=False)

MAX_NAME = 64
MAX_PASSWORD = 256


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def _form_page(request: Request, *, status: int = 200, error: str | None = None, name: str = "",
               next_path: str = "/", notice: str | None = None) -> Response:
    st = state(request)
    session = st.auth.read_session(request)
    fresh = session is None or session.user_id is not None
    if fresh:
        session = st.auth.new_session()
    response = st.pages.render(request, "masuk.html", status=status, error=error, name=name,
                               next_path=next_path, csrf=session.csrf, notice=notice)
    if fresh:
        st.auth.write_session(request, response, session)
    return response


@router.get("/masuk", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    st = state(request)
    next_path = safe_next(request.query_params.get("lanjut", "/"))
    if st.auth.viewer(request) is not None:
        return redirect(next_path)
    notice = "Anda sudah keluar." if request.query_params.get("keluar") else None
    return _form_page(request, next_path=next_path, notice=notice)


@router.post("/masuk", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    st = state(request)
    session = st.auth.read_session(request)
    form = await request.form(max_files=0, max_fields=10)
    if session is None or session.user_id is not None or not Auth.csrf_ok(session, form.get("csrf_token")):
        raise CsrfRefused()
    name = str(form.get("nama") or "").strip()
    password = str(form.get("sandi") or "")
    next_path = safe_next(form.get("lanjut"))
    if not name or not password:
        return _form_page(request, status=400, error="Isi nama pengguna dan kata sandi.",
                          name=name[:MAX_NAME], next_path=next_path)
    if len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
        return _form_page(request, status=400, error="Nama pengguna atau kata sandi terlalu panjang.",
                          next_path=next_path)
    from starlette.concurrency import run_in_threadpool

    address = _client(request)
    minutes = await run_in_threadpool(st.auth.blocked_minutes, name, address)
    if minutes:
        return _form_page(request, status=429, name=name, next_path=next_path,
                          error=f"Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam "
                          f"{minutes} menit.")
    user = await run_in_threadpool(st.auth.authenticate, name, password, address)
    if user is None:
        return _form_page(request, status=401, error="Nama pengguna atau kata sandi salah.",
                          name=name, next_path=next_path)
    fresh = st.auth.new_session(user)  # a new session id and CSRF token at every login
    await run_in_threadpool(st.auth.logged_in, user, fresh)
    response = redirect(next_path)
    st.auth.write_session(request, response, fresh)
    return response


@router.post("/keluar")
def logout(request: Request, form: CheckedForm) -> Response:
    st = state(request)
    st.auth.logged_out(form.viewer)
    response = redirect("/masuk?keluar=1")
    st.auth.clear_session(request, response)
    return response
