"""risk profile versions (editing with history), and true record counts of targeting loads

Revision ID: 0025
Revises: 0024

``risk_profile_versions``: every saved state of a risk profile, who and when (issue 17). Each existing profile
gets its current state as version 1 (by its owner, at its last change). Loads re-uploaded under another name had
their records moved out while keeping their old count: every load's ``loaded`` is recounted.
"""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "risk_profile_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("changed_by_id", sa.Uuid(), nullable=True),
        sa.Column("changed_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_risk_profile_versions_changed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["risk_profiles.id"],
            name=op.f("fk_risk_profile_versions_profile_id_risk_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_profile_versions")),
        sa.UniqueConstraint("profile_id", "version", name="uq_risk_profile_versions_profile_id_version"),
    )
    op.create_index(op.f("ix_risk_profile_versions_profile_id"), "risk_profile_versions", ["profile_id"], unique=False)
    bind = op.get_bind()
    profiles = sa.table(
        "risk_profiles",
        sa.column("id", sa.Uuid()),
        sa.column("owner_user_id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("criteria", sa.JSON()),
        sa.column("weight", sa.Float()),
        sa.column("lane", sa.String()),
        sa.column("valid_from", sa.Date()),
        sa.column("valid_to", sa.Date()),
        sa.column("rationale", sa.Text()),
        sa.column("active", sa.Boolean()),
        sa.column("updated_at", TS),
    )
    versions = sa.table(
        "risk_profile_versions",
        sa.column("id", sa.Uuid()),
        sa.column("profile_id", sa.Uuid()),
        sa.column("version", sa.Integer()),
        sa.column("action", sa.String()),
        sa.column("snapshot", sa.JSON()),
        sa.column("changed_by_id", sa.Uuid()),
        sa.column("changed_at", TS),
    )
    rows = []
    for p in bind.execute(sa.select(profiles)).mappings():
        snapshot = {
            "name": p["name"],
            "criteria": p["criteria"] if isinstance(p["criteria"], dict) else json.loads(p["criteria"]),
            "weight": p["weight"],
            "lane": p["lane"],
            "valid_from": p["valid_from"].isoformat() if p["valid_from"] else None,
            "valid_to": p["valid_to"].isoformat() if p["valid_to"] else None,
            "rationale": p["rationale"],
            "active": bool(p["active"]),
        }
        rows.append(
            {
                "id": uuid.uuid4(),
                "profile_id": p["id"],
                "version": 1,
                "action": "created",
                "snapshot": snapshot,
                "changed_by_id": p["owner_user_id"],
                "changed_at": p["updated_at"],
            }
        )
    if rows:
        op.bulk_insert(versions, rows)
    op.execute(
        "UPDATE targeting_batches SET loaded = "
        "(SELECT count(*) FROM targeting_records WHERE targeting_records.batch_id = targeting_batches.id)"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_risk_profile_versions_profile_id"), table_name="risk_profile_versions")
    op.drop_table("risk_profile_versions")
