"""The audit trail page for auditors and administrators, with filters and a CSV export."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from interdict.audit import service
from interdict.core import spreadsheet
from interdict.core.deps import SessionDep
from interdict.core.errors import FieldError, InvalidInput
from interdict.core.i18n import N_
from interdict.web.deps import WebSubject
from interdict.web.templating import render

router = APIRouter(include_in_schema=False)
FILTERS = ("actor", "action", "object", "channel", "date_from", "date_to")


def _filter(request: Request) -> tuple[service.AuditFilter, dict[str, str]]:
    qp = request.query_params
    values = {k: qp.get(k, "").strip()[:200] for k in FILTERS}
    dates: dict[str, date | None] = {}
    for k in ("date_from", "date_to"):
        try:
            dates[k] = date.fromisoformat(values[k]) if values[k] else None
        except ValueError:
            raise InvalidInput(
                FieldError((k,), N_("'%(value)s' is not a date (YYYY-MM-DD)", value=values[k]))
            ) from None
    before = qp.get("before", "")
    f = service.AuditFilter(
        actor=values["actor"] or None,
        action=values["action"] or None,
        object=values["object"] or None,
        channel=values["channel"] or None,
        date_from=dates["date_from"],
        date_to=dates["date_to"],
        before_seq=int(before) if before.isdigit() else None,
    )
    return f, values


@router.get("/audit")
def audit_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    f, values = _filter(request)
    entries = service.page(db, subject, f, size=100)
    query: dict[str, Any] = {k: v for k, v in values.items() if v}
    return render(
        request,
        "audit/list.html",
        {
            "entries": entries,
            "values": values,
            "query": query,
            "next_before": entries[-1].seq if len(entries) == 100 else None,
        },
    )


@router.get("/audit/export.csv")
def audit_export(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    f, values = _filter(request)
    buf = io.StringIO()
    writer = spreadsheet.DictWriter(buf, service.EXPORT_COLUMNS)
    writer.writeheader()
    n = 0
    for e in service.iter_entries(db, subject, f):
        writer.writerow(service.export_row(e))
        n += 1
    service.record(
        db,
        subject,
        "audit.export",
        object_type="export",
        object_label="interdict-audit.csv",
        summary=f"{n} entries exported as csv",
        after={"format": "csv", "filter": {k: v for k, v in values.items() if v}, "rows": n},
    )
    return StreamingResponse(
        iter([buf.getvalue().encode("utf-8-sig")]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="interdict-audit.csv"'},
    )
