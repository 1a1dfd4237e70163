"""users.totp_secret holds the sealed secret

Revision ID: 0017
Revises: 0016

TOTP secrets are now stored sealed with the server's secret key (accounts.mfa, core.security.seal): the
column widens from 64 to 128 characters. Secrets stored in clear before this revision are sealed when the
application next starts (it holds the key; a migration does not).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("totp_secret", existing_type=sa.String(length=64), type_=sa.String(length=128))


def downgrade() -> None:
    # Sealed secrets do not fit the old column and cannot be opened without the key: two-factor set-ups are
    # reset (users enrol again), as an administrator's reset would.
    op.execute("UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL")
    op.execute("DELETE FROM recovery_codes")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("totp_secret", existing_type=sa.String(length=128), type_=sa.String(length=64))
