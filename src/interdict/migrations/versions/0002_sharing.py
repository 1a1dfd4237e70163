"""sharing groups, TLP, nominal data

Revision ID: 0002
Revises: 0001

Sharing groups and their members; on incidents: the sharing group foreign key, ``share_nominal``
and ``nominal_text`` (the person data, searched only by readers allowed to see it). PostgreSQL gets a
generated ``nominal_vector`` (record text + person data) with a partial GIN index; SQLite an FTS5
table ``incidents_nominal_fts``. Incidents written before this revision have their person data moved
out of ``search_text`` (so searches cannot find them through it any more) by the text rebuild that
migration 0006 requests.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sharing_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("hide_members", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_sharing_groups_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_sharing_groups_owner_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_groups")),
        sa.UniqueConstraint("code", name=op.f("uq_sharing_groups_code")),
    )
    with op.batch_alter_table("sharing_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharing_groups_owner_org_id"), ["owner_org_id"], unique=False)
    op.create_table(
        "sharing_group_members",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["sharing_groups.id"],
            name=op.f("fk_sharing_group_members_group_id_sharing_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_sharing_group_members_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("group_id", "org_id", name=op.f("pk_sharing_group_members")),
    )
    with op.batch_alter_table("sharing_group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharing_group_members_org_id"), ["org_id"], unique=False)

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("share_nominal", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("nominal_text", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_incidents_sharing_group_id_sharing_groups"), "sharing_groups", ["sharing_group_id"], ["id"]
        )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.alter_column("share_nominal", server_default=None)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE incidents ADD COLUMN nominal_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple'::regconfig, search_text || ' ' || nominal_text)) STORED"
        )
        op.execute(
            "CREATE INDEX ix_incidents_nominal_fts ON incidents USING gin (nominal_vector) "
            "WHERE nominal_text IS NOT NULL"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE incidents_nominal_fts USING fts5(incident_id UNINDEXED, body, tokenize='unicode61')"
        )
    # Existing incidents get their texts rebuilt (person data moved out of search_text) by the
    # maintenance task that migration 0006 requests: a migration must not use the current ORM models.


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_incidents_nominal_fts")
        op.execute("ALTER TABLE incidents DROP COLUMN IF EXISTS nominal_vector")
    else:
        op.execute("DROP TABLE IF EXISTS incidents_nominal_fts")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_incidents_sharing_group_id_sharing_groups"), type_="foreignkey")
        batch_op.drop_column("nominal_text")
        batch_op.drop_column("share_nominal")
    with op.batch_alter_table("sharing_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_group_members_org_id"))
    op.drop_table("sharing_group_members")
    with op.batch_alter_table("sharing_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_groups_owner_org_id"))
    op.drop_table("sharing_groups")
