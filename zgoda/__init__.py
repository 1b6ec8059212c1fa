"""Zgoda: privacy notices, cookie banner and consent log from one set of policy data."""
