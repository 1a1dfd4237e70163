"""Warning notice pages: list and search, draft form, detail with the workflow, the issuer's dashboard and the
overdue view. Every read goes through notices.service (its one predicate); the document export is the API's
/api/v1/notices/{id}/export.docx (cookie-authenticated GET)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile

from interdict.accounts.models import Organisation
from interdict.accounts.subject import Subject
from interdict.core.clock import utcnow
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import Conflict, FieldError, InvalidInput, from_validation_error
from interdict.core.i18n import N_
from interdict.core.localtime import local_today
from interdict.core.pagination import MAX_PAGE, PageParams
from interdict.incidents import attachments as files
from interdict.incidents.vocab import DISTRIBUTIONS, TLPS
from interdict.notices import service as svc
from interdict.notices.models import INDICATOR_KINDS, NOTICE_STATUSES, REPORT_RESULTS
from interdict.notices.schemas import NoticeBase, NoticeCreate, NoticePatch, ReportBody
from interdict.sharing import groups as sharing_groups
from interdict.sharing.service import TLP_EXPORT_FORBIDDEN, can_edit, require_writer
from interdict.web.deps import CheckedForm, WebSubject
from interdict.web.forms import validate_all
from interdict.web.templating import render

router = APIRouter()


def _(message: str) -> str:
    """Marks ``message`` for extraction (scripts/i18n-update); templates translate it at render time."""
    return message


STATUS_LABELS = {
    "draft": _("Draft"),
    "submitted": _("Awaiting approval"),
    "approved": _("Approved"),
    "issued": _("Issued"),
    "closed": _("Closed"),
}
KIND_LABELS = {
    "hs_code": _("HS code"),
    "company": _("Company"),
    "route": _("Route"),
    "container": _("Container"),
    "vessel": _("Vessel"),
    "method": _("Method or concealment"),
    "other": _("Other"),
}
RESULT_LABELS = {
    "nothing_found": _("Nothing found"),
    "irregularity": _("Irregularity found"),
    "seizure": _("Seizure"),
}
FORM_FIELDS = (
    "number",
    "notice_date",
    "place",
    "title",
    "body",
    "report_deadline",
    "distribution",
    "sharing_group",
    "tlp",
)
_LINE_RE = re.compile(r"^risk_indicators-(\d+)-(kind|value)$")
_SPLIT_RE = re.compile(r"[\s,;]+")


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        "result_labels": RESULT_LABELS,
        "statuses": NOTICE_STATUSES,
        "kinds": INDICATOR_KINDS,
        "results": REPORT_RESULTS,
        "distributions": DISTRIBUTIONS,
        "tlps": TLPS,
    }


def notice_from_form(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in FORM_FIELDS:
        value = form.get(key)
        data[key] = value.strip() if isinstance(value, str) and value.strip() else None
    if data["body"] is not None:
        data["body"] = data["body"].replace("\r\n", "\n")
    lines: dict[int, dict[str, str]] = {}
    for key, value in form.multi_items():
        m = _LINE_RE.match(key)
        if m and isinstance(value, str):
            lines.setdefault(int(m.group(1)), {})[m.group(2)] = value.strip()
    data["risk_indicators"] = [
        {"kind": v.get("kind") or None, "value": v.get("value", "")} for _, v in sorted(lines.items()) if v.get("value")
    ]
    data["recipients"] = [v for v in form.getlist("recipients") if isinstance(v, str) and v]
    for key in ("incidents", "entities"):
        raw = form.get(key)
        data[key] = [x for x in _SPLIT_RE.split(raw) if x] if isinstance(raw, str) else []
    for key in ("distribution", "tlp", "title", "body", "notice_date"):
        if data[key] is None:
            data.pop(key)  # required ones are then reported as "this field is required"
    return data


def field_name(loc: tuple[str | int, ...]) -> str:
    """The form field an error belongs to: ('risk_indicators', 0, 'value') -> 'risk_indicators-0-value'."""
    if len(loc) >= 2 and loc[0] == "risk_indicators" and isinstance(loc[1], int):
        return "-".join(str(p) for p in loc[:3])
    return str(loc[0]) if loc else "_form"


def errors_by_field(errors: list[FieldError]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in errors:
        out.setdefault(field_name(e.loc), []).append(e.msg)
    return out


def _invalid(exc: ValidationError | InvalidInput) -> InvalidInput:
    return from_validation_error(exc) if isinstance(exc, ValidationError) else exc


def _form_context(
    db: SessionDep, subject: Subject, data: dict[str, Any], errors: dict[str, list[str]], notice: Any = None
) -> dict[str, Any]:
    orgs = db.scalars(
        select(Organisation).where(Organisation.id != subject.org_id).order_by(Organisation.country, Organisation.code)
    )
    lines = list(data.get("risk_indicators") or [])
    if not lines:
        lines.append({})
    return {
        "data": data,
        "errors": errors,
        "notice": notice,
        "organisations": list(orgs),
        "indicator_lines": lines,
        "sharing_groups": sharing_groups.visible_groups(db, subject),
        **_labels(),
    }


def _version(form: FormData) -> int:
    version = form.get("version")
    return int(version) if isinstance(version, str) and version.isdigit() else -1


@router.get("/notices")
def list_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    qp = request.query_params
    values = {k: qp.get(k, "") for k in ("q", "year", "status", "recipient", "overdue")}
    page = min(int(qp.get("page", "1")), MAX_PAGE) if qp.get("page", "1").isdigit() else 1
    errors: dict[str, list[str]] = {}
    now = utcnow()
    items: list[Any] = []
    total = 0
    pages = 1
    year = None
    if values["year"]:
        if values["year"].isdigit() and 1900 <= int(values["year"]) <= 2999:
            year = int(values["year"])
        else:
            errors["year"] = [_("a year is written with four digits, e.g. 2026")]
    try:
        result = svc.search_notices(
            db,
            subject,
            svc.SearchParams(
                q=values["q"] or None,
                year=year,
                status=values["status"] or None,
                recipient=values["recipient"] or None,
                overdue={"yes": True, "no": False}.get(values["overdue"]),
            ),
            now=now,
            page=PageParams(page=max(1, page), page_size=25),
        )
        items, total, pages = svc.summaries(db, subject, result.items, now=now), result.total, result.pages
    except InvalidInput as exc:
        errors.update(errors_by_field(exc.errors))
    return render(
        request,
        "notices/list.html",
        {
            "values": values,
            "errors": errors,
            "items": items,
            "total": total,
            "page": page,
            "pages": pages,
            "query": {k: v for k, v in values.items() if v},
            "urlencode": urlencode,
            **_labels(),
        },
    )


@router.get("/notices/new")
def new_page(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    require_writer(subject, "your role cannot draft warning notices")
    _pattern, place, number = svc.numbering(db, subject, local_today(subject.time_zone).year)
    data: dict[str, Any] = {
        "number": number,
        "notice_date": local_today(subject.time_zone).isoformat(),
        "place": place,
        "distribution": "unit",
        "tlp": "AMBER",
        "recipients": [],
        "incidents": [],
        "entities": [],
    }
    return render(request, "notices/form.html", _form_context(db, subject, data, {}))


@router.post("/notices/new")
def create(request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    require_writer(subject, "your role cannot draft warning notices")
    data = notice_from_form(form)
    try:
        body = validate_all(NoticeCreate, data, lambda partial: svc.check_notice(db, subject, partial, notice=None))
        notice = svc.create_notice(db, subject, body)
    except (ValidationError, InvalidInput) as exc:
        errors = errors_by_field(_invalid(exc).errors)
        return render(request, "notices/form.html", _form_context(db, subject, data, errors), status_code=422)
    return RedirectResponse(f"/notices/{notice.id}?flash=saved", status_code=303)


@router.get("/notices/dashboard")
def dashboard(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    now = utcnow()
    notices = svc.issued_notices(db, subject)
    rows = svc.unit_rows(db, subject, now=now)
    orgs = svc.org_names(db, {r.recipient.org_id for r in rows})
    return render(
        request,
        "notices/dashboard.html",
        {
            "summaries": svc.summaries(db, subject, notices, now=now),
            "rows": rows,
            "orgs": orgs,
            "years": svc.year_counts(db, subject, now=now),
            **_labels(),
        },
    )


@router.get("/notices/overdue")
def overdue(request: Request, db: SessionDep, subject: WebSubject) -> Response:
    rows = svc.unit_rows(db, subject, now=utcnow(), overdue_only=True)
    return render(
        request,
        "notices/overdue.html",
        {"rows": rows, "orgs": svc.org_names(db, {r.recipient.org_id for r in rows}), **_labels()},
    )


@router.get("/notices/{notice_id}")
def detail(notice_id: str, request: Request, db: SessionDep, subject: WebSubject) -> Response:
    notice = svc.get_notice(db, subject, notice_id)
    read = svc.to_read(db, subject, notice, now=utcnow())
    mine = next((r for r in read.recipients if r.org.id == subject.org_id), None)
    return render(
        request,
        "notices/detail.html",
        {
            "n": read,
            "can_edit": can_edit(notice, subject) and notice.status == "draft",
            "can_issue": can_edit(notice, subject) and notice.status == "approved",
            "can_close": can_edit(notice, subject) and notice.status == "issued",
            "can_approve": notice.status == "submitted" and svc.can_approve(notice, subject),
            "mine": mine if notice.status == "issued" and subject.can_write else None,
            "can_export": notice.tlp not in TLP_EXPORT_FORBIDDEN,
            "is_issuer": svc.is_issuer(notice, subject),
            **_labels(),
        },
    )


@router.get("/notices/{notice_id}/edit")
def edit_page(notice_id: str, request: Request, db: SessionDep, subject: WebSubject) -> Response:
    notice = svc.get_notice(db, subject, notice_id)
    svc.require_draft_editor(notice, subject)
    data = svc.current_input(notice, db)
    data["version"] = notice.version
    return render(request, "notices/form.html", _form_context(db, subject, data, {}, notice))


@router.post("/notices/{notice_id}/edit")
def update(notice_id: str, request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    notice = svc.get_notice(db, subject, notice_id)
    data = notice_from_form(form)
    version = _version(form)
    try:
        # The whole form as a draft first: its format errors and the checks against the records, in one answer.
        current = notice
        full = {**data, "number": data.get("number") or notice.number}
        validate_all(NoticeBase, full, lambda partial: svc.check_notice(db, subject, partial, notice=current))
        notice = svc.update_notice(db, subject, notice.id, NoticePatch.model_validate({**data, "version": version}))
    except (ValidationError, InvalidInput) as exc:
        errors = errors_by_field(_invalid(exc).errors)
        ctx = _form_context(db, subject, {**data, "version": version}, errors, notice)
        return render(request, "notices/form.html", ctx, status_code=422)
    except Conflict as exc:
        ctx = _form_context(db, subject, {**data, "version": version}, {"_form": [exc.message]}, notice)
        return render(request, "notices/form.html", ctx, status_code=409)
    return RedirectResponse(f"/notices/{notice.id}?flash=saved", status_code=303)


def _comment(form: FormData) -> str | None:
    value = form.get("comment")
    return value.strip()[:2000] or None if isinstance(value, str) else None


@router.post("/notices/{notice_id}/report")
def report(notice_id: str, request: Request, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
    notice = svc.get_notice(db, subject, notice_id)

    def text(key: str) -> str | None:
        value = form.get(key)
        return value.strip() or None if isinstance(value, str) else None

    raw = text("incidents") or ""
    data = {
        "checked_what": text("checked_what"),
        "shipments_checked": text("shipments_checked"),
        "declarations_checked": text("declarations_checked"),
        "findings": text("findings"),
        "result": text("result"),
        "incidents": [x for x in _SPLIT_RE.split(raw) if x],
    }
    try:
        svc.file_report(db, subject, notice.id, ReportBody.model_validate(data))
    except (ValidationError, InvalidInput) as exc:
        read = svc.to_read(db, subject, notice, now=utcnow())
        mine = next((r for r in read.recipients if r.org.id == subject.org_id), None)
        return render(
            request,
            "notices/detail.html",
            {
                "n": read,
                "can_edit": False,
                "can_issue": False,
                "can_close": False,
                "can_approve": False,
                "mine": mine,
                "can_export": notice.tlp not in TLP_EXPORT_FORBIDDEN,
                "is_issuer": svc.is_issuer(notice, subject),
                "report_data": {**data, "incidents": raw},
                "report_errors": errors_by_field(_invalid(exc).errors),
                **_labels(),
            },
            status_code=422,
        )
    return RedirectResponse(f"/notices/{notice.id}?flash=reported#report", status_code=303)


@router.post("/notices/{notice_id}/attachments")
def upload(notice_id: str, db: SessionDep, subject: WebSubject, settings: SettingsDep, form: CheckedForm) -> Response:
    notice = svc.get_notice(db, subject, notice_id)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise InvalidInput(FieldError(("file",), N_("choose a file to upload")))
    description = form.get("description")
    svc.add_attachment(
        db,
        subject,
        files.Storage(settings.attachments_dir),
        notice.id,
        filename=file.filename,
        stream=file.file,
        limit=settings.max_upload_bytes,
        description=description if isinstance(description, str) else None,
    )
    return RedirectResponse(f"/notices/{notice.id}?flash=attached#attachments", status_code=303)


def _workflow(action: str) -> Any:
    def step(notice_id: str, db: SessionDep, subject: WebSubject, form: CheckedForm) -> Response:
        notice = svc.get_notice(db, subject, notice_id)
        version = _version(form)
        if action == "submit":
            svc.submit(db, subject, notice.id, version)
        elif action == "approve":
            svc.approve(db, subject, notice.id, version, _comment(form))
        elif action == "return":
            svc.return_to_draft(db, subject, notice.id, version, _comment(form))
        elif action == "issue":
            svc.issue(db, subject, notice.id, version)
        elif action == "close":
            svc.close(db, subject, notice.id, version)
        else:
            svc.acknowledge(db, subject, notice.id)
        return RedirectResponse(f"/notices/{notice.id}?flash={action}", status_code=303)

    step.__name__ = f"notice_{action}"
    return step


# Submit, approve, return, issue, close (the issuing unit); acknowledge (a recipient unit).
for _action in ("submit", "approve", "return", "issue", "close", "acknowledge"):
    router.add_api_route(f"/notices/{{notice_id}}/{_action}", _workflow(_action), methods=["POST"])
