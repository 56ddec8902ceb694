"""Domain events: facts other systems may want (a referral was made, a reward claimed),
written in the same transaction as the change and fanned out later (webhooks)."""
