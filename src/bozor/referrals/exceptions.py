from __future__ import annotations

from bozor.errors import ConflictError, ForbiddenError, InvalidInputError


class UnknownCodeError(InvalidInputError):
    code = "referral.unknown"


class SelfReferralError(ForbiddenError):
    code = "referral.self"


class AlreadyReferredError(ConflictError):
    code = "referral.already"


class ExistingUserError(ConflictError):
    code = "referral.existing"


class ReferralCycleError(ForbiddenError):
    code = "referral.cycle"


class ClickMismatchError(InvalidInputError):
    code = "referral.click_mismatch"


class AttributionExpiredError(InvalidInputError):
    code = "referral.attribution_expired"


class ReferralRefusedError(InvalidInputError):
    """The referral validator hook refused it; `reason` says why."""

    code = "referral.refused"
