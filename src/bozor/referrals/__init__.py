"""Referrals: who brought whom, once, with its state."""
