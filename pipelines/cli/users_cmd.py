"""`pantau users`: create, list, disable and change the users of the review page."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from pipelines.context import context_from_args
from pipelines.users import (
    ROLES,
    UserError,
    check_name,
    check_password,
    check_role,
    create_user,
    find_user,
    list_users,
    set_disabled,
    set_password,
    set_role,
)


def register(sub: Any) -> None:
    p = sub.add_parser("users", help="create, list, disable and change users of the review page",
                       description="Create, list, disable and change the users who log in to the "
                       "review pages. Changes take effect at the user's next request; every change "
                       "is written to the audit log.")
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

    for action, summary, description, handler in (
        ("disable", "disable a user (ends their sessions)",
         "Disable a user: they cannot log in, and their open sessions end at their next request. "
         "The last enabled admin cannot be disabled.", cmd_disable),
        ("enable", "enable a disabled user again", "Enable a disabled user again.", cmd_enable),
        ("set-password", "set a new password (ends the user's sessions)",
         "Set a new password for a user (e.g. one who forgot theirs); every session opened with the "
         "old password ends. Read like `users add`: asked twice on a terminal, or the first line "
         "of stdin.", cmd_set_password),
    ):
        a = usub.add_parser(action, help=summary, description=description)
        a.add_argument("name", help="login name")
        a.set_defaults(handler=handler)

    a = usub.add_parser("set-role", help="change a user's role",
                        description="Change a user's role; the last enabled admin cannot be demoted.")
    a.add_argument("name", help="login name")
    a.add_argument("--role", required=True, choices=ROLES, help="peninjau, analis or admin")
    a.set_defaults(handler=cmd_set_role)


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


def cmd_disable(args: Any) -> int:
    return _set_disabled(args, True)


def cmd_enable(args: Any) -> int:
    return _set_disabled(args, False)


def _set_disabled(args: Any, disabled: bool) -> int:
    ctx = context_from_args(args)
    set_disabled(ctx.engine, args.name, disabled, now=ctx.clock())
    print(f"{'disabled' if disabled else 'enabled'} user {args.name}")
    return 0


def cmd_set_password(args: Any) -> int:
    ctx = context_from_args(args)
    if find_user(ctx.engine, name=args.name) is None:  # fail before asking for a password
        raise UserError(f"no user named {args.name!r}")
    set_password(ctx.engine, args.name, read_password(), now=ctx.clock())
    print(f"new password set for {args.name}: their sessions have ended")
    return 0


def cmd_set_role(args: Any) -> int:
    ctx = context_from_args(args)
    user = set_role(ctx.engine, args.name, args.role, now=ctx.clock())
    print(f"user {user.name} is now {user.role}")
    return 0
