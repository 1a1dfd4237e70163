"""Web-page dependencies: the logged-in subject (or a redirect to /login) and CSRF-checked forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from interdict.accounts.deps import authenticate_request
from interdict.accounts.subject import Subject
from interdict.core.deps import SessionDep, SettingsDep
from interdict.core.errors import Forbidden
from interdict.core.i18n import N_
from interdict.core.security import constant_time_equals
from interdict.web.errors import LoginRequired


def web_subject(request: Request, db: SessionDep, settings: SettingsDep) -> Subject:
    subject = authenticate_request(request, db, settings, check_csrf_header=False)
    if subject is None or subject.channel != "web":
        raise LoginRequired()
    request.state.subject = subject
    return subject


def pending_password_subject(request: Request, db: SessionDep, settings: SettingsDep) -> Subject:
    """Like :func:`web_subject`, but also for a user who must still change an administrator-set password: only
    the change-password page and logging out use it."""
    subject = authenticate_request(request, db, settings, check_csrf_header=False, password_change=True)
    if subject is None or subject.channel != "web":
        raise LoginRequired()
    request.state.subject = subject
    return subject


WebSubject = Annotated[Subject, Depends(web_subject)]
PendingPasswordSubject = Annotated[Subject, Depends(pending_password_subject)]


async def _checked(request: Request) -> FormData:
    form = await request.form(max_files=20, max_fields=5000)
    sent = form.get("csrf_token")
    expected = getattr(request.state, "csrf_token", "")
    if not isinstance(sent, str) or not expected or not constant_time_equals(sent, expected):
        raise Forbidden(
            N_("the form has expired or did not come from this site (CSRF check failed); reload the page and try again")
        )
    return form


async def checked_form(request: Request, subject: WebSubject) -> FormData:
    """The posted form, after checking its CSRF token against the session's."""
    return await _checked(request)


async def pending_password_form(request: Request, subject: PendingPasswordSubject) -> FormData:
    """:func:`checked_form` for the change-password page and logging out."""
    return await _checked(request)


CheckedForm = Annotated[FormData, Depends(checked_form)]
PendingPasswordForm = Annotated[FormData, Depends(pending_password_form)]
