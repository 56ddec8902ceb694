"""Errors of the broadcast rules; each `code` is a translation key."""

from __future__ import annotations

from bozor.errors import ConflictError, NotFoundError


class BroadcastNotFoundError(NotFoundError):
    code = "broadcast.not_found"


class BroadcastFinishedError(ConflictError):
    code = "broadcast.finished"
