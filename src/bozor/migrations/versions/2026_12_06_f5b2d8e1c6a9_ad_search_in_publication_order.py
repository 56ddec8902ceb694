"""ad search in publication order: SQLite's text index keyed by publication time; apostrophes

Revision ID: f5b2d8e1c6a9
Revises: e4c1a7b93d52
Create Date: 2026-12-06 22:00:00.000000

SQLite: `classified_ads_fts` (made by d3a9c1f0b7e4 over every ad, keyed by the ad's id)
becomes a contentless FTS5 table over the published ads only, whose rowid is a *feed key*
that follows publication order, so that `MATCH ... ORDER BY rowid DESC LIMIT n` reads the
newest matches straight from the index (classifieds/search.py reads it that way):

    feed key = published_at in whole milliseconds since 1970 * 2**20 + a slot

The slot (0, 1, 2... in the order ads get that millisecond) only keeps keys unique; ads of
one millisecond are put in their exact order (`published_at`, id) by the search. The key
comes from `published_at` itself rather than from a counter, so the order holds whatever
order ads are committed, backdated or bulk-loaded in.

`classified_ads_fts_feed` maps a key to its ad (and back: the delete of a contentless table
needs the key and the old text), with a copy of what the other filters test (publication
time, category, region, price, currency): the search tests them on each match without
reading the ad's wide row. Four triggers keep both in step: an ad enters when it is
published (inserted published, approved, re-approved after an edit: a new key at its new
time), leaves when it stops being published (sold, withdrawn, expired, sent back to review,
deleted); a change of its title, description or publication time while published re-enters
it, and a change of its category, region or price is copied.

Both databases: apostrophe-like characters (' ` ´ ‘ ’ ʻ ʼ) are removed from the text before
it is indexed, as `classifieds.search.words` removes them from what is typed, so that
o'zbek, o‘zbek, oʻzbek, o`zbek and ozbek find each other. PostgreSQL's `search_vector` is
generated again with `translate()`; SQLite's triggers index `replace()`d text.

A later migration that rebuilds `classified_ads` on SQLite (batch mode drops the old table
and its triggers) must call `create_sqlite_search()` of this migration again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f5b2d8e1c6a9"
down_revision: str | None = "e4c1a7b93d52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APOSTROPHES = "'`´‘’ʻʼ"  # as classifieds.search.APOSTROPHES
SLOTS = 1 << 20  # feed keys per millisecond, as classifieds.search.FEED_SLOTS


def _plain(value: str) -> str:
    """SQLite: `value` (an SQL expression) without apostrophes."""
    for char in APOSTROPHES:
        value = f"replace({value}, '{char.replace(chr(39), chr(39) * 2)}', '')"
    return value


# Whole milliseconds of a stored time ('YYYY-MM-DD HH:MM:SS.ffffff', UTC): exact, unlike
# julianday() (a double, ~50 µs steps at today's dates). NULL for an unreadable time. The
# seconds are read without the fraction: strftime('%s') rounds it to the millisecond, so
# 19.9996 would count as 20 s (fixed here and by b8e2f4a61c37 in databases made before).
_MS = (
    "CAST(strftime('%s', substr({at}, 1, 19)) AS INTEGER) * 1000 "
    "+ CAST(substr({at} || '000', 21, 3) AS INTEGER)"
)

_UNINDEX_OLD = (
    "INSERT INTO classified_ads_fts(classified_ads_fts, rowid, title, description) "
    f"SELECT 'delete', key, {_plain('old.title')}, {_plain('old.description')} "
    "FROM classified_ads_fts_feed WHERE ad_id = old.id; "
    "DELETE FROM classified_ads_fts_feed WHERE ad_id = old.id; "
)
_INDEX_NEW = (
    "INSERT INTO classified_ads_fts_feed"
    "(key, ad_id, published_at, category, region, price, currency) "
    "SELECT base + coalesce((SELECT max(k.key) + 1 FROM classified_ads_fts_feed k "
    f"WHERE k.key BETWEEN base AND base + {SLOTS - 1}) - base, 0), "
    "new.id, new.published_at, new.category, new.region, new.price, new.currency "
    f"FROM (SELECT ({_MS.format(at='new.published_at')}) * {SLOTS} AS base) "
    "WHERE new.state = 'published' AND base IS NOT NULL; "
    "INSERT INTO classified_ads_fts(rowid, title, description) "
    f"SELECT key, {_plain('new.title')}, {_plain('new.description')} "
    "FROM classified_ads_fts_feed WHERE ad_id = new.id; "
)

SQLITE_SEARCH = (
    "CREATE TABLE classified_ads_fts_feed (key INTEGER PRIMARY KEY, "
    "ad_id INTEGER NOT NULL UNIQUE, published_at DATETIME NOT NULL, "
    "category VARCHAR(32) NOT NULL, region VARCHAR(64) NOT NULL, price BIGINT, "
    "currency VARCHAR(3))",
    # unicode61 folds case in every script; diacritics are kept, as PostgreSQL's `simple`
    # configuration keeps them, so both databases find the same ads.
    "CREATE VIRTUAL TABLE classified_ads_fts USING fts5(title, description, content='', "
    "tokenize='unicode61 remove_diacritics 0', prefix='2 3')",
    "CREATE TRIGGER classified_ads_fts_insert AFTER INSERT ON classified_ads "
    f"WHEN new.state = 'published' BEGIN {_INDEX_NEW}END",
    "CREATE TRIGGER classified_ads_fts_delete AFTER DELETE ON classified_ads "
    f"BEGIN {_UNINDEX_OLD}END",
    "CREATE TRIGGER classified_ads_fts_update "
    "AFTER UPDATE OF state, published_at, title, description ON classified_ads "
    f"BEGIN {_UNINDEX_OLD}{_INDEX_NEW}END",
    "CREATE TRIGGER classified_ads_fts_filters "
    "AFTER UPDATE OF category, region, price, currency ON classified_ads BEGIN "
    "UPDATE classified_ads_fts_feed SET category = new.category, region = new.region, "
    "price = new.price, currency = new.currency WHERE ad_id = new.id; END",
    # The published ads enter one by one through the update trigger, in id order, each
    # seeing the keys taken before it.
    "UPDATE classified_ads SET state = state WHERE state = 'published'",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS classified_ads_fts_filters",
    "DROP TRIGGER IF EXISTS classified_ads_fts_update",
    "DROP TRIGGER IF EXISTS classified_ads_fts_delete",
    "DROP TRIGGER IF EXISTS classified_ads_fts_insert",
    "DROP TABLE IF EXISTS classified_ads_fts",
    "DROP TABLE IF EXISTS classified_ads_fts_feed",
)

# d3a9c1f0b7e4's index, for the downgrade: every ad, keyed by its id, external content.
OLD_SQLITE_SEARCH = (
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


def _pg_vector(text: str) -> str:
    return (
        "ALTER TABLE classified_ads ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        f"(to_tsvector('simple'::regconfig, {text})) STORED"
    )


_PG_TEXT = "coalesce(title, '') || ' ' || coalesce(description, '')"
PG_APOSTROPHES = APOSTROPHES.replace("'", "''")


def _pg_search(text: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_classified_ads_search_vector")
    op.execute("ALTER TABLE classified_ads DROP COLUMN IF EXISTS search_vector")
    op.execute(_pg_vector(text))
    op.execute(
        "CREATE INDEX ix_classified_ads_search_vector ON classified_ads USING gin (search_vector)"
    )


def create_sqlite_search() -> None:
    """(Re)create SQLite's text index and fill it with the published ads."""
    for statement in SQLITE_DROP + SQLITE_SEARCH:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_search(f"translate({_PG_TEXT}, '{PG_APOSTROPHES}', '')")
    else:
        create_sqlite_search()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_search(_PG_TEXT)
    else:
        for statement in SQLITE_DROP + OLD_SQLITE_SEARCH:
            op.execute(statement)
