"""`interdict targeting load` and `interdict targeting retrain`: the workflow's commands, added to the
targeting command group (targeting/cli.py: fit, score, evaluate)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from interdict.targeting.cli import targeting_app

out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"error: {message}", highlight=False, markup=False)
    raise typer.Exit(code)


@targeting_app.command("load")
def load_cmd(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or JSON manifest / declarations file.")],
    mapping: Annotated[str, typer.Option("--mapping", help="Column mapping (YAML file or a shipped mapping's name).")],
    unit: Annotated[str, typer.Option("--unit", help="Code of the loading unit (e.g. VNC-HP).")],
    user: Annotated[str, typer.Option("--user", help="Username of the officer loading (an officer of the unit).")],
    batch_name: Annotated[str | None, typer.Option("--batch-name", help="Default: vessel voyage date.")] = None,
    report_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Load a file into a batch of the unit and score it; every rejected row is printed. Reloading the same file
    changes nothing; a changed record is updated in place."""
    from interdict.accounts.service import subject_by_username
    from interdict.cli import _factory, _settings, prepare_database
    from interdict.core.clock import utcnow
    from interdict.core.db import unit_of_work
    from interdict.core.errors import DomainError, InvalidInput
    from interdict.targeting import service

    settings = _settings()
    prepare_database(settings, quiet=True)
    if not file.is_file():
        _fail(f"{file}: no such file")
    if file.stat().st_size > settings.targeting_max_upload_bytes:
        _fail(f"{file} is larger than INTERDICT_TARGETING_MAX_UPLOAD_BYTES ({settings.targeting_max_upload_bytes})")
    _, factory = _factory(settings)
    try:
        with unit_of_work(factory) as session:
            subject = subject_by_username(session, user, channel="cli")
            if subject.org_code != unit:
                _fail(f"user '{user}' is not of unit '{unit}' (their unit: {subject.org_code})")
            summary = service.load_batch(session, subject, settings, file, mapping, batch_name=batch_name, now=utcnow())
            report = {
                "batch": summary.batch.name,
                "batch_id": str(summary.batch.id),
                "rows": summary.batch.rows,
                "new": summary.new,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected_rows": summary.batch.rejected,
                "rejections": [
                    {"row": r.row, "record_id": r.record_id, "field": r.field, "column": r.column, "reason": r.reason}
                    for r in summary.rejections
                ],
                "note": summary.note,
            }
    except InvalidInput as exc:
        for e in exc.errors:
            err.print(f"error: {e.path}: {e.msg}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    except DomainError as exc:
        _fail(exc.message)
    if report_json:
        out.print_json(json.dumps(report))
        return
    out.print(
        f"{report['batch']}: {report['new']} new, {report['updated']} updated, {report['unchanged']} unchanged; "
        f"{report['rejected_rows']} rows rejected",
        highlight=False,
    )
    for r in report["rejections"]:  # type: ignore[attr-defined]
        where = f"{r['field']} (column '{r['column']}')" if r["column"] else r["field"]
        out.print(f"  row {r['row']} [{r['record_id'] or '-'}]: {where}: {r['reason']}", highlight=False, markup=False)
    if report["note"]:
        out.print(str(report["note"]), highlight=False)


@targeting_app.command("retrain")
def retrain_cmd(
    mapping: Annotated[str, typer.Option("--mapping", help="Mapping the model is fitted with (YAML or shipped name).")],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Model directory to write (replaced atomically); default: DATA_DIR/targeting-model, which the "
            "server uses when INTERDICT_TARGETING_MODEL is unset.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Fit the model on every record with a PCU outcome in the database (irregularity or seizure = positive)."""
    from interdict.cli import _factory, _settings, prepare_database
    from interdict.core.db import unit_of_work
    from interdict.core.errors import InvalidInput
    from interdict.targeting import tasks

    settings = _settings()
    prepare_database(settings, quiet=True)
    _, factory = _factory(settings)
    model = model or settings.default_targeting_model
    try:
        with unit_of_work(factory) as session:
            n = tasks.retrain(session, mapping, model, seed=seed)
    except InvalidInput as exc:
        for e in exc.errors:
            err.print(f"error: {e.path}: {e.msg}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    out.print(f"model fitted on {n} records with outcomes; written to {model}", highlight=False)
