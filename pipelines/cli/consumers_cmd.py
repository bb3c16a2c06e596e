"""Operator commands for queue consumers: add, list, remove, disable, enable; webhook pushes."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from pipelines.context import context_from_args

DELIVERY_STATUSES = ("pending", "delivered", "dead", "superseded")


def register(sub: Any) -> None:
    p = sub.add_parser("consumers", help="systems that consume the queue (tokens, webhooks)",
                       description="Manage the systems that consume the complaint queue: each has "
                       "a bearer token for the HTTP API and optionally a webhook for pushes.")
    csub = p.add_subparsers(dest="consumers_command", metavar="ACTION")

    a = csub.add_parser("add", help="add a consumer; prints its token once",
                        description="Add a consumer and print its bearer token (and webhook "
                        "signing secret) once: only a hash of the token is kept.")
    a.add_argument("name", help="consumer name (a-z, 0-9, '_', '.', '-')")
    a.add_argument("--webhook-url", help="push every new queue item to this URL (signed POST)")
    a.set_defaults(handler=cmd_add)

    a = csub.add_parser("list", help="consumers and their push state",
                        description="List consumers: active, webhook host, push counts.")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.set_defaults(handler=cmd_list)

    a = csub.add_parser("remove", help="delete a consumer (its token stops working)",
                        description="Delete a consumer: its token stops working and its pending "
                        "pushes are dropped; items it holds return to the queue after the lease.")
    a.add_argument("name", help="consumer name")
    a.set_defaults(handler=cmd_remove)

    for action, active in (("disable", False), ("enable", True)):
        a = csub.add_parser(action, help=f"{action} a consumer's token and pushes",
                            description=f"{action.capitalize()} a consumer: a disabled consumer "
                            "cannot call the API and receives no pushes; nothing is deleted.")
        a.add_argument("name", help="consumer name")
        a.set_defaults(handler=cmd_set_active, active=active)

    a = csub.add_parser("deliveries", help="a consumer's webhook deliveries",
                        description="Show a consumer's webhook deliveries, newest first.")
    a.add_argument("name", help="consumer name")
    a.add_argument("--status", choices=DELIVERY_STATUSES, help="only deliveries in this state")
    a.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.set_defaults(handler=cmd_deliveries)

    a = csub.add_parser("retry", help="retry a consumer's dead webhook deliveries",
                        description="Put a consumer's dead-lettered webhook deliveries back to "
                        "pending, with fresh attempts.")
    a.add_argument("name", help="consumer name")
    a.set_defaults(handler=cmd_retry)

    a = csub.add_parser("dispatch", help="push due webhook deliveries",
                        description="Send due webhook deliveries once (the scheduler does this "
                        "on its own); with --every, keep going until interrupted.")
    a.add_argument("--every", type=float, metavar="SECONDS", help="repeat every SECONDS")
    a.set_defaults(handler=cmd_dispatch)


def cmd_add(args: Any) -> int:
    from pipelines.consumers import add_consumer

    ctx = context_from_args(args)
    new = add_consumer(ctx.engine, args.name, now=ctx.clock(), webhook_url=args.webhook_url)
    print(f"added consumer {args.name}", file=sys.stderr)
    print("Store these now; they are not shown again.", file=sys.stderr)
    print(f"token: {new.token}")
    if new.webhook_secret:
        print(f"webhook secret: {new.webhook_secret}")
    return 0


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def cmd_list(args: Any) -> int:
    from pipelines.consumers import list_consumers

    ctx = context_from_args(args)
    rows = list_consumers(ctx.engine)
    for row in rows:
        if args.json:
            print(json.dumps({**row, "created_at": _when(row["created_at"])}))
            continue
        counts = ", ".join(f"{k} {v}" for k, v in sorted(row["webhook_counts"].items())) or "-"
        print(f"{row['name']:<24} {'active' if row['active'] else 'disabled':<9} "
              f"since {_when(row['created_at'])}  webhook {row['webhook'] or '-'}  pushes: {counts}")
    if not rows and not args.json:
        print("no consumers (add one with `pantau consumers add NAME`)")
    return 0


def cmd_remove(args: Any) -> int:
    from pipelines.consumers import remove_consumer

    ctx = context_from_args(args)
    remove_consumer(ctx.engine, args.name)
    print(f"removed consumer {args.name}")
    return 0


def cmd_set_active(args: Any) -> int:
    from pipelines.consumers import set_active

    ctx = context_from_args(args)
    set_active(ctx.engine, args.name, args.active)
    print(f"{'enabled' if args.active else 'disabled'} consumer {args.name}")
    return 0


def cmd_deliveries(args: Any) -> int:
    from pipelines.consumers import get_consumer
    from pipelines.webhooks import deliveries

    ctx = context_from_args(args)
    get_consumer(ctx.engine, args.name)
    rows = deliveries(ctx.engine, args.name, status=args.status, limit=max(1, min(args.limit, 1000)))
    for row in rows:
        if args.json:
            print(json.dumps(row, default=_when))
            continue
        print(f"{row['delivery_id']}  {row['status']:<10} attempts {row['attempts']}  "
              f"item {row['item_id']} ({row['idempotency_key']} rev {row['revision']})  "
              f"next {_when(row['next_attempt_at'])}  {row['last_error'] or ''}".rstrip())
    if not rows and not args.json:
        print("no deliveries")
    return 0


def cmd_retry(args: Any) -> int:
    from pipelines.webhooks import retry_dead

    ctx = context_from_args(args)
    count = retry_dead(ctx.engine, args.name, now=ctx.clock())
    print(f"{count} dead deliveries of {args.name} back to pending")
    return 0


def cmd_dispatch(args: Any) -> int:
    import requests

    from pipelines.webhooks import dispatch_due

    ctx = context_from_args(args)
    with requests.Session() as session:
        while True:
            report = dispatch_due(ctx, session, ctx.clock())
            print(f"new {report.fanned_out}, sent {report.sent}, failed {report.failed}, "
                  f"dead {report.dead}, superseded {report.superseded}, deferred {report.deferred}",
                  file=sys.stderr)
            if not args.every:
                return 0
            time.sleep(max(args.every, 0.5))
