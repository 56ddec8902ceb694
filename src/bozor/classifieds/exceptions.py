"""Why the classifieds rules say no; each `code` is a translation key."""

from __future__ import annotations

from bozor.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError


class AdNotFoundError(NotFoundError):
    code = "ads.not_found"


class NotYourAdError(ForbiddenError):
    code = "ads.not_yours"


class BannedError(ForbiddenError):
    code = "ads.banned"


class AlreadyDecidedError(ConflictError):
    """Another admin decided first (or the ad changed since this review message)."""

    code = "ads.already_decided"


class WrongStateError(ConflictError):
    """The ad is not in a state that allows this (e.g. marking a rejected ad sold)."""

    code = "ads.wrong_state"


class BadDraftError(InvalidInputError):
    code = "ads.bad_draft"
