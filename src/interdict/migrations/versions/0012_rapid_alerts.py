"""rapid alerts

Revision ID: 0012
Revises: 0011

``rapid_alerts`` (a shareable record: what to look for, sent to named units), ``alert_addressees`` (who it
was sent to and what each did: delivered, read, acknowledged, responded, reminded, escalated),
``alert_responses`` (the thread), ``alert_incidents`` (linked incidents), ``alert_counters`` (references
RA-<year>-<n>), and ``organisations.head_user_id`` (whom unacknowledged urgent alerts escalate to).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("head_user_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_organisations_head_user_id_users", "users", ["head_user_id"], ["id"])

    op.create_table(
        "rapid_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("distribution", sa.String(length=20), nullable=False),
        sa.Column("sharing_group_id", sa.Uuid(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("share_nominal", sa.Boolean(), nullable=False),
        sa.Column("vessel_name", sa.String(length=120), nullable=True),
        sa.Column("vessel_imo", sa.String(length=7), nullable=True),
        sa.Column("voyage", sa.String(length=40), nullable=True),
        sa.Column("bl_awb", sa.String(length=60), nullable=True),
        sa.Column("expected_arrival", sa.DateTime(timezone=True), nullable=True),
        sa.Column("containers", sa.JSON(), nullable=False),
        sa.Column("companies", sa.JSON(), nullable=False),
        sa.Column("persons", sa.JSON(), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("substance_ids", sa.JSON(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Uuid(), nullable=True),
        sa.Column("close_note", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_rapid_alerts_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_rapid_alerts_created_by_id_users")),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"], name=op.f("fk_rapid_alerts_closed_by_id_users")),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_rapid_alerts_sharing_group_id_sharing_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rapid_alerts")),
        sa.UniqueConstraint("reference", name=op.f("uq_rapid_alerts_reference")),
    )
    op.create_index("ix_rapid_alerts_owner_created", "rapid_alerts", ["owner_org_id", "created_at"], unique=False)
    op.create_index(op.f("ix_rapid_alerts_status"), "rapid_alerts", ["status"], unique=False)
    op.create_index(op.f("ix_rapid_alerts_urgency"), "rapid_alerts", ["urgency"], unique=False)

    op.create_table(
        "alert_incidents",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["rapid_alerts.id"], name=op.f("fk_alert_incidents_alert_id_rapid_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_alert_incidents_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("alert_id", "incident_id", name=op.f("pk_alert_incidents")),
    )
    op.create_index(op.f("ix_alert_incidents_incident_id"), "alert_incidents", ["incident_id"], unique=False)

    op.create_table(
        "alert_addressees",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_read_by_id", sa.Uuid(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Uuid(), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_to", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["rapid_alerts.id"],
            name=op.f("fk_alert_addressees_alert_id_rapid_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_alert_addressees_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["sharing_groups.id"], name=op.f("fk_alert_addressees_group_id_sharing_groups")
        ),
        sa.ForeignKeyConstraint(
            ["first_read_by_id"], ["users.id"], name=op.f("fk_alert_addressees_first_read_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"], ["users.id"], name=op.f("fk_alert_addressees_acknowledged_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_addressees")),
        sa.UniqueConstraint("alert_id", "org_id", name="uq_alert_addressees_alert_org"),
    )
    op.create_index(op.f("ix_alert_addressees_org_id"), "alert_addressees", ["org_id"], unique=False)

    op.create_table(
        "alert_responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["rapid_alerts.id"], name=op.f("fk_alert_responses_alert_id_rapid_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_alert_responses_org_id_organisations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_alert_responses_user_id_users")),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_alert_responses_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_responses")),
    )
    op.create_index("ix_alert_responses_alert_created", "alert_responses", ["alert_id", "created_at"], unique=False)

    op.create_table(
        "alert_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_alert_counters")),
    )


def downgrade() -> None:
    op.drop_table("alert_counters")
    op.drop_index("ix_alert_responses_alert_created", table_name="alert_responses")
    op.drop_table("alert_responses")
    op.drop_index(op.f("ix_alert_addressees_org_id"), table_name="alert_addressees")
    op.drop_table("alert_addressees")
    op.drop_index(op.f("ix_alert_incidents_incident_id"), table_name="alert_incidents")
    op.drop_table("alert_incidents")
    op.drop_index(op.f("ix_rapid_alerts_urgency"), table_name="rapid_alerts")
    op.drop_index(op.f("ix_rapid_alerts_status"), table_name="rapid_alerts")
    op.drop_index("ix_rapid_alerts_owner_created", table_name="rapid_alerts")
    op.drop_table("rapid_alerts")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_organisations_head_user_id_users", type_="foreignkey")
        batch_op.drop_column("head_user_id")
