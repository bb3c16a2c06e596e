"""Detail of one post (`/posts/{id}`) and the actions on it (POST forms with CSRF)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from triage.contract import original_link

from .. import actions
from ..auth import Viewer
from ..charts import engagement_chart
from ..deps import CheckedForm, LoggedIn, Posted, ReviewState, require, state
from ..queries import (
    STATUSES,
    active_users,
    case_posts,
    post_detail,
    queue_items_of,
    raw_text,
    review_history,
    snapshots,
)
from ..render import age_state, redirect, safe_url
from ..replies import suggest_reply

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

DONE = {
    "label": "Label tersimpan. Terima kasih: koreksi Anda menjadi data latih model berikutnya.",
    "teruskan": "Aduan diteruskan ke antrean pengaduan.",
    "sudah_antre": "Kasus ini sudah ada di antrean pengaduan; keputusan Anda tercatat.",
    "tolak": "Unggahan ditolak; alasannya tercatat.",
    "tolak_antre": "Unggahan ditolak; alasannya tercatat dan sistem antrean pengaduan diberi tahu "
                   "bahwa kasus ini ditutup.",
    "tugaskan": "Unggahan ditugaskan.",
    "catatan": "Catatan tersimpan.",
}
NOT_TRIAGE = "Unggahan tidak ditemukan atau belum dipilah."


class _NotFound(Exception):
    pass


def _pk(post_id: str) -> int:
    if not post_id.isdigit() or len(post_id) > 18:
        raise _NotFound
    return int(post_id)


def _page(request: Request, st: ReviewState, who: Viewer, pk: int, *, status: int = 200,
          error: str | None = None, raw: dict[str, Any] | None = None,
          form: dict[str, str] | None = None) -> Response:
    now = st.ctx.clock()
    with st.ctx.engine.connect() as conn:
        post = post_detail(conn, pk)
        if post is None:
            return st.pages.message(request, 404, "Tidak ditemukan", NOT_TRIAGE, viewer=who)
        history = review_history(conn, pk)
        others = case_posts(conn, post["case_id"], pk)
        items = queue_items_of(conn, post["case_id"], pk)
        chart = engagement_chart(post["created_at"], snapshots(conn, pk))
        colleagues = [n for n in active_users(conn) if n != who.name]
    labels = post["labels"]
    human = {}
    for entry in reversed(history):  # oldest first: the latest human label wins
        if entry["action"] == "label":
            human[entry["field"]] = entry["value"]
    current = {name: human.get(name, labels[name]["label"]) for name in actions.LABEL_FIELDS}
    if form:  # a rejected label form shows what the user chose
        current.update({k: v for k, v in form.items() if k in current})
    evidence = [e for name in actions.LABEL_FIELDS for e in labels[name].get("evidence") or ()]
    agency = st.ctx.registry.by_id.get(post["agency_id"]) if post["agency_id"] else None
    assigned = next((h["value"] for h in history if h["action"] == "assign"), None)
    return st.pages.render(
        request, "detail.html", status=status, viewer=who, nav="inbox", post=post, labels=labels,
        human=human, current=current, evidence=evidence, agency=agency, history=history,
        others=others, items=items, chart=chart, colleagues=colleagues, assigned=assigned,
        age=age_state(post["created_at"], now), status_name=STATUSES.get(post["status"], post["status"]),
        link=original_link(post["platform"], post["post_id"]),
        reply=suggest_reply(current["kind"], current["substance"], current["maladministration"],
                            agency.name if agency else None),
        choices=actions.LABEL_CHOICES, field_names=actions.FIELD_NAMES,
        reasons=actions.DISMISS_REASONS, error=error, raw=raw,
        done=DONE.get(request.query_params.get("ok", "")),
    )


def _not_found(request: Request, st: ReviewState, who: Viewer) -> Response:
    return st.pages.message(request, 404, "Tidak ditemukan", NOT_TRIAGE, viewer=who)


@router.get("/posts/{post_id}", response_class=HTMLResponse)
def detail(post_id: str, request: Request, who: LoggedIn) -> Response:
    st = state(request)
    try:
        return _page(request, st, who, _pk(post_id))
    except _NotFound:
        return _not_found(request, st, who)


@router.post("/posts/{post_id}/teks-asli", response_class=HTMLResponse)
def show_raw(post_id: str, request: Request, form: CheckedForm) -> Response:
    """Raw text for roles with `lihat_teks_asli`; every view (and refusal) is audited."""
    st, who = state(request), form.viewer
    try:
        pk = _pk(post_id)
    except _NotFound:
        return _not_found(request, st, who)
    if not who.can("lihat_teks_asli"):
        st.auth.record(who.name, "teks_asli.ditolak", f"post:{pk}", {"role": who.role})
        require(who, "lihat_teks_asli", "Peran Anda tidak berhak melihat teks asli unggahan. "
                "Teks yang sudah disamarkan tetap dapat Anda baca.")
    with st.ctx.engine.connect() as conn:
        text, handle, url = raw_text(conn, pk)
    st.auth.record(who.name, "teks_asli.lihat", f"post:{pk}", {"available": text is not None})
    log.info("raw text viewed (post %s)", pk)
    raw = {"text": text, "handle": handle, "url": safe_url(url)}
    return _page(request, st, who, pk, raw=raw)


def _act(request: Request, post_id: str, form: Posted, run: Any, ok: str) -> Response:
    st, who = state(request), form.viewer
    require(who, "tinjau", "Peran Anda tidak berhak mengubah unggahan.")
    try:
        pk = _pk(post_id)
    except _NotFound:
        return _not_found(request, st, who)
    try:
        result = run(st, who, pk)
    except actions.ActionError as exc:
        if exc.message == NOT_TRIAGE:
            return _not_found(request, st, who)
        fields = {k: form.get(k) for k in actions.LABEL_FIELDS if form.get(k)}
        return _page(request, st, who, pk, status=400, error=exc.message, form=fields)
    return redirect(f"/posts/{pk}?ok={result or ok}")


@router.post("/posts/{post_id}/label")
def label(post_id: str, request: Request, form: CheckedForm) -> Response:
    values = {name: form.get(name) for name in actions.LABEL_FIELDS}

    def run(st: ReviewState, who: Viewer, pk: int) -> None:
        actions.save_labels(st.ctx.engine, pk, who.user.id, who.name, values, now=st.ctx.clock())
    return _act(request, post_id, form, run, "label")


@router.post("/posts/{post_id}/teruskan")
def escalate(post_id: str, request: Request, form: CheckedForm) -> Response:
    def run(st: ReviewState, who: Viewer, pk: int) -> str:
        result = actions.escalate(st.ctx.engine, st.ctx.registry, pk, who.user.id, who.name,
                                  now=st.ctx.clock())
        return "teruskan" if result.enqueued else "sudah_antre"
    return _act(request, post_id, form, run, "teruskan")


@router.post("/posts/{post_id}/tolak")
def dismiss(post_id: str, request: Request, form: CheckedForm) -> Response:
    def run(st: ReviewState, who: Viewer, pk: int) -> str:
        retracted = actions.dismiss(st.ctx.engine, st.ctx.registry, pk, who.user.id, who.name,
                                    form.get("alasan"), form.get("keterangan"), now=st.ctx.clock())
        return "tolak_antre" if retracted else "tolak"
    return _act(request, post_id, form, run, "tolak")


@router.post("/posts/{post_id}/tugaskan")
def assign(post_id: str, request: Request, form: CheckedForm) -> Response:
    return _act(request, post_id, form, lambda st, who, pk: actions.assign(
        st.ctx.engine, pk, who.user.id, who.name, form.get("petugas"), now=st.ctx.clock()), "tugaskan")


@router.post("/posts/{post_id}/catatan")
def note(post_id: str, request: Request, form: CheckedForm) -> Response:
    return _act(request, post_id, form, lambda st, who, pk: actions.note(
        st.ctx.engine, pk, who.user.id, who.name, form.get("catatan"), now=st.ctx.clock()), "catatan")
