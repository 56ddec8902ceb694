"""broadcasts from the dashboard

Revision ID: 3c5e1f7a9b20
Revises: a8909be59cba
Create Date: 2026-11-23 16:52:01.870940
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c5e1f7a9b20"
down_revision: str | None = "a8909be59cba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place, no table rebuild (a rebuild on SQLite would drop the deliveries with it).
    op.add_column("broadcasts", sa.Column("created_by_name", sa.String(length=128), nullable=True))
    op.add_column("broadcasts", sa.Column("draft_key", sa.String(length=64), nullable=True))
    op.create_index("uq_broadcasts_draft_key", "broadcasts", ["draft_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_broadcasts_draft_key", table_name="broadcasts")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("draft_key")
        batch_op.drop_column("created_by_name")
