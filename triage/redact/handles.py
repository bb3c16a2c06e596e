"""Detectors for e-mail addresses, @handles (and Reddit u/names), and phone numbers in wa.me links."""

from __future__ import annotations

import re

from .spans import Span

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}(?![\w-])"
)
# X handle: "@" not glued to a word or an e-mail; Reddit: "u/name".
_HANDLE_RE = re.compile(r"(?<![\w@./])@([A-Za-z0-9_]{1,30})(?![\w@])|(?<![\w/])u/([A-Za-z0-9_-]{3,20})\b")
# Phone numbers carried by WhatsApp links, which are otherwise kept whole with the rest of URLs.
_WA_LINK_RE = re.compile(r"(?i)(?:wa\.me/|whatsapp\.com/send/?\?phone=)(\+?\d{8,15})")


def detect_emails(scan: str) -> list[Span]:
    if "@" not in scan:
        return []
    return [Span("EMAIL", m.start(), m.end(), 0.99) for m in _EMAIL_RE.finditer(scan)]


def handle_spans(scan: str) -> list[tuple[int, int, str]]:
    """(start, end, lower-case name) of every @handle / u/name, the "@" or "u/" included."""
    if "@" not in scan and "u/" not in scan:
        return []
    out = []
    for m in _HANDLE_RE.finditer(scan):
        name = m.group(1) if m.group(1) is not None else m.group(2)
        out.append((m.start(), m.end(), name.lower()))
    return out


def detect_usernames(
    handles: list[tuple[int, int, str]], protected_handles: frozenset[str]
) -> list[Span]:
    return [Span("USERNAME", s, e, 0.95) for s, e, name in handles if name not in protected_handles]


def detect_wa_links(text: str, lower: str) -> list[Span]:
    if "wa.me" not in lower and "whatsapp.com" not in lower:
        return []
    return [Span("PHONE", m.start(1), m.end(1), 0.95) for m in _WA_LINK_RE.finditer(text)]
