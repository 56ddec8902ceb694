"""Sample data for `bozor demo`: each enabled feature's seeder (`Feature.demo`), in order.

A seeder is `async def seed(ctx: DemoContext) -> None` in the feature's own `demo.py`. It
writes through the feature's services (so the data obeys the same rules as real data) and may
backdate timestamps afterwards, so that figures over time look lived-in. Seeders run in the
order of the features; a later one may use what an earlier one made (the crowd's users exist
once the first has run, for instance).
"""

from __future__ import annotations

from collections.abc import Sequence

from bozor.featurekit import DemoContext as DemoContext  # re-exported for the seeders
from bozor.featurekit import Feature
from bozor.featurekit import Person as Person
from bozor.featurekit import Seeder as Seeder


async def seed_all(ctx: DemoContext, features: Sequence[Feature]) -> None:
    """Run the given features' seeders, in order."""
    for feature in features:
        if feature.demo is not None:
            await feature.demo(ctx)
