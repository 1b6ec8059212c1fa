"""Signed webhooks: a site's endpoints, the outbox written with each consent event, and the
worker that delivers it (Standard Webhooks signatures, retried with backoff for a day)."""
