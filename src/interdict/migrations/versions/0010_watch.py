"""watch rules and watch lists

Revision ID: 0010
Revises: 0009

``watch_rules`` (saved filters, per user or per unit) and ``watch_fires`` (each rule-incident pair once);
``watch_lists`` / ``watch_list_entries`` (watched values with their normalised key, reason and expiry) and
``watch_hits`` (each entry-incident pair once, with what it matched).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=False),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_watch_rules_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_watch_rules_owner_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_rules")),
    )
    op.create_index(op.f("ix_watch_rules_owner_org_id"), "watch_rules", ["owner_org_id"], unique=False)
    op.create_index(op.f("ix_watch_rules_owner_user_id"), "watch_rules", ["owner_user_id"], unique=False)
    op.create_index(op.f("ix_watch_rules_updated_at"), "watch_rules", ["updated_at"], unique=False)
    op.create_table(
        "watch_fires",
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_watch_fires_incident_id_incidents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["watch_rules.id"], name=op.f("fk_watch_fires_rule_id_watch_rules"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("rule_id", "incident_id", name=op.f("pk_watch_fires")),
    )
    op.create_index(op.f("ix_watch_fires_incident_id"), "watch_fires", ["incident_id"], unique=False)
    op.create_table(
        "watch_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_watch_lists_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_watch_lists_owner_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_lists")),
    )
    op.create_index(op.f("ix_watch_lists_owner_org_id"), "watch_lists", ["owner_org_id"], unique=False)
    op.create_table(
        "watch_list_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("added_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_watch_list_entries_added_by_id_users")),
        sa.ForeignKeyConstraint(
            ["list_id"], ["watch_lists.id"], name=op.f("fk_watch_list_entries_list_id_watch_lists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_list_entries")),
    )
    op.create_index("ix_watch_list_entries_kind_key", "watch_list_entries", ["kind", "key"], unique=False)
    op.create_index(op.f("ix_watch_list_entries_list_id"), "watch_list_entries", ["list_id"], unique=False)
    op.create_index(op.f("ix_watch_list_entries_updated_at"), "watch_list_entries", ["updated_at"], unique=False)
    op.create_table(
        "watch_hits",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("matched", sa.String(length=500), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("nominal", sa.Boolean(), nullable=False),
        sa.Column("hit_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["watch_list_entries.id"],
            name=op.f("fk_watch_hits_entry_id_watch_list_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_watch_hits_incident_id_incidents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("entry_id", "incident_id", name=op.f("pk_watch_hits")),
    )
    op.create_index(op.f("ix_watch_hits_incident_id"), "watch_hits", ["incident_id"], unique=False)


def downgrade() -> None:
    op.drop_table("watch_hits")
    op.drop_table("watch_list_entries")
    op.drop_table("watch_lists")
    op.drop_table("watch_fires")
    op.drop_table("watch_rules")
