"""incident reach: the widest audience token, ordered by date in an index

Revision ID: 0016
Revises: 0015

``incidents.reach`` is the last of a record's audience tokens (``all``, ``c:<country>``, ``t:<agency tree>``,
``g:<group>``, or ``o:<owner unit>`` when it reaches no one else; see sharing.set_audience). Broad PostgreSQL
searches walk each of the reader's tokens in the new ``(reach, incident_date, reference)`` index, and the
reader's own rows in ``(owner_org_id, incident_date, reference)`` (which gains the reference, so that both
give the full sort order), and merge the walks (incidents.service.readable_in_order). Existing rows are
filled here from their stored audience.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reach", sa.String(length=64), nullable=False, server_default=""))
    if postgres:
        op.execute("UPDATE incidents SET reach = audience[cardinality(audience)] WHERE cardinality(audience) > 0")
    else:
        op.execute("UPDATE incidents SET reach = coalesce(json_extract(audience, '$[#-1]'), '')")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_owner_date")
        batch_op.create_index("ix_incidents_owner_date", ["owner_org_id", "incident_date", "reference"], unique=False)
        batch_op.create_index("ix_incidents_reach_date", ["reach", "incident_date", "reference"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_reach_date")
        batch_op.drop_index("ix_incidents_owner_date")
        batch_op.create_index("ix_incidents_owner_date", ["owner_org_id", "incident_date"], unique=False)
        batch_op.drop_column("reach")
