"""classified search: feed indexes, full-text search, saved searches, alerts, contact threads

Revision ID: d3a9c1f0b7e4
Revises: c3e8a5f1d2b4
Create Date: 2026-12-06 18:40:00.000000

Full-text search is not in the models (it differs by database), so it lives here only:
- PostgreSQL: `classified_ads.search_vector`, a stored generated `tsvector` of title and
  description in the `simple` configuration, with a GIN index.
- SQLite: `classified_ads_fts`, an FTS5 table over the ads' title and description (external
  content: it stores only the index), kept in step by three triggers.

A later migration that rebuilds `classified_ads` on SQLite (batch mode copies the table and
drops the old one, and its triggers with it) must call `create_sqlite_search()` again; the
search tests fail at head if the triggers are gone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d3a9c1f0b7e4"
down_revision: str | None = "c3e8a5f1d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_SEARCH = (
    # unicode61 folds case in every script; diacritics are kept, as PostgreSQL's `simple`
    # configuration keeps them, so both databases find the same ads.
    "CREATE VIRTUAL TABLE classified_ads_fts USING fts5(title, description, "
    "content='classified_ads', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0', prefix='2 3')",
    "CREATE TRIGGER classified_ads_fts_insert AFTER INSERT ON classified_ads BEGIN "
    "INSERT INTO classified_ads_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER classified_ads_fts_delete AFTER DELETE ON classified_ads BEGIN "
    "INSERT INTO classified_ads_fts(classified_ads_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER classified_ads_fts_update AFTER UPDATE OF title, description "
    "ON classified_ads BEGIN "
    "INSERT INTO classified_ads_fts(classified_ads_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO classified_ads_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "INSERT INTO classified_ads_fts(classified_ads_fts) VALUES ('rebuild')",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS classified_ads_fts_update",
    "DROP TRIGGER IF EXISTS classified_ads_fts_delete",
    "DROP TRIGGER IF EXISTS classified_ads_fts_insert",
    "DROP TABLE IF EXISTS classified_ads_fts",
)


def create_sqlite_search() -> None:
    for statement in SQLITE_DROP + SQLITE_SEARCH:
        op.execute(statement)


def upgrade() -> None:
    op.create_index("ix_classified_ads_feed", "classified_ads", ["state", "published_at", "id"])
    op.create_index(
        "ix_classified_ads_category_feed",
        "classified_ads",
        ["state", "category", "published_at", "id"],
    )
    op.create_index(
        "ix_classified_ads_region_feed", "classified_ads", ["state", "region", "published_at", "id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE classified_ads ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || "
            "coalesce(description, ''))) STORED"
        )
        op.execute(
            "CREATE INDEX ix_classified_ads_search_vector ON classified_ads "
            "USING gin (search_vector)"
        )
    else:
        create_sqlite_search()

    op.create_table(
        "classified_saved_searches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("price_min", sa.BigInteger(), nullable=True),
        sa.Column("price_max", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("text", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_classified_saved_searches_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classified_saved_searches")),
        sa.UniqueConstraint(
            "user_id", "key", name=op.f("uq_classified_saved_searches_user_id_key")
        ),
    )
    op.create_table(
        "classified_ad_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ad_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "saved_search_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ad_id"],
            ["classified_ads.id"],
            name=op.f("fk_classified_ad_alerts_ad_id_classified_ads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["saved_search_id"],
            ["classified_saved_searches.id"],
            name=op.f("fk_classified_ad_alerts_saved_search_id_classified_saved_searches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_classified_ad_alerts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classified_ad_alerts")),
        sa.UniqueConstraint("user_id", "ad_id", name=op.f("uq_classified_ad_alerts_user_id_ad_id")),
    )
    op.create_index(
        op.f("ix_classified_ad_alerts_ad_id"), "classified_ad_alerts", ["ad_id"], unique=False
    )
    op.create_index(
        op.f("ix_classified_ad_alerts_saved_search_id"),
        "classified_ad_alerts",
        ["saved_search_id"],
        unique=False,
    )
    op.create_table(
        "classified_contact_threads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ad_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("buyer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ad_id"],
            ["classified_ads.id"],
            name=op.f("fk_classified_contact_threads_ad_id_classified_ads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["users.id"],
            name=op.f("fk_classified_contact_threads_buyer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classified_contact_threads")),
        sa.UniqueConstraint(
            "ad_id", "buyer_id", name=op.f("uq_classified_contact_threads_ad_id_buyer_id")
        ),
    )
    op.create_index(
        op.f("ix_classified_contact_threads_buyer_id"),
        "classified_contact_threads",
        ["buyer_id"],
        unique=False,
    )
    op.create_table(
        "classified_contact_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "sender_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_buyer", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_classified_contact_messages_sender_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["classified_contact_threads.id"],
            name=op.f("fk_classified_contact_messages_thread_id_classified_contact_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classified_contact_messages")),
    )
    op.create_index(
        "ix_classified_contact_messages_sender_created",
        "classified_contact_messages",
        ["sender_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_classified_contact_messages_thread_id"),
        "classified_contact_messages",
        ["thread_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_classified_contact_messages_thread_id"), table_name="classified_contact_messages"
    )
    op.drop_index(
        "ix_classified_contact_messages_sender_created", table_name="classified_contact_messages"
    )
    op.drop_table("classified_contact_messages")
    op.drop_index(
        op.f("ix_classified_contact_threads_buyer_id"), table_name="classified_contact_threads"
    )
    op.drop_table("classified_contact_threads")
    op.drop_index(
        op.f("ix_classified_ad_alerts_saved_search_id"), table_name="classified_ad_alerts"
    )
    op.drop_index(op.f("ix_classified_ad_alerts_ad_id"), table_name="classified_ad_alerts")
    op.drop_table("classified_ad_alerts")
    op.drop_table("classified_saved_searches")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_classified_ads_search_vector")
        op.execute("ALTER TABLE classified_ads DROP COLUMN IF EXISTS search_vector")
    else:
        for statement in SQLITE_DROP:
            op.execute(statement)
    op.drop_index("ix_classified_ads_region_feed", table_name="classified_ads")
    op.drop_index("ix_classified_ads_category_feed", table_name="classified_ads")
    op.drop_index("ix_classified_ads_feed", table_name="classified_ads")
