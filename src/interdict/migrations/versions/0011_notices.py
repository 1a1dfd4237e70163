"""warning notices

Revision ID: 0011
Revises: 0010

Formal warning notices (văn bản cảnh báo nghiệp vụ): ``warning_notices`` (shareable like incidents; a folded
``search_text`` searched with LIKE), their ``notice_recipients`` with each unit's acknowledgement and results
report (``notice_report_incidents``), links to incidents and entities, attachments, and each issuing
organisation's numbering pattern (``notice_settings``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_settings",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("number_pattern", sa.String(length=100), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_notice_settings_org_id_organisations")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_notice_settings_updated_by_id_users")),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_notice_settings")),
    )
    op.create_table(
        "warning_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("notice_date", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("risk_indicators", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("report_deadline", sa.Date(), nullable=True),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("distribution", sa.String(length=20), nullable=False),
        sa.Column("sharing_group_id", sa.Uuid(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["approved_by_id"], ["users.id"], name=op.f("fk_warning_notices_approved_by_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_warning_notices_created_by_id_users")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_warning_notices_issued_by_id_users")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_warning_notices_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["sharing_group_id"], ["sharing_groups.id"], name=op.f("fk_warning_notices_sharing_group_id_sharing_groups")
        ),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_warning_notices_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_notices")),
        sa.UniqueConstraint("owner_org_id", "number", name="uq_warning_notices_owner_number"),
    )
    op.create_index(op.f("ix_warning_notices_issued_at"), "warning_notices", ["issued_at"], unique=False)
    op.create_index(op.f("ix_warning_notices_notice_date"), "warning_notices", ["notice_date"], unique=False)
    op.create_index(op.f("ix_warning_notices_owner_org_id"), "warning_notices", ["owner_org_id"], unique=False)
    op.create_index(op.f("ix_warning_notices_status"), "warning_notices", ["status"], unique=False)
    op.create_table(
        "notice_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_notice_attachments_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["warning_notices.id"],
            name=op.f("fk_notice_attachments_notice_id_warning_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_notice_attachments_storage_key")),
    )
    op.create_index(op.f("ix_notice_attachments_notice_id"), "notice_attachments", ["notice_id"], unique=False)
    op.create_table(
        "notice_entities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_notice_entities_entity_id_entities"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["warning_notices.id"],
            name=op.f("fk_notice_entities_notice_id_warning_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_entities")),
        sa.UniqueConstraint("notice_id", "entity_id", name="uq_notice_entities_notice_entity"),
    )
    op.create_index(op.f("ix_notice_entities_entity_id"), "notice_entities", ["entity_id"], unique=False)
    op.create_index(op.f("ix_notice_entities_notice_id"), "notice_entities", ["notice_id"], unique=False)
    op.create_table(
        "notice_incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_notice_incidents_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["warning_notices.id"],
            name=op.f("fk_notice_incidents_notice_id_warning_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_incidents")),
        sa.UniqueConstraint("notice_id", "incident_id", name="uq_notice_incidents_notice_incident"),
    )
    op.create_index(op.f("ix_notice_incidents_incident_id"), "notice_incidents", ["incident_id"], unique=False)
    op.create_index(op.f("ix_notice_incidents_notice_id"), "notice_incidents", ["notice_id"], unique=False)
    op.create_table(
        "notice_recipients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Uuid(), nullable=True),
        sa.Column("checked_what", sa.Text(), nullable=True),
        sa.Column("shipments_checked", sa.Integer(), nullable=True),
        sa.Column("declarations_checked", sa.Integer(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_by_id", sa.Uuid(), nullable=True),
        sa.Column("report_revision", sa.Integer(), nullable=False),
        sa.Column("report_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"], ["users.id"], name=op.f("fk_notice_recipients_acknowledged_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["warning_notices.id"],
            name=op.f("fk_notice_recipients_notice_id_warning_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_notice_recipients_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"], ["users.id"], name=op.f("fk_notice_recipients_reported_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_recipients")),
        sa.UniqueConstraint("notice_id", "org_id", name="uq_notice_recipients_notice_org"),
    )
    op.create_index(op.f("ix_notice_recipients_notice_id"), "notice_recipients", ["notice_id"], unique=False)
    op.create_index(op.f("ix_notice_recipients_org_id"), "notice_recipients", ["org_id"], unique=False)
    op.create_table(
        "notice_report_incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_notice_report_incidents_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["notice_recipients.id"],
            name=op.f("fk_notice_report_incidents_recipient_id_notice_recipients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_report_incidents")),
        sa.UniqueConstraint("recipient_id", "incident_id", name="uq_notice_report_incidents_recipient_incident"),
    )
    op.create_index(
        op.f("ix_notice_report_incidents_incident_id"), "notice_report_incidents", ["incident_id"], unique=False
    )
    op.create_index(
        op.f("ix_notice_report_incidents_recipient_id"), "notice_report_incidents", ["recipient_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("notice_report_incidents")
    op.drop_table("notice_recipients")
    op.drop_table("notice_incidents")
    op.drop_table("notice_entities")
    op.drop_table("notice_attachments")
    op.drop_table("warning_notices")
    op.drop_table("notice_settings")
