"""one full-text vector, party names on the incident, maintenance tasks

Revision ID: 0006
Revises: 0005

PostgreSQL: the two generated vectors (``search_vector`` of the record's text, ``nominal_vector`` of the
text with person data) and their GIN indexes become one ``text_vector`` with one GIN index; whether a
match through person data counts is decided per reader at query time (incidents.search.text_match).
The company filter reads the parties' names from two new incident columns (``company_names``,
``person_names``) instead of joining the parties, so the party-name GIN index goes.

``maintenance_tasks`` holds data tasks that need the application's code at head; this revision asks for
the search texts of existing incidents to be rebuilt (which also fills the new columns).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_tasks",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_maintenance_tasks")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("company_names", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("person_names", sa.Text(), nullable=True))
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.alter_column("company_names", server_default=None)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_incidents_fts")
        op.execute("DROP INDEX IF EXISTS ix_incidents_nominal_fts")
        op.execute("DROP INDEX IF EXISTS ix_incident_parties_fts")
        op.execute("ALTER TABLE incidents DROP COLUMN IF EXISTS search_vector")
        op.execute("ALTER TABLE incidents DROP COLUMN IF EXISTS nominal_vector")
        op.execute(
            "ALTER TABLE incidents ADD COLUMN text_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple'::regconfig, search_text || ' ' || coalesce(nominal_text, ''))) STORED"
        )
        op.execute("CREATE INDEX ix_incidents_text_fts ON incidents USING gin (text_vector)")
    if op.get_bind().execute(sa.text("SELECT 1 FROM incidents LIMIT 1")).first() is not None:
        op.execute(
            "INSERT INTO maintenance_tasks (name, requested_at) VALUES ('rebuild_incident_texts', CURRENT_TIMESTAMP)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_incidents_text_fts")
        op.execute("ALTER TABLE incidents DROP COLUMN IF EXISTS text_vector")
        op.execute(
            "ALTER TABLE incidents ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_incidents_fts ON incidents USING gin (search_vector)")
        op.execute(
            "ALTER TABLE incidents ADD COLUMN nominal_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple'::regconfig, search_text || ' ' || nominal_text)) STORED"
        )
        op.execute(
            "CREATE INDEX ix_incidents_nominal_fts ON incidents USING gin (nominal_vector) "
            "WHERE nominal_text IS NOT NULL"
        )
        op.execute(
            "CREATE INDEX ix_incident_parties_fts ON incident_parties "
            "USING gin (to_tsvector('simple'::regconfig, name_folded))"
        )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("person_names")
        batch_op.drop_column("company_names")
    op.drop_table("maintenance_tasks")
