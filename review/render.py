"""Rendering the review pages: the Jinja2 environment (autoescape always on), filters in Bahasa
Indonesia, security headers, and the evidence highlighter.

Post text is hostile input. Every template escapes it; the only markup built in Python is the
highlighter's, which escapes every piece of the text itself and adds nothing but `<mark>` tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from triage.priority import FIRST_RESPONSE_DAYS
from triage.taxonomy import display

TEMPLATES = Path(__file__).parent / "templates"
WIB = timezone(timedelta(hours=7), "WIB")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# queue item states (pipelines.queue.STATUSES) as humas staff read them
QUEUE_STATUS = {
    "ready": "menunggu diambil sistem antrean",
    "leased": "sedang diambil sistem antrean",
    "acked": "diterima sistem antrean",
    "dead": "gagal dikirim (ditangani operator)",
    "superseded": "digantikan revisi yang lebih baru",
}


def secure(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def wib(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return "-"
    local = value.astimezone(WIB)
    text = f"{local.day} {MONTHS[local.month - 1]} {local.year}"
    return f"{text} {local:%H:%M} WIB" if with_time else text


def duration(delta: timedelta | float | None) -> str:
    """'2 hari 4 jam', '35 menit' (a timedelta or hours)."""
    if delta is None:
        return "-"
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta) * 3600
    seconds = max(seconds, 0)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} hari {hours} jam" if hours else f"{days} hari"
    if hours:
        return f"{hours} jam"
    return f"{max(rest // 60, 1)} menit"


def number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}".replace(",", ".")


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def age_state(created_at: datetime, now: datetime) -> dict[str, Any]:
    """Age against the service-time limit (first response within FIRST_RESPONSE_DAYS days)."""
    age = now - created_at
    limit = timedelta(days=FIRST_RESPONSE_DAYS)
    share = age / limit
    state = "lewat" if share >= 1 else ("dekat" if share >= 2 / 3 else "aman")
    return {"text": duration(age), "state": state, "share": min(share, 1.0),
            "left": duration(limit - age) if share < 1 else None}


def highlight(text: str, phrases: Iterable[str]) -> Markup:
    """`text` escaped, with each occurrence of the evidence `phrases` wrapped in <mark>.

    Spans are found in the plain text, then every piece (marked or not) is escaped on its own,
    so a phrase can never split an HTML entity and no character of the post becomes markup.
    """
    spans: list[tuple[int, int]] = []
    for phrase in {p.strip() for p in phrases if p and p.strip()}:
        pattern = r"(?<!\w)" + re.escape(phrase) + r"(?!\w)"  # whole words only: "ga" is not in "gangguan"
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):
            spans.append(match.span())
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    position = 0
    for start, end in merged:
        out.append(str(escape(text[position:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    out.append(str(escape(text[position:])))
    return Markup("".join(out))  # noqa: S704 - every piece above went through escape()


def safe_url(url: str | None) -> str | None:
    """Only http(s) links are ever put in an href (no javascript:, data:, ...)."""
    if url and re.match(r"^https?://[^\s\"'<>]+$", url, flags=re.IGNORECASE):
        return url
    return None


class Pages:
    """The template environment and the responses the routes return."""

    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(label=display, wib=wib, durasi=duration, persen=percent, angka=number)
        self.env.globals.update(sorot=highlight, urlencode=urlencode, status_antrean=QUEUE_STATUS)

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("viewer", None)
        context.setdefault("nav", "")
        html = self.env.get_template(template).render(request=request, **context)
        return secure(HTMLResponse(html, status_code=status))

    def message(self, request: Request, status: int, title: str, text: str,
                viewer: Any = None) -> HTMLResponse:
        return self.render(request, "pesan.html", status=status, title=title, text=text,
                           viewer=viewer)


def redirect(url: str) -> RedirectResponse:
    return secure(RedirectResponse(url, status_code=303))
