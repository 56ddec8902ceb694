"""Outbox: messages written in the same transaction as their cause, sent later by a worker."""
