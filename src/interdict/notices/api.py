"""REST API for warning notices: /api/v1/notices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, Response

from interdict.accounts.deps import SubjectDep, WriterDep
from interdict.core.clock import today, utcnow
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.fields import OptText
from interdict.core.pagination import MAX_PAGE, Page, PageParams
from interdict.incidents import attachments as files
from interdict.notices import export
from interdict.notices import service as svc
from interdict.notices.schemas import (
    AttachmentRead,
    Dashboard,
    NoticeCreate,
    NoticePatch,
    NoticeRead,
    NoticeStatus,
    NoticeSummary,
    NumberingBody,
    NumberingRead,
    OrgRef,
    ReportBody,
    TransitionBody,
    UnitStatus,
    YearCount,
)

router = APIRouter(prefix="/api/v1/notices", tags=["warning notices"])


def unit_statuses(db: SessionDep, rows: list[svc.UnitRow]) -> list[UnitStatus]:
    orgs = svc.org_names(db, {r.recipient.org_id for r in rows})
    return [
        UnitStatus(
            notice_id=r.notice.id,
            number=r.notice.number,
            title=r.notice.title,
            report_deadline=r.notice.report_deadline,
            org=OrgRef(
                id=orgs[r.recipient.org_id].id,
                code=orgs[r.recipient.org_id].code,
                name=orgs[r.recipient.org_id].name,
                name_local=orgs[r.recipient.org_id].name_local,
            ),
            delivered_at=r.recipient.delivered_at,
            acknowledged_at=r.recipient.acknowledged_at,
            reported_at=r.recipient.reported_at,
            overdue=r.overdue,
        )
        for r in rows
    ]


@router.get("", response_model=Page[NoticeSummary])
def list_notices(
    db: SessionDep,
    subject: SubjectDep,
    q: Annotated[str | None, Query(max_length=500, description="Words (with or without diacritics)")] = None,
    year: Annotated[int | None, Query(ge=1900, le=2999, description="Year of the notice's date")] = None,
    status: NoticeStatus | None = None,
    recipient: Annotated[str | None, Query(max_length=32, description="Code of an addressed unit")] = None,
    overdue: Annotated[
        bool | None, Query(description="Only notices with (true) or without (false) an overdue unit")
    ] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
) -> Page[NoticeSummary]:
    """Search the warning notices you may read: full text over number, title, body and risk indicators."""
    now = utcnow()
    result = svc.search_notices(
        db,
        subject,
        svc.SearchParams(q=q, year=year, status=status, recipient=recipient, overdue=overdue),
        now=now,
        page=PageParams(page=page, page_size=page_size),
    )
    return Page[NoticeSummary](
        items=svc.summaries(db, subject, result.items, now=now), total=result.total, page=page, page_size=page_size
    )


@router.post("", response_model=NoticeRead, status_code=201)
def create_notice(body: NoticeCreate, db: SessionDep, subject: WriterDep) -> NoticeRead:
    """Draft a notice (number given from your organisation's pattern when left out)."""
    return svc.to_read(db, subject, svc.create_notice(db, subject, body), now=utcnow())


@router.get("/dashboard", response_model=Dashboard)
def dashboard(db: SessionDep, subject: SubjectDep) -> Dashboard:
    """Per issued notice and per unit you follow: delivered, acknowledged, reported, overdue; counts per year."""
    now = utcnow()
    return Dashboard(
        notices=svc.summaries(db, subject, svc.issued_notices(db, subject), now=now),
        units=unit_statuses(db, svc.unit_rows(db, subject, now=now)),
        years=[
            YearCount(year=y.year, issued=y.issued, fully_reported=y.fully_reported, overdue=y.overdue)
            for y in svc.year_counts(db, subject, now=now)
        ],
    )


@router.get("/overdue", response_model=list[UnitStatus])
def overdue(db: SessionDep, subject: SubjectDep) -> list[UnitStatus]:
    """Every unit whose results report is overdue, across the notices you follow."""
    return unit_statuses(db, svc.unit_rows(db, subject, now=utcnow(), overdue_only=True))


@router.get("/numbering", response_model=NumberingRead)
def get_numbering(
    db: SessionDep, subject: WriterDep, year: Annotated[int | None, Query(ge=1900, le=2999)] = None
) -> NumberingRead:
    """Your organisation's numbering pattern, place, and the next free number for the year."""
    pattern, place, number = svc.numbering(db, subject, year or today().year)
    return NumberingRead(number_pattern=pattern, place=place, next_number=number)


@router.put("/numbering", response_model=NumberingRead)
def set_numbering(body: NumberingBody, db: SessionDep, subject: WriterDep) -> NumberingRead:
    """Administrators: set how your organisation numbers its notices ({seq}, {year}, {org_code})."""
    row = svc.set_numbering(db, subject, body.number_pattern, body.place)
    return NumberingRead(
        number_pattern=row.number_pattern,
        place=row.place,
        next_number=svc.next_number(db, subject.org_id, subject.org_code, today().year),
    )


@router.get("/{notice_id}", response_model=NoticeRead)
def get_notice(notice_id: str, db: SessionDep, subject: SubjectDep) -> NoticeRead:
    return svc.to_read(db, subject, svc.get_notice(db, subject, notice_id), now=utcnow())


@router.patch("/{notice_id}", response_model=NoticeRead)
def update_notice(notice_id: str, body: NoticePatch, db: SessionDep, subject: WriterDep) -> NoticeRead:
    """Change a draft (the drafting unit only); ``version`` must be the one you read."""
    return svc.to_read(db, subject, svc.update_notice(db, subject, notice_id, body), now=utcnow())


@router.post("/{notice_id}/submit", response_model=NoticeRead)
def submit(notice_id: str, body: TransitionBody, db: SessionDep, subject: WriterDep) -> NoticeRead:
    """Ask the unit's supervisors to approve the draft."""
    return svc.to_read(db, subject, svc.submit(db, subject, notice_id, body.version), now=utcnow())


@router.post("/{notice_id}/approve", response_model=NoticeRead)
def approve(notice_id: str, body: TransitionBody, db: SessionDep, subject: WriterDep) -> NoticeRead:
    """A supervisor of the issuing unit (not the drafter) approves the submitted notice."""
    return svc.to_read(db, subject, svc.approve(db, subject, notice_id, body.version, body.comment), now=utcnow())


@router.post("/{notice_id}/return", response_model=NoticeRead)
def return_to_draft(notice_id: str, body: TransitionBody, db: SessionDep, subject: WriterDep) -> NoticeRead:
    """A supervisor sends the submitted notice back to draft, with a comment (required)."""
    notice = svc.return_to_draft(db, subject, notice_id, body.version, body.comment)
    return svc.to_read(db, subject, notice, now=utcnow())


@router.post("/{notice_id}/issue", response_model=NoticeRead)
def issue(notice_id: str, body: TransitionBody, db: SessionDep, subject: WriterDep) -> NoticeRead:
    """Issue the approved notice to its recipient units (each is told at once)."""
    return svc.to_read(db, subject, svc.issue(db, subject, notice_id, body.version), now=utcnow())


@router.post("/{notice_id}/close", response_model=NoticeRead)
def close(notice_id: str, body: TransitionBody, db: SessionDep, subject: WriterDep) -> NoticeRead:
    """Close the follow-up: no more reports or corrections."""
    return svc.to_read(db, subject, svc.close(db, subject, notice_id, body.version), now=utcnow())


@router.post("/{notice_id}/acknowledge", response_model=NoticeRead)
def acknowledge(notice_id: str, db: SessionDep, subject: WriterDep) -> NoticeRead:
    """A recipient unit acknowledges the notice."""
    svc.acknowledge(db, subject, notice_id)
    return svc.to_read(db, subject, svc.get_notice(db, subject, notice_id), now=utcnow())


@router.post("/{notice_id}/report", response_model=NoticeRead)
def report(notice_id: str, body: ReportBody, db: SessionDep, subject: WriterDep) -> NoticeRead:
    """A recipient unit files its results report (again to correct it, until the notice is closed)."""
    svc.file_report(db, subject, notice_id, body)
    return svc.to_read(db, subject, svc.get_notice(db, subject, notice_id), now=utcnow())


@router.get(
    "/{notice_id}/export.docx",
    response_class=Response,
    responses={200: {"description": "The notice as a Word document", "content": {export.DOCX_TYPE: {}}}},
)
def export_docx(notice_id: str, db: SessionDep, subject: SubjectDep) -> Response:
    """The notice as a Vietnamese administrative document (DOCX). TLP:RED notices are never exported."""
    content, filename = export.export_docx(db, subject, notice_id, now=utcnow())
    return Response(
        content,
        media_type=export.DOCX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


@router.post("/{notice_id}/attachments", response_model=AttachmentRead, status_code=201)
def upload_attachment(
    notice_id: str,
    db: SessionDep,
    subject: WriterDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    description: Annotated[OptText, Form(max_length=300)] = None,
) -> AttachmentRead:
    """Attach a file to a draft (photos, PDF, office documents, text; type checked by content)."""
    att = svc.add_attachment(
        db,
        subject,
        files.Storage(settings.attachments_dir),
        notice_id,
        filename=file.filename,
        stream=file.file,
        limit=settings.max_upload_bytes,
        description=description,
    )
    return AttachmentRead.model_validate(att)


@router.get(
    "/{notice_id}/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={200: {"description": "The file, with its checked content type", "content": {"*/*": {}}}},
)
def download_attachment(
    notice_id: str, attachment_id: str, db: SessionDep, subject: SubjectDep, settings: SettingsDep
) -> FileResponse:
    att, notice = svc.get_attachment(db, subject, notice_id, attachment_id)
    svc.audit_download(db, subject, notice, att)
    return FileResponse(
        files.Storage(settings.attachments_dir).path(att.storage_key),
        media_type=att.content_type,
        filename=att.filename,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )
