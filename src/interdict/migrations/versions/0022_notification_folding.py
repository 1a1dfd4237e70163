"""notifications fold repeated events: a count and the time of the last one

Revision ID: 0022
Revises: 0021

Kinds whose events repeat (deconfliction matches of the same records, responses to the same alert, watch hits on
the same incident) keep one row per user and event key, updated in place (notifications.kinds). Existing rows
stand for one event each, last updated when created.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE notifications SET updated_at = created_at")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("count")
