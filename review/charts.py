"""Geometry of the inline SVG charts (sparklines, engagement history, daily bars).

Only numbers come out of here; the templates draw them, so no text of a post ever reaches an SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from triage.records import MetricSnapshot


def _points(xs: Sequence[float], ys: Sequence[float], width: float, height: float, pad: float,
            left: float | None = None) -> str:
    left = pad if left is None else left
    x_lo, x_hi = min(xs), max(xs)
    y_hi = max(max(ys), 1)
    x_span = (x_hi - x_lo) or 1
    return " ".join(
        f"{left + (x - x_lo) / x_span * (width - left - pad):.1f},"
        f"{height - pad - y / y_hi * (height - 2 * pad):.1f}"
        for x, y in zip(xs, ys, strict=True)
    )


def sparkline(values: Sequence[int], width: int = 80, height: int = 22) -> dict[str, Any] | None:
    """A trend line of engagement per snapshot; None with fewer than two points."""
    if len(values) < 2:
        return None
    points = _points(range(len(values)), values, width, height, 2)
    last = points.rsplit(" ", 1)[-1].split(",")
    return {"width": width, "height": height, "points": points, "last_x": last[0], "last_y": last[1],
            "rising": values[-1] > values[-2]}


def engagement_chart(created_at: datetime, snaps: Sequence[MetricSnapshot],
                     width: int = 560, height: int = 180) -> dict[str, Any] | None:
    """Engagement over hours since the post was created, with axis labels."""
    if not snaps:
        return None
    hours = [0.0] + [max((sn.at - created_at).total_seconds() / 3600, 0.0) for sn in snaps]
    values = [0] + [sn.engagement for sn in snaps]
    pad, left = 24, 56  # the left margin holds the engagement axis labels
    points = _points(hours, values, width, height, pad, left)
    dots = [dict(zip(("x", "y"), pt.split(","), strict=True)) for pt in points.split(" ")[1:]]
    return {
        "width": width, "height": height, "pad": pad, "left": left, "points": points, "dots": dots,
        "max": max(values), "hours": round(max(hours), 1), "last": values[-1],
        "snapshots": [{"at": sn.at, "engagement": sn.engagement, "views": sn.views} for sn in snaps],
    }


def bars(values: Sequence[int], width: int = 120, height: int = 24) -> dict[str, Any]:
    """Vertical bars for counts per day."""
    top = max(max(values, default=0), 1)
    step = width / max(len(values), 1)
    return {
        "width": width, "height": height,
        "bars": [{"x": f"{i * step + 1:.1f}", "w": f"{max(step - 2, 1):.1f}",
                  "h": f"{v / top * (height - 2):.1f}", "y": f"{height - v / top * (height - 2):.1f}",
                  "v": v} for i, v in enumerate(values)],
    }
