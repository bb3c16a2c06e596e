"""Author pseudonyms: a keyed hash (HMAC-SHA256), stable per author, not reversible without the key."""

from __future__ import annotations

import hashlib
import hmac


def pseudonymize(platform: str, author: str | None, key: bytes) -> str:
    """`a:` + 8 hex chars of HMAC(key, platform:author); `a:anon` when the author is unknown."""
    if not author:
        return "a:anon"
    digest = hmac.new(key, f"{platform}:{author}".encode(), hashlib.sha256).hexdigest()
    return f"a:{digest[:8]}"
