"""The repository's entry point for `flask --app app ...`: the factory lives in the package."""

from zgoda.application import create_app, csrf, trust_proxies

__all__ = ["create_app", "csrf", "trust_proxies"]
