"""targeting records: their parties' phones as a searchable column

Revision ID: 0015
Revises: 0014

``targeting_records.phones_text`` holds the record's phones in E.164 between spaces (`` +84903555777 ``), as
``transshipment_text`` holds its ports, so that risk profiles can have ``phone`` conditions. Existing rows are
filled from the canonical record kept in ``data``.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("targeting_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phones_text", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    table = sa.table("targeting_records", sa.column("id"), sa.column("data"), sa.column("phones_text"))
    updates: list[dict[str, Any]] = []
    for rid, data in bind.execute(sa.select(table.c.id, table.c.data)):
        if isinstance(data, str):  # SQLite returns the JSON text
            data = json.loads(data)
        phones = [str(p) for p in ((data or {}).get("phones") or [])]
        if phones:
            updates.append({"b_id": rid, "b_text": f" {' '.join(phones)} "})
    if updates:
        bind.execute(
            table.update().where(table.c.id == sa.bindparam("b_id")).values(phones_text=sa.bindparam("b_text")),
            updates,
        )


def downgrade() -> None:
    with op.batch_alter_table("targeting_records", schema=None) as batch_op:
        batch_op.drop_column("phones_text")
