"""Test fixtures: every database-backed test runs on SQLite and on PostgreSQL.

PostgreSQL: a fresh database is created on the server at INTERDICT_TEST_PG (default the local
trust-auth server at 127.0.0.1:5432) for the session and dropped afterwards.
INTERDICT_TEST_BACKENDS=sqlite (or postgresql) narrows the run to one backend.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from interdict.accounts import service as accounts
from interdict.accounts.schemas import OrganisationCreate, TokenCreate, UserCreate
from interdict.app import create_app
from interdict.config import Settings
from interdict.core import migrate
from interdict.core.db import Base, make_engine, make_sessionmaker, unit_of_work
from interdict.reference.loader import load_reference
from tests import oidc_provider as oidc_provider_module
from tests.oidc_provider import LocalProvider, running_provider

PG_ADMIN_URL = os.environ.get("INTERDICT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b.strip() for b in os.environ.get("INTERDICT_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
REFERENCE_TABLES = {
    "reference_datasets",
    "countries",
    "locations",
    "hs_codes",
    "substances",
    "substance_names",
    "substance_controls",
    "substance_hs",
    "substance_classes",
    "taxonomy_terms",
}
ACCOUNT_TABLES = {"organisations", "users", "api_tokens"}
# The audit trail is append-only (triggers refuse deletes): it runs on through the session; audit tests
# look at the entries after a marker and verify the whole chain.
AUDIT_TABLES = {"audit_entries", "audit_head"}
PASSWORD = "correct horse battery staple"


def _create_pg_database() -> str:
    name = f"interdict_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def prepared_database(kind: str, tmp: Path) -> Iterator[str]:
    url = f"sqlite:///{(tmp / 'test.db').as_posix()}" if kind == "sqlite" else _create_pg_database()
    engine = make_engine(url)
    migrate.upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        load_reference(session)
    engine.dispose()
    try:
        yield url
    finally:
        if kind == "postgresql":
            _drop_pg_database(url)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from prepared_database(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="session")
def app_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[LocalProvider]:
    """The agency's identity provider, for OpenID Connect sign-in (a real one on a local port)."""
    with running_provider() as provider:
        provider.redirect_uris.add("http://testserver/login/oidc/callback")
        yield provider


def oidc_settings(provider: LocalProvider) -> dict[str, Any]:
    return {
        "oidc_issuer": provider.url,
        "oidc_client_id": oidc_provider_module.CLIENT_ID,
        "oidc_client_secret": oidc_provider_module.CLIENT_SECRET,
        "oidc_label": "Test Agency ID",
    }


@pytest.fixture(scope="session")
def app(database_url: str, app_data_dir: Path, oidc_provider: LocalProvider) -> Iterator[FastAPI]:
    settings = Settings(
        database_url=database_url,
        data_dir=app_data_dir,
        secret_key="test-secret-key",
        linkage_worker=False,  # tests link explicitly (linkage.tasks.drain); tests/linkage starts a worker
        watch_worker=False,  # tests fire watch rules explicitly (watch.tasks.drain)
        notices_worker=False,  # tests run notices.tasks.tick with an injected time
        alerts_worker=False,  # tests move the clock themselves (alerts.tasks.tick with an injected now)
        delivery_worker=False,  # tests dispatch explicitly (notifications.tasks.drain) with an injected clock
        jobs_worker=False,  # tests run queued uploads explicitly (run_jobs, i.e. jobs.tasks.drain)
        **oidc_settings(oidc_provider),
    )
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


def clean(app: FastAPI, *, accounts_too: bool = False) -> None:
    """Empty every table but the reference data (and the shared world's accounts), so each test starts the same."""
    engine = app.state.engine
    keep = REFERENCE_TABLES | AUDIT_TABLES | (set() if accounts_too else ACCOUNT_TABLES)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in keep]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
            conn.execute(text("DELETE FROM incidents_fts"))
            conn.execute(text("DELETE FROM incidents_nominal_fts"))


@pytest.fixture
def client(app: FastAPI, world: World) -> Iterator[TestClient]:
    clean(app)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@dataclass
class World:
    """Organisations in two countries, users of every role, and an API token for each user."""

    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    def h(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def session(self) -> Any:
        return unit_of_work(self.app.state.sessionmaker)

    def subject(self, username: str) -> Any:
        with self.session() as s:
            return accounts.subject_by_username(s, username, channel="api")


ORGS = [
    dict(code="VNC", name="Vietnam Customs", kind="agency", country="VN"),
    dict(code="VNC-ASID", name="Anti-Smuggling Dept", kind="department", country="VN", parent_code="VNC"),
    dict(code="VNC-HP", name="Hai Phong Customs", kind="provincial_unit", country="VN", parent_code="VNC"),
    dict(code="VNC-HCM", name="HCMC Customs", kind="provincial_unit", country="VN", parent_code="VNC"),
    dict(code="VNP", name="Viet Nam Police (other agency)", kind="agency", country="VN"),
    dict(code="KHC", name="Cambodia Customs", kind="agency", country="KH"),
]
USERS = [
    ("admin", "admin", "VNC-ASID"),
    ("analyst", "analyst", "VNC-ASID"),
    ("officer.hp", "officer", "VNC-HP"),
    ("officer2.hp", "officer", "VNC-HP"),
    ("officer.hcm", "officer", "VNC-HCM"),
    ("viewer.hp", "viewer", "VNC-HP"),
    ("police", "officer", "VNP"),
    ("officer.kh", "officer", "KHC"),
]


@pytest.fixture(scope="session")
def world(app: FastAPI) -> World:
    """Created once per database; tests that add accounts give them unique names."""
    clean(app, accounts_too=True)
    w = World(app)
    with unit_of_work(app.state.sessionmaker) as s:
        for o in ORGS:
            accounts.create_organisation(s, OrganisationCreate.model_validate(o))
        for username, role, org in USERS:
            user = accounts.create_user(
                s,
                UserCreate(
                    username=username,
                    full_name=username.title(),
                    role=role,  # type: ignore[arg-type]
                    org_code=org,
                    password=PASSWORD,
                ),
            )
            scopes = ["read", "write", "admin"] if role == "admin" else ["read", "write"]
            token, _ = accounts.create_api_token(
                s,
                user,
                TokenCreate(name="tests", scopes=scopes),  # type: ignore[arg-type]
                pepper=app.state.pepper,
            )
            w.tokens[username] = token
    return w


def run_jobs(app: FastAPI) -> int:
    """Run every queued background job (imports, targeting loads) now, as the server's job worker would."""
    from interdict.jobs import tasks

    return tasks.drain(app.state.sessionmaker, app.state.settings)


def minimal_incident(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "incident_type": "stopped_shipment",
        "incident_date": "2026-03-14",
        "country": "VN",
        "locode": "VNCLI",
        "place_type": "seaport",
        "mode_of_transport": "sea",
        "origin_country": "CN",
        "departure_country": "CN",
        "departure_locode": "CNSHA",
        "transits": [{"country": "SG", "locode": "SGSIN"}],
        "destination_country": "VN",
        "destination_locode": "VNCLI",
        "containers": [{"number": "CSQU3054383", "seal_numbers": "SEAL123"}],
        "bl_awb": "SHA123456",
        "vessel_name": "MV Test Star",
        "vessel_imo": "9074729",
        "goods_description": "Industrial solvent",
        "declared_hs_code": "2915.24",
        "substances": [
            {
                "substance": "acetic anhydride",
                "quantity": "1200",
                "unit": "L",
                "purity_percent": "98.5",
                "form": "liquid",
                "lab_confirmation": "presumptive",
                "declared_as": "Acetic acid",
            }
        ],
        "parties": [
            {
                "role": "shipper",
                "kind": "company",
                "name": "Guangzhou Huada Chemical Trading Co., Ltd",
                "country": "CN",
            },
            {
                "role": "consignee",
                "kind": "company",
                "name": "CÔNG TY TNHH XNK HOÀNG PHÁT",
                "country": "VN",
                "tax_id": "0312345678",
                "phone": "+84 28 3822 1234",
                "email": "Info@HoangPhat.example",
            },
        ],
        "detection_method": "risk_profile",
        "modus": ["misdeclaration-goods"],
        "narrative": "Declared as acetic acid; field test indicated acetic anhydride. Hải Phòng team informed.",
    }
    body.update(overrides)
    return body


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After the summary, silence what the interpreter prints as it exits: DuckDB's bindings (nanobind) list their
    objects still alive at shutdown, pages of "leaked instance" lines that are harmless and made a passing run look
    like a failing one (issue 17 §8). Nothing of the run's result is printed after this point."""
    if "duckdb" in sys.modules or "rigour" in sys.modules:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
