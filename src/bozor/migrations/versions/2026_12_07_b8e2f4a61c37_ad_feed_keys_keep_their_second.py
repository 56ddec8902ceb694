"""ad feed keys keep their second: SQLite's feed key no longer rounds 19.9996 s up to 20 s

Revision ID: b8e2f4a61c37
Revises: f5b2d8e1c6a9
Create Date: 2026-12-07 03:00:00.000000

f5b2d8e1c6a9's triggers read an ad's whole seconds with strftime('%s', published_at), which
rounds the fraction to the millisecond first: an ad published in the last half millisecond
of a second got a key one second late, and sorted among the next second's ads. Its triggers
now read the seconds without the fraction; this recreates the two triggers that make keys
in databases made before, and gives the ads keyed wrongly their right key (the update
trigger takes them out and back in). PostgreSQL has no feed: nothing to do.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "b8e2f4a61c37"
down_revision: str | None = "f5b2d8e1c6a9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = ("classified_ads_fts_insert", "classified_ads_fts_update")


def _publication_order() -> ModuleType:
    """f5b2d8e1c6a9, whose triggers' statements this recreates."""
    path = Path(__file__).with_name("2026_12_06_f5b2d8e1c6a9_ad_search_in_publication_order.py")
    spec = importlib.util.spec_from_file_location("f5b2d8e1c6a9", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    made = _publication_order()
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        [create] = [s for s in made.SQLITE_SEARCH if s.startswith(f"CREATE TRIGGER {name} ")]
        op.execute(create)
    right = made._MS.format(at="f.published_at")
    op.execute(
        "UPDATE classified_ads SET state = state WHERE id IN (SELECT f.ad_id FROM "
        f"classified_ads_fts_feed f WHERE f.key / {made.SLOTS} != {right})"
    )


def downgrade() -> None:
    pass  # the triggers made here are f5b2d8e1c6a9's own now; keys stay right
