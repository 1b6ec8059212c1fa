"""Zgoda: privacy notices, cookie banner and consent log from one set of policy data."""

# The one version number: the wheel's metadata, OpenAPI's info.version and the embed read it.
__version__ = "0.9.0"
