"""What the API answers about keys: the bearer token an API key is exchanged for."""

from __future__ import annotations

from pydantic import BaseModel


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    scope: str
