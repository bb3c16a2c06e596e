"""Kotak masuk (`/`): triaged posts by priority, with filters, search and keyset pages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from triage.priority import TIERS
from triage.taxonomy import KINDS, MALADMINISTRATION, SUBSTANCES, display

from ..charts import sparkline
from ..deps import LoggedIn, state
from ..queries import STATUSES, Cursor, InboxFilter, InboxPage, inbox_page, platforms
from ..render import age_state

router = APIRouter(include_in_schema=False)

# query parameter -> (InboxFilter field, Indonesian name for messages)
PARAMS = {
    "instansi": ("agency", "Instansi"),
    "substansi": ("substance", "Substansi"),
    "maladministrasi": ("maladministration", "Maladministrasi"),
    "jenis": ("kind", "Jenis"),
    "tingkat": ("tier", "Tingkat prioritas"),
    "status": ("status", "Status"),
    "platform": ("platform", "Platform"),
}
MAX_SEARCH = 100
PLATFORM_NAMES = {"x": "X", "reddit": "Reddit", "file": "Berkas"}


def parse_filter(params: Mapping[str, str],
                 agency_ids: set[str]) -> tuple[InboxFilter, list[str], dict[str, str]]:
    """(filter, error messages, the accepted parameters to carry into page links)."""
    allowed: dict[str, set[str]] = {
        "agency": agency_ids | {"-"}, "substance": set(SUBSTANCES),
        "maladministration": set(MALADMINISTRATION), "kind": set(KINDS),
        "tier": {t for t, _ in TIERS}, "status": set(STATUSES),
    }
    values: dict[str, Any] = {}
    errors: list[str] = []
    kept: dict[str, str] = {}
    for param, (field, label) in PARAMS.items():
        value = (params.get(param) or "").strip()
        if not value:
            continue
        ok = (re.fullmatch(r"[a-z0-9_]{1,16}", value) is not None) if field == "platform" \
            else value in allowed[field]
        if not ok:
            errors.append(f"{label}: nilai yang dipilih tidak dikenal.")
            continue
        values[field] = value
        kept[param] = value
    for param, field, label in (("dari", "since", "Tanggal awal"), ("sampai", "until", "Tanggal akhir")):
        value = (params.get(param) or "").strip()
        if not value:
            continue
        try:
            values[field] = date.fromisoformat(value)
            kept[param] = value
        except ValueError:
            errors.append(f"{label}: gunakan format tanggal TTTT-BB-HH, misalnya 2026-11-21.")
    if values.get("since") and values.get("until") and values["since"] > values["until"]:
        errors.append("Tanggal awal harus sebelum atau sama dengan tanggal akhir.")
    text = " ".join((params.get("cari") or "").split())
    if len(text) > MAX_SEARCH:
        errors.append(f"Kata pencarian terlalu panjang (maksimal {MAX_SEARCH} karakter).")
    elif text:
        values["text"] = text
        kept["cari"] = text
    return InboxFilter(**values), errors, kept


def _link(kept: dict[str, str], **extra: str) -> str:
    query = urlencode({**kept, **extra})
    return f"/?{query}" if query else "/"


@router.get("/", response_class=HTMLResponse)
def inbox(request: Request, who: LoggedIn) -> Response:
    st = state(request)
    registry = st.ctx.registry
    f, errors, kept = parse_filter(request.query_params, set(registry.by_id))
    after = Cursor.parse(request.query_params.get("sesudah"))
    before = Cursor.parse(request.query_params.get("sebelum"))
    now = st.ctx.clock()
    with st.ctx.engine.connect() as conn:
        page = InboxPage([], 0) if errors else inbox_page(conn, f, after=after, before=before)
        known_platforms = platforms(conn)
    for row in page.rows:
        row["age"] = age_state(row["created_at"], now)
        row["spark"] = sparkline(page.sparklines.get(row["post_pk"], []))
        agency = registry.by_id.get(row["agency_id"]) if row["agency_id"] else None
        row["agency_name"] = agency.name if agency else "Tanpa instansi"
    options = {
        "instansi": [("-", "Tanpa instansi")] + sorted(((a.id, a.name) for a in registry.agencies),
                                                       key=lambda x: x[1].lower()),
        "substansi": [(v, display(v)) for v in SUBSTANCES],
        "maladministrasi": [(v, display(v)) for v in MALADMINISTRATION],
        "jenis": [(v, display(v)) for v in KINDS],
        "tingkat": [(t, t) for t, _ in TIERS],
        "status": list(STATUSES.items()),
        "platform": [(v, PLATFORM_NAMES.get(v, v)) for v in known_platforms],
    }
    return st.pages.render(
        request, "inbox.html", status=400 if errors else 200, viewer=who, nav="inbox",
        page=page, errors=errors, kept=kept, options=options, statuses=STATUSES, now=now,
        next_url=_link(kept, sesudah=page.next.token()) if page.next else None,
        prev_url=_link(kept, sebelum=page.previous.token()) if page.previous else None,
        first_url=_link(kept) if (after or before) else None,
    )
