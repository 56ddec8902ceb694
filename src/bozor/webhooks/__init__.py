"""Webhooks: integrators subscribe a URL to event types; deliveries are signed, retried with
backoff, logged attempt by attempt, and claimed so that several instances never send one twice."""
