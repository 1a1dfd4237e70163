"""incident audience tokens, indexed with the text vector

Revision ID: 0007
Revises: 0006

``incidents.audience`` lists who a record's distribution may reach (``o:<owner unit>``, ``t:<owner's
agency tree>``, ``c:<owner's country>``, ``g:<sharing group>``, ``all``; see sharing.audience_tokens).
PostgreSQL search adds ``audience && <the reader's tokens>`` beside sharing.readable(), and the GIN index
over (text_vector, audience) replaces the one over text_vector alone, so a small unit's text search no
longer reads the rows it may not see. Existing rows are filled here from their owner organisation.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The same rule as sharing.audience_tokens, in SQL (PostgreSQL).
PG_FILL = """
UPDATE incidents AS i SET audience = CASE
    WHEN i.status = 'draft' OR i.distribution = 'unit' THEN ARRAY['o:' || i.owner_org_id::text]
    WHEN i.tlp = 'AMBER+STRICT' OR i.distribution = 'organisation'
        THEN ARRAY['o:' || i.owner_org_id::text, 't:' || coalesce(o.root_id, o.id)::text]
    WHEN i.distribution = 'all' THEN ARRAY['o:' || i.owner_org_id::text, 'all']
    WHEN i.distribution = 'national' THEN ARRAY['o:' || i.owner_org_id::text, 'c:' || o.country]
    WHEN i.distribution = 'group' AND i.sharing_group_id IS NOT NULL
        THEN ARRAY['o:' || i.owner_org_id::text, 'g:' || i.sharing_group_id::text]
    ELSE ARRAY['o:' || i.owner_org_id::text]
END
FROM organisations AS o WHERE o.id = i.owner_org_id
"""


def _tokens(
    owner: str, root: str, country: str, status: str, distribution: str, group: str | None, tlp: str
) -> list[str]:
    """The same rule as sharing.audience_tokens at this revision (kept here so the migration never changes)."""
    tokens = [f"o:{owner}"]
    if status == "draft" or distribution == "unit":
        return tokens
    if tlp == "AMBER+STRICT" or distribution == "organisation":
        return [*tokens, f"t:{root}"]
    if distribution == "all":
        return [*tokens, "all"]
    if distribution == "national":
        return [*tokens, f"c:{country}"]
    if distribution == "group" and group:
        return [*tokens, f"g:{group}"]
    return tokens


def _fill_sqlite() -> None:
    bind = op.get_bind()

    def dashed(value: object) -> str:
        return str(uuid.UUID(str(value)))

    orgs = {
        dashed(r.id): (dashed(r.root_id or r.id), r.country)
        for r in bind.execute(sa.text("SELECT id, root_id, country FROM organisations"))
    }
    table = sa.table("incidents", sa.column("id"), sa.column("audience", sa.JSON()))
    updates = []
    for r in bind.execute(
        sa.text("SELECT id, owner_org_id, status, distribution, sharing_group_id, tlp FROM incidents")
    ):
        owner = dashed(r.owner_org_id)
        root, country = orgs.get(owner, (owner, ""))
        group = dashed(r.sharing_group_id) if r.sharing_group_id else None
        updates.append(
            {"b_id": r.id, "b_audience": _tokens(owner, root, country, r.status, r.distribution, group, r.tlp)}
        )
    if updates:
        bind.execute(
            table.update().where(table.c.id == sa.bindparam("b_id")).values(audience=sa.bindparam("b_audience")),
            updates,
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "incidents",
            sa.Column("audience", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        )
        op.execute(PG_FILL)
        op.execute("DROP INDEX IF EXISTS ix_incidents_text_fts")
        op.execute("CREATE INDEX ix_incidents_text_audience ON incidents USING gin (text_vector, audience)")
    else:
        with op.batch_alter_table("incidents", schema=None) as batch_op:
            batch_op.add_column(sa.Column("audience", sa.JSON(), nullable=False, server_default="[]"))
        _fill_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_incidents_text_audience")
        op.execute("CREATE INDEX ix_incidents_text_fts ON incidents USING gin (text_vector)")
        op.drop_column("incidents", "audience")
    else:
        with op.batch_alter_table("incidents", schema=None) as batch_op:
            batch_op.drop_column("audience")
