"""create_app(settings) -> FastAPI: routers, error handlers, middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from interdict import __version__, renderers
from interdict.accounts.api import router as accounts_router
from interdict.accounts.deps import SubjectDep
from interdict.alerts.api import router as alerts_router
from interdict.audit.api import router as audit_router
from interdict.config import Settings
from interdict.core.db import make_engine, make_sessionmaker, unit_of_work
from interdict.core.errors import DomainError, FieldError, InvalidInput, Unavailable, clean_loc, pydantic_message
from interdict.core.i18n import N_
from interdict.core.memory import limit_malloc_arenas
from interdict.core.proxy import TrustedProxies
from interdict.incidents.api import attachments_router
from interdict.incidents.api import router as incidents_router
from interdict.jobs.api import router as jobs_router
from interdict.linkage.api import router as linkage_router
from interdict.notices.api import router as notices_router
from interdict.notifications import delivery as notification_delivery
from interdict.notifications.api import router as notifications_router
from interdict.notifications.stream import Broadcaster
from interdict.reference.api import router as reference_router
from interdict.sharing.api import router as sharing_router
from interdict.sharing.service import any_participant
from interdict.targeting.api import router as targeting_router
from interdict.watch.api import router as watch_router
from interdict.web.deps import WebSubject

log = logging.getLogger("interdict")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") and request.url.path != "/api/docs"


def error_body(code: str, message: str, errors: list[FieldError] | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "errors": [e.as_dict() for e in errors or []]}}


class RejectNul:
    """Refuse NUL characters in the query string, the path and JSON or form bodies (422) before anything
    parses them: no database stores them in text, and no legitimate input contains them."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            await self._reject(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").lower()
        length = headers.get(b"content-length", b"")
        textual = ctype.startswith((b"application/json", b"application/x-www-form-urlencoded"))
        if not textual or not length.isdigit() or int(length) > self.limit:
            await self.app(scope, receive, send)
            return
        messages, body, more = [], b"", True
        while more:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False) and message["type"] == "http.request"
        if b"\\u0000" in body or (ctype.startswith(b"application/x-www") and b"%00" in body):
            await self._reject(scope, receive, send)
            return

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Any, receive: Any, send: Any) -> None:
        response = JSONResponse(
            error_body(
                "invalid_input",
                "text must not contain NUL characters",
                [FieldError(("request",), N_("contains a NUL character"))],
            ),
            status_code=422,
        )
        await response(scope, receive, send)


def _seal_stored_totp_secrets(app: FastAPI) -> None:
    """TOTP secrets stored in clear before migration 0017 are sealed with this server's key at start-up."""
    from interdict.accounts import mfa

    with unit_of_work(app.state.sessionmaker) as session:
        sealed = mfa.seal_stored_secrets(session, pepper=app.state.pepper)
    if sealed:
        log.info("sealed %d two-factor secrets that were stored in clear", sealed)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.ensure_dirs()
    limit_malloc_arenas()  # before the request threads and workers start (core/memory.py)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _seal_stored_totp_secrets(app)
        workers: list[Any] = []
        if settings.linkage_worker:
            from interdict.linkage.tasks import make_worker as linkage_worker

            workers.append(linkage_worker(app.state.sessionmaker, interval=settings.linkage_interval_seconds))
        if settings.watch_worker:
            from interdict.watch.tasks import make_worker as watch_worker

            workers.append(watch_worker(app.state.sessionmaker, settings.watch_interval_seconds))
        if settings.notices_worker:
            from interdict.notices.tasks import make_worker as notices_worker

            workers.append(
                notices_worker(
                    app.state.sessionmaker,
                    interval=settings.notices_interval_seconds,
                    remind_days=settings.notice_remind_days,
                )
            )
        if settings.alerts_worker:
            from interdict.alerts.service import Delays
            from interdict.alerts.tasks import make_worker as alerts_worker

            workers.append(
                alerts_worker(
                    app.state.sessionmaker, Delays.from_settings(settings), interval=settings.alerts_interval_seconds
                )
            )
        if not settings.email_enabled:
            log.warning("e-mail notifications are off: INTERDICT_SMTP_HOST is not set")
        if settings.delivery_worker:
            from interdict.notifications.tasks import DispatchConfig
            from interdict.notifications.tasks import make_worker as delivery_worker

            workers.append(
                delivery_worker(
                    app.state.sessionmaker,
                    DispatchConfig.from_settings(settings),
                    interval=settings.delivery_interval_seconds,
                )
            )
        from interdict.jobs import tasks as jobs_tasks

        jobs_tasks.sweep(app.state.sessionmaker, settings)  # jobs a dead process left running: failed, not forever
        job_process = None
        if settings.jobs_worker == "thread":
            workers.append(jobs_tasks.make_worker(app.state.sessionmaker, lambda: app.state.settings))
        elif settings.jobs_worker == "process":
            job_process = jobs_tasks.start_process(settings)
        if settings.audit_checkpoint_dir is not None:
            from interdict.audit.checkpoint import make_worker as checkpoint_worker

            workers.append(
                checkpoint_worker(
                    app.state.sessionmaker,
                    settings.audit_checkpoint_dir,
                    settings.effective_secret_key(),
                    hours=settings.audit_checkpoint_hours,
                )
            )
        for worker in workers:
            worker.start()
        from interdict.targeting.tasks import start as start_retrain

        retrain_stop = start_retrain(app.state.sessionmaker, settings)  # off unless TARGETING_RETRAIN_HOURS is set
        try:
            yield
        finally:
            if retrain_stop is not None:
                retrain_stop.set()
            await app.state.broadcaster.stop()
            for worker in workers:
                worker.stop()
            if job_process is not None:
                jobs_tasks.stop_process(job_process)

    app = FastAPI(
        lifespan=lifespan,
        title="Interdict",
        version=__version__,
        description="Record, share, link and act on drug and precursor incidents.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # Requests larger than an attachment plus form overhead are refused before they are read.
        max_body_size=settings.max_upload_bytes + 1024 * 1024,
    )
    app.add_middleware(RejectNul, limit=settings.max_upload_bytes + 1024 * 1024)
    engine = make_engine(settings.effective_database_url, echo=settings.sql_echo)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.pepper = settings.effective_secret_key()
    # Notifications: plan e-mail and webhook deliveries with every notification (same transaction), and one
    # live-stream broadcaster for this process.
    notification_delivery.install(settings)
    renderers.install()  # how each kind of record reads in a notification, as its recipient
    app.state.broadcaster = Broadcaster(app.state.sessionmaker, poll_seconds=settings.stream_poll_seconds)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        from interdict.web.errors import render_error_page

        errors = exc.errors if isinstance(exc, InvalidInput) else None
        if not _is_api(request):
            return render_error_page(request, exc)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, errors), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for e in exc.errors():
            loc = clean_loc(tuple(e["loc"]), source=True)
            errors.append(FieldError(loc, pydantic_message(e, loc), str(e.get("type", "invalid"))))
        message = "; ".join(f"{e.path}: {e.msg}" for e in errors) or "invalid request"
        return JSONResponse(error_body("invalid_input", message, errors), status_code=422)

    @app.exception_handler(StaleDataError)
    async def stale(request: Request, exc: StaleDataError) -> Response:
        return JSONResponse(
            error_body("conflict", "the record was changed by someone else meanwhile; reload it"),
            status_code=409,
        )

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        # A value the database cannot hold (out of range, invalid bytes) that validation let through.
        return JSONResponse(
            error_body("invalid_input", "a value is out of range or contains characters that cannot be stored"),
            status_code=422,
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_unavailable(request: Request, exc: Exception) -> Response:
        # The database restarts, the network to it is cut, or (SQLite) the write lock stays taken: nothing
        # was committed. A clear 503 that invites a retry, never a traceback; the pool's pre-ping replaces
        # broken connections, so requests succeed again by themselves once the database is back.
        log.warning("database unavailable for %s %s: %s", request.method, request.url.path, str(exc).splitlines()[0])
        error = Unavailable(N_("the database cannot be reached at the moment; nothing was changed, try again shortly"))
        headers = {"Retry-After": "5"}
        if not _is_api(request):
            from interdict.web.errors import render_error_page

            try:
                response = render_error_page(request, error)
            except Exception:  # the page itself needs nothing from the database; if it fails anyway, plain text
                response = PlainTextResponse(error.message, status_code=503)
            response.headers.update(headers)
            return response
        return JSONResponse(error_body(error.code, error.message), status_code=503, headers=headers)

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, exc: IntegrityError) -> Response:
        return JSONResponse(
            error_body("conflict", "the change conflicts with existing data (a duplicate?)"), status_code=409
        )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith(("/static/", "/api/docs/assets/")):
            # Pages and API answers hold restricted data: never kept by browsers or proxies.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(accounts_router)
    app.include_router(reference_router)
    app.include_router(incidents_router)
    app.include_router(attachments_router)
    app.include_router(sharing_router)
    app.include_router(audit_router)
    app.include_router(watch_router)
    app.include_router(linkage_router)
    app.include_router(notices_router)
    app.include_router(alerts_router)
    app.include_router(notifications_router)
    app.include_router(targeting_router)
    app.include_router(jobs_router)

    from interdict.web.routes import router as web_router

    app.include_router(web_router)
    _add_api_docs(app)
    static_dir = Path(str(resources.files("interdict.web") / "static"))
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    app.mount("/api/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-ui")
    # Outermost: the client's address and scheme are settled (from a trusted proxy's headers, or the direct peer)
    # before anything reads them.
    app.add_middleware(TrustedProxies, networks=settings.trusted_proxy_networks)
    return app


def _add_api_docs(app: FastAPI) -> None:
    """OpenAPI schema and Swagger UI, both behind authentication, with every asset served locally."""

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi_schema(subject: SubjectDep) -> JSONResponse:
        any_participant(subject, "API documentation")
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(request: Request, subject: WebSubject) -> Response:
        any_participant(subject, "API documentation")
        from interdict.web.templating import render

        return render(request, "api_docs.html")
