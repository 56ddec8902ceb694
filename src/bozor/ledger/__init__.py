"""The ledger: an append-only record of bonus credits and debits; a balance is the sum."""
