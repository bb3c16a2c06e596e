"""`pantau users`: add, list, disable, enable, set-password, set-role; password from stdin, clear
one-line errors, every change audited, and the last enabled admin kept."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from pipelines.cli import main
from pipelines.cli.users_cmd import read_password
from pipelines.store import schema as s
from pipelines.store.db import open_database
from pipelines.users import UserError, find_user, verify_password


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PANTAU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PANTAU_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_add_reads_the_password_from_stdin_and_list_shows_the_user(env: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setattr("sys.stdin", io.StringIO("rahasia-panjang-sekali\n"))
    assert main(["users", "add", "rina", "--role", "peninjau"]) == 0
    out = capsys.readouterr().out
    assert "created user rina (peninjau)" in out and "rahasia" not in out
    assert main(["users", "list", "--json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["name"] == "rina" and json.loads(line)["role"] == "peninjau"
    engine = open_database(f"sqlite:///{env / 'data' / 'pantau.db'}")
    user = find_user(engine, name="rina")
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "rahasia-panjang-sekali")
    engine.dispose()


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["users", "add", "Rina Ayu", "--role", "peninjau"], "rahasia-panjang-sekali\n", "user name"),
    (["users", "add", "rina", "--role", "peninjau"], "pendek\n", "password too short"),
    (["users", "add", "rina", "--role", "peninjau"], "", "no password on stdin"),
])
def test_bad_input_is_a_one_line_error(env: Path, monkeypatch, capsys, argv, stdin, message) -> None:  # noqa: ANN001
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pantau: error:") and message in err and "\n" not in err


def test_duplicate_names_and_unknown_roles_are_refused(env: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    for _ in range(2):
        monkeypatch.setattr("sys.stdin", io.StringIO("rahasia-panjang-sekali\n"))
        code = main(["users", "add", "rina", "--role", "analis"])
    assert code == 2 and "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["users", "add", "budi", "--role", "raja"])


def test_terminal_prompts_twice(monkeypatch) -> None:  # noqa: ANN001
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["rahasia-panjang-sekali", "rahasia-lain-sekali"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(UserError, match="differ"):
        read_password(Tty())


def _add(monkeypatch, name: str, role: str) -> None:  # noqa: ANN001
    monkeypatch.setattr("sys.stdin", io.StringIO("rahasia-panjang-sekali\n"))
    assert main(["users", "add", name, "--role", role]) == 0


def test_disable_enable_set_password_and_role_are_audited(env: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    _add(monkeypatch, "rina", "peninjau")
    assert main(["users", "disable", "rina"]) == 0
    assert main(["users", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["disabled"] is True
    assert main(["users", "enable", "rina"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("sandi-baru-yang-panjang\n"))
    assert main(["users", "set-password", "rina"]) == 0
    assert main(["users", "set-role", "rina", "--role", "analis"]) == 0
    assert "sandi-baru" not in capsys.readouterr().out
    engine = open_database(f"sqlite:///{env / 'data' / 'pantau.db'}")
    user = find_user(engine, name="rina")
    assert not user.disabled and user.role == "analis"
    assert verify_password(user.password_hash, "sandi-baru-yang-panjang")
    with engine.connect() as conn:
        audit = conn.execute(select(s.audit_log.c.action, s.audit_log.c.detail)
                             .order_by(s.audit_log.c.id)).all()
    engine.dispose()
    assert [a for a, _ in audit] == ["user.create", "user.disable", "user.enable", "user.password",
                                     "user.role"]
    assert audit[-1][1] == {"role": "analis", "was": "peninjau"}
    details = json.dumps([d for _, d in audit])
    assert "sandi" not in details and "argon2" not in details


def test_the_last_enabled_admin_is_kept(env: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    _add(monkeypatch, "sari", "admin")
    capsys.readouterr()
    assert main(["users", "disable", "sari"]) == 2
    assert "last enabled admin" in capsys.readouterr().err
    assert main(["users", "set-role", "sari", "--role", "peninjau"]) == 2
    _add(monkeypatch, "dewi", "admin")
    assert main(["users", "disable", "sari"]) == 0
    assert main(["users", "set-role", "dewi", "--role", "analis"]) == 2  # now the only one


@pytest.mark.parametrize("argv", [["users", "disable", "nobody"], ["users", "enable", "nobody"],
                                  ["users", "set-role", "nobody", "--role", "admin"],
                                  ["users", "set-password", "nobody"]])
def test_unknown_users_are_a_one_line_error(env: Path, capsys, argv) -> None:  # noqa: ANN001
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "no user named 'nobody'" in err and "\n" not in err
