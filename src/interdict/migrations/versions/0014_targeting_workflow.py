"""targeting workflow

Revision ID: 0014
Revises: 0013

``targeting_batches`` (loads of manifests/declarations by a unit), ``targeting_records`` (canonical records with
score, lane, reasons, selection and outcome; record id unique per owning organisation), ``targeting_rejections``
(per-row problems of a load), ``risk_profiles`` (analysts' criteria in the filter language) and ``profile_hits``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "risk_profiles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("root_org_id", sa.Uuid(), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("lane", sa.String(length=10), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_risk_profiles_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], name=op.f("fk_risk_profiles_owner_user_id_users")),
        sa.ForeignKeyConstraint(
            ["root_org_id"], ["organisations.id"], name=op.f("fk_risk_profiles_root_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_profiles")),
    )
    op.create_index(op.f("ix_risk_profiles_owner_org_id"), "risk_profiles", ["owner_org_id"], unique=False)
    op.create_index(op.f("ix_risk_profiles_root_org_id"), "risk_profiles", ["root_org_id"], unique=False)
    op.create_table(
        "targeting_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("mapping_name", sa.String(length=120), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("loaded", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=120), nullable=True),
        sa.Column("random_share", sa.Float(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_targeting_batches_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_targeting_batches_owner_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targeting_batches")),
        sa.UniqueConstraint("owner_org_id", "name", name="uq_targeting_batches_owner_org_id_name"),
    )
    op.create_index(op.f("ix_targeting_batches_owner_org_id"), "targeting_batches", ["owner_org_id"], unique=False)
    op.create_table(
        "targeting_rejections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=120), nullable=True),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["targeting_batches.id"],
            name=op.f("fk_targeting_rejections_batch_id_targeting_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targeting_rejections")),
    )
    op.create_index(op.f("ix_targeting_rejections_batch_id"), "targeting_rejections", ["batch_id"], unique=False)
    op.create_table(
        "targeting_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("root_org_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.String(length=120), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("hs_code", sa.String(length=12), nullable=True),
        sa.Column("containers", sa.JSON(), nullable=False),
        sa.Column("vessel", sa.String(length=200), nullable=True),
        sa.Column("voyage", sa.String(length=60), nullable=True),
        sa.Column("bill_of_lading", sa.String(length=100), nullable=True),
        sa.Column("port_loading", sa.String(length=10), nullable=True),
        sa.Column("port_discharge", sa.String(length=10), nullable=True),
        sa.Column("port_transshipment", sa.JSON(), nullable=False),
        sa.Column("shipper", sa.String(length=300), nullable=True),
        sa.Column("consignee", sa.String(length=300), nullable=True),
        sa.Column("importer", sa.String(length=300), nullable=True),
        sa.Column("declarant", sa.String(length=300), nullable=True),
        sa.Column("notify_party", sa.String(length=300), nullable=True),
        sa.Column("goods_description", sa.Text(), nullable=True),
        sa.Column("country_origin", sa.String(length=10), nullable=True),
        sa.Column("country_departure", sa.String(length=10), nullable=True),
        sa.Column("office", sa.String(length=60), nullable=True),
        sa.Column("gross_weight", sa.Float(), nullable=True),
        sa.Column("net_weight", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("shipper_key", sa.String(length=300), nullable=True),
        sa.Column("consignee_key", sa.String(length=300), nullable=True),
        sa.Column("importer_key", sa.String(length=300), nullable=True),
        sa.Column("declarant_key", sa.String(length=300), nullable=True),
        sa.Column("goods_words", sa.Text(), nullable=True),
        sa.Column("value_per_kg", sa.Float(), nullable=True),
        sa.Column("chemical_mismatch", sa.Boolean(), nullable=False),
        sa.Column("consignee_first_seen_days", sa.Integer(), nullable=True),
        sa.Column("transshipment_text", sa.String(length=300), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("lane", sa.String(length=10), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("selected_reason", sa.String(length=10), nullable=True),
        sa.Column("selected_at", TS, nullable=True),
        sa.Column("selected_by_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_to_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("outcome_notes", sa.Text(), nullable=True),
        sa.Column("outcome_at", TS, nullable=True),
        sa.Column("outcome_by_id", sa.Uuid(), nullable=True),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_to_id"], ["users.id"], name=op.f("fk_targeting_records_assigned_to_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["targeting_batches.id"],
            name=op.f("fk_targeting_records_batch_id_targeting_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_targeting_records_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["outcome_by_id"], ["users.id"], name=op.f("fk_targeting_records_outcome_by_id_users")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organisations.id"], name=op.f("fk_targeting_records_owner_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["root_org_id"], ["organisations.id"], name=op.f("fk_targeting_records_root_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["selected_by_id"], ["users.id"], name=op.f("fk_targeting_records_selected_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targeting_records")),
        sa.UniqueConstraint("root_org_id", "record_id", name="uq_targeting_records_root_org_id_record_id"),
    )
    op.create_index("ix_targeting_records_batch_id_score", "targeting_records", ["batch_id", "score"], unique=False)
    op.create_index(op.f("ix_targeting_records_date"), "targeting_records", ["date"], unique=False)
    op.create_index(op.f("ix_targeting_records_owner_org_id"), "targeting_records", ["owner_org_id"], unique=False)
    op.create_index(
        "ix_targeting_records_root_org_id_consignee_key",
        "targeting_records",
        ["root_org_id", "consignee_key"],
        unique=False,
    )
    op.create_table(
        "profile_hits",
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("hit_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["risk_profiles.id"],
            name=op.f("fk_profile_hits_profile_id_risk_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["targeting_records.id"],
            name=op.f("fk_profile_hits_record_id_targeting_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", "record_id", name=op.f("pk_profile_hits")),
    )
    op.create_index(op.f("ix_profile_hits_record_id"), "profile_hits", ["record_id"], unique=False)


def downgrade() -> None:
    op.drop_table("profile_hits")
    op.drop_table("targeting_records")
    op.drop_table("targeting_rejections")
    op.drop_table("targeting_batches")
    op.drop_table("risk_profiles")
