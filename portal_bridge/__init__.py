"""Durable consumers of the log: decisions workflow, public portal, open data, minutes, webhooks (next issues)."""
