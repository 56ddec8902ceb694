"""A typed Python client for Bozor's referral REST API (blocking and asyncio, on httpx).

    from bozor.client import BozorClient

    with BozorClient("https://bozor.example.com", api_key) as bozor:
        link = bozor.generate_link(user_id="alice")

Answers are the API's own pydantic models (bozor.referrals.schemas), re-exported here.
"""

from bozor.client.aio import AsyncBozorClient
from bozor.client.errors import (
    BozorApiError,
    BozorClientError,
    BozorConnectionError,
    BozorError,
    BozorServerError,
)
from bozor.client.retry import NO_RETRIES, RetryPolicy
from bozor.client.sync import BozorClient
from bozor.client.webhooks import WebhookVerificationError, verify_webhook
from bozor.referrals.schemas import (
    ClaimRead,
    ClickRead,
    LinkRead,
    ReferralRead,
    RewardRead,
    RewardsRead,
    StatsRead,
    TokenRead,
)
from bozor.referrals.statuses import ReferralStatus, RewardStatus
from bozor.webhook_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_webhook

__all__ = [
    "NO_RETRIES",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AsyncBozorClient",
    "BozorApiError",
    "BozorClient",
    "BozorClientError",
    "BozorConnectionError",
    "BozorError",
    "BozorServerError",
    "ClaimRead",
    "ClickRead",
    "LinkRead",
    "ReferralRead",
    "ReferralStatus",
    "RetryPolicy",
    "RewardRead",
    "RewardStatus",
    "RewardsRead",
    "StatsRead",
    "TokenRead",
    "WebhookVerificationError",
    "sign_webhook",
    "verify_webhook",
]
