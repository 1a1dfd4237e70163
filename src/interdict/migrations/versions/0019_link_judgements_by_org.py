"""link judgements belong to the judging organisation (issue 16)

Revision ID: 0019
Revises: 0018

An analyst's "same" / "not the same" on an entity link was written on the link itself, so a partner agency's
analyst changed the link for every reader. Judgements now live in ``entity_link_judgements``, one per link and
judging agency (the root of the judge's organisation tree); the link keeps the status the register gave it
(``auto`` at or above the link threshold of 0.85 — the product's threshold when this was written — else
``suggested``). Every existing judgement is given to its judge's agency: from the judge recorded on the link, or,
without one, from the last ``linkage.confirm`` / ``linkage.reject`` audit entry of the link. A judgement that
neither names is not kept (it cannot be given to anyone; judge() always recorded the judge). Which judgements
bind every reader (their agency owns every incident mentioning either entity) and the clusters that follow are
decided with the current code after the upgrade (maintenance task ``refresh_link_judgements``).

The audit trail gets ``audit_entries.org_ids``: organisations besides the actor's whose auditors read an entry
(the owners of the records a judgement concerns), hashed only when set, so entries written before keep their
hashes; ``audit_entry_orgs`` indexes it for the auditors' queries. A downgrade puts each link's binding judgement
(else its latest) back on the link (the stored clusters are walked again by the older code's next judgement of
them), and refuses to run once an audit entry carries ``org_ids``: dropping the column would break those
entries' hashes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LINK_THRESHOLD = 0.85  # linkage.score.DEFAULT_THRESHOLD when this migration was written

links = sa.table(
    "entity_links",
    sa.column("id", sa.Uuid()),
    sa.column("score", sa.Float()),
    sa.column("status", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("decided_by_id", sa.Uuid()),
    sa.column("decided_at", sa.DateTime(timezone=True)),
)
judgements = sa.table(
    "entity_link_judgements",
    sa.column("id", sa.Uuid()),
    sa.column("link_id", sa.Uuid()),
    sa.column("org_id", sa.Uuid()),
    sa.column("verdict", sa.String()),
    sa.column("binding", sa.Boolean()),
    sa.column("judged_by_id", sa.Uuid()),
    sa.column("judged_at", sa.DateTime(timezone=True)),
)
users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("org_id", sa.Uuid()))
organisations = sa.table("organisations", sa.column("id", sa.Uuid()), sa.column("root_id", sa.Uuid()))
audit_entries = sa.table(
    "audit_entries",
    sa.column("seq", BIG),
    sa.column("actor_org_id", sa.Uuid()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("org_ids", sa.JSON()),
)


def _judgements_of_links(bind: sa.Connection) -> list[dict[str, Any]]:
    """Each judged link's judgement, given to its judge's agency."""
    root = sa.func.coalesce(organisations.c.root_id, organisations.c.id)
    judged = bind.execute(
        sa.select(links.c.id, links.c.status, links.c.decided_by_id, links.c.decided_at, links.c.created_at, root)
        .select_from(links)
        .outerjoin(users, users.c.id == links.c.decided_by_id)
        .outerjoin(organisations, organisations.c.id == users.c.org_id)
        .where(links.c.status.in_(["confirmed", "rejected"]))
    ).all()
    if not judged:
        return []
    # Without a judge on the link: the organisation of the last judgement of it in the audit trail.
    by_audit: dict[str, uuid.UUID] = {}
    for object_id, org in bind.execute(
        sa.select(audit_entries.c.object_id, root)
        .select_from(audit_entries)
        .join(organisations, organisations.c.id == audit_entries.c.actor_org_id)
        .where(
            audit_entries.c.object_type == "entity_link",
            audit_entries.c.action.in_(["linkage.confirm", "linkage.reject"]),
        )
        .order_by(audit_entries.c.seq)
    ):
        by_audit[str(object_id)] = org
    rows = []
    for link_id, status, judge, at, created, org in judged:
        org = org or by_audit.get(str(link_id))
        if org is None:
            continue
        rows.append(
            {
                "id": uuid.uuid4(),
                "link_id": link_id,
                "org_id": org,
                "verdict": status,
                "binding": False,
                "judged_by_id": judge,
                "judged_at": at or created or datetime.now(UTC),
            }
        )
    return rows


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("audit_entries", sa.Column("org_ids", sa.JSON(), nullable=True))
    op.create_table(
        "audit_entry_orgs",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("seq", BIG, nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["audit_entries.seq"], name=op.f("fk_audit_entry_orgs_seq_audit_entries")),
        sa.PrimaryKeyConstraint("org_id", "seq", name=op.f("pk_audit_entry_orgs")),
    )
    op.create_table(
        "entity_link_judgements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("verdict", sa.String(length=12), nullable=False),
        sa.Column("binding", sa.Boolean(), nullable=False),
        sa.Column("judged_by_id", sa.Uuid(), nullable=True),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["entity_links.id"],
            name=op.f("fk_entity_link_judgements_link_id_entity_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_entity_link_judgements_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["judged_by_id"], ["users.id"], name=op.f("fk_entity_link_judgements_judged_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_link_judgements")),
        sa.UniqueConstraint("link_id", "org_id", name=op.f("uq_entity_link_judgements_link_id")),
    )
    op.create_index(op.f("ix_entity_link_judgements_org_id"), "entity_link_judgements", ["org_id"], unique=False)

    rows = _judgements_of_links(bind)
    if rows:
        bind.execute(judgements.insert(), rows)
    bind.execute(
        links.update()
        .where(links.c.status.in_(["confirmed", "rejected"]))
        .values(status=sa.case((links.c.score >= LINK_THRESHOLD, "auto"), else_="suggested"))
    )
    with op.batch_alter_table("entity_links", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_entity_links_decided_by_id_users"), type_="foreignkey")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by_id")
    if rows:
        op.execute(
            "INSERT INTO maintenance_tasks (name, requested_at) VALUES ('refresh_link_judgements', CURRENT_TIMESTAMP)"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.select(audit_entries.c.seq).where(audit_entries.c.org_ids.is_not(None)).limit(1)).first():
        raise RuntimeError(
            "audit entries written since revision 0019 are hashed with the organisations they concern "
            "(audit_entries.org_ids); dropping that column would make them fail verification"
        )
    with op.batch_alter_table("entity_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(op.f("fk_entity_links_decided_by_id_users"), "users", ["decided_by_id"], ["id"])
    # One judgement per link, as before: the binding one, else the latest.
    chosen: dict[uuid.UUID, Any] = {}
    for row in bind.execute(
        sa.select(
            judgements.c.link_id,
            judgements.c.verdict,
            judgements.c.judged_by_id,
            judgements.c.judged_at,
            judgements.c.binding,
        ).order_by(judgements.c.binding, judgements.c.judged_at)
    ):
        chosen[row.link_id] = row
    for link_id, row in chosen.items():
        bind.execute(
            links.update()
            .where(links.c.id == link_id)
            .values(status=row.verdict, decided_by_id=row.judged_by_id, decided_at=row.judged_at)
        )
    op.drop_index(op.f("ix_entity_link_judgements_org_id"), table_name="entity_link_judgements")
    op.drop_table("entity_link_judgements")
    op.drop_table("audit_entry_orgs")
    op.drop_column("audit_entries", "org_ids")
    bind.execute(sa.text("DELETE FROM maintenance_tasks WHERE name = 'refresh_link_judgements'"))
