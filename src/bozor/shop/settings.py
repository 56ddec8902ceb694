"""The shop's settings: the variables SHOP_* (README, "Configuration")."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from bozor.settings import FeatureSettings, http_url


class ShopSettings(FeatureSettings):
    """`ShopSettings.of(settings)`: the shop's settings in the process's Settings."""

    model_config = SettingsConfigDict(env_prefix="SHOP_")

    order_minutes: float = Field(default=15.0, gt=0, le=24 * 60)  # unpaid order holds codes
    max_quantity: int = Field(default=10, ge=1, le=100)  # codes in one order
    low_stock: int = Field(default=5, ge=0)  # admins are told when stock falls to this
    job_interval: float = Field(default=30.0, gt=0)  # seconds between expiry/refund runs
    terms_url: str | None = None  # /terms links here as well, when set

    @field_validator("terms_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return http_url(value)
