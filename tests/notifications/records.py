"""A test record type and its renderer (registered on import), standing in for a producer's record type: it renders
a title, text and facts as the reader, and refuses readers listed in HIDDEN, as a record's own access rules would."""

from __future__ import annotations

import uuid
from typing import Any

from interdict.notifications import service
from interdict.notifications.models import Notification

REF_TYPE = "delivery-test"
# (user id, record id) pairs the renderer refuses: the user may not read that record.
HIDDEN: set[tuple[uuid.UUID, uuid.UUID]] = set()


def render_test_record(session: Any, subject: Any, n: Notification) -> service.Rendered | None:
    if (subject.user_id, n.ref_id) in HIDDEN:
        return None
    short = str(n.ref_id)[:8]
    return service.Rendered(
        title=f"Seizure SECRET-{short} at Cat Lai",
        text=f"Consignee HOANG-PHAT-{short} declared acetic acid",
        url=f"/incidents/{n.ref_id}",
        facts=[("Substance", f"acetic anhydride {short}")],
    )


service.register_renderer(REF_TYPE, render_test_record)
