"""processed updates; domain events published to the broker

Revision ID: 5a1e7c0d9b42
Revises: 35617be1b4e2
Create Date: 2026-11-23 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1e7c0d9b42"
down_revision: str | None = "35617be1b4e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_updates",
        sa.Column("bot_id", sa.BigInteger(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "update_id", name=op.f("pk_processed_updates")),
    )
    op.create_index(
        op.f("ix_processed_updates_handled_at"), "processed_updates", ["handled_at"], unique=False
    )
    with op.batch_alter_table("domain_events") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("publish_locked_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_index(
            batch.f("ix_domain_events_published_at"), ["published_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("domain_events") as batch:
        batch.drop_index(batch.f("ix_domain_events_published_at"))
        batch.drop_column("publish_locked_until")
        batch.drop_column("published_at")
    op.drop_index(op.f("ix_processed_updates_handled_at"), table_name="processed_updates")
    op.drop_table("processed_updates")
