"""time zones: each organisation has one, a user may choose their own

Revision ID: 0023
Revises: 0022

Times are stored in UTC and shown in the viewer's zone (core.localtime): the user's own choice
(users.time_zone, NULL: the organisation's), else the organisation's (organisations.time_zone). Existing
organisations get their country's zone (Viet Nam: Asia/Ho_Chi_Minh; a country with one zone: that zone;
otherwise UTC).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from interdict.core.localtime import default_zone

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    orgs = sa.table("organisations", sa.column("country", sa.String), sa.column("time_zone", sa.String))
    for (country,) in conn.execute(sa.select(orgs.c.country).distinct()).all():
        name = default_zone(country)
        if name != "UTC":
            conn.execute(orgs.update().where(orgs.c.country == country).values(time_zone=name))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
