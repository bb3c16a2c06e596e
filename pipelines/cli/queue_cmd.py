"""Operator commands for the complaint queue: list, show, requeue, stats."""

from __future__ import annotations

import json
from typing import Any

from pipelines import queue
from pipelines.context import context_from_args
from triage.errors import PantauError


def register(sub: Any) -> None:
    p = sub.add_parser("queue", help="inspect and operate the complaint queue",
                       description="Inspect and operate the complaint queue (contract "
                       "pantau.queue-item/1; see docs/queue-contract.md).")
    qsub = p.add_subparsers(dest="queue_command", metavar="ACTION")

    a = qsub.add_parser("list", help="items by priority",
                        description="List queue items by priority, highest first. "
                        "`--status dead` lists the dead letters with their last error.")
    a.add_argument("--status", choices=queue.STATUSES, help="only items in this state")
    a.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    a.add_argument("--json", action="store_true", help="one JSON item (the contract) per line")
    a.set_defaults(handler=cmd_list)

    a = qsub.add_parser("show", help="one item as JSON, with its deliveries",
                        description="Show one item (by item id or any of its delivery ids): the "
                        "contract item on stdout, its state and delivery history on stderr.")
    a.add_argument("item_id", help="item id or delivery id")
    a.set_defaults(handler=cmd_show)

    a = qsub.add_parser("requeue", help="put dead (or acked) items back",
                        description="Requeue dead-lettered (or acked) items: ready again, with "
                        "fresh attempts.")
    a.add_argument("item_ids", nargs="*", metavar="ITEM_ID", help="item ids")
    a.add_argument("--all-dead", action="store_true", help="every dead item")
    a.set_defaults(handler=cmd_requeue)

    a = qsub.add_parser("stats", help="counts per state, dead letters included",
                        description="Counts of queue items per state (dead letters included), "
                        "expired leases, delayed retries, and webhook push states.")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.set_defaults(handler=cmd_stats)


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def cmd_list(args: Any) -> int:
    ctx = context_from_args(args)
    rows = queue.list_items(ctx.engine, status=args.status, limit=max(1, min(args.limit, 1000)))
    for row in rows:
        if args.json:
            print(json.dumps(row["payload"], ensure_ascii=False))
            continue
        item = row["payload"]
        t = item["triage"]
        line = (f"{row['item_id']}  {row['status']:<10} {row['tier']} {row['priority_score']:.2f}  "
                f"rev {row['revision']}  {item['idempotency_key']}  attempts {row['attempts']}  "
                f"{t['substance']['label']}/{t['maladministration']['label']}")
        if row["status"] == "dead":
            line += f"  last error: {(row['last_error'] or '-')[:120]}"
        else:
            line += "  " + " ".join(item["post"]["text"].split())[:80]  # redacted text
        print(line)
    if not rows and not args.json:
        print("no queue items" + (f" with status {args.status}" if args.status else ""))
    return 0


def cmd_show(args: Any) -> int:
    import sys

    ctx = context_from_args(args)
    row = queue.get_item(ctx.engine, args.item_id)
    print(json.dumps(row["payload"], indent=2, ensure_ascii=False))
    print(f"status {row['status']}, attempts {row['attempts']}, available {_time(row['available_at'])}"
          f", consumer {row['consumer'] or '-'}, last error {row['last_error'] or '-'}", file=sys.stderr)
    for d in row["deliveries"]:
        print(f"  delivery {d['delivery_id']} to {d['consumer']} at {_time(d['claimed_at'])}: "
              f"{d['outcome'] or ('leased until ' + _time(d['lease_until']))}"
              f"{' (' + d['error'][:80] + ')' if d['error'] else ''}", file=sys.stderr)
    return 0


def cmd_requeue(args: Any) -> int:
    if not args.item_ids and not args.all_dead:
        raise PantauError("name the items to requeue, or pass --all-dead")
    ctx = context_from_args(args)
    now = ctx.clock()
    for item_id in args.item_ids:
        queue.requeue(ctx.engine, item_id, now=now)
        print(f"requeued {item_id}")
    if args.all_dead:
        print(f"requeued {queue.requeue_dead(ctx.engine, now=now)} dead items")
    return 0


def cmd_stats(args: Any) -> int:
    ctx = context_from_args(args)
    result = queue.stats(ctx.engine, now=ctx.clock())
    print(json.dumps(result) if args.json else ", ".join(f"{k} {v}" for k, v in result.items()))
    return 0
