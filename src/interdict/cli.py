"""The `interdict` command line."""

from __future__ import annotations

import getpass
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from interdict.config import Settings
from interdict.targeting import commands as _targeting_commands  # noqa: F401  (load, retrain)
from interdict.targeting.cli import targeting_app

app = typer.Typer(help="Interdict: record, share, link and act on drug and precursor incidents.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and organisations.", no_args_is_help=True)
reference_app = typer.Typer(help="Reference data (substances, HS, UN/LOCODE, countries).", no_args_is_help=True)
import_app = typer.Typer(help="Import records.", no_args_is_help=True)
export_app = typer.Typer(help="Export records.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(reference_app, name="reference")
app.add_typer(import_app, name="import")
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(export_app, name="export")
app.add_typer(audit_app, name="audit")
linkage_app = typer.Typer(help="Linkage: name matching, entity links.", no_args_is_help=True)
app.add_typer(linkage_app, name="linkage")
notices_app = typer.Typer(help="Warning notices: deadline reminders and overdue notices.", no_args_is_help=True)
app.add_typer(notices_app, name="notices")
alerts_app = typer.Typer(help="Rapid alerts: reminders and escalations.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
notifications_app = typer.Typer(help="Notification delivery: e-mail and webhooks.", no_args_is_help=True)
app.add_typer(notifications_app, name="notifications")
app.add_typer(targeting_app, name="targeting")
jobs_app = typer.Typer(help="Background jobs: imports and targeting loads uploaded through the pages and the API.")
app.add_typer(jobs_app, name="jobs")
console = Console(stderr=True)
out = Console()


class Fmt(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


def _settings() -> Settings:
    return Settings()


def _factory(settings: Settings):  # type: ignore[no-untyped-def]
    from interdict import renderers
    from interdict.core.db import make_engine, make_sessionmaker
    from interdict.notifications import delivery

    # Every command that may create notifications plans their e-mail and webhook deliveries, as the server does.
    delivery.install(settings)
    renderers.install()
    engine = make_engine(settings.effective_database_url)
    return engine, make_sessionmaker(engine)


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def prepare_database(settings: Settings, *, quiet: bool = False) -> None:
    """Migrate the schema and load the reference data if needed (both idempotent)."""
    from interdict.core import migrate
    from interdict.core.db import unit_of_work
    from interdict.reference.loader import load_reference

    settings.ensure_dirs()
    engine, factory = _factory(settings)
    migrate.upgrade(engine)
    with unit_of_work(factory) as session:
        report = load_reference(
            session,
            progress=None if quiet else (lambda names: console.print(f"loading reference data: {names}")),
        )
    if report.loaded and not quiet:
        console.print("reference data: " + ", ".join(f"{k} {v}" for k, v in report.loaded.items()))
    engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the latest version (safe to run any number of times)."""
    from interdict.core import migrate

    settings = _settings()
    settings.ensure_dirs()
    engine, _ = _factory(settings)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    after = migrate.current_revision(engine)
    out.print(f"schema at {after}" + ("" if before != after else " (already up to date)"))


@db_app.command("current")
def db_current() -> None:
    """Show the schema version."""
    from interdict.core import migrate

    engine, _ = _factory(_settings())
    out.print(f"current: {migrate.current_revision(engine)}  head: {migrate.head_revision(engine)}")


@reference_app.command("load")
def reference_load(
    force: Annotated[bool, typer.Option(help="Reload even unchanged data sets.")] = False,
) -> None:
    """Load the versioned reference data files into the database (unchanged data sets are skipped)."""
    from interdict.core import migrate
    from interdict.core.db import unit_of_work
    from interdict.reference.loader import load_reference

    settings = _settings()
    engine, factory = _factory(settings)
    migrate.upgrade(engine)
    with unit_of_work(factory) as session:
        report = load_reference(session, force=force, progress=lambda n: console.print(f"loading {n} …"))
    for name, count in report.loaded.items():
        out.print(f"loaded {name}: {count} rows")
    for name in report.skipped:
        out.print(f"unchanged {name}")


@reference_app.command("status")
def reference_status() -> None:
    """Which reference data sets are loaded, in which version."""
    from sqlalchemy import select

    from interdict.core.db import unit_of_work
    from interdict.reference.models import ReferenceDataset

    _, factory = _factory(_settings())
    table = Table("dataset", "version", "rows", "loaded at")
    with unit_of_work(factory) as session:
        for d in session.scalars(select(ReferenceDataset).order_by(ReferenceDataset.name)):
            table.add_row(d.name, d.version, str(d.row_count), d.loaded_at.isoformat(timespec="seconds"))
    out.print(table)


@reference_app.command("unlocode-convert")
def reference_unlocode_convert(
    files: Annotated[list[Path], typer.Argument(help="UNECE's code list files of one release (CodeListPart1/2/3).")],
    out_file: Annotated[Path, typer.Option("--out", help="The UTF-8 file to write, e.g. unlocode-2025-1.csv.")],
) -> None:
    """Convert a UNECE UN/LOCODE release into the shipped file format (see reference/data/unlocode/SOURCES.md)."""
    from interdict.reference.unlocode import convert_release

    rows, countries = convert_release(files, out_file)
    out.print(f"wrote {out_file.name}: {rows} rows, {countries} countries")
    out.print("next: point the 'unlocode' row of reference/data/datasets.csv at it, then 'interdict reference load'")


@users_app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(prompt=True)],
    org_code: Annotated[str, typer.Option("--org", help="Organisation code; created as an agency if missing.")],
    full_name: Annotated[str, typer.Option(help="Display name.")] = "",
    org_name: Annotated[str | None, typer.Option(help="Name of the organisation, when it is created.")] = None,
    country: Annotated[str, typer.Option(help="ISO country code of the organisation, when it is created.")] = "VN",
    time_zone: Annotated[
        str | None,
        typer.Option(help="IANA time zone of the organisation, when it is created (default: its country's)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an administrator (and its organisation if needed)."""
    from pydantic import ValidationError

    from interdict.accounts import service
    from interdict.accounts.schemas import OrganisationCreate, UserCreate
    from interdict.core.db import unit_of_work
    from interdict.core.errors import DomainError, from_validation_error

    settings = _settings()
    prepare_database(settings, quiet=True)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("Password: ")
    _, factory = _factory(settings)
    try:
        with unit_of_work(factory) as session:
            if service.get_org_by_code(session, org_code) is None:
                service.create_organisation(
                    session,
                    OrganisationCreate(
                        code=org_code, name=org_name or org_code, kind="agency", country=country, time_zone=time_zone
                    ),
                )
            service.create_user(
                session,
                UserCreate(
                    username=username,
                    full_name=full_name or username,
                    role="admin",
                    org_code=org_code,
                    password=password,
                ),
            )
    except ValidationError as exc:
        _fail(from_validation_error(exc).message)
    except DomainError as exc:
        _fail(exc.message)
    out.print(f"administrator '{username}' created in {org_code}")


AsAdmin = Annotated[
    str, typer.Option("--as", help="The administrator acting (their agency's users only; audited as them).")
]


def _admin_action(acting: str, username: str, action):  # type: ignore[no-untyped-def]
    """Run ``action(session, subject, user)`` as the administrator ``acting`` on ``username``, in one unit of
    work; a refusal (not an administrator, another agency's user, the last administrator) exits 1."""
    from pydantic import ValidationError

    from interdict.accounts import admin
    from interdict.accounts.service import subject_by_username
    from interdict.core.db import unit_of_work
    from interdict.core.errors import DomainError, from_validation_error

    _, factory = _factory(_settings())
    try:
        with unit_of_work(factory) as session:
            subject = subject_by_username(session, acting, channel="cli")
            return action(session, subject, admin.managed_user_by_username(session, subject, username))
    except ValidationError as exc:
        _fail(from_validation_error(exc).message)
    except DomainError as exc:
        _fail(exc.message)


@users_app.command("list")
def users_list(acting: AsAdmin) -> None:
    """The users of your agency: unit, role, whether active, last login, two-factor authentication."""
    from interdict.accounts import service
    from interdict.accounts.service import subject_by_username
    from interdict.core.db import unit_of_work
    from interdict.core.errors import DomainError
    from interdict.sharing.service import require_admin

    _, factory = _factory(_settings())
    table = Table("username", "name", "unit", "role", "active", "last login (UTC)", "2FA")
    try:
        with unit_of_work(factory) as session:
            subject = subject_by_username(session, acting, channel="cli")
            require_admin(subject, "only administrators list users")
            orgs = {o.id: o for o in service.tree_organisations(session, subject)}
            for u in service.list_users(session, org_ids=list(orgs)):
                last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
                state = ("yes" if u.is_active else "no") + (" (must change password)" if u.must_change_password else "")
                table.add_row(
                    u.username, u.full_name, orgs[u.org_id].name, u.role, state, last, "on" if u.two_factor else "off"
                )
    except DomainError as exc:
        _fail(exc.message)
    out.print(table)


@users_app.command("update")
def users_update(
    username: Annotated[str, typer.Argument(help="The user to change.")],
    acting: AsAdmin,
    full_name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    email: Annotated[str | None, typer.Option(help="New e-mail address ('' removes it).")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Code of the user's new unit (of your agency).")] = None,
    locale: Annotated[str | None, typer.Option(help="Language: en or vi.")] = None,
    role: Annotated[str | None, typer.Option(help="admin, analyst, officer, viewer or auditor.")] = None,
) -> None:
    """Change a user's details or role (only the options given change)."""
    from interdict.accounts import admin
    from interdict.accounts.schemas import UserUpdate

    given = {"full_name": full_name, "email": email, "org_code": unit, "locale": locale, "role": role}

    def run(session, subject, user):  # type: ignore[no-untyped-def]
        admin.update_user(
            session, subject, user, UserUpdate.model_validate({k: v for k, v in given.items() if v is not None})
        )

    _admin_action(acting, username, run)
    out.print(f"user '{username}' updated")


@users_app.command("deactivate")
def users_deactivate(username: Annotated[str, typer.Argument()], acting: AsAdmin) -> None:
    """The user can no longer sign in; their sessions end and their API tokens are revoked at once."""
    from interdict.accounts import admin

    _admin_action(acting, username, admin.deactivate_user)
    out.print(f"user '{username}' deactivated")


@users_app.command("reactivate")
def users_reactivate(username: Annotated[str, typer.Argument()], acting: AsAdmin) -> None:
    """The user can sign in again."""
    from interdict.accounts import admin

    _admin_action(acting, username, admin.reactivate_user)
    out.print(f"user '{username}' reactivated")


@users_app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Argument()],
    acting: AsAdmin,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the temporary password from standard input.")
    ] = False,
) -> None:
    """Set a temporary password (read from standard input, or generated and printed once); the user must change
    it at their next sign-in."""
    from interdict.accounts import admin

    chosen = sys.stdin.readline().rstrip("\n") if password_stdin else None
    generated = _admin_action(acting, username, lambda s, subj, u: admin.reset_password(s, subj, u, chosen))
    out.print(f"password of '{username}' reset; the user must change it at the next sign-in")
    if generated:
        out.print(f"temporary password: {generated}")


@users_app.command("org-time-zone")
def org_time_zone(
    org_code: Annotated[str, typer.Argument(help="Organisation code.")],
    zone: Annotated[
        str | None,
        typer.Argument(help="IANA time zone, e.g. Asia/Ho_Chi_Minh; leave out to show the current one."),
    ] = None,
    country_default: Annotated[
        bool, typer.Option("--country-default", help="Set the zone of the organisation's country.")
    ] = False,
) -> None:
    """Show or set the time zone in which an organisation's users see times (each user may choose their own)."""
    from pydantic import ValidationError

    from interdict.accounts import service
    from interdict.accounts.schemas import OrganisationChange
    from interdict.audit import service as audit
    from interdict.core.db import unit_of_work
    from interdict.core.errors import from_validation_error

    settings = _settings()
    prepare_database(settings, quiet=True)
    _, factory = _factory(settings)
    try:
        body = OrganisationChange(time_zone=zone)
    except ValidationError as exc:
        _fail(from_validation_error(exc).message)
    with unit_of_work(factory) as session:
        org = service.get_org_by_code(session, org_code)
        if org is None:
            _fail(f"no organisation with code '{org_code}'")
        assert org is not None
        if zone is None and not country_default:
            out.print(org.time_zone)
            return
        before = service.set_time_zone(org, body.time_zone)
        if before != org.time_zone:
            audit.record(
                session,
                None,
                "organisation.time_zone",
                object_type="organisation",
                object_id=org.id,
                object_label=org.code,
                before={"time_zone": before},
                after={"time_zone": org.time_zone},
                channel="cli",
            )
    out.print(f"{org_code}: {org.time_zone}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Migrate if needed and serve the web UI and API."""
    import uvicorn

    settings = _settings()
    prepare_database(settings)
    if workers > 1 and settings.effective_database_url.startswith("sqlite"):
        _fail("several workers need PostgreSQL (INTERDICT_DATABASE_URL); SQLite serves one process")
    console.print(f"Interdict at http://{host}:{port}  (database: {_safe_url(settings)})")
    uvicorn.run(
        "interdict.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # X-Forwarded-* are read by the application, and only from INTERDICT_TRUSTED_PROXIES (core/proxy.py):
        # uvicorn's own handling would believe them from any local peer.
        proxy_headers=False,
        # Open live streams (Server-Sent Events) never end by themselves: on shutdown, close them after 5 s
        # (browsers reconnect to another process and resume with Last-Event-ID).
        timeout_graceful_shutdown=5,
        # An idle keep-alive connection is closed after 75 s, not uvicorn's 5 s: longer than a reverse proxy's or a
        # client's own idle time (nginx upstream keepalive 60 s), so the server never closes a connection just as a
        # request is sent on it (a connection reset, seen once in the 30-minute soak run with 2-4 s think times).
        timeout_keep_alive=75,
    )


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    incidents: Annotated[int, typer.Option(help="How many demo incidents to generate (first run only).")] = 400,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Seed only; do not start the server.")] = False,
) -> None:
    """Create the demo data (once) and serve Interdict with it."""
    from interdict.demo.seed import run

    settings = _settings()
    prepare_database(settings)
    _, factory = _factory(settings)
    result = run(factory, data_dir=settings.data_dir, incidents_count=incidents, settings=settings)
    if result.already_seeded:
        console.print("demo data already present (not duplicated)")
    else:
        console.print(f"demo data created: {result.created_incidents} incidents (labelled as demo data)")
    t = result.targeting
    if t is not None and (t.model_records or t.load_name):
        fitted = f"model fitted on {t.model_records} sample records, " if t.model_records else ""
        loaded = f"'{t.load_name}' loaded and ranked ({t.loaded} records)" if t.load_name else ""
        console.print(
            f"targeting demo: {fitted}{t.profiles_created} risk profiles, {loaded} in {t.seconds} s ({t.cpu_seconds} s CPU)"
        )
    console.print(
        f"\n  Interdict:  http://{host}:{port}\n  log in as:  admin  (or {', '.join(result.users[1:])})"
        f"\n  password:   {result.password}\n",
        highlight=False,
    )
    if not no_serve:
        import uvicorn

        os.environ["INTERDICT_DEMO"] = "true"  # the served app says it is the demo (banner, demo users)
        uvicorn.run(
            "interdict.app:create_app",
            factory=True,
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=False,  # only INTERDICT_TRUSTED_PROXIES are believed (core/proxy.py)
        )


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@import_app.command("incidents")
def import_incidents(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or XLSX file.")],
    user: Annotated[
        str,
        typer.Option("--user", "-u", help="Username the incidents are recorded as (owner: the user's unit)."),
    ],
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="Write the valid rows; rejected rows go to a rejection file."),
    ] = False,
    rejections: Annotated[
        Path | None, typer.Option(help="Where to write rejected rows (CSV); default FILE.rejected.csv.")
    ] = None,
    report_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import incidents (format: docs/import-format.md). Nothing is written if any row is rejected, unless --skip-invalid."""
    from interdict.accounts.service import subject_by_username
    from interdict.core.db import unit_of_work
    from interdict.core.errors import DomainError
    from interdict.incidents import importexport

    settings = _settings()
    prepare_database(settings, quiet=True)
    if file.stat().st_size > settings.max_import_bytes:
        _fail(f"{file} is larger than the import limit ({settings.max_import_bytes} bytes; INTERDICT_MAX_IMPORT_BYTES)")
    _, factory = _factory(settings)
    report = None
    try:
        with _progress() as progress, unit_of_work(factory) as session:
            task = progress.add_task("checking and importing", total=None)
            subject = subject_by_username(session, user, channel="cli")
            report = importexport.import_file(
                session,
                subject,
                file,
                skip_invalid=skip_invalid,
                limits=importexport.import_limits(settings),
                progress=lambda n: progress.advance(task, n),
                on_total=lambda n: progress.update(task, total=n),
            )
    except DomainError as exc:
        _fail(exc.message, 2)
    assert report is not None
    if report_json:
        out.print_json(importexport.report_json(report))
    for r in report.rejected[:200]:
        console.print(f"line {r.line}: {r.message()}", highlight=False, markup=False)
    if len(report.rejected) > 200:
        console.print(f"… and {len(report.rejected) - 200} more rejected rows (see the rejection file)")
    if report.rejected:
        target = rejections or file.with_suffix(".rejected.csv")
        importexport.write_rejections(target, report)
        console.print(f"{len(report.rejected)} of {report.rows} rows rejected; details in {target}")
    if report.rejected and not skip_invalid:
        console.print("nothing was imported (fix the rows, or use --skip-invalid to import the valid ones)")
        raise typer.Exit(1)
    out.print(f"imported {report.imported} of {report.rows} rows")


@export_app.command("incidents")
def export_incidents(
    user: Annotated[str, typer.Option("--user", "-u", help="Export what this user can read.")],
    fmt: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.csv,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write; default interdict-incidents.<format>."),
    ] = None,
    q: Annotated[str | None, typer.Option(help="Free-text filter.")] = None,
    filter_json: Annotated[
        str | None, typer.Option("--filter", help="Filter tree (JSON) in the filter language.")
    ] = None,
    nominal: Annotated[
        bool, typer.Option("--nominal/--non-nominal", help="--non-nominal leaves out the data of natural persons.")
    ] = True,
) -> None:
    """Export incidents in the documented column format (CSV, XLSX) or as JSON.

    TLP:RED records are never exported; every row carries its TLP marking."""
    from pydantic import ValidationError

    from interdict.accounts.service import subject_by_username
    from interdict.core.db import unit_of_work
    from interdict.core.errors import DomainError
    from interdict.core.filters import Group
    from interdict.core.spreadsheet import staged
    from interdict.incidents import importexport

    settings = _settings()
    _, factory = _factory(settings)
    target = output or Path(f"interdict-incidents.{fmt.value}")
    node = None
    if filter_json:
        try:
            node = Group.model_validate(json.loads(filter_json))
        except (ValueError, ValidationError) as exc:
            _fail(f"--filter is not a valid filter: {exc}")
    try:
        # The file appears only once the export's audit entry is committed (staged).
        with staged(target) as part, _progress() as progress, unit_of_work(factory) as session:
            task = progress.add_task("exporting", total=None)
            subject = subject_by_username(session, user, channel="cli")
            n = importexport.export_to_file(
                session,
                subject,
                part,
                fmt=fmt.value,
                filter_node=node,
                q=q,
                progress=lambda k: progress.advance(task, k),
                on_total=lambda t: progress.update(task, total=t),
                nominal=nominal,
            )
    except DomainError as exc:
        _fail(exc.message, 2)
    out.print(f"exported {n} incidents to {target}")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            "-c",
            help="A checkpoint file (interdict audit checkpoint) kept outside the system; repeatable. The trail must "
            "still hold each checkpointed entry with the same hash.",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(help="The key the checkpoints were signed with (default: this server's, from its secret key)."),
    ] = None,
) -> None:
    """Recompute the hash chain of the whole trail; exit 1 and name each edited, deleted or reordered entry, and
    each checkpointed entry the trail no longer holds as it was."""
    from interdict.audit import checkpoint as checkpoints
    from interdict.audit import service as audit
    from interdict.core.db import unit_of_work

    settings = _settings()
    key = public_key or checkpoints.public_key(settings.effective_secret_key())
    try:  # a forged or edited checkpoint is refused before anything is read
        docs = [(path, checkpoints.load(path, expected_key=key)) for path in checkpoint or []]
    except checkpoints.BadCheckpoint as exc:
        _fail(str(exc), 2)
    _, factory = _factory(settings)
    with _progress() as progress, unit_of_work(factory) as session:
        total = audit.count(session)
        task = progress.add_task("verifying", total=total)
        report = audit.verify(session, progress=lambda k: progress.advance(task, k))
        findings = [(path, f) for path, doc in docs if (f := checkpoints.check(session, doc)) is not None]
    for p in report.problems:
        out.print(f"[red]{p.kind}[/red] at entry {p.seq}: {p.message}")
    for path, f in findings:
        out.print(f"[red]checkpoint[/red] {path.name}: {f.message}")
    if report.intact and not findings:
        anchored = f"; {len(docs)} checkpoint(s) hold" if docs else ""
        out.print(f"audit trail intact: {report.entries} entries, last {report.last_seq}{anchored}")
        return
    _fail(
        f"the audit trail is NOT intact: {len(report.problems) + len(findings)} problem(s) in {report.entries} entries"
    )


@audit_app.command("checkpoint")
def audit_checkpoint(
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the checkpoint here; default: a new file in INTERDICT_AUDIT_CHECKPOINT_DIR, or the screen.",
        ),
    ] = None,
) -> None:
    """A signed checkpoint of the trail's newest entry, to print or keep outside the system (see
    `audit verify --checkpoint`). Prints the public key that checks it."""
    from interdict.audit import checkpoint as checkpoints
    from interdict.core.clock import utcnow
    from interdict.core.db import unit_of_work

    settings = _settings()
    _, factory = _factory(settings)
    secret = settings.effective_secret_key()
    try:
        with unit_of_work(factory) as session:
            doc = checkpoints.take(session, secret, now=utcnow())
            if out_file is not None:
                out_file.write_text(checkpoints.dumps(doc), encoding="utf-8")
                where: str | None = str(out_file)
            elif settings.audit_checkpoint_dir is not None:
                where = str(checkpoints.write(settings.audit_checkpoint_dir, doc))
            else:
                where = None
    except checkpoints.BadCheckpoint as exc:
        _fail(str(exc))
    if where is None:
        sys.stdout.write(checkpoints.dumps(doc))
    else:
        out.print(f"checkpoint of entry {doc['seq']} written to {where}")
    console.print(f"public key (Ed25519): {doc['public_key']}")


@audit_app.command("export")
def audit_export(
    user: Annotated[str, typer.Option("--user", "-u", help="An auditor or administrator; exports what they may see.")],
    output: Annotated[Path, typer.Option("--output", "-o")] = Path("interdict-audit.csv"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json")] = "csv",
    date_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
) -> None:
    """Export the audit trail (with each entry's hash, so the copy can be checked against the chain).

    CSV cells that begin with a formula character carry a leading quote (docs/security.md)."""
    from datetime import date

    from interdict.accounts.service import subject_by_username
    from interdict.audit import service as audit
    from interdict.core import spreadsheet
    from interdict.core.db import unit_of_work
    from interdict.core.errors import DomainError

    if fmt not in ("csv", "json"):
        _fail("--format must be csv or json", 2)
    try:
        f = audit.AuditFilter(
            date_from=date.fromisoformat(date_from) if date_from else None,
            date_to=date.fromisoformat(date_to) if date_to else None,
        )
    except ValueError as exc:
        _fail(f"--from/--to: {exc} (use YYYY-MM-DD)", 2)
    settings = _settings()
    _, factory = _factory(settings)
    n = 0
    try:
        # The file appears only once the export's audit entry is committed (staged).
        with spreadsheet.staged(output) as part, unit_of_work(factory) as session:
            subject = subject_by_username(session, user, channel="cli")
            rows = (audit.export_row(e) for e in audit.iter_entries(session, subject, f))
            with part.open("w", encoding="utf-8", newline="") as fh:
                if fmt == "csv":
                    writer = spreadsheet.DictWriter(fh, audit.EXPORT_COLUMNS)
                    writer.writeheader()
                    for row in rows:
                        writer.writerow(row)
                        n += 1
                else:
                    fh.write("[\n")
                    for row in rows:
                        fh.write(("" if n == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
                        n += 1
                    fh.write("\n]\n")
            audit.record(
                session,
                subject,
                "audit.export",
                object_type="export",
                object_label=output.name,
                summary=f"{n} entries exported as {fmt}",
                after={"format": fmt, "from": date_from, "to": date_to, "rows": n},
            )
    except DomainError as exc:
        _fail(exc.message, 2)
    out.print(f"exported {n} audit entries to {output}")


@linkage_app.command("rebuild")
def linkage_rebuild() -> None:
    """Re-extract the entities of every submitted incident and re-link them (judgements are kept)."""
    from sqlalchemy import func, select

    from interdict.core.db import unit_of_work
    from interdict.incidents.models import Incident
    from interdict.linkage import service as linkage

    settings = _settings()
    _, factory = _factory(settings)
    with _progress() as progress, unit_of_work(factory) as session:
        total = session.scalar(select(func.count()).select_from(Incident).where(Incident.status != "draft")) or 0
        task = progress.add_task("linking", total=total)
        done = linkage.rebuild(session, progress=lambda k: progress.advance(task, k), say=progress.console.print)
    out.print(f"linked {done} incidents")


@linkage_app.command("run")
def linkage_run(
    once: Annotated[bool, typer.Option("--once", help="Process what is pending, then stop.")] = False,
) -> None:
    """Link new and changed incidents as they come (the server does this itself unless INTERDICT_LINKAGE_WORKER=false)."""
    import time

    from interdict.linkage.tasks import drain

    settings = _settings()
    _, factory = _factory(settings)
    while True:
        n = drain(factory)
        if n:
            out.print(f"linked the incidents of {n} events")
        if once:
            return
        time.sleep(settings.linkage_interval_seconds)


@jobs_app.command("run")
def jobs_run(
    once: Annotated[bool, typer.Option("--once", help="Run what is queued, then stop.")] = False,
    parent: Annotated[
        int | None, typer.Option("--parent", help="Stop when this process (the server that started it) is gone.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing (errors are logged).")] = False,
) -> None:
    """Run queued imports and targeting loads as they come (each server starts this as its child process unless
    INTERDICT_JOBS_WORKER is thread or off). Jobs left running by a process that died are marked failed first."""
    import os
    import time

    from interdict.jobs import tasks

    if parent is not None:  # a server's child: its shutdown must not print native bindings' leak lists
        from interdict.core.quietexit import quiet_at_exit

        quiet_at_exit()
    settings = _settings()
    settings.ensure_dirs()
    _, factory = _factory(settings)
    swept = tasks.sweep(factory, settings)
    if swept and not quiet:
        out.print(f"marked {swept} job(s) failed: their process stopped while they ran")
    while True:
        n = tasks.drain(factory, settings)
        if n and not quiet:
            out.print(f"ran {n} job(s)")
        if once or (parent is not None and os.getppid() != parent):
            return
        time.sleep(settings.jobs_interval_seconds)


@alerts_app.command("tick")
def alerts_tick() -> None:
    """Send the reminders and escalations now due for unacknowledged alerts (the server does this itself
    unless INTERDICT_ALERTS_WORKER=false; run this from a timer then)."""
    from interdict.alerts.service import Delays
    from interdict.alerts.tasks import run_once

    settings = _settings()
    _, factory = _factory(settings)
    result = run_once(factory, Delays.from_settings(settings))
    for reference, unit in result.reminded:
        out.print(f"reminded {unit} of {reference}")
    for reference, unit in result.escalated:
        out.print(f"escalated {reference}: {unit} has not acknowledged")
    out.print(f"{len(result.reminded)} reminder(s), {len(result.escalated)} escalation(s)")


@linkage_app.command("score-pairs")
def linkage_score_pairs(
    file: Annotated[Path, typer.Argument(help="CSV with columns name1,name2 and optionally schema.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Where to write the rows with score and match.")],
) -> None:
    """Score name pairs: the same rows plus score (0-1) and match (true/false at the product's link threshold)."""
    from interdict.linkage.pairs import PairsFileError, score_csv
    from interdict.linkage.score import DEFAULT_THRESHOLD

    if not file.is_file():
        _fail(f"{file}: no such file", 2)
    try:
        n = score_csv(file, out_path)
    except PairsFileError as exc:
        _fail(str(exc), 2)
    except UnicodeDecodeError:
        _fail(f"{file}: not UTF-8 text (save the CSV as UTF-8)", 2)
    typer.echo(f"scored {n} pairs into {out_path} (match = score >= {DEFAULT_THRESHOLD})")


@notices_app.command("tick")
def notices_tick(
    now: Annotated[
        str | None, typer.Option("--now", help="Act as if it were this time (ISO 8601, UTC); default: now.")
    ] = None,
) -> None:
    """Remind units whose results report is due soon and report overdue ones, once each (the server does this
    itself unless INTERDICT_NOTICES_WORKER=false)."""
    from datetime import UTC, datetime

    from interdict.notices.tasks import run_once

    at = None
    if now:
        try:
            at = datetime.fromisoformat(now)
        except ValueError:
            _fail(f"--now: '{now}' is not an ISO 8601 time (e.g. 2026-03-31T08:00:00)", 2)
        assert at is not None
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    settings = _settings()
    _, factory = _factory(settings)
    result = run_once(factory, remind_days=settings.notice_remind_days, now=at)
    out.print(f"reminded {result.reminded} unit(s); {result.overdue} unit(s) newly overdue")


@notifications_app.command("dispatch")
def notifications_dispatch(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then stop.")] = False,
) -> None:
    """Send planned e-mails and webhook messages as they fall due (the server does this itself unless
    INTERDICT_DELIVERY_WORKER=false)."""
    import time

    from interdict.core.clock import utcnow
    from interdict.notifications.tasks import DispatchConfig, drain

    settings = _settings()
    _, factory = _factory(settings)
    cfg = DispatchConfig.from_settings(settings)
    if cfg.smtp is None:
        console.print("e-mail is off (INTERDICT_SMTP_HOST is not set): only webhooks are sent")
    while True:
        n = drain(factory, cfg, now=utcnow())
        if n:
            out.print(f"dispatched {n} deliveries")
        if once:
            return
        time.sleep(settings.delivery_interval_seconds)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
