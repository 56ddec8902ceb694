"""one audit log: the lotteries', the shop's and the classifieds' decisions move to audit_log

Revision ID: e4c1a7b93d52
Revises: d3a9c1f0b7e4
Create Date: 2026-12-06 19:10:00.000000

Rows are copied with their time, in id order, as the features now write them:
- lottery_audit: area "lotteries", actor "telegram:<id>", target "lottery:<id>", the win in
  details["win_id"];
- shop_audit: area "shop", actor as it was, target "order:<id>" (else "product:<id>"), the ids
  in details;
- classified_decisions: area "classifieds", action "approved"/"rejected", target "ad:<id>",
  details {version, reason, admin_name, admin_telegram_id, message_id: None}.
Downgrade copies them back (rows of the three areas only) and deletes them from audit_log.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "e4c1a7b93d52"
down_revision: str | None = "d3a9c1f0b7e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = sa.DateTime(timezone=True)

audit_log = sa.table(
    "audit_log",
    sa.column("id", ID),
    sa.column("at", AT),
    sa.column("area", sa.String()),
    sa.column("action", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("target", sa.String()),
    sa.column("ip", sa.String()),
    sa.column("details", sa.JSON()),
)
lottery_audit = sa.table(
    "lottery_audit",
    sa.column("id", ID),
    sa.column("lottery_id", ID),
    sa.column("win_id", ID),
    sa.column("action", sa.String()),
    sa.column("actor", sa.BigInteger()),
    sa.column("detail", sa.JSON()),
    sa.column("created_at", AT),
)
shop_audit = sa.table(
    "shop_audit",
    sa.column("id", ID),
    sa.column("action", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("order_id", sa.BigInteger()),
    sa.column("product_id", sa.BigInteger()),
    sa.column("detail", sa.JSON()),
    sa.column("created_at", AT),
)
decisions = sa.table(
    "classified_decisions",
    sa.column("id", ID),
    sa.column("ad_id", ID),
    sa.column("version", sa.Integer()),
    sa.column("approved", sa.Boolean()),
    sa.column("reason", sa.String()),
    sa.column("admin_name", sa.String()),
    sa.column("admin_telegram_id", sa.BigInteger()),
    sa.column("created_at", AT),
)


def _number(value: str | None, prefix: str) -> int | None:
    rest = (value or "").removeprefix(prefix)
    return int(rest) if rest.lstrip("-").isdigit() else None


def _lottery_row(row: Any) -> dict[str, Any]:
    details = dict(row.detail or {})
    if row.win_id is not None:
        details["win_id"] = row.win_id
    return {
        "at": row.created_at,
        "area": "lotteries",
        "action": row.action,
        "actor": f"telegram:{row.actor}" if row.actor is not None else None,
        "target": f"lottery:{row.lottery_id}" if row.lottery_id is not None else None,
        "ip": None,
        "details": details,
    }


def _shop_row(row: Any) -> dict[str, Any]:
    details = dict(row.detail or {})
    target = None
    if row.product_id is not None:
        details["product_id"] = row.product_id
        target = f"product:{row.product_id}"
    if row.order_id is not None:
        details["order_id"] = row.order_id
        target = f"order:{row.order_id}"
    return {
        "at": row.created_at,
        "area": "shop",
        "action": row.action,
        "actor": row.actor,
        "target": target,
        "ip": None,
        "details": details,
    }


def _decision_row(row: Any) -> dict[str, Any]:
    telegram_id = row.admin_telegram_id
    return {
        "at": row.created_at,
        "area": "classifieds",
        "action": "approved" if row.approved else "rejected",
        "actor": f"telegram:{telegram_id}" if telegram_id is not None else row.admin_name,
        "target": f"ad:{row.ad_id}",
        "ip": None,
        "details": {
            "version": row.version,
            "reason": row.reason,
            "admin_name": row.admin_name,
            "admin_telegram_id": telegram_id,
            "message_id": None,
        },
    }


def upgrade() -> None:
    bind = op.get_bind()
    for table, convert in (
        (lottery_audit, _lottery_row),
        (shop_audit, _shop_row),
        (decisions, _decision_row),
    ):
        rows = [convert(row) for row in bind.execute(sa.select(table).order_by(table.c.id))]
        if rows:
            bind.execute(sa.insert(audit_log), rows)
    with op.batch_alter_table("lottery_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_lottery_audit_lottery_created")
    op.drop_table("lottery_audit")
    with op.batch_alter_table("shop_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_audit_created_at")
    op.drop_table("shop_audit")
    op.drop_table("classified_decisions")


def downgrade() -> None:
    op.create_table(
        "lottery_audit",
        sa.Column("id", ID, nullable=False),
        sa.Column("lottery_id", ID, nullable=True),
        sa.Column("win_id", ID, nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["lottery_id"],
            ["lotteries.id"],
            name=op.f("fk_lottery_audit_lottery_id_lotteries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["win_id"],
            ["lottery_wins.id"],
            name=op.f("fk_lottery_audit_win_id_lottery_wins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_audit")),
    )
    with op.batch_alter_table("lottery_audit", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lottery_audit_lottery_created", ["lottery_id", "created_at"], unique=False
        )
    op.create_table(
        "shop_audit",
        sa.Column("id", ID, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_audit")),
    )
    with op.batch_alter_table("shop_audit", schema=None) as batch_op:
        batch_op.create_index("ix_shop_audit_created_at", ["created_at"], unique=False)
    op.create_table(
        "classified_decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("ad_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("admin_name", sa.String(length=128), nullable=False),
        sa.Column("admin_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["ad_id"],
            ["classified_ads.id"],
            name=op.f("fk_classified_decisions_ad_id_classified_ads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classified_decisions")),
        sa.UniqueConstraint("ad_id", "version", name=op.f("uq_classified_decisions_ad_id_version")),
    )
    bind = op.get_bind()
    moved = sa.select(audit_log).where(audit_log.c.area.in_(["lotteries", "shop", "classifieds"]))
    lottery, shop, ads = [], [], []
    for row in bind.execute(moved.order_by(audit_log.c.id)):
        details = dict(row.details or {})
        if row.area == "lotteries":
            win_id = details.pop("win_id", None)
            lottery.append(
                {
                    "lottery_id": _number(row.target, "lottery:"),
                    "win_id": win_id,
                    "action": row.action[:32],
                    "actor": _number(row.actor, "telegram:"),
                    "detail": details,
                    "created_at": row.at,
                }
            )
        elif row.area == "shop":
            order_id, product_id = details.pop("order_id", None), details.pop("product_id", None)
            shop.append(
                {
                    "action": row.action[:32],
                    "actor": row.actor[:64] if row.actor else None,
                    "order_id": order_id,
                    "product_id": product_id,
                    "detail": details,
                    "created_at": row.at,
                }
            )
        elif row.action in ("approved", "rejected") and "version" in details:
            ads.append(
                {
                    "ad_id": _number(row.target, "ad:"),
                    "version": details["version"],
                    "approved": row.action == "approved",
                    "reason": details.get("reason"),
                    "admin_name": str(details.get("admin_name") or row.actor or "")[:128],
                    "admin_telegram_id": details.get("admin_telegram_id"),
                    "created_at": row.at,
                }
            )
    # Entries outlive what they name now; the old tables' foreign keys take only what is left.
    lotteries = set(bind.execute(sa.text("SELECT id FROM lotteries")).scalars())
    won = set(bind.execute(sa.text("SELECT id FROM lottery_wins")).scalars())
    kept = set(bind.execute(sa.text("SELECT id FROM classified_ads")).scalars())
    lottery = [
        r for r in lottery if r["lottery_id"] in lotteries | {None} and r["win_id"] in won | {None}
    ]
    ads = [r for r in ads if r["ad_id"] in kept]
    for table, rows in ((lottery_audit, lottery), (shop_audit, shop), (decisions, ads)):
        if rows:
            bind.execute(sa.insert(table), rows)
    bind.execute(
        sa.delete(audit_log).where(audit_log.c.area.in_(["lotteries", "shop", "classifieds"]))
    )
