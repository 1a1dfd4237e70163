"""`interdict users list|update|deactivate|reactivate|reset-password` as an administrator runs them (real
subprocesses on a scratch SQLite data directory), through the same service functions as the page and the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from interdict.accounts.models import User
from interdict.audit.models import AuditEntry
from tests.cli.test_cli import run
from tests.conftest import PASSWORD


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("users")
    for name, org in (("boss", "VNC"), ("deputy", "VNC"), ("other", "VNP")):
        r = run(["users", "create-admin", "--username", name, "--org", org, "--password-stdin"], d, stdin=PASSWORD)
        assert r.returncode == 0, r.stderr
    return d


def user(data_dir: Path, username: str) -> User:
    engine = create_engine(f"sqlite:///{data_dir / 'interdict.db'}")
    with Session(engine) as s:
        row = s.scalars(select(User).where(User.username == username)).one()
        s.expunge(row)
    engine.dispose()
    return row


def actions(data_dir: Path) -> list[tuple[str, str | None, str | None, str]]:
    engine = create_engine(f"sqlite:///{data_dir / 'interdict.db'}")
    with Session(engine) as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.actor_username, AuditEntry.object_label, AuditEntry.channel).order_by(
                AuditEntry.seq
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_update_list_deactivate_reactivate(data_dir: Path) -> None:
    r = run(["users", "update", "deputy", "--as", "boss", "--role", "officer", "--full-name", "Trần Phó"], data_dir)
    assert r.returncode == 0, r.stderr
    assert (user(data_dir, "deputy").role, user(data_dir, "deputy").full_name) == ("officer", "Trần Phó")
    listed = run(["users", "list", "--as", "boss"], data_dir)
    assert listed.returncode == 0 and "Trần Phó" in listed.stdout and "never" in listed.stdout
    assert "other" not in listed.stdout  # another agency's administrator
    r = run(["users", "deactivate", "deputy", "--as", "boss"], data_dir)
    assert r.returncode == 0 and not user(data_dir, "deputy").is_active
    r = run(["users", "reactivate", "deputy", "--as", "boss"], data_dir)
    assert r.returncode == 0 and user(data_dir, "deputy").is_active
    done = [a for a in actions(data_dir) if a[0].startswith("user.") and a[0] != "user.create"]
    assert done == [
        ("user.update", "boss", "deputy", "cli"),
        ("user.role", "boss", "deputy", "cli"),
        ("user.deactivate", "boss", "deputy", "cli"),
        ("user.reactivate", "boss", "deputy", "cli"),
    ]


def test_refusals_exit_1_and_change_nothing(data_dir: Path) -> None:
    # The last active administrator of the agency (deputy is an officer now, or not yet: either way boss is needed).
    run(["users", "update", "deputy", "--as", "boss", "--role", "officer"], data_dir)
    r = run(["users", "deactivate", "boss", "--as", "boss"], data_dir)
    assert r.returncode == 1 and "last active administrator" in r.stderr and user(data_dir, "boss").is_active
    r = run(["users", "update", "boss", "--as", "boss", "--role", "viewer"], data_dir)
    assert r.returncode == 1 and user(data_dir, "boss").role == "admin"
    # Another agency's user is not found; a non-administrator cannot act; a bad role is named.
    r = run(["users", "deactivate", "other", "--as", "boss"], data_dir)
    assert r.returncode == 1 and "not found" in r.stderr and user(data_dir, "other").is_active
    r = run(["users", "reactivate", "boss", "--as", "deputy"], data_dir)
    assert r.returncode == 1 and "administrators" in r.stderr
    r = run(["users", "update", "deputy", "--as", "boss", "--role", "chief"], data_dir)
    assert r.returncode == 1 and "role" in r.stderr


def test_reset_password_generated_or_chosen(data_dir: Path) -> None:
    r = run(["users", "reset-password", "deputy", "--as", "boss"], data_dir)
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("temporary password: "))
    temporary = line.removeprefix("temporary password: ").strip()
    assert len(temporary) >= 12 and user(data_dir, "deputy").must_change_password
    r = run(["users", "reset-password", "deputy", "--as", "boss", "--password-stdin"], data_dir, stdin="short\n")
    assert r.returncode == 1 and "at least 12 characters" in r.stderr
    r = run(
        ["users", "reset-password", "deputy", "--as", "boss", "--password-stdin"],
        data_dir,
        stdin="larch window quietly 41\n",
    )
    assert r.returncode == 0 and "temporary password:" not in r.stdout
    assert any(a[:2] == ("user.password_reset", "boss") for a in actions(data_dir))
