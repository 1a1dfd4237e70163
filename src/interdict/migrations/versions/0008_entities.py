"""entity register, entity links, outbox consumer positions

Revision ID: 0008
Revises: 0007

``entities`` / ``entity_mentions`` / ``entity_tokens`` / ``entity_links`` hold what the linkage engine
extracts from incidents and how it links it. ``outbox_consumers`` gives each consumer (linkage, later
alerts) its own position in the outbox; on PostgreSQL ``outbox_events.xid`` records the writing
transaction so consumers read the log in an order that commits cannot change behind them. Existing
incidents are linked by ``interdict linkage rebuild`` (or by the worker, which starts at the first event).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "entities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("nominal", sa.Boolean(), nullable=False),
        sa.Column("canonical_id", sa.Uuid(), nullable=True),
        sa.Column("incident_count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.Date(), nullable=True),
        sa.Column("last_seen", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["canonical_id"], ["entities.id"], name=op.f("fk_entities_canonical_id_entities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_entities_kind")),
    )
    op.create_index(op.f("ix_entities_canonical_id"), "entities", ["canonical_id"], unique=False)
    op.create_table(
        "entity_mentions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("seen_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_entity_mentions_entity_id_entities"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_entity_mentions_incident_id_incidents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_mentions")),
    )
    op.create_index(op.f("ix_entity_mentions_entity_id"), "entity_mentions", ["entity_id"], unique=False)
    op.create_index(op.f("ix_entity_mentions_incident_id"), "entity_mentions", ["incident_id"], unique=False)
    op.create_table(
        "entity_tokens",
        sa.Column("token", sa.String(length=80), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_entity_tokens_entity_id_entities"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token", "entity_id", name=op.f("pk_entity_tokens")),
    )
    op.create_index("ix_entity_tokens_entity_id", "entity_tokens", ["entity_id"], unique=False)
    op.create_table(
        "entity_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity_a_id", sa.Uuid(), nullable=False),
        sa.Column("entity_b_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entity_a_id"], ["entities.id"], name=op.f("fk_entity_links_entity_a_id_entities"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["entity_b_id"], ["entities.id"], name=op.f("fk_entity_links_entity_b_id_entities"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_entity_links_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_links")),
        sa.UniqueConstraint("entity_a_id", "entity_b_id", name=op.f("uq_entity_links_entity_a_id")),
    )
    op.create_index(op.f("ix_entity_links_entity_a_id"), "entity_links", ["entity_a_id"], unique=False)
    op.create_index(op.f("ix_entity_links_entity_b_id"), "entity_links", ["entity_b_id"], unique=False)
    op.create_index(op.f("ix_entity_links_status"), "entity_links", ["status"], unique=False)
    op.create_table(
        "outbox_consumers",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_event_id", BIG, nullable=False),
        sa.Column("last_xid", BIG, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outbox_consumers")),
    )
    op.create_table(
        "deconfliction_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("matching_org_id", sa.Uuid(), nullable=False),
        sa.Column("matching_incident_id", sa.Uuid(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_deconfliction_notices_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_deconfliction_notices_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["matching_org_id"],
            ["organisations.id"],
            name=op.f("fk_deconfliction_notices_matching_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["matching_incident_id"],
            ["incidents.id"],
            name=op.f("fk_deconfliction_notices_matching_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_notices")),
        sa.UniqueConstraint("incident_id", "matching_incident_id", name=op.f("uq_deconfliction_notices_incident_id")),
    )
    op.create_index(op.f("ix_deconfliction_notices_org_id"), "deconfliction_notices", ["org_id"], unique=False)
    op.create_index(
        op.f("ix_deconfliction_notices_incident_id"), "deconfliction_notices", ["incident_id"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox_events ADD COLUMN xid bigint DEFAULT (pg_current_xact_id()::text::bigint)")
    else:
        with op.batch_alter_table("outbox_events", schema=None) as batch_op:
            batch_op.add_column(sa.Column("xid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_column("xid")
    op.drop_table("deconfliction_notices")
    op.drop_table("outbox_consumers")
    op.drop_table("entity_links")
    op.drop_table("entity_tokens")
    op.drop_table("entity_mentions")
    op.drop_table("entities")
