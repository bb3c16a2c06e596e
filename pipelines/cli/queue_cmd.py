"""Operator commands for the complaint queue: list, show, requeue, stats."""

from __future__ import annotations

import json
from typing import Any

from pipelines import queue
from pipelines.context import context_from_args

STATUSES = ("ready", "leased", "acked", "dead", "superseded")


def register(sub: Any) -> None:
    p = sub.add_parser("queue", help="inspect and operate the complaint queue",
                       description="Inspect and operate the complaint queue.")
    qsub = p.add_subparsers(dest="queue_command", metavar="ACTION")

    a = qsub.add_parser("list", help="items by priority", description="List queue items by priority.")
    a.add_argument("--status", choices=STATUSES, help="only items in this state")
    a.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    a.add_argument("--json", action="store_true", help="one JSON item per line")
    a.set_defaults(handler=cmd_list)

    a = qsub.add_parser("show", help="one item as JSON", description="Show one item (by item or delivery id).")
    a.add_argument("item_id", help="item id or delivery id")
    a.set_defaults(handler=cmd_show)

    a = qsub.add_parser("requeue", help="put a dead item back", description="Requeue a dead or acked item.")
    a.add_argument("item_id", help="item id")
    a.set_defaults(handler=cmd_requeue)

    a = qsub.add_parser("stats", help="counts per state", description="Counts of queue items per state.")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.set_defaults(handler=cmd_stats)


def cmd_list(args: Any) -> int:
    ctx = context_from_args(args)
    rows = queue.list_items(ctx.engine, status=args.status, limit=max(1, min(args.limit, 1000)))
    for row in rows:
        if args.json:
            print(json.dumps(row["payload"], ensure_ascii=False))
            continue
        item = row["payload"]
        t = item["triage"]
        text = " ".join(item["post"]["text"].split())
        print(f"{row['item_id']}  {row['status']:<10} {row['tier']} {row['priority_score']:.2f}  "
              f"rev {row['revision']}  {item['idempotency_key']}  {t['substance']['label']}/"
              f"{t['maladministration']['label']}  {text[:80]}")
    if not rows and not args.json:
        print("no queue items")
    return 0


def cmd_show(args: Any) -> int:
    ctx = context_from_args(args)
    row = queue.get_item(ctx.engine, args.item_id)
    print(json.dumps(row["payload"], indent=2, ensure_ascii=False))
    return 0


def cmd_requeue(args: Any) -> int:
    ctx = context_from_args(args)
    queue.requeue(ctx.engine, args.item_id, now=ctx.clock())
    print(f"requeued {args.item_id}")
    return 0


def cmd_stats(args: Any) -> int:
    ctx = context_from_args(args)
    result = queue.stats(ctx.engine, now=ctx.clock())
    print(json.dumps(result) if args.json else ", ".join(f"{k} {v}" for k, v in result.items()))
    return 0
