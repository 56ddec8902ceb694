"""The dashboard's sections: the enabled features' (`Feature.sections`), then the core's.

A section is a router mounted under /dashboard (its paths start with `/<name>`), a navigation
entry, and optionally figures for the overview page (bozor.featurekit.Section). See
docs/dashboard.md and docs/architecture.md ("Adding a feature").
"""

from __future__ import annotations

from collections.abc import Sequence

from bozor.audit import dashboard as audit
from bozor.broadcasts import dashboard as broadcasts
from bozor.featurekit import Feature
from bozor.featurekit import Figure as Figure  # re-exported for the sections' modules
from bozor.featurekit import Section as Section
from bozor.users import dashboard as users
from bozor.webhooks import dashboard as webhooks


def core_sections() -> list[Section]:
    """The sections every dashboard has, after the features'."""
    return [broadcasts.SECTION, users.SECTION, webhooks.SECTION, audit.SECTION]


def sections(features: Sequence[Feature]) -> list[Section]:
    """The sections of the given features, then the core's, in menu order."""
    return [section() for feature in features for section in feature.sections] + core_sections()
