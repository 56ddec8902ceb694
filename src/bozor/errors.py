"""Domain errors: they know nothing of Telegram or HTTP; each edge maps them in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule said no. `code` is stable and doubles as the translation key."""

    code = "error.domain"

    def __init__(self, code: str | None = None, /, **params: Any) -> None:
        if code is not None:
            self.code = code
        self.params = params
        super().__init__(self.code)


class NotFoundError(DomainError):
    code = "error.not_found"


class ConflictError(DomainError):
    code = "error.conflict"


class ForbiddenError(DomainError):
    code = "error.forbidden"


class InvalidInputError(DomainError):
    code = "error.invalid_input"
