"""`pantau users add` / `pantau users list`: password from stdin, clear one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.cli.users_cmd import read_password
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
