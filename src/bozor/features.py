"""The features Bozor ships.

Each is a package with a manifest, `<feature>/feature.py` `FEATURE` (bozor.featurekit.Feature);
the core builds the bot, the API, the dashboard, the demo, the CLI and the jobs from the
manifests FEATURES enables. Adding a feature is one line here (docs/architecture.md).
"""

from __future__ import annotations

from bozor.broadcasts.segments import available
from bozor.classifieds.feature import FEATURE as CLASSIFIEDS
from bozor.featurekit import Feature, Segment
from bozor.lotteries.feature import FEATURE as LOTTERIES
from bozor.referrals.feature import FEATURE as REFERRALS
from bozor.settings import Settings, SettingsError
from bozor.shop.feature import FEATURE as SHOP

FEATURES: tuple[Feature, ...] = (REFERRALS, LOTTERIES, SHOP, CLASSIFIEDS)


def enabled(settings: Settings, features: tuple[Feature, ...] = FEATURES) -> list[Feature]:
    """The manifests of the features FEATURES names, in this list's order (menus, commands
    and the dashboard follow it)."""
    by_name = {feature.name: feature for feature in features}
    unknown = [name for name in settings.features if name not in by_name]
    if unknown:
        raise SettingsError(
            f"FEATURES: unknown {', '.join(unknown)}; choose from {', '.join(by_name)}"
        )
    return [feature for feature in features if feature.name in settings.features]


def broadcast_segments(settings: Settings) -> dict[str, Segment]:
    """The segments a broadcast may target: the core ones and the enabled features'."""
    return available({feature.name: feature.segments for feature in enabled(settings)})
