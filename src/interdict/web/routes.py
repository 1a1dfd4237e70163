"""All web page routers."""

from __future__ import annotations

from fastapi import APIRouter

from interdict.web import (
    account,
    alerts,
    audit,
    auth,
    incidents,
    jobs,
    linkage,
    notices,
    notifications,
    oidc,
    sharing,
    targeting,
    watch,
)

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(oidc.router)
router.include_router(jobs.router)  # before incidents: /incidents/import is not an incident
router.include_router(incidents.router)
router.include_router(alerts.router)
router.include_router(account.router)
router.include_router(sharing.router)
router.include_router(audit.router)
router.include_router(linkage.router)
router.include_router(notices.router)
router.include_router(watch.router)
router.include_router(notifications.router)
router.include_router(targeting.router)
