"""Helpers of bench/embed_peers.py: pages, the customer origin, the probe, the statistics."""
