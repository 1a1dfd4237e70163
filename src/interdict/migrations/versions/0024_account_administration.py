"""users.must_change_password: an administrator-set password must be changed at the next login

Revision ID: 0024
Revises: 0023

Account administration (deactivate, reactivate, re-role, reset a password). ``users.is_active`` and
``users.last_login_at`` exist since 0001; only the forced-change flag is new. Existing users keep their passwords.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
