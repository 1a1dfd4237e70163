"""A small manifest in Interdict's generic format (shipped mapping ``generic-manifest``) for the workflow tests."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from interdict.core.clock import utcnow
from interdict.targeting import service
from tests.conftest import World
from tests.targeting.conftest import GENERIC_HEADER

HEADER = GENERIC_HEADER  # the generic manifest's columns (one list, in tests/targeting/conftest.py)


def row(rid: str, **kw: Any) -> dict[str, Any]:
    base = {
        "record_id": rid,
        "date": "2026-03-10",
        "containers": "MSCU1234566",
        "vessel": "Ever Lucky",
        "voyage": "112E",
        "bill_of_lading": f"BL{rid}",
        "port_of_loading": "CNSHA",
        "port_of_discharge": "VNHPH",
        "ports_of_transshipment": "",
        "shipper": "Shanghai Export Trading Co",
        "consignee": "Minh Long Furniture JSC",
        "notify_party": "",
        "declarant": "",
        "importer": "",
        "hs_code": "94036090",
        "goods_description": "wooden furniture",
        "gross_weight_kg": "1000",
        "net_weight_kg": "900",
        "value": "9000",
        "packages": "10",
        "country_of_origin": "CN",
        "country_of_departure": "CN",
        "office": "03CE",
        "shipper_phone": "",
        "consignee_phone": "",
        "notify_party_phone": "",
        "inspection_result": "",
    }
    base.update(kw)
    return base


GOOD = [
    row("R1"),
    row(
        "R2",
        containers="TGHU7654320",
        consignee="Hoang Phat Chemical Trading Co., Ltd",
        hs_code="29152400",
        goods_description="acetic anhydride industrial chemical",
        value="2000",
    ),
    row("R3", containers="OOLU1122335", hs_code="39269099", goods_description="plastic chemical reagent bottles"),
    row("R4", containers="CMAU4455661", country_of_origin="MM", consignee="New Star Import Co"),
]
BAD = [
    row("B1", containers="TCLU9988770"),  # wrong check digit (7 + 0 ≠ 5)
    row("B2", hs_code="12AB"),
    row("B3", date="2026-13-45"),
]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, HEADER)
        w.writeheader()
        w.writerows(rows)
    return path


def load(
    world: World, path: Path, user: str = "officer.hp", name: str | None = "EVER LUCKY 112E", **settings: Any
) -> Any:
    app_settings = world.app.state.settings.model_copy(update={"targeting_random_share": 0.0, **settings})
    subject = world.subject(user)
    with world.session() as s:
        summary = service.load_batch(s, subject, app_settings, path, "generic-manifest", batch_name=name, now=utcnow())
        return {
            "batch_id": summary.batch.id,
            "new": summary.new,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "rejections": [(r.row, r.record_id, r.field, r.column, r.reason) for r in summary.rejections],
            "rejected": summary.batch.rejected,
            "loaded": summary.batch.loaded,
            "note": summary.note,
        }
