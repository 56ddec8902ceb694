"""catalogue translations: shop categories' and products' names and descriptions per language,
and products' descriptions

Revision ID: c3e8a5f1d2b4
Revises: b7d41e2c9a6f
Create Date: 2026-12-06 18:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3e8a5f1d2b4"
down_revision: str | None = "b7d41e2c9a6f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows keep their names as the default language's and get no translations yet.
    op.add_column(
        "shop_categories",
        sa.Column("translations", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column(
        "shop_products",
        sa.Column("description", sa.String(length=500), nullable=False, server_default=""),
    )
    op.add_column(
        "shop_products",
        sa.Column("translations", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    with op.batch_alter_table("shop_products", schema=None) as batch_op:
        batch_op.drop_column("translations")
        batch_op.drop_column("description")
    with op.batch_alter_table("shop_categories", schema=None) as batch_op:
        batch_op.drop_column("translations")
