"""REST API for incidents: /api/v1/incidents."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from interdict.accounts.deps import ReaderDep, SubjectDep, WriterDep
from interdict.audit import service as audit
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.fields import Line, OptLine, OptText
from interdict.core.filters import Condition, Group, condition, conditions
from interdict.core.pagination import MAX_PAGE, Page, PageParams
from interdict.incidents import attachments as att_service
from interdict.incidents import importexport
from interdict.incidents import service as svc
from interdict.incidents.present import persons_matched, to_read, to_summaries
from interdict.incidents.schemas import (
    AttachmentRead,
    IncidentCreate,
    IncidentPatch,
    IncidentRead,
    IncidentSummary,
    UserRef,
    VersionRead,
)
from interdict.jobs.api import job_read
from interdict.jobs.schemas import JobRead
from interdict.sharing.schemas import SharingChange

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
attachments_router = APIRouter(prefix="/api/v1/attachments", tags=["incidents"])


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filter: Group | None = Field(default=None, description="A filter tree in the shared filter language.")
    q: OptLine = Field(default=None, max_length=500, description="Free text: every word must appear.")
    sort: Line = Field(default="-incident_date", max_length=40)
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    page_size: int = Field(default=25, ge=1, le=200)


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int


def params_filter(
    type: list[str] | None = None,
    status: list[str] | None = None,
    country: list[str] | None = None,
    port: list[str] | None = None,
    route_country: list[str] | None = None,
    substance: list[str] | None = None,
    substance_class: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    company: str | None = None,
    container: str | None = None,
    modus: list[str] | None = None,
    detection_method: list[str] | None = None,
    owner_org: list[str] | None = None,
    hs_code: str | None = None,
    vessel_imo: str | None = None,
    is_demo: bool | None = None,
) -> Group | None:
    def multi(field: str, values: list[str] | None) -> Condition | None:
        vals = [v for raw in values or [] for v in raw.split(",") if v.strip()]
        if not vals:
            return None
        return condition(field, "in", vals) if len(vals) > 1 else condition(field, "eq", vals[0])

    def one(field: str, value: object, op: str = "eq") -> Condition | None:
        return None if value is None or value == "" else condition(field, op, value)

    return conditions(
        multi("type", type),
        multi("status", status),
        multi("country", country),
        multi("port", port),
        multi("route_country", route_country),
        multi("substance", substance),
        multi("substance_class", substance_class),
        one("date", date_from, "gte"),
        one("date", date_to, "lte"),
        one("company", company, "contains"),
        one(
            "container",
            container,
            "eq" if container and len(container.replace(" ", "")) >= 11 else "contains",
        ),
        multi("modus", modus),
        multi("detection_method", detection_method),
        multi("owner_org", owner_org),
        one("hs_code", hs_code, "contains"),
        one("vessel_imo", vessel_imo),
        one("is_demo", None if is_demo is None else str(is_demo)),
    )


@router.get("", response_model=Page[IncidentSummary])
def list_incidents(
    db: SessionDep,
    subject: SubjectDep,
    type: Annotated[list[str] | None, Query(description="Incident type(s)")] = None,
    status: Annotated[list[str] | None, Query()] = None,
    country: Annotated[list[str] | None, Query(description="Country of the incident (ISO 3166 alpha-2)")] = None,
    port: Annotated[
        list[str] | None, Query(description="UN/LOCODE of the place, departure, transit or destination")
    ] = None,
    route_country: Annotated[list[str] | None, Query(description="Country anywhere on the route")] = None,
    substance: Annotated[list[str] | None, Query(description="Substance id, CAS RN or name")] = None,
    substance_class: Annotated[
        list[str] | None, Query(description="Class or control list, e.g. precursor-fentanyl, UN1988-I, nps")
    ] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    company: Annotated[str | None, Query(max_length=200)] = None,
    container: Annotated[str | None, Query(max_length=20)] = None,
    modus: Annotated[list[str] | None, Query()] = None,
    detection_method: Annotated[list[str] | None, Query()] = None,
    owner_org: Annotated[list[str] | None, Query()] = None,
    hs_code: Annotated[str | None, Query(max_length=12)] = None,
    vessel_imo: Annotated[str | None, Query(max_length=12)] = None,
    is_demo: bool | None = None,
    q: Annotated[str | None, Query(max_length=500, description="Free text")] = None,
    sort: Literal["-incident_date", "incident_date", "-reported_date", "-updated_at", "reference"] = "-incident_date",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
    exact_total: Annotated[
        bool, Query(description="Count every match (slower on broad searches); by default counting stops at 1,000.")
    ] = False,
) -> Page[IncidentSummary]:
    """Search incidents: every filter narrows the result; repeat a parameter (or comma-separate) for OR."""
    node = params_filter(
        type,
        status,
        country,
        port,
        route_country,
        substance,
        substance_class,
        date_from,
        date_to,
        company,
        container,
        modus,
        detection_method,
        owner_org,
        hs_code,
        vessel_imo,
        is_demo,
    )
    result = svc.search_incidents(
        db,
        subject,
        filter_node=node,
        q=q,
        sort=sort,
        page=PageParams(page=page, page_size=page_size),
        count_cap=None if exact_total else svc.COUNT_CAP,
    )
    items = to_summaries(db, result.items, q=q, company=company, subject=subject)
    svc.record_nominal_reads(db, subject, persons_matched(items), where="why search results matched")
    return Page[IncidentSummary](
        items=items,
        total=result.total,
        total_exact=result.total_exact,
        page=page,
        page_size=page_size,
    )


@router.post("/search", response_model=Page[IncidentSummary])
def search_incidents(body: SearchRequest, db: SessionDep, subject: ReaderDep) -> Page[IncidentSummary]:
    """Search with a filter tree in the shared filter language (the same one watch rules use)."""
    result = svc.search_incidents(
        db,
        subject,
        filter_node=body.filter,
        q=body.q,
        sort=body.sort,
        page=PageParams(page=body.page, page_size=body.page_size),
    )
    items = to_summaries(db, result.items, q=body.q, subject=subject)
    svc.record_nominal_reads(db, subject, persons_matched(items), where="why search results matched")
    return Page[IncidentSummary](
        items=items,
        total=result.total,
        total_exact=result.total_exact,
        page=body.page,
        page_size=body.page_size,
    )


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "description": "The file (CSV, XLSX or JSON)",
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                "application/json": {},
            },
        }
    },
)
def export_incidents(
    db: SessionDep,
    subject: SubjectDep,
    format: Literal["csv", "xlsx", "json"] = "csv",
    type: Annotated[list[str] | None, Query()] = None,
    country: Annotated[list[str] | None, Query()] = None,
    substance_class: Annotated[list[str] | None, Query()] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    nominal: Annotated[
        bool, Query(description="false: a non-nominal export, without the data of natural persons.")
    ] = True,
) -> Response:
    """Export the incidents you can read (filtered) in the documented column format.

    Each row carries its TLP marking; TLP:RED records are never exported. Natural persons appear only
    where you may see them, and never with ``nominal=false``."""
    node = params_filter(
        type=type, country=country, substance_class=substance_class, date_from=date_from, date_to=date_to
    )
    content, media_type = importexport.export_bytes(db, subject, fmt=format, filter_node=node, q=q, nominal=nominal)
    filename = f"interdict-incidents.{format}"
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.post("/import", response_model=JobRead, status_code=202)
def import_incidents(
    response: Response,
    db: SessionDep,
    subject: WriterDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX in the import format (docs/import-format.md)")],
    skip_invalid: Annotated[bool, Form(description="Import the valid rows even if some are rejected")] = False,
) -> JobRead:
    """Queue an import of incidents (one a row). Answers 202 at once with the job (``Location``: its URL); poll
    ``GET /api/v1/jobs/{id}`` until its status is ``done`` (the result: rows, imported, and the rejected rows'
    lines and reasons; nothing is imported if any row is rejected, unless ``skip_invalid``) or ``failed``."""
    job = importexport.queue_import(
        db, subject, settings, filename=file.filename, stream=file.file, skip_invalid=skip_invalid
    )
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job_read(settings, job)


@router.post("", response_model=IncidentRead, status_code=201)
def create_incident(body: IncidentCreate, db: SessionDep, subject: WriterDep) -> IncidentRead:
    incident, warnings = svc.create_incident(db, subject, body)
    return to_read(db, incident, warnings=list(warnings), subject=subject)


@router.get("/{incident_id}", response_model=IncidentRead)
def get_incident(incident_id: str, db: SessionDep, subject: SubjectDep) -> IncidentRead:
    """By id or by reference (e.g. VNC-HP-2026-00012). Reading person data is audited."""
    incident = svc.get_incident(db, subject, incident_id)
    read = to_read(db, incident, subject=subject)
    svc.record_nominal_read(db, subject, incident, sum(1 for p in read.parties if p.kind == "person"))
    return read


@router.patch("/{incident_id}", response_model=IncidentRead)
def update_incident(incident_id: str, body: IncidentPatch, db: SessionDep, subject: WriterDep) -> IncidentRead:
    incident, warnings = svc.update_incident(db, subject, incident_id, body)
    return to_read(db, incident, warnings=list(warnings), subject=subject)


@router.post("/{incident_id}/submit", response_model=IncidentRead)
def submit_incident(incident_id: str, body: TransitionRequest, db: SessionDep, subject: WriterDep) -> IncidentRead:
    return to_read(db, svc.transition(db, subject, incident_id, "submit", body.version), subject=subject)


@router.post("/{incident_id}/close", response_model=IncidentRead)
def close_incident(incident_id: str, body: TransitionRequest, db: SessionDep, subject: WriterDep) -> IncidentRead:
    return to_read(db, svc.transition(db, subject, incident_id, "close", body.version), subject=subject)


@router.post("/{incident_id}/reopen", response_model=IncidentRead)
def reopen_incident(incident_id: str, body: TransitionRequest, db: SessionDep, subject: WriterDep) -> IncidentRead:
    return to_read(db, svc.transition(db, subject, incident_id, "reopen", body.version), subject=subject)


@router.post("/{incident_id}/sharing", response_model=IncidentRead)
def change_sharing(incident_id: str, body: SharingChange, db: SessionDep, subject: WriterDep) -> IncidentRead:
    """Widen or narrow who reads the incident (distribution, sharing group, TLP, nominal data).

    Only the reporting unit can. Narrowing takes effect at once in every list, search, count and export."""
    return to_read(db, svc.change_sharing(db, subject, incident_id, body), subject=subject)


@router.get("/{incident_id}/history", response_model=list[VersionRead])
def incident_history(incident_id: str, db: SessionDep, subject: SubjectDep) -> list[VersionRead]:
    """The versions of the incident, newest first, with what changed (persons only where you may see them;
    reading them is audited)."""
    versions = svc.history(db, subject, incident_id)
    persons = svc.persons_in_history(versions)
    if persons:
        svc.record_nominal_read(db, subject, svc.get_incident(db, subject, incident_id), len(persons), where="history")
    users = svc.users_by_id(db, {v.changed_by_id for v in versions})
    return [
        VersionRead(
            version=v.version,
            action=v.action,
            changed_at=v.changed_at,
            channel=v.channel,
            changes=v.changes,
            changed_by=UserRef(
                id=users[v.changed_by_id].id,
                username=users[v.changed_by_id].username,
                full_name=users[v.changed_by_id].full_name,
            ),
        )
        for v in versions
    ]


@router.get("/{incident_id}/attachments", response_model=list[AttachmentRead])
def list_attachments(incident_id: str, db: SessionDep, subject: SubjectDep) -> list[AttachmentRead]:
    return [AttachmentRead.model_validate(a) for a in att_service.list_attachments(db, subject, incident_id)]


@router.post("/{incident_id}/attachments", response_model=AttachmentRead, status_code=201)
def upload_attachment(
    incident_id: str,
    request: Request,
    db: SessionDep,
    subject: WriterDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    description: Annotated[OptText, Form(max_length=300)] = None,
) -> AttachmentRead:
    att = att_service.add_attachment(
        db,
        subject,
        att_service.Storage(settings.attachments_dir),
        incident_id,
        filename=file.filename,
        stream=file.file,
        limit=settings.max_upload_bytes,
        description=description,
    )
    return AttachmentRead.model_validate(att)


@attachments_router.get(
    "/{attachment_id}",
    response_class=FileResponse,
    responses={200: {"description": "The file, with its checked content type", "content": {"*/*": {}}}},
)
def download_attachment(
    attachment_id: uuid.UUID, db: SessionDep, subject: SubjectDep, settings: SettingsDep, inline: bool = False
) -> FileResponse:
    att, incident = att_service.get_attachment(db, subject, attachment_id)
    path = att_service.Storage(settings.attachments_dir).path(att.storage_key)
    audit.record(
        db,
        subject,
        "attachment.download",
        object_type="incident",
        object_id=incident.id,
        object_label=incident.reference,
        summary=att.filename,
    )
    disposition = "inline" if inline and att.content_type in att_service.INLINE_TYPES else "attachment"
    return FileResponse(
        path,
        media_type=att.content_type,
        filename=att.filename,
        content_disposition_type=disposition,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


@attachments_router.delete("/{attachment_id}", status_code=204)
def delete_attachment(attachment_id: uuid.UUID, db: SessionDep, subject: WriterDep, settings: SettingsDep) -> Response:
    att_service.delete_attachment(db, subject, att_service.Storage(settings.attachments_dir), attachment_id)
    return Response(status_code=204)
