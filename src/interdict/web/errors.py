"""Errors on web pages: the same message the API gives, on a page a person can act on."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from interdict.core.errors import DomainError, PasswordChangeRequired, Unauthenticated
from interdict.web.templating import render


class LoginRequired(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("please log in")


PASSWORD_CHANGE_PAGE = "/account/password/new"  # noqa: S105 (a page address, not a secret)


def render_error_page(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, PasswordChangeRequired):
        return RedirectResponse(PASSWORD_CHANGE_PAGE, status_code=303)
    if isinstance(exc, Unauthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return render(request, "error.html", {"error": exc}, status_code=exc.status_code)
