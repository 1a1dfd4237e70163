"""Imports every domain's models so ``Base.metadata`` is complete (for Alembic and tests)."""

from interdict.accounts import models as accounts_models
from interdict.alerts import models as alerts_models
from interdict.audit import models as audit_models
from interdict.core import maintenance, outbox
from interdict.core.db import Base
from interdict.entities import models as entities_models
from interdict.incidents import models as incidents_models
from interdict.jobs import models as jobs_models
from interdict.notices import models as notices_models
from interdict.notifications import models as notifications_models
from interdict.reference import models as reference_models
from interdict.sharing import models as sharing_models
from interdict.targeting import models as targeting_models
from interdict.watch import models as watch_models

__all__ = [
    "Base",
    "accounts_models",
    "alerts_models",
    "audit_models",
    "entities_models",
    "incidents_models",
    "jobs_models",
    "maintenance",
    "notices_models",
    "notifications_models",
    "outbox",
    "reference_models",
    "sharing_models",
    "targeting_models",
    "watch_models",
]
