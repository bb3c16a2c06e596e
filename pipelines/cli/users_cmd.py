"""`pantau users`: create and list the users of the review page."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from pipelines.context import context_from_args
from pipelines.users import ROLES, UserError, check_name, check_password, check_role, create_user, list_users


def register(sub: Any) -> None:
    p = sub.add_parser("users", help="create and list users of the review page",
                       description="Create and list the users who log in to the review pages.")
    usub = p.add_subparsers(dest="users_command", metavar="ACTION")

    a = usub.add_parser(
        "add", help="create a user (password prompted, or read from stdin)",
        description="Create a user of the review page. The password is asked twice on a terminal, "
        "or read from the first line of stdin when stdin is not a terminal "
        "(e.g. `printf '%%s\\n' \"$PASSWORD\" | pantau users add rina --role peninjau`). "
        "Roles: peninjau (reviewer), analis (may also see raw post text), admin.")
    a.add_argument("name", help="login name (lowercase letters, digits, '.', '_', '-')")
    a.add_argument("--role", required=True, choices=ROLES, help="peninjau, analis or admin")
    a.set_defaults(handler=cmd_add)

    a = usub.add_parser("list", help="list users", description="List users with their role.")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.set_defaults(handler=cmd_list)


def read_password(stdin: Any = None) -> str:
    """The new password: prompted twice on a terminal, else the first line of stdin."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        check_password(first)
        if getpass.getpass("Repeat password: ") != first:
            raise UserError("the two passwords differ")
        return first
    line = stdin.readline()
    if not line:
        raise UserError("no password on stdin")
    return check_password(line.rstrip("\r\n"))


def cmd_add(args: Any) -> int:
    check_name(args.name)  # fail before asking for a password
    check_role(args.role)
    password = read_password()
    ctx = context_from_args(args)
    user = create_user(ctx.engine, args.name, args.role, password, now=ctx.clock())
    print(f"created user {user.name} ({user.role})")
    return 0


def cmd_list(args: Any) -> int:
    ctx = context_from_args(args)
    users = list_users(ctx.engine)
    for user in users:
        if args.json:
            print(json.dumps({"name": user.name, "role": user.role,
                              "created_at": user.created_at.isoformat(), "disabled": user.disabled}))
        else:
            state = "  (disabled)" if user.disabled else ""
            print(f"{user.name:<24} {user.role:<9} created {user.created_at:%Y-%m-%d %H:%M}Z{state}")
    if not users and not args.json:
        print("no users yet: create one with `pantau users add NAME --role peninjau`")
    return 0
