"""stars refund claims

Revision ID: b7d41e2c9a6f
Revises: 7d2b4c9e1f30
Create Date: 2026-12-06 15:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d41e2c9a6f"
down_revision: str | None = "7d2b4c9e1f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # When a sender took a due refund to send it; others pass it over until the lease ends.
    op.add_column(
        "shop_payments", sa.Column("refund_claimed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("shop_payments", schema=None) as batch_op:
        batch_op.drop_column("refund_claimed_at")
